"""``moorage permission ...`` (repository grants) and ``moorage prototype ...`` (organization
default permissions applied to new repositories)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.authz.permissions import DefaultPermissionInfo, Grant
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, cli_actor, one_delegate, with_services
from moorage.cli.output import JsonOpt, RepoRole, emit_json, escape, report, table

permission_app = typer.Typer(
    help="Repository permissions: read (pull), write (push, delete tags), admin (also administer) "
    "for users, teams of the repository's organization, and robots of its namespace.",
    no_args_is_help=True,
)
prototype_app = typer.Typer(
    help="Default permissions of an organization, granted on every repository created in it "
    "(optionally only when a given user, or a member of a given team, creates it).",
    no_args_is_help=True,
)

RepoArg = Annotated[str, typer.Argument(help="repository, e.g. acme/app")]
OrgArg = Annotated[str, typer.Argument(help="organization name")]
UserOpt = Annotated[str | None, typer.Option("--user", help="a user name")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="a team of the organization")]
RobotOpt = Annotated[str | None, typer.Option("--robot", help="a robot account, namespace+short")]
RoleOpt = Annotated[RepoRole, typer.Option("--role", help="read, write or admin")]


def _grant_json(g: Grant) -> dict[str, str]:
    return {"kind": g.kind, "name": g.name, "role": g.role}


def _default_json(d: DefaultPermissionInfo) -> dict[str, Any]:
    return {
        "id": d.uuid,
        "delegate_kind": d.delegate_kind,
        "delegate": d.delegate,
        "role": d.role,
        "activating_user": d.activating_user,
        "activating_team": d.activating_team,
    }


# -- repository permissions -------------------------------------------------------------------


@permission_app.command("list")
def permission_list(
    repository: RepoArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List who holds which role on a repository."""

    async def go(services: Services) -> list[Grant]:
        return await services.permissions.grants(repository)

    grants = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_grant_json(g) for g in grants])
        return
    table(
        ("kind", "name", "role"),
        ((g.kind, g.name, g.role) for g in grants),
        title=f"permissions on {repository}",
    )


@permission_app.command("set")
def permission_set(
    repository: RepoArg,
    role: RoleOpt,
    user: UserOpt = None,
    team: TeamOpt = None,
    robot: RobotOpt = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Grant (or change) the role of one user, team or robot on a repository."""
    kind, name = one_delegate(user, team, robot)

    async def go(services: Services) -> Grant:
        return await services.permissions.set(repository, kind, name, role.value, cli_actor())

    g = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"repository": repository, **_grant_json(g)},
        f"{kind.capitalize()} [bold]{escape(name)}[/bold] has {g.role} on {escape(repository)}.",
    )


@permission_app.command("remove")
def permission_remove(
    repository: RepoArg,
    user: UserOpt = None,
    team: TeamOpt = None,
    robot: RobotOpt = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Take away the permission of one user, team or robot on a repository."""
    kind, name = one_delegate(user, team, robot)

    async def go(services: Services) -> None:
        await services.permissions.remove(repository, kind, name, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"repository": repository, "kind": kind, "name": name, "removed": True},
        f"Removed the permission of {kind} [bold]{escape(name)}[/bold] on {escape(repository)}.",
    )


# -- default permissions (prototypes) ---------------------------------------------------------


@prototype_app.command("list")
def prototype_list(
    org: OrgArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List an organization's default permissions (the id is what `prototype remove` takes)."""

    async def go(services: Services) -> list[DefaultPermissionInfo]:
        return await services.permissions.defaults(org)

    defaults = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_default_json(d) for d in defaults])
        return
    table(
        ("id", "kind", "delegate", "role", "when created by"),
        (
            (
                d.uuid,
                d.delegate_kind,
                d.delegate,
                d.role,
                d.activating_user or (f"team {d.activating_team}" if d.activating_team else "anyone"),
            )
            for d in defaults
        ),
        title=f"default permissions of {org}",
    )


@prototype_app.command("add")
def prototype_add(
    org: OrgArg,
    role: RoleOpt,
    user: UserOpt = None,
    team: TeamOpt = None,
    robot: RobotOpt = None,
    creator: Annotated[
        str | None, typer.Option("--creator", help="only for repositories this user creates")
    ] = None,
    creator_team: Annotated[
        str | None,
        typer.Option("--creator-team", help="only for repositories a member of this team creates"),
    ] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Add a default permission: grant --role to one user, team or robot on each new repository."""
    kind, name = one_delegate(user, team, robot)

    async def go(services: Services) -> DefaultPermissionInfo:
        return await services.permissions.add_default(
            org,
            delegate_kind=kind,
            delegate=name,
            role=role.value,
            activating_user=creator,
            activating_team=creator_team,
            actor=cli_actor(),
        )

    d = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        _default_json(d),
        f"Added default permission {d.uuid}: {kind} [bold]{escape(name)}[/bold] gets {d.role} "
        f"on new repositories of {escape(org)}.",
    )


@prototype_app.command("remove")
def prototype_remove(
    org: OrgArg,
    prototype_id: Annotated[str, typer.Argument(help="the id (a uuid) shown by `moorage prototype list`")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Remove a default permission (repositories created before keep their grants)."""

    async def go(services: Services) -> None:
        await services.permissions.delete_default(org, prototype_id, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"organization": org, "deleted": prototype_id},
        f"Removed default permission {escape(prototype_id)} of {escape(org)}.",
    )
