"""Shared output helpers: rich tables for people, JSON for programs, plain lines for copying."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum, StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from moorage.cli.common import json_errors_active, print_error

console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table or a message")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


class RepoRole(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


class TeamRole(StrEnum):
    member = "member"
    creator = "creator"
    admin = "admin"


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON (datetimes as ISO 8601) on stdout."""
    print(json.dumps(data, indent=2, default=_default, sort_keys=False))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot serialise {type(value).__name__}")


def when(value: datetime | None) -> str:
    """A short, readable UTC time for tables."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    return escape(str(value))


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    """Print a table; an empty one says so instead of drawing an empty frame."""
    rows = list(rows)
    if not rows:
        console.print(f"[dim]no {escape(title or 'entries')}[/dim]")
        return
    t = Table(*columns, title=title, title_justify="left")
    for row in rows:
        t.add_row(*(cell(v) for v in row))
    console.print(t)


def done(message: str) -> None:
    """A one-line success message (``message`` is rich markup; escape user values)."""
    console.print(message)


def report(as_json: bool, data: Any, message: str) -> None:
    """The result of a change: ``data`` as JSON with --json, else the ``message`` (rich markup)."""
    if as_json:
        emit_json(data)
    else:
        console.print(message)


def confirm(yes: bool, question: str) -> None:
    """Ask before a destructive change unless --yes; refuse without a terminal to ask on, and
    with --json (a program cannot answer the question)."""
    if yes:
        return
    if json_errors_active():  # a program reads the answer: no question, it must say --yes
        print_error(f"{question} Pass --yes to confirm; nothing changed.", 1, as_json=True)
        raise typer.Exit(1)
    if not typer.confirm(question, default=False):
        console.print("Nothing changed.")
        raise typer.Exit(1)


__all__ = ["escape"]
