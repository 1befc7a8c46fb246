"""Options shared by every command that touches the data directory or the database, and the one
place that opens the services, runs a command's coroutine and turns refusals into exit codes."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from moorage.config import Settings, load_settings
from moorage.db.migrate import has_schema, upgrade
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, RegistryError, ServiceError

if TYPE_CHECKING:
    from moorage.app import Services

T = TypeVar("T")

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the database, blobs and keys live \\[default: $MOORAGE_DATA_DIR, else data_dir of the "
        "config file, else ./moorage-data of the current directory; `moorage config show` tells]",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (keys: see docs/config.md) \\[default: $MOORAGE_CONFIG]",
        exists=True,
    ),
]
PublicUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        help="the registry's address as clients reach it, for the printed login lines \\[default: "
        "public_url of the config, else the address `moorage serve` last announced for this data directory]",
    ),
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
        fail(f"invalid configuration: {exc}", EXIT_INVALID)


def database_display(settings: Settings) -> str:
    """The database URL as configured (SQLite path made absolute), without its password."""
    url = settings.database_url or f"sqlite:///{(settings.data_dir / 'moorage.db').resolve()}"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def where(settings: Settings) -> str:
    """Which data directory and database a command uses, for messages."""
    return f"data directory {settings.data_dir.resolve()}, database {database_display(settings)}"


def migrate(settings: Settings) -> None:
    """Create the database or bring it to the latest schema: only `serve` and `migrate` create one."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def require_database(settings: Settings) -> None:
    """Refuse to go on when no Moorage database exists where the settings point (exit 1): an
    administration command run in the wrong directory must not create an empty one."""
    try:
        exists = has_schema(settings.resolved_database_url)
    except (OSError, SQLAlchemyError) as exc:
        fail(f"cannot open the database {database_display(settings)}: {exc}")
    if not exists:
        fail(
            f"no Moorage database at {database_display(settings)} (data directory "
            f"{settings.data_dir.resolve()}). Point to the registry's data with --data-dir, "
            "MOORAGE_DATA_DIR or data_dir in a config file (--config, MOORAGE_CONFIG); "
            "`moorage serve` and `moorage migrate` create a new database."
        )


# where `moorage serve` records the address it announced, for the login lines the CLI prints
_BASE_URL_FILE = Path("run") / "base-url"


def record_base_url(settings: Settings) -> None:
    """Remember the address the server announces, so administration commands print it too."""
    path = settings.data_dir / _BASE_URL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings.base_url + "\n", encoding="utf-8")


def registry_url(settings: Settings, public_url: str | None = None) -> str:
    """The registry's address as clients reach it: --public-url, else public_url of the
    configuration, else what `moorage serve` last announced for this data directory, else the
    address host and port of the configuration give."""
    if public_url:
        return public_url.rstrip("/")
    if settings.public_url:
        return settings.base_url
    try:
        recorded = (settings.data_dir / _BASE_URL_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        recorded = ""
    return recorded or settings.base_url


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


# set by the root command (moorage.cli.main) for the duration of one --json/--jsonl invocation
_JSON_ERRORS: ContextVar[bool] = ContextVar("moorage_cli_json_errors", default=False)


@contextmanager
def json_errors() -> Iterator[None]:
    """Within: errors go to stderr as JSON (the command line asked for --json or --jsonl)."""
    token = _JSON_ERRORS.set(True)
    try:
        yield
    finally:
        _JSON_ERRORS.reset(token)


def print_error(message: str, code: int, as_json: bool) -> None:
    """An error on stderr: ``{"error": {...}}`` for programs, a red line for people."""
    if as_json:
        kind = {EXIT_REFUSED: "refused", EXIT_INVALID: "invalid"}.get(code, "error")
        error = {"kind": kind, "message": message, "exit_code": code}
        print(json.dumps({"error": error}), file=sys.stderr)
    else:
        err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def json_errors_active() -> bool:
    return _JSON_ERRORS.get()


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    print_error(message, code, json_errors_active())
    sys.exit(code)


def cli_actor() -> Actor:
    """Who the audit log records for a change made from the command line (a local administrator)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        who = "unknown"
    return Actor(f"cli:{who}", "system")


def open_settings(data_dir: Path | None, config: Path | None, database_url: str | None) -> Settings:
    """Settings from the shared options, for an administration command: the database must exist
    already (see ``require_database``); it is brought to the latest schema."""
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    require_database(settings)
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
