"""Organizations: /organization/ and /organization/{org}."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictInt, computed_field

from moorage.api.access import require_org_role
from moorage.api.auth import ApiCaller, get_ctx, require_scope, signed_in, signed_in_user
from moorage.api.avatar import Avatar, avatar
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.pagination import Page
from moorage.api.partial import given
from moorage.api.routes.schemas import Deleted, NamespaceName
from moorage.domain.errors import Forbidden, InvalidInput, NotFound

router = APIRouter(tags=["organizations"])


class OrgCreate(BaseModel):
    name: NamespaceName
    email: str | None = Field(None, max_length=320)


class OrgUpdate(BaseModel):
    """Only the keys sent change (absent keys keep their value)."""

    email: str | None = Field(None, max_length=320)
    tag_expiration_s: StrictInt | None = Field(
        None,
        ge=0,
        description="the time machine window in seconds: one of the registry's tag_expiration_options",
    )


class OrgOut(BaseModel):
    name: str
    email: str | None
    created: datetime
    role: str | None = Field(None, description="the caller's strongest team role: member, creator or admin")
    is_admin: bool = False
    is_member: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avatar(self) -> Avatar:
        """Quay's avatar object of the organization."""
        return avatar(self.name, "org")


class OrgSettings(OrgOut):
    tag_expiration_s: int = Field(
        description="how long deleted, moved and expired tags stay restorable, in seconds (Quay's "
        "time machine window)"
    )


class OrgTeam(BaseModel):
    name: str
    description: str | None
    role: str
    member_count: int
    can_view: bool = Field(description="the caller administers the organization or is in this team")


class OrgDetail(OrgSettings):
    teams: dict[str, OrgTeam] = Field(description="the organization's teams by name (Quay's shape)")
    ordered_teams: list[str] = Field(description="team names in creation order")


class OrgList(BaseModel):
    organizations: list[OrgOut]
    next_page: str | None = None


@router.post(
    "/organization/",
    response_model=OrgOut,
    status_code=201,
    summary="Create an organization",
    responses=also((409, "the name is taken by a user or an organization")),
)
async def create_org(
    body: OrgCreate, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> OrgOut:
    p = caller.principal
    if not ctx.allow_org_creation and not p.superuser:
        raise Forbidden("organization creation is restricted to superusers on this registry")
    require_scope(caller, "org:admin")
    assert p.id is not None
    org = await ctx.organizations.create(body.name, body.email, caller.actor, p.id)
    return OrgOut(
        name=org.name, email=org.email, created=org.created_at, role="admin", is_admin=True, is_member=True
    )


@router.get(
    "/organization/",
    response_model=OrgList,
    summary="Organizations the caller belongs to (all for superusers)",
)
async def list_orgs(
    page: Page = Depends(), caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> OrgList:
    p = caller.principal
    member_of = None if p.superuser else (p.id if not p.is_robot else -1)
    orgs = await ctx.organizations.find(member_user_id=member_of, limit=page.limit, after=page.after)
    out = []
    for o in orgs:
        role = await ctx.authorizer.org_role(p, o.name)
        out.append(
            OrgOut(
                name=o.name,
                email=o.email,
                created=o.created_at,
                role=role,
                is_admin=role == "admin",
                is_member=role is not None,
            )
        )
    return OrgList(organizations=out, next_page=page.next_cursor(len(orgs), orgs[-1].name if orgs else None))


@router.get(
    "/organization/{org}", response_model=OrgDetail, summary="One organization, with its teams (Quay's shape)"
)
async def get_org(
    org: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> OrgDetail:
    role = await require_org_role(ctx, caller, org, "member")
    info = await ctx.organizations.get(org)
    if info is None:
        raise NotFound(f"no organization named {org!r}")
    mine = {m.team for m in await ctx.authorizer.memberships(caller.principal) if m.org == org}
    teams = sorted(await ctx.organizations.teams(org), key=lambda t: t.id)
    return OrgDetail(
        name=info.name,
        email=info.email,
        created=info.created_at,
        role=role,
        is_admin=role == "admin",
        is_member=True,
        tag_expiration_s=await ctx.lifecycle.namespace_window(org),
        teams={
            t.name: OrgTeam(
                name=t.name,
                description=t.description,
                role=t.role,
                member_count=t.member_count,
                can_view=role == "admin" or t.name in mine,
            )
            for t in teams
        },
        ordered_teams=[t.name for t in teams],
    )


@router.put(
    "/organization/{org}",
    response_model=OrgSettings,
    summary="Change an organization's e-mail and/or time machine window (tag_expiration_s)",
)
async def update_org(
    org: str, body: OrgUpdate, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> OrgSettings:
    await require_org_role(ctx, caller, org, "admin")
    if "tag_expiration_s" in body.model_fields_set:
        if body.tag_expiration_s is None:
            raise InvalidInput("tag_expiration_s may not be null")
        ctx.lifecycle.check_window(body.tag_expiration_s)  # refused before anything changes
    info = await ctx.organizations.update(org, email=given(body, "email", body.email), actor=caller.actor)
    if body.tag_expiration_s is not None:
        await ctx.lifecycle.set_namespace_window(org, body.tag_expiration_s, caller.actor)
    return OrgSettings(
        name=info.name,
        email=info.email,
        created=info.created_at,
        role="admin",
        is_admin=True,
        is_member=True,
        tag_expiration_s=await ctx.lifecycle.namespace_window(org),
    )


@router.delete(
    "/organization/{org}", response_model=Deleted, summary="Delete an organization and everything in it"
)
async def delete_org(
    org: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await require_org_role(ctx, caller, org, "admin")
    await ctx.organizations.delete(org, caller.actor)
    return Deleted()
