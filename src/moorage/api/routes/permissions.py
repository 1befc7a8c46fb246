"""Repository permissions: /repository/{repo}/permissions/{user|team|robot}/[name]."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from moorage.api.access import require_repo_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in
from moorage.api.context import ApiContext
from moorage.api.pagination import Page, paginate
from moorage.api.routes.schemas import Deleted, RepoRole

router = APIRouter(tags=["permissions"])

Kind = Literal["user", "team", "robot"]


class PermissionIn(BaseModel):
    role: RepoRole


class PermissionOut(BaseModel):
    kind: str
    name: str
    role: str
    is_robot: bool


class PermissionList(BaseModel):
    permissions: list[PermissionOut]
    next_page: str | None = None


@router.get(
    "/repository/{repo:path}/permissions/{kind}/",
    response_model=PermissionList,
    summary="Grants of one kind on a repository",
)
async def list_permissions(
    repo: str,
    kind: Kind,
    page: Page = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PermissionList:
    await require_repo_role(ctx, caller, repo, "admin")
    grants, nxt = paginate(
        [g for g in await ctx.permissions.grants(repo) if g.kind == kind], page, lambda g: g.name
    )
    return PermissionList(
        permissions=[
            PermissionOut(kind=g.kind, name=g.name, role=g.role, is_robot=g.kind == "robot") for g in grants
        ],
        next_page=nxt,
    )


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
    return PermissionOut(kind=g.kind, name=g.name, role=g.role, is_robot=g.kind == "robot")


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
    return PermissionOut(kind=g.kind, name=g.name, role=g.role, is_robot=g.kind == "robot")


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
