"""Job kind ``uploads.purge``: remove upload sessions abandoned for longer than ``upload_expiry_seconds``.

An upload is two files in storage (its bytes and its JSON record, see storage/drivers/filesystem.py);
there are no upload rows in the database (migration 0003 moved upload state into storage). An upload
is abandoned when neither file changed for the whole age: every append rewrites both, so an upload
that is being pushed is never idle that long, and the driver checks the age again while holding the
upload exclusively (a request writing to it at that moment makes the purge skip it). Finished
uploads are not there any more (finishing renames the bytes to the blob's address). Idempotent: a
second run finds nothing left to remove.

Payload (optional): ``{"max_age_seconds": N}`` overrides the configured age for one run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from moorage.jobs.types import JobContext, JobHandler, JobResult
from moorage.storage.base import StorageDriver

KIND = "uploads.purge"

log = structlog.get_logger("moorage.jobs")


def uploads_purge(
    storage: StorageDriver, max_age_seconds: int, *, clock: Callable[[], datetime] | None = None
) -> JobHandler:
    """The handler of ``uploads.purge`` for this storage and configured age."""
    now_of = clock or (lambda: datetime.now(UTC))

    async def handler(ctx: JobContext) -> JobResult:
        age = ctx.payload.get("max_age_seconds", max_age_seconds)
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            raise ValueError(f"max_age_seconds must be a whole number of seconds >= 0, not {age!r}")
        cutoff = now_of() - timedelta(seconds=age)
        uploads = await storage.list_uploads()
        stale = [u for u in uploads if u.last_activity < cutoff]
        removed = skipped = 0
        await ctx.progress(0, len(stale), f"{len(stale)} of {len(uploads)} uploads idle for {age} s")
        for n, upload in enumerate(stale, 1):
            if ctx.cancel_requested():
                break
            if await storage.purge_upload(upload.upload_id, cutoff):
                removed += 1
            else:
                skipped += 1
            if n % 100 == 0 or n == len(stale):
                await ctx.progress(n, len(stale), f"{removed} removed, {skipped} in use or active again")
        temporaries = await storage.purge_temporaries(cutoff)
        log.info("uploads.purged", removed=removed, skipped=skipped, temporaries=temporaries, max_age=age)
        return {"removed": removed, "skipped": skipped, "temporaries": temporaries, "max_age_seconds": age}

    return handler
