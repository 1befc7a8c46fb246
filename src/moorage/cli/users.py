"""``moorage user ...``: account administration from the command line (acts as a superuser)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbOpt,
    cli_actor,
    with_services,
)
from moorage.cli.output import JsonOpt, YesOpt, confirm, emit_json, escape, iso, report, table
from moorage.domain.errors import NotFound
from moorage.identity.users import UserInfo
from moorage.registry.catalog import Visibility

app = typer.Typer(
    help="Create, inspect, disable and delete user accounts. Each user owns the namespace of its name.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="user name")]


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user_json(u: UserInfo, locked_until: str | None = None) -> dict[str, Any]:
    return {
        "username": u.username,
        "superuser": u.superuser,
        "enabled": u.enabled,
        "email": u.email,
        "locked_until": locked_until,
    }


async def _locks(services: Services) -> dict[str, str | None]:
    """user name -> end of its login lock, for accounts locked after failed logins."""
    return {
        lock.key.removeprefix("user:"): iso(lock.locked_until)
        for lock in await services.throttle.locked()
        if lock.key.startswith("user:")
    }


async def _must_get(services: Services, name: str) -> UserInfo:
    u = await services.users.get(name)
    if u is None:
        raise NotFound(f"no user named {name!r}")
    return u


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="user name; the user owns the namespace of the same name")],
    superuser: Annotated[bool, typer.Option("--superuser", help="may administer and push anywhere")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin (else prompt)")
    ] = False,
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create a user account (and its namespace). Passwords have at least 8 characters."""
    password = _read_password(password_stdin)

    async def go(services: Services) -> UserInfo:
        return await services.users.create(
            name, password, superuser=superuser, email=email, actor=cli_actor()
        )

    u = with_services(data_dir, config, database_url, go)
    kind = "superuser" if superuser else "user"
    report(as_json, _user_json(u), f"Created {kind} [bold]{escape(name)}[/bold] (namespace {escape(name)}/).")


@app.command("list")
def list_users(
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List user accounts, with accounts locked after too many failed logins."""

    async def go(services: Services) -> list[dict[str, Any]]:
        locks = await _locks(services)
        return [_user_json(u, locks.get(u.username)) for u in await services.users.list()]

    rows = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json(rows)
        return
    table(
        ("username", "superuser", "enabled", "email", "locked until"),
        (
            (r["username"], "yes" if r["superuser"] else "", r["enabled"], r["email"], r["locked_until"])
            for r in rows
        ),
        title="users",
    )


@app.command("show")
def show(
    name: NameArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Show one account: status, lock, organizations, robot accounts and repository count."""

    async def go(services: Services) -> dict[str, Any]:
        u = await _must_get(services, name)
        out = _user_json(u, (await _locks(services)).get(name))
        orgs = await services.organizations.find(member_user_id=u.id, limit=1000, after=None)
        out["organizations"] = [o.name for o in orgs]
        out["robots"] = [r.name for r in await services.robots.list(name)]
        out["repositories"] = [
            r.name for r in await services.repositories.list(_everything(), namespace=name, limit=1000)
        ]
        return out

    info = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json(info)
        return
    table(
        ("field", "value"),
        [
            ("username", info["username"]),
            ("superuser", info["superuser"]),
            ("enabled", info["enabled"]),
            ("email", info["email"]),
            ("locked until", info["locked_until"]),
            ("organizations", ", ".join(info["organizations"])),
            ("robots", ", ".join(info["robots"])),
            ("repositories", ", ".join(info["repositories"])),
        ],
        title=f"user {name}",
    )


def _everything() -> Visibility:
    return Visibility(everything=True)


def _update(
    name: str,
    data_dir: Path | None,
    config: Path | None,
    database_url: str | None,
    *,
    enabled: bool | None = None,
    superuser: bool | None = None,
) -> dict[str, Any]:
    async def go(services: Services) -> dict[str, Any]:
        u = await services.users.update(name, enabled=enabled, superuser=superuser, actor=cli_actor())
        return _user_json(u)

    return with_services(data_dir, config, database_url, go)


@app.command("disable")
def disable(
    name: NameArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Disable an account: it can no longer log in, pull or push (its data stays)."""
    out = _update(name, data_dir, config, database_url, enabled=False)
    report(as_json, out, f"Disabled [bold]{escape(name)}[/bold].")


@app.command("enable")
def enable(
    name: NameArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Enable a disabled account again."""
    out = _update(name, data_dir, config, database_url, enabled=True)
    report(as_json, out, f"Enabled [bold]{escape(name)}[/bold].")


@app.command("set-superuser")
def set_superuser(
    name: NameArg,
    revoke: Annotated[bool, typer.Option("--revoke", help="take superuser rights away instead")] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Grant superuser rights (administer everything, push anywhere), or take them away with --revoke."""
    out = _update(name, data_dir, config, database_url, superuser=not revoke)
    report(as_json, out, f"{escape(name)} is {'no longer' if revoke else 'now'} a superuser.")


@app.command("passwd")
def passwd(
    name: NameArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from stdin (else prompt)")
    ] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Set a user's password (at least 8 characters) and lift a login lock on the account."""
    password = _read_password(password_stdin)

    async def go(services: Services) -> None:
        if not await services.users.set_password(name, password, cli_actor()):
            raise NotFound(f"no user named {name!r}")
        await services.throttle.unlock(f"user:{name}")

    with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"username": name, "password_changed": True},
        f"Changed the password of [bold]{escape(name)}[/bold].",
    )


@app.command("unlock")
def unlock(
    name: NameArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Lift the lock that too many failed logins put on an account, before it expires."""

    async def go(services: Services) -> bool:
        await _must_get(services, name)
        lifted = await services.throttle.unlock(f"user:{name}")
        if lifted:
            await services.audit.record("unlock_account", cli_actor(), key=f"user:{name}")
        return lifted

    lifted = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"username": name, "unlocked": lifted},
        f"Unlocked {escape(name)}." if lifted else f"{escape(name)} was not locked.",
    )


@app.command("delete")
def delete(
    name: NameArg,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete an account with its namespace, robot accounts and repositories (blobs become garbage)."""
    confirm(yes, f"Delete user {name} and every repository in {name}/?")

    async def go(services: Services) -> None:
        await services.users.delete(name, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(as_json, {"deleted": name}, f"Deleted user [bold]{escape(name)}[/bold].")
