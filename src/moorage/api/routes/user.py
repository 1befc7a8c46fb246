"""The signed-in user: /user/ (and the user's own robot accounts live in robots.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from moorage.api.auth import ApiCaller, get_ctx, require_scope, signed_in
from moorage.api.context import ApiContext

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


@router.get(
    "/user/",
    response_model=UserOut,
    summary="The caller (anonymous callers get 401, as in Quay)",
)
async def get_user(caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)) -> UserOut:
    p = caller.principal
    require_scope(caller, "user:read")
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
    )
