"""Teams of an organization and their members (mirrors api/routes/teams.py).

Members of the organization see the teams and who is in them; only its admins create, change and
delete teams and add or remove members. Every action re-checks the role on the server.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import Conflict, InvalidInput, RegistryError, ServiceError
from moorage.domain.roles import TEAM_ROLES
from moorage.identity.orgs import OWNERS_TEAM
from moorage.ui.pages.org_common import OrgView, load_org, readable, slice_page
from moorage.ui.web import actor, ctx, field, form, page, redirect, render

TEAM_ROLE_HELP = {
    "member": "gets the permissions granted to the team",
    "creator": "may also create repositories",
    "admin": "administers the whole organization",
}


async def _teams_page(
    request: Request,
    view: OrgView,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    c = ctx(request)
    after = request.query_params.get("after") or None
    teams, next_after = slice_page(
        await c.organizations.teams(view.name), after, c.settings.page_size, lambda t: t.name
    )
    # ?new=1 (the button's address without JavaScript) and a refused new team show the form as a page
    creating = view.is_admin and ("new" in request.query_params or (values is not None and "name" in values))
    return render(
        request,
        "org_teams.html",
        status=status,
        org=view,
        current="teams",
        title=f"{view.name} · {'new team' if creating else 'teams'}",
        creating=creating,
        teams=teams,
        after=after,
        next_after=next_after,
        roles=TEAM_ROLES,
        role_help=TEAM_ROLE_HELP,
        owners=OWNERS_TEAM,
        error=error,
        values=values or {"role": "member"},
    )


async def teams(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"])
    return await _teams_page(request, view)


async def create_team(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    c = ctx(request)
    data = await form(request)
    values = {
        "name": field(data, "name", max_length=255),
        "role": field(data, "role", max_length=16) or "member",
        "description": field(data, "description", max_length=4096),
    }
    try:
        if not values["name"]:
            raise InvalidInput("give the team a name")
        if any(t.name == values["name"] for t in await c.organizations.teams(view.name)):
            raise Conflict(f"a team named {values['name']} already exists")
        await c.organizations.put_team(
            view.name,
            values["name"],
            role=values["role"],
            description=values["description"] or None,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _teams_page(request, view, error=text, status=status, values=values)
    return redirect(request, f"{view.url}/teams/{values['name']}", f"Team {values['name']} created.")


async def _team_page(
    request: Request,
    view: OrgView,
    name: str,
    *,
    error: str | None = None,
    status: int = 200,
    member_value: str = "",
) -> Response:
    c = ctx(request)
    team = await c.organizations.team(view.name, name)
    after = request.query_params.get("after") or None
    members, next_after = slice_page(
        await c.organizations.members(view.name, name), after, c.settings.page_size, lambda m: m.name
    )
    robots = await c.robots.list(view.name) if view.is_admin else []
    return render(
        request,
        "org_team.html",
        status=status,
        org=view,
        current="teams",
        title=f"{view.name} · team {team.name}",
        team=team,
        members=members,
        after=after,
        next_after=next_after,
        robots=robots,
        roles=TEAM_ROLES,
        role_help=TEAM_ROLE_HELP,
        owners=OWNERS_TEAM,
        error=error,
        member_value=member_value,
    )


async def team(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"])
    return await _team_page(request, view, request.path_params["team"])


async def update_team(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    name = request.path_params["team"]
    c = ctx(request)
    data = await form(request)
    try:
        await c.organizations.team(view.name, name)  # change an existing team, never create one here
        await c.organizations.put_team(
            view.name,
            name,
            role=field(data, "role", max_length=16),
            description=field(data, "description", max_length=4096) or None,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _team_page(request, view, name, error=text, status=status)
    return redirect(request, f"{view.url}/teams/{name}", f"Team {name} saved.")


async def delete_team(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    name = request.path_params["team"]
    try:
        await ctx(request).organizations.delete_team(view.name, name, actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _team_page(request, view, name, error=text, status=status)
    return redirect(request, f"{view.url}/teams", f"Team {name} deleted.")


async def add_member(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    name = request.path_params["team"]
    data = await form(request)
    member = ""
    try:
        member = field(data, "member", max_length=512)
        if not member:
            raise InvalidInput("enter a user name or a robot account (organization+robot)")
        added = await ctx(request).organizations.add_member(view.name, name, member, actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _team_page(request, view, name, error=text, status=status, member_value=member)
    what = "Robot account" if added.kind == "robot" else "User"
    return redirect(request, f"{view.url}/teams/{name}", f"{what} {member} added to {name}.")


async def remove_member(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    name = request.path_params["team"]
    data = await form(request)
    try:
        member = field(data, "member", required=True, max_length=512)
        await ctx(request).organizations.remove_member(view.name, name, member, actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _team_page(request, view, name, error=text, status=status)
    return redirect(request, f"{view.url}/teams/{name}", f"{member} removed from {name}.")


routes = [
    page("/organization/{org}/teams", teams),
    page("/organization/{org}/teams", create_team, methods=("POST",)),
    page("/organization/{org}/teams/{team}", team),
    page("/organization/{org}/teams/{team}", update_team, methods=("POST",)),
    page("/organization/{org}/teams/{team}/delete", delete_team, methods=("POST",)),
    page("/organization/{org}/teams/{team}/members", add_member, methods=("POST",)),
    page("/organization/{org}/teams/{team}/members/remove", remove_member, methods=("POST",)),
]
