"""Options shared by every command that touches the data directory or the database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from moorage.config import Settings, load_settings
from moorage.db.migrate import upgrade

T = TypeVar("T")

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the database, blobs and keys live [default: ./moorage-data]"),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (keys: see docs/config.md)", exists=True),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="sqlite:///path or postgresql://user@host/db [default: SQLite in data dir]"
    ),
]

err_console = Console(stderr=True)


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except (ValidationError, ValueError) as exc:
        err_console.print(f"[red]Invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from None


def migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/red] {message}")
    sys.exit(code)
