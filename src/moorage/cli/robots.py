"""``moorage robot ...``: robot accounts (``namespace+short``, a 64-character token) for automation."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.cli.common import (
    EXIT_INVALID,
    ConfigOpt,
    DataDirOpt,
    DbOpt,
    PublicUrlOpt,
    call,
    cli_actor,
    err_console,
    fail,
    open_settings,
    parse_time,
    registry_url,
    with_services,
)
from moorage.cli.output import JsonOpt, console, emit_json, escape, iso, report, table
from moorage.domain.clientcommands import ClientCommands
from moorage.identity.robots import RobotInfo

app = typer.Typer(
    help="Robot accounts (named namespace+short): log in with `docker login -u='namespace+short' "
    "-p='TOKEN' REGISTRY` from CI and scripts.",
    no_args_is_help=True,
)

NamespaceArg = Annotated[str, typer.Argument(help="the user or organization that owns the robots")]
RobotArg = Annotated[
    str,
    typer.Argument(
        metavar="ROBOT",
        help="the robot account as namespace+short, e.g. acme+ci (as `permission set --robot`)",
    ),
]
ShortArg = Annotated[
    str | None,
    typer.Argument(metavar="[SHORT]", help="older form: ROBOT is the namespace and SHORT the part after '+'"),
]


def robot_name(robot: str, short: str | None) -> tuple[str, str]:
    """(namespace, short) from ``ns+short``, or from the older two-argument form ``ns short``."""
    if short is not None:
        if "+" in robot:
            fail(f"give the robot either as {robot} or as NAMESPACE SHORT, not both", EXIT_INVALID)
        return robot, short
    namespace, plus, short_name = robot.partition("+")
    if not plus or not namespace or not short_name or "+" in short_name:
        fail(f"give the robot account as namespace+short (e.g. acme+ci), not {robot!r}", EXIT_INVALID)
    return namespace, short_name


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


def _logins(r: RobotInfo, commands: ClientCommands) -> dict[str, str]:
    token = r.token or ""
    return {
        "docker_login": commands.login("docker", r.name, token),
        "podman_login": commands.login("podman", r.name, token),
    }


def _print_token(r: RobotInfo, commands: ClientCommands, as_json: bool, verb: str) -> None:
    logins = _logins(r, commands)
    if as_json:
        emit_json({**_robot_json(r), **logins, "registry": commands.base_url})
        return
    console.print(f"{verb} robot account [bold]{escape(r.name)}[/bold].")
    console.print("Token (store it now; `moorage robot token` reveals it again):")
    print(r.token)  # plain print: no wrapping, ready to copy
    console.print(f"Log in to {escape(commands.base_url)} with:")
    for line in logins.values():
        print(line)
    if commands.insecure_registries_advice:
        console.print(escape(commands.insecure_registries_advice), style="dim", soft_wrap=True)


@app.command("create")
def create(
    robot: RobotArg,
    short: ShortArg = None,
    description: Annotated[str | None, typer.Option("--description", help="what the robot is for")] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="ISO 8601 date or time after which the token stops working"),
    ] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    public_url: PublicUrlOpt = None,
) -> None:
    """Create a robot account and print its token once, with a ready-to-copy `docker login` line.

    Robots start with no permissions: grant them with `moorage permission set REPO --robot ns+short`.
    """
    namespace, short_name = robot_name(robot, short)
    expires_at = parse_time(expires, "--expires")
    settings = open_settings(data_dir, config, database_url)

    async def go(services: Services) -> RobotInfo:
        return await services.robots.create(
            namespace, short_name, description=description, expires_at=expires_at, actor=cli_actor()
        )

    created = call(settings, go)
    _print_token(created, ClientCommands(registry_url(settings, public_url)), as_json, "Created")


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
    robot: RobotArg,
    short: ShortArg = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    public_url: PublicUrlOpt = None,
) -> None:
    """Reveal a robot's current token: the token alone on stdout (so `TOKEN=$(moorage robot token
    ns+name)` works), the `docker login` and `podman login` lines on stderr."""
    namespace, short_name = robot_name(robot, short)
    settings = open_settings(data_dir, config, database_url)

    async def go(services: Services) -> RobotInfo:
        return await services.robots.get(namespace, short_name, reveal=True)

    info = call(settings, go)
    commands = ClientCommands(registry_url(settings, public_url))
    logins = _logins(info, commands)
    if as_json:
        emit_json({**_robot_json(info), **logins, "registry": commands.base_url})
        return
    print(info.token)
    for line in logins.values():
        err_console.print(f"[dim]{escape(line)}[/dim]", soft_wrap=True)


@app.command("regenerate")
def regenerate(
    robot: RobotArg,
    short: ShortArg = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    public_url: PublicUrlOpt = None,
) -> None:
    """Replace a robot's token; the old one stops working at once."""
    namespace, short_name = robot_name(robot, short)
    settings = open_settings(data_dir, config, database_url)

    async def go(services: Services) -> RobotInfo:
        return await services.robots.regenerate(namespace, short_name, cli_actor())

    info = call(settings, go)
    _print_token(info, ClientCommands(registry_url(settings, public_url)), as_json, "New token for")


@app.command("delete")
def delete(
    robot: RobotArg,
    short: ShortArg = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete a robot account with its permissions and team memberships."""
    namespace, short_name = robot_name(robot, short)

    async def go(services: Services) -> None:
        await services.robots.delete(namespace, short_name, cli_actor())

    with_services(data_dir, config, database_url, go)
    name = f"{namespace}+{short_name}"
    report(as_json, {"deleted": name}, f"Deleted robot account [bold]{escape(name)}[/bold].")


@app.command("permissions")
def permissions(
    robot: RobotArg,
    short: ShortArg = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List the repositories a robot was granted directly, with the role on each."""
    namespace, short_name = robot_name(robot, short)

    async def go(services: Services) -> list[tuple[str, str]]:
        await services.robots.get(namespace, short_name)  # NotFound for an unknown robot
        return await services.permissions.robot_permissions(namespace, short_name)

    rows = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([{"repository": repo, "role": role} for repo, role in rows])
        return
    table(("repository", "role"), rows, title=f"permissions of {namespace}+{short_name}")
