"""Periodic jobs: a row per schedule in ``job_schedule`` with its ``next_run``.

Every worker ticks the scheduler. Firing a schedule is one transaction: ``UPDATE job_schedule SET
next_run = now + every WHERE name = :name AND next_run <= now`` and, when that UPDATE changed the
row, the INSERT of the job. On PostgreSQL two nodes firing at once serialize on the row: the second
UPDATE waits for the first to commit, re-reads the row, finds ``next_run`` in the future and
changes nothing (READ COMMITTED re-checks the WHERE clause on the new row version), so each period
enqueues exactly one job whatever the number of nodes. On SQLite the single writer makes it atomic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from moorage.db.engine import Database
from moorage.db.models import JobSchedule
from moorage.jobs.kinds import Schedules, ScheduleSpec
from moorage.jobs.queue import JobQueue, utcnow

log = structlog.get_logger("moorage.jobs")


class Scheduler:
    def __init__(
        self,
        db: Database,
        schedules: Schedules,
        queue: JobQueue,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.schedules = schedules
        self.queue = queue
        self.clock = clock
        self._synced = False

    async def sync(self) -> None:
        """Write the configured schedules to their rows. A new schedule first fires one period from now
        (not at every start); a shortened period takes effect at once.

        Only guarded statements: several nodes sync and fire at the same time, so ``next_run`` is
        never written from a value read earlier (that would undo another node's firing and fire the
        period twice), and a row two nodes create at once is inserted once."""
        async with self.db.write() as s:
            now = self.clock()
            insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
            for spec in self.schedules:
                latest = now + timedelta(seconds=spec.every_seconds)
                payload = json.dumps(dict(spec.payload), sort_keys=True)
                await s.execute(
                    insert(JobSchedule)
                    .values(
                        name=spec.name,
                        kind=spec.kind,
                        every_seconds=spec.every_seconds,
                        payload_json=payload,
                        enabled=spec.enabled,
                        next_run=latest,
                    )
                    .on_conflict_do_nothing()
                )
                # a shortened period (a configuration change) takes effect at once; the same period
                # never moves next_run, so a sync racing another node's firing cannot undo it
                await s.execute(
                    update(JobSchedule)
                    .where(
                        JobSchedule.name == spec.name,
                        JobSchedule.every_seconds > spec.every_seconds,
                        JobSchedule.next_run > latest,
                    )
                    .values(next_run=latest)
                    .execution_options(synchronize_session=False)
                )
                await s.execute(
                    update(JobSchedule)
                    .where(JobSchedule.name == spec.name)
                    .values(
                        kind=spec.kind,
                        every_seconds=spec.every_seconds,
                        payload_json=payload,
                        enabled=spec.enabled,
                    )
                    .execution_options(synchronize_session=False)
                )
        self._synced = True

    async def tick(self) -> list[int]:
        """Fire every due schedule this process knows (and whose kind it can run); returns the job ids
        this process enqueued."""
        if not self._synced:
            await self.sync()
        async with self.db.read() as s:  # a read first: nothing due costs no write transaction
            due = set(
                (
                    await s.execute(
                        select(JobSchedule.name).where(
                            JobSchedule.enabled.is_(True), JobSchedule.next_run <= self.clock()
                        )
                    )
                ).scalars()
            )
        fired: list[int] = []
        for spec in self.schedules:
            if spec.name in due and spec.enabled and spec.kind in self.queue.kinds:
                job_id = await self._fire(spec)
                if job_id is not None:
                    fired.append(job_id)
        return fired

    async def _fire(self, spec: ScheduleSpec) -> int | None:
        async with self.db.write() as s:
            now = self.clock()
            changed = await s.execute(
                update(JobSchedule)
                .where(
                    JobSchedule.name == spec.name,
                    JobSchedule.enabled.is_(True),
                    JobSchedule.next_run <= now,
                )
                .values(next_run=now + timedelta(seconds=spec.every_seconds), last_run=now)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            job_id = await self.queue.enqueue_in(s, spec.kind, spec.payload, schedule=spec.name, at=now)
            await s.execute(
                update(JobSchedule)
                .where(JobSchedule.name == spec.name)
                .values(last_job_id=job_id)
                .execution_options(synchronize_session=False)
            )
        log.info("job.scheduled", schedule=spec.name, kind=spec.kind, job_id=job_id)
        return job_id
