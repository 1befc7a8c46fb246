"""Job kind ``jobs.prune``: forget jobs that ended longer ago than ``job_retention_seconds``.

Every run of every schedule leaves a row; without this the job table (and the Jobs page's filters)
grows forever. Jobs still queued or running are never removed, and a failed job stays for the same
retention so it can be inspected and retried meanwhile. Deletes in batches, each its own short
transaction; idempotent (a second run finds nothing older).

Payload (optional): ``{"older_than_seconds": N}`` overrides the configured retention for one run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from moorage.jobs.queue import JobQueue
from moorage.jobs.types import JobContext, JobHandler, JobResult

KIND = "jobs.prune"

log = structlog.get_logger("moorage.jobs")


def jobs_prune(queue: JobQueue, retention_seconds: int, *, batch: int = 1000) -> JobHandler:
    """The handler of ``jobs.prune`` for this queue and configured retention."""

    async def handler(ctx: JobContext) -> JobResult:
        age = ctx.payload.get("older_than_seconds", retention_seconds)
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            raise ValueError(f"older_than_seconds must be a whole number of seconds >= 0, not {age!r}")
        before = datetime.now(UTC) - timedelta(seconds=age)
        removed = 0
        while not ctx.cancel_requested():
            n = await queue.delete_finished(before, batch)
            removed += n
            await ctx.progress(removed, None, f"{removed} finished jobs older than {age} s removed")
            if n < batch:
                break
        log.info("jobs.pruned", removed=removed, older_than=age)
        return {"removed": removed, "older_than_seconds": age}

    return handler
