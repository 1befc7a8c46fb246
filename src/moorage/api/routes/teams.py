"""Teams of an organization and their members: /organization/{org}/team/..."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, computed_field

from moorage.api.access import require_org_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, signed_in_user
from moorage.api.avatar import Avatar, avatar
from moorage.api.context import ApiContext
from moorage.api.pagination import Page, paginate
from moorage.api.partial import given
from moorage.api.routes.schemas import Deleted, TeamName, TeamRole
from moorage.domain.unset import UNSET

router = APIRouter(tags=["teams"])


class TeamIn(BaseModel):
    """A new team gets role ``member`` unless given; on an existing team only the keys sent change."""

    role: TeamRole | None = None
    description: str | None = Field(None, max_length=4096)


class TeamOut(BaseModel):
    name: str
    role: str
    description: str | None
    member_count: int


class TeamList(BaseModel):
    teams: list[TeamOut]
    next_page: str | None = None


class MemberOut(BaseModel):
    name: str
    kind: str
    is_robot: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avatar(self) -> Avatar:
        """Quay's avatar object of the member."""
        return avatar(self.name, "robot" if self.is_robot else "user")


class MemberList(BaseModel):
    name: str
    members: list[MemberOut]
    next_page: str | None = None


@router.get("/organization/{org}/team", response_model=TeamList, summary="Teams of an organization")
async def list_teams(
    org: str,
    page: Page = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> TeamList:
    await require_org_role(ctx, caller, org, "member")
    teams, nxt = paginate(await ctx.organizations.teams(org), page, lambda t: t.name)
    return TeamList(
        teams=[
            TeamOut(name=t.name, role=t.role, description=t.description, member_count=t.member_count)
            for t in teams
        ],
        next_page=nxt,
    )


@router.get("/organization/{org}/team/{team}", response_model=TeamOut, summary="One team")
async def get_team(
    org: str, team: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> TeamOut:
    await require_org_role(ctx, caller, org, "member")
    t = await ctx.organizations.team(org, team)
    return TeamOut(name=t.name, role=t.role, description=t.description, member_count=t.member_count)


@router.put(
    "/organization/{org}/team/{team}", response_model=TeamOut, summary="Create a team or change its role"
)
async def put_team(
    org: str,
    team: TeamName,
    body: TeamIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> TeamOut:
    await require_org_role(ctx, caller, org, "admin")
    role = given(body, "role", body.role)
    await ctx.organizations.put_team(
        org,
        team,
        role=UNSET if role is None else role,  # an explicit null keeps the role too
        description=given(body, "description", body.description),
        actor=caller.actor,
    )
    t = await ctx.organizations.team(org, team)
    return TeamOut(name=t.name, role=t.role, description=t.description, member_count=t.member_count)


@router.delete("/organization/{org}/team/{team}", response_model=Deleted, summary="Delete a team")
async def delete_team(
    org: str, team: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await require_org_role(ctx, caller, org, "admin")
    await ctx.organizations.delete_team(org, team, caller.actor)
    return Deleted()


@router.get("/organization/{org}/team/{team}/members", response_model=MemberList, summary="Members of a team")
async def members(
    org: str,
    team: str,
    page: Page = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> MemberList:
    await require_org_role(ctx, caller, org, "member")
    ms, nxt = paginate(await ctx.organizations.members(org, team), page, lambda m: m.name)
    return MemberList(
        name=team,
        members=[MemberOut(name=m.name, kind=m.kind, is_robot=m.kind == "robot") for m in ms],
        next_page=nxt,
    )


@router.put(
    "/organization/{org}/team/{team}/members/{member}",
    response_model=MemberOut,
    summary="Add a user or one of the organization's robots to a team",
)
async def add_member(
    org: str,
    team: str,
    member: str,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> MemberOut:
    await require_org_role(ctx, caller, org, "admin")
    m = await ctx.organizations.add_member(org, team, member, caller.actor)
    return MemberOut(name=m.name, kind=m.kind, is_robot=m.kind == "robot")


@router.delete(
    "/organization/{org}/team/{team}/members/{member}", response_model=Deleted, summary="Remove a member"
)
async def remove_member(
    org: str,
    team: str,
    member: str,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> Deleted:
    await require_org_role(ctx, caller, org, "admin")
    await ctx.organizations.remove_member(org, team, member, caller.actor)
    return Deleted()
