"""Request and response bodies shared by several routers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, WithJsonSchema

from moorage.domain.digest import DIGEST_PATTERN
from moorage.domain.reference import (
    MAX_NAME_LENGTH,
    MIN_NAMESPACE_LENGTH,
    NAME_RE,
    NAMESPACE_RE,
    ROBOT_SHORTNAME_RE,
    TAG_RE,
    TEAM_NAME_RE,
)
from moorage.domain.roles import OAUTH_SCOPES

RepoRole = Literal["read", "write", "admin"]
TeamRole = Literal["member", "creator", "admin"]


def whole(rx: re.Pattern[str]) -> str:
    """The pattern of a rule applied with ``fullmatch``, anchored for JSON Schema (which searches)."""
    return rf"^(?:{rx.pattern})$"


# The grammars of moorage.domain (the rules the services apply), stated in the OpenAPI document and
# checked by request validation, so that the schema and the server agree.
NamespaceName = Annotated[
    str,
    Field(
        min_length=MIN_NAMESPACE_LENGTH,
        max_length=MAX_NAME_LENGTH,
        pattern=whole(NAMESPACE_RE),
        description="lower-case letters and digits, with single . _ - between them",
    ),
]
RepositoryPath = Annotated[
    str,
    Field(
        min_length=1,
        # the whole name namespace/repository is at most MAX_NAME_LENGTH characters
        max_length=MAX_NAME_LENGTH - MIN_NAMESPACE_LENGTH - 1,
        pattern=whole(NAME_RE),
        description="name inside the namespace; may contain slashes (team/app)",
    ),
]
RobotShortname = Annotated[
    str, Path(pattern=whole(ROBOT_SHORTNAME_RE), description="a lower-case letter, then a-z 0-9 _")
]
TeamName = Annotated[
    str, Path(pattern=whole(TEAM_NAME_RE), description="a lower-case letter, then a-z 0-9 _ -")
]
TagName = Annotated[str, Path(pattern=whole(TAG_RE), description="the OCI tag grammar")]
DigestText = Annotated[str, Field(pattern=DIGEST_PATTERN, description="sha256:<64 hex> or sha512:<128 hex>")]
# the scope names (checked by moorage.identity.oauth.parse_scopes)
Scope = Annotated[str, WithJsonSchema({"type": "string", "enum": list(OAUTH_SCOPES)})]
NotBlank = r"\S"  # at least one character that is not white space (the services strip names)


class Deleted(BaseModel):
    deleted: bool = True


class RobotOut(BaseModel):
    name: str = Field(description="namespace+shortname, the docker login user name")
    description: str | None
    created: datetime
    expiration: datetime | None
    token: str | None = Field(
        None, description="present when created, regenerated or asked for with ?token=true"
    )
    docker_login: str | None = Field(None, description="ready-to-run login command when the token is shown")


class RobotIn(BaseModel):
    description: str | None = Field(None, max_length=4096)
    expiration: datetime | None = None


class RobotList(BaseModel):
    robots: list[RobotOut]
    next_page: str | None = None


class RobotPermission(BaseModel):
    repository: str
    role: RepoRole


class RobotPermissions(BaseModel):
    permissions: list[RobotPermission]
