"""Options shared by every command that touches the data directory or the database, and the one
place that opens the services, runs a command's coroutine and turns refusals into exit codes."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from moorage.config import Settings, load_settings
from moorage.db.migrate import upgrade
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, RegistryError, ServiceError

if TYPE_CHECKING:
    from moorage.app import Services

T = TypeVar("T")

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the database, blobs and keys live \\[default: ./moorage-data]"),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (keys: see docs/config.md)", exists=True),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="sqlite:///path or postgresql://user@host/db \\[default: SQLite in data dir]"
    ),
]

# exit codes: 1 = not found / refused, 2 = invalid input (as click's usage errors)
EXIT_REFUSED = 1
EXIT_INVALID = 2

# registry-level errors that mean "the input is malformed" rather than "it does not exist"
_INVALID_CODES = frozenset({"NAME_INVALID", "TAG_INVALID", "DIGEST_INVALID", "MANIFEST_INVALID"})

err_console = Console(stderr=True)


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except (ValidationError, ValueError) as exc:
        err_console.print(f"[red]Invalid configuration:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def cli_actor() -> Actor:
    """Who the audit log records for a change made from the command line (a local administrator)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        who = "unknown"
    return Actor(f"cli:{who}", "system")


def open_settings(data_dir: Path | None, config: Path | None, database_url: str | None) -> Settings:
    """Settings from the shared options, with the database migrated to the latest schema."""
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    migrate(settings)
    return settings


def call(settings: Settings, fn: Callable[[Services], Awaitable[T]]) -> T:
    """Build the services, run ``fn`` with them, dispose of them; refusals exit with a message."""
    from moorage.app import build_services

    async def go() -> T:
        services = build_services(settings)
        try:
            return await fn(services)
        finally:
            await services.db.dispose()

    try:
        return run(go())
    except InvalidInput as exc:
        fail(exc.detail, EXIT_INVALID)
    except ServiceError as exc:
        fail(exc.detail, EXIT_REFUSED)
    except RegistryError as exc:
        fail(exc.message, EXIT_INVALID if exc.code in _INVALID_CODES else EXIT_REFUSED)


def with_services(
    data_dir: Path | None,
    config: Path | None,
    database_url: str | None,
    fn: Callable[[Services], Awaitable[T]],
) -> T:
    """``open_settings`` then ``call``: the usual body of an administration command."""
    return call(open_settings(data_dir, config, database_url), fn)


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or date-time (naive means UTC); a malformed value exits with code 2."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date or date-time (e.g. 2025-01-31T12:00:00Z)", 2)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def one_delegate(user: str | None, team: str | None, robot: str | None) -> tuple[str, str]:
    """Exactly one of --user/--team/--robot: (kind, name); otherwise exit with code 2."""
    given = [(k, v) for k, v in (("user", user), ("team", team), ("robot", robot)) if v]
    if len(given) != 1:
        fail("give exactly one of --user, --team or --robot", EXIT_INVALID)
    return given[0]
