"""The job queue in the metadata database (table ``job``).

Claiming takes the oldest due row of a kind this worker runs and leases it to the worker for the
kind's ``lease_seconds``: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent claimers
skip each other's rows instead of waiting), and on SQLite the single writer (``Database.write()``
serializes every write transaction of the machine, so the select-then-update is atomic). A
running job whose lease expired (its worker was killed, or lost the database) is due again.
Every later change a worker makes to its job (progress, heartbeat, finish, fail, release) is
guarded by ``lease_owner``: a worker that lost its lease cannot overwrite the new owner's work
(:class:`LeaseLost`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Job
from moorage.db.models.job import JOB_STATES
from moorage.domain.actor import Actor
from moorage.domain.errors import Conflict, InvalidInput, NotFound
from moorage.jobs.kinds import JobKinds

STATES: tuple[str, ...] = JOB_STATES
"""Every state of a job, in lifecycle order."""
FINISHED = frozenset({"done", "failed", "cancelled"})
MAX_ERROR = 4000
MAX_MESSAGE = 512


class LeaseLost(Exception):
    """The job is no longer leased to this worker (its lease expired and someone else claimed it, or
    it was finished meanwhile)."""


def _aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    cancel_requested: bool
    progress_done: int
    progress_total: int | None
    progress_message: str
    result: dict[str, Any] | None
    error: str | None
    schedule: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def percent(self) -> int | None:
        """Progress in percent, when the job knows its total."""
        if self.state == "done":
            return 100
        if not self.progress_total:
            return None
        return max(0, min(100, self.progress_done * 100 // self.progress_total))

    def to_json(self) -> dict[str, Any]:
        def t(dt: datetime | None) -> str | None:
            return dt.isoformat() if dt else None

        return {
            "id": self.id,
            "kind": self.kind,
            "payload": self.payload,
            "state": self.state,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "run_after": t(self.run_after),
            "lease_owner": self.lease_owner,
            "lease_expires_at": t(self.lease_expires_at),
            "cancel_requested": self.cancel_requested,
            "progress": {
                "done": self.progress_done,
                "total": self.progress_total,
                "message": self.progress_message,
                "percent": self.percent,
            },
            "result": self.result,
            "error": self.error,
            "schedule": self.schedule,
            "created": t(self.created_at),
            "started": t(self.started_at),
            "finished": t(self.finished_at),
        }


def _record(j: Job) -> JobRecord:
    return JobRecord(
        id=j.id,
        kind=j.kind,
        payload=json.loads(j.payload_json or "{}"),
        state=j.state,
        attempts=j.attempts,
        max_attempts=j.max_attempts,
        run_after=_aware(j.run_after) or utcnow(),
        lease_owner=j.lease_owner,
        lease_expires_at=_aware(j.lease_expires_at),
        cancel_requested=bool(j.cancel_requested),
        progress_done=j.progress_done,
        progress_total=j.progress_total,
        progress_message=j.progress_message,
        result=json.loads(j.result_json) if j.result_json else None,
        error=j.error,
        schedule=j.schedule,
        created_at=_aware(j.created_at) or utcnow(),
        started_at=_aware(j.started_at),
        finished_at=_aware(j.finished_at),
    )


class JobQueue:
    def __init__(
        self,
        db: Database,
        kinds: JobKinds,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.kinds = kinds
        self.audit = audit
        self.clock = clock

    # -- producing
    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        delay_seconds: float = 0,
        actor: Actor | None = None,
        schedule: str | None = None,
    ) -> JobRecord:
        """Queue a job of a registered kind; it runs once a worker claims it (after ``delay_seconds``)."""
        async with self.db.write() as s:
            job_id = await self.enqueue_in(
                s, kind, payload, delay_seconds=delay_seconds, actor=actor, schedule=schedule
            )
        record = await self.get(job_id)
        assert record is not None
        return record

    async def enqueue_in(
        self,
        s: AsyncSession,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        delay_seconds: float = 0,
        actor: Actor | None = None,
        schedule: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Queue a job inside a unit of work: it exists if and only if the change it belongs to commits.
        ``at``: its creation time (the scheduler passes the moment the period fired)."""
        spec = self.kinds.get(kind)
        if spec is None:
            raise InvalidInput(f"unknown job kind {kind!r}; known: {', '.join(self.kinds.names()) or 'none'}")
        now = at or self.clock()
        job = Job(
            kind=kind,
            payload_json=json.dumps(dict(payload or {}), sort_keys=True),
            state="queued",
            attempts=0,
            max_attempts=spec.max_attempts,
            run_after=now + timedelta(seconds=max(0.0, delay_seconds)),
            cancel_requested=False,
            progress_done=0,
            progress_message="",
            schedule=schedule,
            created_at=now,
        )
        s.add(job)
        await s.flush()
        if self.audit is not None and actor is not None:
            await self.audit.add(s, "job_enqueue", actor, job_id=job.id, job_kind=kind)
        return job.id

    # -- the worker's side
    async def claim(self, owner: str, kinds: Sequence[str] | None = None) -> JobRecord | None:
        """Lease the next due job of one of ``kinds`` (default: every registered kind) to ``owner``."""
        names = list(kinds) if kinds is not None else self.kinds.names()
        if not names:
            return None
        # an idle queue costs one indexed read per poll, not a write transaction (SQLite's one writer)
        async with self.db.read() as s:
            now = self.clock()
            if (await s.execute(select(Job.id).where(self._due(names, now)).limit(1))).first() is None:
                return None
        async with self.db.write() as s:
            now = self.clock()
            expired = and_(Job.state == "running", Job.lease_expires_at < now, Job.kind.in_(names))
            # a worker died holding the job: out of attempts, or cancelled meanwhile, it ends here
            await s.execute(
                update(Job)
                .where(expired, Job.cancel_requested.is_(True))
                .values(state="cancelled", finished_at=now, lease_owner=None, lease_expires_at=None)
            )
            await s.execute(
                update(Job)
                .where(expired, Job.attempts >= Job.max_attempts)
                .values(
                    state="failed",
                    finished_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    error=func.coalesce(Job.error, "") + "lease expired: the worker stopped answering",
                )
            )
            job = (
                await s.execute(
                    select(Job)
                    .where(self._due(names, now))
                    .order_by(Job.run_after, Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if job is None:
                return None
            spec = self.kinds.get(job.kind)
            lease = spec.lease_seconds if spec else 60.0
            job.state = "running"
            job.attempts += 1
            job.lease_owner = owner
            job.lease_expires_at = now + timedelta(seconds=lease)
            job.started_at = now
            job.progress_done = 0
            job.progress_total = None
            job.progress_message = ""
            await s.flush()
            return _record(job)

    @staticmethod
    def _due(names: Sequence[str], now: datetime) -> Any:
        return and_(
            Job.kind.in_(names),
            or_(
                and_(Job.state == "queued", Job.run_after <= now),
                and_(Job.state == "running", Job.lease_expires_at < now),
            ),
        )

    async def _owned(self, s: AsyncSession, job_id: int, owner: str) -> Job:
        job = (
            await s.execute(
                select(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.state == "running")
            )
        ).scalar_one_or_none()
        if job is None:
            raise LeaseLost(f"job {job_id} is no longer leased to {owner}")
        return job

    async def renew(self, job_id: int, owner: str, lease_seconds: float) -> bool:
        """Extend the lease (heartbeat); returns whether cancellation was requested."""
        async with self.db.write() as s:
            job = await self._owned(s, job_id, owner)
            job.lease_expires_at = self.clock() + timedelta(seconds=lease_seconds)
            return bool(job.cancel_requested)

    async def progress(
        self,
        job_id: int,
        owner: str,
        done: int,
        total: int | None,
        message: str,
        lease_seconds: float,
    ) -> bool:
        """Record progress and extend the lease; returns whether cancellation was requested."""
        async with self.db.write() as s:
            job = await self._owned(s, job_id, owner)
            job.progress_done = max(0, int(done))
            job.progress_total = None if total is None else max(0, int(total))
            job.progress_message = message[:MAX_MESSAGE]
            job.lease_expires_at = self.clock() + timedelta(seconds=lease_seconds)
            return bool(job.cancel_requested)

    async def finish(self, job_id: int, owner: str, result: Mapping[str, Any] | None) -> str:
        """The handler returned: done (or cancelled, when it was asked to stop). Returns the state."""
        async with self.db.write() as s:
            job = await self._owned(s, job_id, owner)
            job.state = "cancelled" if job.cancel_requested else "done"
            job.result_json = json.dumps(dict(result), default=str) if result is not None else None
            job.error = None
            if job.state == "done" and job.progress_total is not None:
                job.progress_done = job.progress_total
            self._end(job)
            return job.state

    async def fail(self, job_id: int, owner: str, error: str) -> tuple[str, float | None]:
        """The handler raised: queued again after the kind's backoff while attempts remain, else failed.
        Returns the new state and, when queued, the delay in seconds."""
        async with self.db.write() as s:
            job = await self._owned(s, job_id, owner)
            job.error = error[:MAX_ERROR]
            spec = self.kinds.get(job.kind)
            if job.cancel_requested:
                job.state = "cancelled"
            elif job.attempts >= job.max_attempts or spec is None:
                job.state = "failed"
            else:
                delay = spec.backoff(job.attempts)
                job.state = "queued"
                job.run_after = self.clock() + timedelta(seconds=delay)
                job.lease_owner = None
                job.lease_expires_at = None
                return "queued", delay
            self._end(job)
            return job.state, None

    async def release(self, job_id: int, owner: str) -> str:
        """Give the job back unfinished (graceful shutdown): queued at once, this attempt not counted."""
        async with self.db.write() as s:
            job = await self._owned(s, job_id, owner)
            if job.cancel_requested:
                job.state = "cancelled"
                self._end(job)
                return job.state
            job.state = "queued"
            job.attempts = max(0, job.attempts - 1)
            job.run_after = self.clock()
            job.lease_owner = None
            job.lease_expires_at = None
            return job.state

    def _end(self, job: Job) -> None:
        job.finished_at = self.clock()
        job.lease_owner = None
        job.lease_expires_at = None

    # -- operators
    async def cancel(self, job_id: int, actor: Actor) -> JobRecord:
        """A queued job is cancelled at once; a running one is asked to stop (its handler sees
        ``cancel_requested()``) and ends cancelled. A finished job: Conflict."""
        async with self.db.write() as s:
            job = await self._get_for_update(s, job_id)
            if job.state in FINISHED:
                raise Conflict(f"job {job_id} is already {job.state}; nothing to cancel")
            if job.state == "queued":
                job.state = "cancelled"
                job.cancel_requested = True
                self._end(job)
            else:
                job.cancel_requested = True
            if self.audit is not None:
                await self.audit.add(
                    s, "job_cancel", actor, job_id=job.id, job_kind=job.kind, state=job.state
                )
            await s.flush()
            return _record(job)

    async def retry(self, job_id: int, actor: Actor) -> JobRecord:
        """Queue a failed or cancelled job again, with its attempts reset."""
        async with self.db.write() as s:
            job = await self._get_for_update(s, job_id)
            if job.state not in ("failed", "cancelled"):
                raise Conflict(
                    f"job {job_id} is {job.state}; only failed or cancelled jobs can be retried"
                )
            if self.kinds.get(job.kind) is None:
                raise Conflict(f"job kind {job.kind!r} is not registered on this server; it cannot run")
            job.state = "queued"
            job.attempts = 0
            job.cancel_requested = False
            job.run_after = self.clock()
            job.started_at = None
            job.finished_at = None
            job.result_json = None
            job.error = None
            job.progress_done = 0
            job.progress_total = None
            job.progress_message = ""
            if self.audit is not None:
                await self.audit.add(s, "job_retry", actor, job_id=job.id, job_kind=job.kind)
            await s.flush()
            return _record(job)

    async def _get_for_update(self, s: AsyncSession, job_id: int) -> Job:
        job = (await s.execute(select(Job).where(Job.id == job_id).with_for_update())).scalar_one_or_none()
        if job is None:
            raise NotFound(f"there is no job {job_id}")
        return job

    # -- reading
    async def get(self, job_id: int) -> JobRecord | None:
        async with self.db.read() as s:
            job = await s.get(Job, job_id)
            return _record(job) if job else None

    async def list(
        self,
        *,
        kind: str | None = None,
        state: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[JobRecord]:
        """Newest first; ``before_id`` continues a previous page."""
        if state is not None and state not in JOB_STATES:
            raise InvalidInput(f"unknown job state {state!r}; one of {', '.join(JOB_STATES)}")
        q = select(Job).order_by(Job.id.desc()).limit(max(1, limit))
        if kind:
            q = q.where(Job.kind == kind)
        if state:
            q = q.where(Job.state == state)
        if before_id is not None:
            q = q.where(Job.id < before_id)
        async with self.db.read() as s:
            return [_record(j) for j in (await s.execute(q)).scalars()]

    async def delete_finished(self, before: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` jobs that ended (done, failed, cancelled) before ``before``; their
        count. Queued and running jobs are never touched, whatever their age."""
        async with self.db.write() as s:
            ids = (
                await s.execute(
                    select(Job.id)
                    .where(Job.state.in_(("done", "failed", "cancelled")), Job.finished_at < before)
                    .order_by(Job.id)
                    .limit(limit)
                )
            ).scalars().all()
            if ids:
                await s.execute(delete(Job).where(Job.id.in_(list(ids))))
            return len(ids)

    async def depth(self) -> dict[tuple[str, str], int]:
        """Jobs per (kind, state): the queue depth metric."""
        async with self.db.read() as s:
            rows = await s.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state))
            return {(k, st): int(n) for k, st, n in rows.all()}
