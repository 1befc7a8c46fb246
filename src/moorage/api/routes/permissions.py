"""Repository permissions: /repository/{repo}/permissions/{user|team|robot}/[name].

As in Quay, robots are users here: ``/permissions/user/{ns+short}`` is the robot (``/robot/`` stays
an alias), and ``GET .../permissions/user/`` lists users and robots, as an object keyed by name
(Quay's shape); ``?shape=list`` answers Moorage's paginated array instead."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from moorage.api.access import require_repo_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in
from moorage.api.avatar import Avatar, AvatarKind, avatar
from moorage.api.context import ApiContext
from moorage.api.pagination import Page, paginate
from moorage.api.routes.schemas import Deleted, RepoRole
from moorage.authz.permissions import Grant

router = APIRouter(tags=["permissions"])

Kind = Literal["user", "team", "robot"]


class PermissionIn(BaseModel):
    role: RepoRole


class PermissionOut(BaseModel):
    kind: str
    name: str
    role: str
    is_robot: bool
    avatar: Avatar
    is_org_member: bool | None = Field(
        None,
        description="users and robots of an organization's repository: in one of its teams (robots: always)",
    )


class PermissionList(BaseModel):
    permissions: list[PermissionOut]
    next_page: str | None = None


class PermissionMap(BaseModel):
    permissions: dict[str, PermissionOut]


def _out(g: Grant, members: set[str] | None) -> PermissionOut:
    is_robot = g.kind == "robot"
    kind: AvatarKind = "robot" if is_robot else "team" if g.kind == "team" else "user"
    in_org = None if members is None or g.kind == "team" else (is_robot or g.name in members)
    return PermissionOut(
        kind=g.kind,
        name=g.name,
        role=g.role,
        is_robot=is_robot,
        avatar=avatar(g.name, kind),
        is_org_member=in_org,
    )


async def _org_members(ctx: ApiContext, repo: str) -> set[str] | None:
    """The users in any team of the repository's organization; None for a user's repository."""
    org = repo.partition("/")[0]
    if await ctx.organizations.get(org) is None:
        return None
    names: set[str] = set()
    for t in await ctx.organizations.teams(org):
        names.update(m.name for m in await ctx.organizations.members(org, t.name))
    return names


@router.get(
    "/repository/{repo:path}/permissions/{kind}/",
    response_model=PermissionMap | PermissionList,
    summary="Grants of one kind on a repository (user: users and robots), keyed by name",
)
async def list_permissions(
    repo: str,
    kind: Kind,
    page: Page = Depends(),
    shape: Literal["object", "list"] = Query(
        "object", description="object: Quay's {name: grant}; list: an array with next_page"
    ),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PermissionMap | PermissionList:
    await require_repo_role(ctx, caller, repo, "admin")
    kinds = {"user", "robot"} if kind == "user" else {kind}
    matching = [g for g in await ctx.permissions.grants(repo) if g.kind in kinds]
    members = await _org_members(ctx, repo)
    if shape == "object":
        return PermissionMap(
            permissions={g.name: _out(g, members) for g in sorted(matching, key=lambda g: g.name)}
        )
    grants, nxt = paginate(matching, page, lambda g: g.name)
    return PermissionList(permissions=[_out(g, members) for g in grants], next_page=nxt)


@router.get(
    "/repository/{repo:path}/permissions/{kind}/{name}", response_model=PermissionOut, summary="One grant"
)
async def get_permission(
    repo: str,
    kind: Kind,
    name: str,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PermissionOut:
    await require_repo_role(ctx, caller, repo, "admin")
    g = await ctx.permissions.get(repo, kind, name)
    return _out(g, await _org_members(ctx, repo))


@router.put(
    "/repository/{repo:path}/permissions/{kind}/{name}",
    response_model=PermissionOut,
    summary="Grant or change a role",
)
async def set_permission(
    repo: str,
    kind: Kind,
    name: str,
    body: PermissionIn,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PermissionOut:
    await require_repo_role(ctx, caller, repo, "admin")
    g = await ctx.permissions.set(repo, kind, name, body.role, caller.actor)
    return _out(g, await _org_members(ctx, repo))


@router.delete("/repository/{repo:path}/permissions/{kind}/{name}", response_model=Deleted, summary="Revoke")
async def delete_permission(
    repo: str,
    kind: Kind,
    name: str,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> Deleted:
    await require_repo_role(ctx, caller, repo, "admin")
    await ctx.permissions.remove(repo, kind, name, caller.actor)
    return Deleted()
