"""Request and response bodies shared by several routers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

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


def grammar(rx: re.Pattern[str], rule: str) -> Any:
    """Request validation by a grammar of moorage.domain, with ``rule`` as the error message (a
    plain pattern mismatch would only quote the regular expression), stated as the pattern of the
    OpenAPI document. Applied with ``fullmatch``, as the services apply it."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and rx.fullmatch(value) is None:
            raise PydanticCustomError("string_pattern_mismatch", rule)
        return value

    return BeforeValidator(check)


# The grammars of moorage.domain (the rules the services apply), stated in the OpenAPI document and
# checked by request validation, so that the schema and the server agree.
_NAMESPACE_RULE = "lower-case letters and digits, with single . _ - between them"
NamespaceName = Annotated[
    str,
    Field(
        min_length=MIN_NAMESPACE_LENGTH,
        max_length=MAX_NAME_LENGTH,
        json_schema_extra={"pattern": whole(NAMESPACE_RE)},
        description=_NAMESPACE_RULE,
    ),
    grammar(NAMESPACE_RE, f"names are {_NAMESPACE_RULE}"),
]
_PATH_RULE = "lower-case components of letters and digits (with . _ __ - between them), separated by /"
RepositoryPath = Annotated[
    str,
    Field(
        min_length=1,
        # the whole name namespace/repository is at most MAX_NAME_LENGTH characters
        max_length=MAX_NAME_LENGTH - MIN_NAMESPACE_LENGTH - 1,
        json_schema_extra={"pattern": whole(NAME_RE)},
        description=f"name inside the namespace: {_PATH_RULE}",
    ),
    grammar(NAME_RE, f"repository names are {_PATH_RULE}"),
]
_ROBOT_RULE = "2-255 characters: a lower-case letter, then lower-case letters, digits or _"
RobotShortname = Annotated[
    str,
    Path(json_schema_extra={"pattern": whole(ROBOT_SHORTNAME_RE)}, description=_ROBOT_RULE),
    grammar(ROBOT_SHORTNAME_RE, f"robot names are {_ROBOT_RULE}"),
]
_TEAM_RULE = "2-255 characters: a lower-case letter, then letters, digits, _ or -"
TeamName = Annotated[
    str,
    Path(json_schema_extra={"pattern": whole(TEAM_NAME_RE)}, description=_TEAM_RULE),
    grammar(TEAM_NAME_RE, f"team names are {_TEAM_RULE}"),
]
_TAG_RULE = "1-128 letters, digits, _ . -, not starting with . or -"
TagName = Annotated[
    str,
    Path(json_schema_extra={"pattern": whole(TAG_RE)}, description=_TAG_RULE),
    grammar(TAG_RE, f"tags are {_TAG_RULE}"),
]
_DIGEST_RULE = "sha256:<64 hex> or sha512:<128 hex>"
DigestText = Annotated[
    str,
    Field(json_schema_extra={"pattern": DIGEST_PATTERN}, description=_DIGEST_RULE),
    grammar(re.compile(DIGEST_PATTERN), f"digests are {_DIGEST_RULE}"),
]
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
        None,
        description="the token: for callers who may administer the robot (leave it out with ?token=false)",
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
