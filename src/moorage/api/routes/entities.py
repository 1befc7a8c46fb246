"""Entity lookup (Quay's ``GET /entities/{prefix}``): users, robots, teams and the organization whose
names start with a prefix, for clients that resolve names and for autocomplete."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from moorage.api.auth import ApiCaller, current_caller, get_ctx
from moorage.api.avatar import Avatar, avatar
from moorage.api.context import ApiContext
from moorage.domain.errors import NotFound, Unauthenticated

router = APIRouter(tags=["entities"])

USER_LIMIT = 10


class Entity(BaseModel):
    name: str
    kind: Literal["user", "team", "org"]
    is_robot: bool | None = None  # users only
    is_org_member: bool | None = None  # when ?namespace= names an organization
    avatar: Avatar | None = None


class EntityList(BaseModel):
    results: list[Entity]


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@router.get(
    "/entities/{prefix}",
    response_model=EntityList,
    response_model_exclude_none=True,
    summary="Users, robots, teams and organizations whose names start with a prefix",
)
async def entities(
    prefix: str,
    namespace: str = Query("", description="an organization (or your own user name) to look in"),
    include_teams: str = Query("false", alias="includeTeams", description="add the organization's teams"),
    include_orgs: str = Query("false", alias="includeOrgs", description="add the organization itself"),
    caller: ApiCaller = Depends(current_caller),
    ctx: ApiContext = Depends(get_ctx),
) -> EntityList:
    """As in Quay, anyone may ask (the web UI's autocomplete and clients resolving names). An
    anonymous caller gets exact user names only, so the accounts cannot be listed by prefix; teams
    and robots only ever go to members of their organization (or the robots' own user)."""
    p = caller.principal
    if p.is_anonymous and not ctx.authorizer.anonymous_access:
        raise Unauthenticated("sign in first: Basic credentials or a bearer token")
    prefix = prefix.replace(" ", "").lower()
    org_role = None
    if namespace and await ctx.organizations.get(namespace) is not None:
        org_role = await ctx.authorizer.org_role(p, namespace)
    is_org = org_role is not None
    # robots are listed from an organization the caller belongs to, or from the caller's own namespace
    robot_ns = namespace if is_org or (namespace and namespace == p.name and not p.is_robot) else None

    members: set[str] = set()
    teams: list[Entity] = []
    if is_org:
        for t in await ctx.organizations.teams(namespace):
            if _flag(include_teams) and t.name.startswith(prefix):
                teams.append(
                    Entity(name=t.name, kind="team", is_org_member=True, avatar=avatar(t.name, "team"))
                )
            members.update(m.name for m in await ctx.organizations.members(namespace, t.name))

    users = [
        Entity(
            name=n,
            kind="user",
            is_robot=False,
            is_org_member=(n in members) if is_org else None,
            avatar=avatar(n, "user"),
        )
        for n in await ctx.users.matching(prefix, USER_LIMIT)
        if not p.is_anonymous or n == prefix
    ]
    robots: list[Entity] = []
    if robot_ns is not None:
        try:
            found = await ctx.robots.list(robot_ns)
        except NotFound:
            found = []
        robots = [
            Entity(
                name=r.name,
                kind="user",
                is_robot=True,
                is_org_member=True if is_org else None,
                avatar=avatar(r.name, "robot"),
            )
            for r in found
            if r.name.startswith(prefix) or r.shortname.startswith(prefix)
        ]
    orgs = []
    if is_org and _flag(include_orgs) and org_role == "admin" and namespace.startswith(prefix):
        orgs.append(Entity(name=namespace, kind="org", is_org_member=True, avatar=avatar(namespace, "org")))
    return EntityList(results=teams + users + robots + orgs)
