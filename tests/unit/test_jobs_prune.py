"""The ``jobs.prune`` job, run by the real queue and worker on SQLite and PostgreSQL: jobs that ended
longer ago than the retention are deleted; recent ones, and queued or running ones of any age, stay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from tests.support.services import unit_services

from moorage.app import Services
from moorage.db.models.job import Job


@pytest.fixture
async def services(services_database_url: str | None, tmp_path: Path) -> AsyncIterator[Services]:
    async with unit_services(tmp_path, services_database_url, job_retention_seconds=7 * 86400) as s:
        yield s


async def _age(s: Services, job_id: int, days: int, *, finished: bool) -> None:
    when = datetime.now(UTC) - timedelta(days=days)
    values = {"created_at": when, "finished_at": when} if finished else {"created_at": when}
    async with s.db.write() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def test_prune_forgets_old_finished_jobs_only(services: Services) -> None:
    s = services
    old_done = await s.jobs.queue.enqueue("uploads.purge")
    recent_done = await s.jobs.queue.enqueue("uploads.purge")
    await s.jobs.worker(s.settings).run_until_idle()
    assert (await s.jobs.queue.get(old_done.id)).state == "done"  # type: ignore[union-attr]
    await _age(s, old_done.id, 40, finished=True)
    await _age(s, recent_done.id, 2, finished=True)
    # queued long ago and never run (a delay far ahead): not finished, so never pruned
    waiting = await s.jobs.queue.enqueue("uploads.purge", delay_seconds=10 * 86400)
    await _age(s, waiting.id, 40, finished=False)

    prune = await s.jobs.queue.enqueue("jobs.prune")
    await s.jobs.worker(s.settings).run_until_idle()
    done = await s.jobs.queue.get(prune.id)
    assert done is not None
    assert done.state == "done", done
    assert done.result == {"removed": 1, "older_than_seconds": 7 * 86400}
    assert await s.jobs.queue.get(old_done.id) is None
    assert await s.jobs.queue.get(recent_done.id) is not None
    assert (await s.jobs.queue.get(waiting.id)).state == "queued"  # type: ignore[union-attr]
    assert "jobs.prune" in {spec.name for spec in s.jobs.schedules}


async def test_a_bad_payload_fails_the_prune_with_a_clear_error(services: Services) -> None:
    s = services
    job = await s.jobs.queue.enqueue("jobs.prune", {"older_than_seconds": -1})
    await s.jobs.worker(s.settings).run_until_idle()
    failed = await s.jobs.queue.get(job.id)
    assert failed is not None
    assert failed.error is not None
    assert "older_than_seconds must be a whole number" in failed.error
