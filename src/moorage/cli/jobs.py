"""``moorage jobs list|show|cancel|retry|enqueue`` and ``moorage worker``."""

from __future__ import annotations

import asyncio
import json
import signal
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from moorage.app import Services
from moorage.cli.common import (
    EXIT_INVALID,
    ConfigOpt,
    DataDirOpt,
    DbOpt,
    call,
    cli_actor,
    fail,
    open_settings,
    with_services,
)
from moorage.cli.output import JsonOpt, console, emit_json, report, table, when
from moorage.jobs.queue import JobRecord
from moorage.observability.logging import configure_logging

app = typer.Typer(help="See, cancel and retry background jobs.", no_args_is_help=True)

_PAGE = 50


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


def progress_text(j: JobRecord) -> str:
    if j.progress_total is None and not j.progress_done:
        return "100%" if j.state == "done" else ""
    shown = f"{j.progress_done}/{j.progress_total}" if j.progress_total is not None else str(j.progress_done)
    return f"{shown} ({j.percent}%)" if j.percent is not None else shown


def _stopping(j: JobRecord) -> bool:
    return j.cancel_requested and j.state == "running"


def _note(j: JobRecord) -> str:
    if j.state in ("failed", "queued") and j.error:
        return j.error
    if j.state == "running" and j.cancel_requested:
        return "cancel requested"
    return j.progress_message


@app.command("list")
def list_jobs(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="only jobs of this kind")] = None,
    state: Annotated[JobState | None, typer.Option("--state", "-s", help="only jobs in this state")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="jobs per page")] = _PAGE,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="continue a listing: jobs older than this id")
    ] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List jobs, newest first."""

    async def go(services: Services) -> list[JobRecord]:
        return await services.jobs.queue.list(
            kind=kind, state=state.value if state else None, limit=limit, before_id=before
        )

    jobs = with_services(data_dir, config, database_url, go)
    next_before = jobs[-1].id if len(jobs) == limit else None
    if as_json:
        emit_json({"jobs": [j.to_json() for j in jobs], "next_before": next_before})
        return
    table(
        ("id", "kind", "state", "attempts", "progress", "created", "finished", "note"),
        (
            (
                j.id,
                j.kind,
                j.state,
                f"{j.attempts}/{j.max_attempts}",
                progress_text(j),
                j.created_at,
                j.finished_at,
                _note(j)[:80],
            )
            for j in jobs
        ),
        title="jobs",
    )
    if next_before is not None:
        console.print(f"[dim]more: moorage jobs list --before {next_before}[/dim]")


@app.command("show")
def show(
    job_id: Annotated[int, typer.Argument(help="the job's id (moorage jobs list)")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Everything about one job: payload, attempts, lease, progress, result or error."""

    async def go(services: Services) -> JobRecord | None:
        return await services.jobs.queue.get(job_id)

    job = with_services(data_dir, config, database_url, go)
    if job is None:
        fail(f"there is no job {job_id}")
    if as_json:
        emit_json(job.to_json())
        return
    rows: list[tuple[str, Any]] = [
        ("id", job.id),
        ("kind", job.kind),
        ("state", job.state + (" (cancel requested)" if _stopping(job) else "")),
        ("attempts", f"{job.attempts} of {job.max_attempts}"),
        ("schedule", job.schedule),
        ("payload", json.dumps(job.payload)),
        ("progress", progress_text(job)),
        ("message", job.progress_message),
        ("run after", when(job.run_after)),
        ("lease", f"{job.lease_owner} until {when(job.lease_expires_at)}" if job.lease_owner else None),
        ("created", job.created_at),
        ("started", job.started_at),
        ("finished", job.finished_at),
        ("result", json.dumps(job.result) if job.result is not None else None),
        ("error", job.error),
    ]
    table(("field", "value"), rows, title=f"job {job.id}")


@app.command("cancel")
def cancel(
    job_id: Annotated[int, typer.Argument(help="the job's id")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Cancel a job: a queued one at once, a running one at its handler's next safe point."""

    async def go(services: Services) -> JobRecord:
        return await services.jobs.queue.cancel(job_id, cli_actor())

    job = with_services(data_dir, config, database_url, go)
    message = (
        f"Job {job.id} ({escape(job.kind)}) cancelled."
        if job.state == "cancelled"
        else f"Job {job.id} ({escape(job.kind)}) is running: asked to stop; it ends cancelled."
    )
    report(as_json, job.to_json(), message)


@app.command("retry")
def retry(
    job_id: Annotated[int, typer.Argument(help="the job's id")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Queue a failed or cancelled job again (its attempts start from zero)."""

    async def go(services: Services) -> JobRecord:
        return await services.jobs.queue.retry(job_id, cli_actor())

    job = with_services(data_dir, config, database_url, go)
    report(as_json, job.to_json(), f"Job {job.id} ({escape(job.kind)}) queued again.")


@app.command("enqueue")
def enqueue(
    kind: Annotated[str, typer.Argument(help="a job kind, e.g. uploads.purge")],
    payload: Annotated[str, typer.Option("--payload", help="JSON object handed to the job")] = "{}",
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Queue a job now (a worker runs it: `moorage serve` or `moorage worker`)."""
    try:
        data = json.loads(payload)
    except ValueError:
        fail(f"--payload: {payload!r} is not JSON", EXIT_INVALID)
    if not isinstance(data, dict):
        fail("--payload must be a JSON object", EXIT_INVALID)

    async def go(services: Services) -> JobRecord:
        return await services.jobs.queue.enqueue(kind, data, actor=cli_actor())

    job = with_services(data_dir, config, database_url, go)
    report(as_json, job.to_json(), f"Job {job.id} ({escape(job.kind)}) queued.")


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, max=64, help="jobs at once \\[default: job_concurrency]"),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Run background jobs and schedules until stopped (SIGTERM or Ctrl-C finish or release the
    running jobs). For deployments that keep jobs out of the server processes (jobs_in_server: false);
    any number of workers and servers may share one database."""
    settings = open_settings(data_dir, config, database_url)
    if concurrency is not None:
        settings = settings.model_copy(update={"job_concurrency": concurrency})
    configure_logging(settings.log_level, settings.log_format)
    err = Console(stderr=True)

    async def go(services: Services) -> None:
        w = services.jobs.worker(settings, services.registry.metrics)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        err.print(
            f"Moorage worker {escape(w.owner)}: kinds {', '.join(services.jobs.kinds.names())}; "
            f"{settings.job_concurrency} at once. Stop with Ctrl-C or SIGTERM."
        )
        task = asyncio.create_task(w.run())
        await stop.wait()
        err.print(f"Stopping: running jobs get {settings.job_shutdown_grace_seconds:g} s, then are released.")
        await w.stop(settings.job_shutdown_grace_seconds)
        await task

    call(settings, go)
