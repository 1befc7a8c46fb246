"""``moorage logs``: read and export the audit log."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.audit import AuditQuery, AuditRecord
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, parse_time, with_services
from moorage.cli.output import JsonOpt, emit_json, table

_DEFAULT_LIMIT = 50


def _meta(metadata: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(metadata.items()) if v is not None)


def logs(
    repository: Annotated[
        str | None, typer.Option("--repository", "-r", help="only entries about this repository")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="only entries in this user or organization")
    ] = None,
    performer: Annotated[
        str | None,
        typer.Option("--performer", "-p", help="only entries by this account (cli:<os user> for this CLI)"),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", "-k", help="only this kind, e.g. push_repo (repeatable)"),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO 8601: entries at or after")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601: entries before")] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help=f"at most N entries \\[default: {_DEFAULT_LIMIT}; --jsonl: all]"),
    ] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="export as JSON lines (one entry per line, for archiving)")
    ] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Show the audit log, newest first: who changed what, and when. Filters combine."""
    query = AuditQuery(
        namespace=namespace,
        repository=repository,
        performer=performer,
        kinds=tuple(kind or ()),
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        limit=limit or _DEFAULT_LIMIT,
    )

    if jsonl:

        async def export(services: Services) -> None:
            written = 0
            async for line in services.audit.export(query):
                if limit is not None and written >= limit:
                    break
                sys.stdout.write(line)
                written += 1
            sys.stdout.flush()

        with_services(data_dir, config, database_url, export)
        return

    async def go(services: Services) -> list[AuditRecord]:
        return await services.audit.query(query)

    records = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    table(
        ("time", "kind", "performer", "where", "details"),
        (
            (r.created_at, r.kind, r.performer, r.repository or r.namespace, _meta(r.metadata))
            for r in records
        ),
        title="log entries",
    )
