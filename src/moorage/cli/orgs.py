"""``moorage org ...`` and ``moorage team ...``: organizations, their teams and team members."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, cli_actor, with_services
from moorage.cli.output import JsonOpt, TeamRole, YesOpt, confirm, emit_json, escape, iso, report, table
from moorage.domain.errors import Conflict, NotFound
from moorage.identity.orgs import MemberInfo, OrgInfo, TeamInfo

org_app = typer.Typer(
    help="Organizations: namespaces owned by teams rather than by one user.", no_args_is_help=True
)
team_app = typer.Typer(
    help="Teams of an organization. Roles: member (gets the team's repository permissions), "
    "creator (may also create repositories), admin (administers the organization).",
    no_args_is_help=True,
)

OrgArg = Annotated[str, typer.Argument(help="organization name")]
TeamArg = Annotated[str, typer.Argument(help="team name")]
MemberArg = Annotated[str, typer.Argument(help="a user name, or one of the organization's robots (org+name)")]
RoleOpt = Annotated[TeamRole, typer.Option("--role", help="the team's role in the organization")]
DescriptionOpt = Annotated[str | None, typer.Option("--description", help="what the team is for")]


def _org_json(o: OrgInfo) -> dict[str, Any]:
    return {"name": o.name, "email": o.email, "created_at": iso(o.created_at)}


def _team_json(t: TeamInfo) -> dict[str, Any]:
    return {"name": t.name, "role": t.role, "description": t.description, "member_count": t.member_count}


def _member_json(m: MemberInfo) -> dict[str, str]:
    return {"kind": m.kind, "name": m.name}


async def _all_orgs(services: Services) -> list[OrgInfo]:
    out: list[OrgInfo] = []
    after: str | None = None
    while True:
        page = await services.organizations.find(member_user_id=None, limit=500, after=after)
        out += page
        if len(page) < 500:
            return out
        after = page[-1].name


# -- organizations -----------------------------------------------------------------------------


@org_app.command("create")
def org_create(
    name: OrgArg,
    owner: Annotated[str, typer.Option("--owner", help="user who joins the owners team (admin role)")],
    email: Annotated[str | None, typer.Option("--email", help="contact e-mail address")] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create an organization; --owner becomes the first member of its owners team."""

    async def go(services: Services) -> OrgInfo:
        user = await services.users.get(owner)
        if user is None:
            raise NotFound(f"no user named {owner!r} (the --owner must be an existing user)")
        return await services.organizations.create(name, email, cli_actor(), user.id)

    org = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {**_org_json(org), "owners": [owner]},
        f"Created organization [bold]{escape(name)}[/bold]; {escape(owner)} is in its owners team.",
    )


@org_app.command("list")
def org_list(
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List every organization."""

    async def go(services: Services) -> list[dict[str, Any]]:
        out = []
        for o in await _all_orgs(services):
            teams = await services.organizations.teams(o.name)
            out.append({**_org_json(o), "teams": len(teams)})
        return out

    rows = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json(rows)
        return
    table(
        ("name", "email", "teams", "created"),
        ((r["name"], r["email"], r["teams"], (r["created_at"] or "")[:19]) for r in rows),
        title="organizations",
    )


@org_app.command("show")
def org_show(
    name: OrgArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Show an organization: its teams with their members, and its robot accounts."""

    async def go(services: Services) -> dict[str, Any]:
        org = await services.organizations.get(name)
        if org is None:
            raise NotFound(f"no organization named {name!r}")
        teams = []
        for t in await services.organizations.teams(name):
            members = await services.organizations.members(name, t.name)
            teams.append({**_team_json(t), "members": [_member_json(m) for m in members]})
        robots = [
            {"name": r.name, "description": r.description, "expires_at": iso(r.expires_at)}
            for r in await services.robots.list(name)
        ]
        return {**_org_json(org), "teams": teams, "robots": robots}

    info = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json(info)
        return
    table(
        ("field", "value"),
        [("name", info["name"]), ("email", info["email"]), ("created", (info["created_at"] or "")[:19])],
        title=f"organization {name}",
    )
    table(
        ("team", "role", "members", "description"),
        (
            (t["name"], t["role"], ", ".join(m["name"] for m in t["members"]), t["description"])
            for t in info["teams"]
        ),
        title="teams",
    )
    table(
        ("robot", "description", "expires"),
        ((r["name"], r["description"], (r["expires_at"] or "")[:19]) for r in info["robots"]),
        title="robots",
    )


@org_app.command("delete")
def org_delete(
    name: OrgArg,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete an organization with its teams, robots and repositories (their blobs become garbage)."""
    confirm(yes, f"Delete organization {name} and every repository in {name}/?")

    async def go(services: Services) -> None:
        await services.organizations.delete(name, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(as_json, {"deleted": name}, f"Deleted organization [bold]{escape(name)}[/bold].")


# -- teams ---------------------------------------------------------------------------------------


@team_app.command("create")
def team_create(
    org: OrgArg,
    team: TeamArg,
    role: RoleOpt = TeamRole.member,
    description: DescriptionOpt = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create a team in an organization (default role: member)."""

    async def go(services: Services) -> TeamInfo:
        try:
            await services.organizations.team(org, team)
        except NotFound:
            pass
        else:
            raise Conflict(
                f"team {team!r} already exists in {org!r} (change it with `moorage team set-role`)"
            )
        return await services.organizations.put_team(
            org, team, role=role.value, description=description, actor=cli_actor()
        )

    t = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        _team_json(t),
        f"Created team [bold]{escape(team)}[/bold] in {escape(org)} with role {t.role}.",
    )


@team_app.command("set-role")
def team_set_role(
    org: OrgArg,
    team: TeamArg,
    role: RoleOpt,
    description: Annotated[
        str | None, typer.Option("--description", help="new description \\[default: keep]")
    ] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Change a team's role (and, with --description, its description). The owners team stays admin."""

    async def go(services: Services) -> TeamInfo:
        current = await services.organizations.team(org, team)
        updated = await services.organizations.put_team(
            org,
            team,
            role=role.value,
            description=current.description if description is None else description,
            actor=cli_actor(),
        )
        return await services.organizations.team(org, updated.name)

    t = with_services(data_dir, config, database_url, go)
    report(as_json, _team_json(t), f"Team {escape(org)}/{escape(team)} now has role {t.role}.")


@team_app.command("list")
def team_list(
    org: OrgArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List an organization's teams with their roles and member counts."""

    async def go(services: Services) -> list[TeamInfo]:
        return await services.organizations.teams(org)

    teams = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_team_json(t) for t in teams])
        return
    table(
        ("team", "role", "members", "description"),
        ((t.name, t.role, t.member_count, t.description) for t in teams),
        title=f"teams of {org}",
    )


@team_app.command("delete")
def team_delete(
    org: OrgArg,
    team: TeamArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete a team (its repository permissions go with it). The owners team cannot be deleted."""

    async def go(services: Services) -> None:
        await services.organizations.delete_team(org, team, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(as_json, {"deleted": f"{org}/{team}"}, f"Deleted team {escape(org)}/{escape(team)}.")


@team_app.command("add-member")
def team_add_member(
    org: OrgArg,
    team: TeamArg,
    member: MemberArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Add a user, or one of the organization's robot accounts, to a team."""

    async def go(services: Services) -> MemberInfo:
        return await services.organizations.add_member(org, team, member, cli_actor())

    m = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"team": team, **_member_json(m)},
        f"Added {m.kind} [bold]{escape(member)}[/bold] to {escape(org)}/{escape(team)}.",
    )


@team_app.command("remove-member")
def team_remove_member(
    org: OrgArg,
    team: TeamArg,
    member: MemberArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Remove a member from a team. The owners team keeps at least one user."""

    async def go(services: Services) -> None:
        await services.organizations.remove_member(org, team, member, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"team": team, "removed": member},
        f"Removed [bold]{escape(member)}[/bold] from {escape(org)}/{escape(team)}.",
    )


@team_app.command("members")
def team_members(
    org: OrgArg,
    team: TeamArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List the users and robot accounts of a team."""

    async def go(services: Services) -> list[MemberInfo]:
        return await services.organizations.members(org, team)

    members = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_member_json(m) for m in members])
        return
    table(("member", "kind"), ((m.name, m.kind) for m in members), title=f"members of {org}/{team}")
