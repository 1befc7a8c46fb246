"""``moorage user ...``: account administration from the command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from moorage.app import build_services
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, fail, migrate, run, settings_from
from moorage.identity.users import UserError

app = typer.Typer(help="Create and list user accounts.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="user name; the user owns the namespace of the same name")],
    superuser: Annotated[bool, typer.Option("--superuser", help="may administer and push anywhere")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create a user account (and its namespace)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    migrate(settings)

    async def go() -> None:
        services = build_services(settings)
        try:
            await services.registry.users.create(name, password, superuser=superuser, email=email)
        finally:
            await services.db.dispose()

    try:
        run(go())
    except UserError as exc:
        fail(str(exc), 2)
    kind = "superuser" if superuser else "user"
    Console().print(f"Created {kind} [bold]{name}[/bold] (namespace {name}/).")


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List user accounts."""
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    migrate(settings)

    async def go() -> list[dict[str, object]]:
        services = build_services(settings)
        try:
            users = await services.registry.users.list()
        finally:
            await services.db.dispose()
        return [
            {"username": u.username, "superuser": u.superuser, "enabled": u.enabled, "email": u.email}
            for u in users
        ]

    rows = run(go())
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("username", "superuser", "enabled", "email")
    for r in rows:
        table.add_row(
            str(r["username"]),
            "yes" if r["superuser"] else "",
            "yes" if r["enabled"] else "no",
            str(r["email"] or ""),
        )
    Console().print(table)
