"""The signed-in user: /user/ (and the user's own robot accounts live in robots.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictInt

from moorage.api.auth import ApiCaller, get_ctx, require_scope, signed_in, user_admin
from moorage.api.context import ApiContext
from moorage.domain.errors import InvalidInput

router = APIRouter(tags=["user"])


class OrgMembership(BaseModel):
    name: str
    role: str
    is_org_admin: bool


class UserOut(BaseModel):
    anonymous: bool = Field(description="always false: an anonymous caller is answered 401")
    username: str | None = None
    kind: str | None = None
    email: str | None = None
    super_user: bool = False
    organizations: list[OrgMembership] = []
    scopes: list[str] | None = None
    tag_expiration_s: int | None = Field(
        None, description="the user's time machine window in seconds (users only)"
    )


class UserUpdate(BaseModel):
    """Quay's PUT /user/ takes many keys; Moorage takes the time machine window (others: 400)."""

    model_config = {"extra": "forbid"}

    tag_expiration_s: StrictInt | None = Field(
        None,
        ge=0,
        description="the time machine window in seconds: one of the registry's tag_expiration_options",
    )


@router.get(
    "/user/",
    response_model=UserOut,
    summary="The caller (anonymous callers get 401, as in Quay)",
)
async def get_user(caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)) -> UserOut:
    require_scope(caller, "user:read")
    return await _describe(caller, ctx)


@router.put(
    "/user/",
    response_model=UserOut,
    summary="Change the caller's settings: the time machine window (tag_expiration_s)",
)
async def update_user(
    body: UserUpdate, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> UserOut:
    if "tag_expiration_s" in body.model_fields_set:
        if body.tag_expiration_s is None:
            raise InvalidInput("tag_expiration_s may not be null")
        await ctx.lifecycle.set_namespace_window(caller.principal.name, body.tag_expiration_s, caller.actor)
    return await _describe(caller, ctx)


async def _describe(caller: ApiCaller, ctx: ApiContext) -> UserOut:
    p = caller.principal
    email = None
    if p.kind == "user":
        info = await ctx.users.get(p.name)
        email = info.email if info else None
    rank = {"member": 1, "creator": 2, "admin": 3}
    best: dict[str, str] = {}
    for m in await ctx.authorizer.memberships(p):
        if m.org not in best or rank[m.role] > rank[best[m.org]]:
            best[m.org] = m.role
    return UserOut(
        anonymous=False,
        username=p.name,
        kind=p.kind,
        email=email,
        super_user=p.superuser,
        organizations=[
            OrgMembership(name=o, role=r, is_org_admin=r == "admin") for o, r in sorted(best.items())
        ],
        scopes=sorted(p.scopes) if p.scopes is not None else None,
        tag_expiration_s=await ctx.lifecycle.namespace_window(p.name) if p.kind == "user" else None,
    )
