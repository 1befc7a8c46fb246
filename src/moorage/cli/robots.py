"""``moorage robot ...``: robot accounts (``namespace+short``, a 64-character token) for automation."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from moorage.app import Services
from moorage.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbOpt,
    call,
    cli_actor,
    open_settings,
    parse_time,
    with_services,
)
from moorage.cli.output import JsonOpt, console, emit_json, escape, iso, report, table
from moorage.identity.robots import RobotInfo

app = typer.Typer(
    help="Robot accounts: log in with `docker login -u 'namespace+short' -p TOKEN` from CI and scripts.",
    no_args_is_help=True,
)

NamespaceArg = Annotated[str, typer.Argument(help="the user or organization that owns the robot")]
ShortArg = Annotated[str, typer.Argument(help="the robot's short name (the part after '+')")]


def _robot_json(r: RobotInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": r.name,
        "namespace": r.namespace,
        "shortname": r.shortname,
        "description": r.description,
        "created_at": iso(r.created_at),
        "expires_at": iso(r.expires_at),
        "expired": r.expired,
    }
    if r.token is not None:
        out["token"] = r.token
    return out


def _registry_host(base_url: str) -> str:
    return urlsplit(base_url).netloc or base_url


def _login_line(r: RobotInfo, host: str) -> str:
    return f"docker login -u '{r.name}' -p {r.token} {host}"


def _print_token(r: RobotInfo, host: str, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json({**_robot_json(r), "docker_login": _login_line(r, host)})
        return
    console.print(f"{verb} robot account [bold]{escape(r.name)}[/bold].")
    console.print("Token (store it now; `moorage robot token` reveals it again):")
    print(r.token)  # plain print: no wrapping, ready to copy
    console.print("Log in with:")
    print(_login_line(r, host))


@app.command("create")
def create(
    namespace: NamespaceArg,
    short: ShortArg,
    description: Annotated[str | None, typer.Option("--description", help="what the robot is for")] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="ISO 8601 date or time after which the token stops working"),
    ] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create a robot account and print its token once, with a ready-to-copy `docker login` line.

    Robots start with no permissions: grant them with `moorage permission set REPO --robot ns+short`.
    """
    expires_at = parse_time(expires, "--expires")
    settings = open_settings(data_dir, config, database_url)

    async def go(services: Services) -> RobotInfo:
        return await services.robots.create(
            namespace, short, description=description, expires_at=expires_at, actor=cli_actor()
        )

    robot = call(settings, go)
    _print_token(robot, _registry_host(settings.base_url), as_json, "Created")


@app.command("list")
def list_robots(
    namespace: NamespaceArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List the robot accounts of a user or organization (tokens are not shown)."""

    async def go(services: Services) -> list[RobotInfo]:
        return await services.robots.list(namespace)

    robots = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_robot_json(r) for r in robots])
        return
    table(
        ("robot", "description", "created", "expires", "expired"),
        ((r.name, r.description, r.created_at, r.expires_at, r.expired) for r in robots),
        title=f"robots of {namespace}",
    )


@app.command("token")
def token(
    namespace: NamespaceArg,
    short: ShortArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Reveal a robot's current token (and the `docker login` line)."""
    settings = open_settings(data_dir, config, database_url)

    async def go(services: Services) -> RobotInfo:
        return await services.robots.get(namespace, short, reveal=True)

    robot = call(settings, go)
    host = _registry_host(settings.base_url)
    if as_json:
        emit_json({**_robot_json(robot), "docker_login": _login_line(robot, host)})
        return
    print(robot.token)
    console.print(f"[dim]{escape(_login_line(robot, host))}[/dim]", soft_wrap=True)


@app.command("regenerate")
def regenerate(
    namespace: NamespaceArg,
    short: ShortArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Replace a robot's token; the old one stops working at once."""
    settings = open_settings(data_dir, config, database_url)

    async def go(services: Services) -> RobotInfo:
        return await services.robots.regenerate(namespace, short, cli_actor())

    robot = call(settings, go)
    _print_token(robot, _registry_host(settings.base_url), as_json, "New token for")


@app.command("delete")
def delete(
    namespace: NamespaceArg,
    short: ShortArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete a robot account with its permissions and team memberships."""

    async def go(services: Services) -> None:
        await services.robots.delete(namespace, short, cli_actor())

    with_services(data_dir, config, database_url, go)
    name = f"{namespace}+{short}"
    report(as_json, {"deleted": name}, f"Deleted robot account [bold]{escape(name)}[/bold].")


@app.command("permissions")
def permissions(
    namespace: NamespaceArg,
    short: ShortArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List the repositories a robot was granted directly, with the role on each."""

    async def go(services: Services) -> list[tuple[str, str]]:
        await services.robots.get(namespace, short)  # NotFound for an unknown robot
        return await services.permissions.robot_permissions(namespace, short)

    rows = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([{"repository": repo, "role": role} for repo, role in rows])
        return
    table(("repository", "role"), rows, title=f"permissions of {namespace}+{short}")
