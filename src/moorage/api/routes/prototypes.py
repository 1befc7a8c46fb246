"""Default permissions of an organization (Quay's "prototypes"): /organization/{org}/prototypes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from moorage.api.access import require_org_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, signed_in_user
from moorage.api.context import ApiContext
from moorage.api.pagination import IdPage, paginate
from moorage.api.routes.schemas import Deleted, RepoRole
from moorage.authz.permissions import DefaultPermissionInfo

router = APIRouter(tags=["default permissions"])

# Quay's prototype ids are uuid strings; any other text names no default permission (404)
PrototypeId = Annotated[str, Path(max_length=36, description="the uuid of the default permission")]


class Delegate(BaseModel):
    name: str
    kind: Literal["user", "team", "robot"] = Field(
        description='"user" also names a robot (ns+short), as in Quay; "robot" is an alias'
    )


class DelegateUser(BaseModel):
    name: str
    kind: Literal["user"] = Field(description="robots are users, as in Quay")
    is_robot: bool


class DelegateTeam(BaseModel):
    name: str
    kind: Literal["team"]


class Activating(BaseModel):
    name: str


class PrototypeIn(BaseModel):
    role: RepoRole
    delegate: Delegate
    activating_user: Activating | None = None
    activating_team: Activating | None = None


class PrototypeUpdate(BaseModel):
    role: RepoRole


class PrototypeOut(BaseModel):
    id: str = Field(description="a uuid, as in Quay")
    role: str
    delegate: DelegateUser | DelegateTeam
    activating_user: Activating | None = None
    activating_team: Activating | None = None


class PrototypeList(BaseModel):
    prototypes: list[PrototypeOut]
    next_page: str | None = None


def _out(d: DefaultPermissionInfo) -> PrototypeOut:
    return PrototypeOut(
        id=d.uuid,
        role=d.role,
        delegate=(
            DelegateTeam(name=d.delegate, kind="team")
            if d.delegate_kind == "team"
            else DelegateUser(name=d.delegate, kind="user", is_robot=d.delegate_kind == "robot")
        ),
        activating_user=Activating(name=d.activating_user) if d.activating_user else None,
        activating_team=Activating(name=d.activating_team) if d.activating_team else None,
    )


@router.get("/organization/{org}/prototypes", response_model=PrototypeList, summary="Default permissions")
async def list_prototypes(
    org: str,
    page: IdPage = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PrototypeList:
    await require_org_role(ctx, caller, org, "admin")
    items, nxt = paginate(await ctx.permissions.defaults(org), page, lambda d: d.id)
    return PrototypeList(prototypes=[_out(d) for d in items], next_page=nxt)


@router.post(
    "/organization/{org}/prototypes",
    response_model=PrototypeOut,
    status_code=201,
    summary="Add a default permission for new repositories",
)
async def create_prototype(
    org: str,
    body: PrototypeIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> PrototypeOut:
    await require_org_role(ctx, caller, org, "admin")
    d = await ctx.permissions.add_default(
        org,
        delegate_kind=body.delegate.kind,
        delegate=body.delegate.name,
        role=body.role,
        activating_user=body.activating_user.name if body.activating_user else None,
        activating_team=body.activating_team.name if body.activating_team else None,
        actor=caller.actor,
    )
    return _out(d)


@router.put(
    "/organization/{org}/prototypes/{prototype_id}", response_model=PrototypeOut, summary="Change its role"
)
async def update_prototype(
    org: str,
    prototype_id: PrototypeId,
    body: PrototypeUpdate,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> PrototypeOut:
    await require_org_role(ctx, caller, org, "admin")
    return _out(await ctx.permissions.update_default(org, prototype_id, body.role, caller.actor))


@router.delete("/organization/{org}/prototypes/{prototype_id}", response_model=Deleted, summary="Remove it")
async def delete_prototype(
    org: str,
    prototype_id: PrototypeId,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> Deleted:
    await require_org_role(ctx, caller, org, "admin")
    await ctx.permissions.delete_default(org, prototype_id, caller.actor)
    return Deleted()
