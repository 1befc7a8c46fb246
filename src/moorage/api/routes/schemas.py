"""Request and response bodies shared by several routers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

RepoRole = Literal["read", "write", "admin"]
TeamRole = Literal["member", "creator", "admin"]


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
