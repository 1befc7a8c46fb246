"""Queued audit entries (pulls, logins): never lost to a failed write, back-pressure when the
queue is full, and anything dropped counted in the Prometheus metric."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.migrate import upgrade_async
from moorage.db.models import AuditEntry
from moorage.domain.actor import SYSTEM
from moorage.observability.metrics import Metrics


class FailingWrites(Database):
    """The real SQLite database, whose next ``failures`` write transactions fail (as a full disk or
    a lost PostgreSQL connection would)."""

    failures = 0

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with super().write() as s:
            if self.failures:
                self.failures -= 1
                raise OSError("disk full")
            yield s


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[FailingWrites]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await upgrade_async(url)
    database = FailingWrites(url, fsync=False)
    yield database
    await database.dispose()


async def _stored(db: Database) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one())


async def test_entries_of_a_failed_batch_write_are_retried_not_lost(db: FailingWrites) -> None:
    audit = AuditLog(db, batch=3)
    for i in range(7):
        await audit.enqueue("pull_repo", SYSTEM, repository=f"a/r{i}")
    db.failures = 1
    with pytest.raises(OSError, match="disk full"):
        await audit.flush()
    assert audit.queued == 7
    assert await _stored(db) == 0
    assert await audit.flush() == 7
    assert audit.queued == 0
    async with db.read() as s:
        repos = (await s.execute(select(AuditEntry.repository).order_by(AuditEntry.id))).scalars().all()
    assert repos == [f"a/r{i}" for i in range(7)]


async def test_a_full_queue_waits_for_the_writer_instead_of_dropping(db: FailingWrites) -> None:
    metrics = Metrics()
    audit = AuditLog(db, max_queue=4, batch=2, max_wait=30, on_dropped=metrics.audit_dropped.inc)
    for i in range(4):
        await audit.enqueue("pull_repo", SYSTEM, repository=f"a/r{i}")
    producer = asyncio.create_task(audit.enqueue("pull_repo", SYSTEM, repository="a/r4"))
    await audit.wait_for_work(30)  # the full queue woke the flusher
    assert not producer.done()  # held back until there is room
    await audit.flush()
    await producer
    await audit.flush()
    assert await _stored(db) == 5
    assert audit.dropped == 0
    assert metrics.registry.get_sample_value("moorage_audit_dropped_total") == 0


async def test_entries_dropped_when_the_queue_stays_full_are_counted(db: FailingWrites) -> None:
    metrics = Metrics()
    audit = AuditLog(db, max_queue=2, max_wait=0.05, on_dropped=metrics.audit_dropped.inc)
    for i in range(2):
        await audit.enqueue("pull_repo", SYSTEM, repository=f"a/r{i}")
    await audit.enqueue("pull_repo", SYSTEM, repository="a/late")  # nobody flushes: dropped
    assert audit.dropped == 1
    assert metrics.registry.get_sample_value("moorage_audit_dropped_total") == 1
    assert await audit.flush() == 2
