"""Entry point of the ``moorage`` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup, TyperOption

from moorage import __version__
from moorage.cli import gc, jobs, logs, orgs, permissions, quotas, repos, robots, tags, users
from moorage.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbOpt,
    database_display,
    json_errors,
    migrate,
    print_error,
    registry_url,
    settings_from,
    where,
)
from moorage.cli.output import JsonOpt, emit_json, table
from moorage.cli.serve import serve
from moorage.db.migrate import has_schema


class _MoorageGroup(TyperGroup):
    """The root command: with --json (or --jsonl) on the line, every error is JSON on stderr, the
    usage errors of parsing (unknown option, missing argument, ...) as well as those of commands."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or not ({"--json", "--jsonl"} & set(argv)):
            return super().main(argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        with json_errors():
            try:
                rv = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
            except typer.Abort:  # a confirmation without an answer (no terminal, end of input)
                print_error("aborted: nothing changed (pass --yes to skip the question)", 1, as_json=True)
                sys.exit(1)
            except Exception as exc:  # click's usage errors (typer may vendor click: duck-typed)
                code, message = getattr(exc, "exit_code", None), getattr(exc, "format_message", None)
                if not isinstance(code, int) or not callable(message):
                    raise
                print_error(str(message()), code, as_json=True)
                sys.exit(code)
        sys.exit(rv if isinstance(rv, int) else 0)


def _hide_flag_types() -> None:
    """typer labels on/off flags ``<bool>`` in --help as if they took a value (``--json true`` is a
    usage error); show them as the bare flags they are."""
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_moorage", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag and self.metavar is None else original(self, ctx)

    display_type_rich._moorage = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()

app = typer.Typer(
    cls=_MoorageGroup,
    help="Moorage, a self-hosted OCI container image registry. Administration commands act as a "
    "superuser on the local database and record `cli:<os user>` in the audit log. They use the data "
    "directory given by --data-dir, else $MOORAGE_DATA_DIR, else data_dir of the config file "
    "(--config, $MOORAGE_CONFIG), else ./moorage-data; `moorage config show` tells which.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"moorage {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Moorage, a self-hosted OCI container image registry."""


app.command("serve")(serve)
app.add_typer(users.app, name="user")
app.add_typer(orgs.org_app, name="org")
app.add_typer(orgs.team_app, name="team")
app.add_typer(robots.app, name="robot")
app.add_typer(repos.app, name="repo")
app.add_typer(tags.app, name="tag")
app.add_typer(permissions.permission_app, name="permission")
app.add_typer(permissions.prototype_app, name="prototype")
app.add_typer(quotas.app, name="quota")
app.command("logs")(logs.logs)
app.command("gc")(gc.gc)
app.add_typer(jobs.app, name="jobs")
app.command("worker")(jobs.worker)
config_app = typer.Typer(help="Inspect and check configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.command("migrate")
def migrate_cmd(data_dir: DataDirOpt = None, config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """Apply database migrations (serve does this too)."""
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    migrate(settings)
    Console().print(f"Database is at the latest schema ({escape(where(settings))}).")


@config_app.command("validate")
def validate(config: ConfigOpt = None) -> None:
    """Load the configuration (file + MOORAGE_* environment) and report errors."""
    settings = settings_from(config)
    Console().print("Configuration is valid.")
    Console().print_json(settings.model_dump_json())


@config_app.command("show")
def show(
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Say which config file, data directory, database and registry address commands use."""
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    info: dict[str, Any] = {
        "config_file": os.environ.get("MOORAGE_CONFIG"),
        "data_dir": str(settings.data_dir.resolve()),
        "database": database_display(settings),
        "database_exists": None,
        "registry_url": registry_url(settings),
    }
    try:
        info["database_exists"] = has_schema(settings.resolved_database_url)
    except (OSError, SQLAlchemyError) as exc:
        info["database_error"] = f"cannot open the database: {type(exc).__name__}"
    if as_json:
        emit_json(info)
        return
    table(("setting", "value"), ((k, v) for k, v in info.items()), title="configuration in use")


@app.command("version")
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    app()


__all__ = ["Annotated", "main"]
