"""``moorage gc``: online garbage collection now (or what it would free, with --dry-run)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from moorage.app import Services
from moorage.cli.common import EXIT_INVALID, ConfigOpt, DataDirOpt, DbOpt, cli_actor, fail, with_services
from moorage.cli.output import JsonOpt, console, emit_json, table
from moorage.domain.labels import DurationError, parse_duration
from moorage.registry.gc import GcReport


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print what would be freed (per namespace) and change nothing")
    ] = False,
    grace: Annotated[
        str | None,
        typer.Option(
            "--grace",
            help="keep what was pushed or linked less than this ago, for this run only (e.g. 0s, 10m, 1h) "
            "\\[default: gc_grace_seconds of the config, 1h]. Shorter than a push takes only when no push "
            "is in flight",
        ),
    ] = None,
    sweep_storage: Annotated[
        bool,
        typer.Option(
            "--sweep-storage",
            help="also walk storage and delete blob files that have no row and are older than the grace "
            "window "
            "(left by a crash)",
        ),
    ] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete the manifests and blobs that no tag, index, referrer subject or recent push reaches.

    Runs online: pushes and pulls go on. What is still restorable in the time machine is kept.
    """
    grace_s: int | None = None
    if grace is not None:
        try:
            grace_s = parse_duration(grace.strip())
        except DurationError as exc:
            fail(f"--grace: {exc}", EXIT_INVALID)

    async def go(services: Services) -> GcReport:
        if dry_run:
            return await services.gc.plan(grace_s)
        if as_json or not console.is_terminal:
            return await services.gc.run(grace_s, sweep_storage=sweep_storage, actor=cli_actor())
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(phase: str, done: int, total: int | None) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                bar.update(tasks[phase], completed=done, total=total)

            return await services.gc.run(
                grace_s, sweep_storage=sweep_storage, actor=cli_actor(), progress=progress
            )

    report = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json(report.to_json())
        return
    rows = [
        (n.namespace, n.manifests, n.blobs, _size(n.bytes))
        for _, n in sorted(report.namespaces.items())
        if n.manifests or n.blobs
    ]
    verb = "would free" if report.dry_run else "freed"
    table(["namespace", "manifests", "blob links", "bytes"], rows, title=f"what garbage collection {verb}")
    console.print(
        f"{'Would delete' if report.dry_run else 'Deleted'} {report.manifest_rows} manifest(s) and "
        f"{report.blob_rows} blob(s): {_size(report.bytes_freed)} of storage "
        f"(grace {report.grace_seconds}s, {report.seconds:.1f}s)."
    )
    if report.orphans_deleted:
        console.print(
            f"Storage sweep: {report.orphans_deleted} orphan file(s), {_size(report.orphan_bytes)}."
        )
    if report.files_failed:
        console.print(
            f"[yellow]{report.files_failed} file(s) could not be deleted; "
            "`moorage gc --sweep-storage` retries them.[/yellow]"
        )
