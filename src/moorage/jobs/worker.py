"""The worker loop: tick the scheduler, claim due jobs, run their handlers with a heartbeat, record
the outcome. Runs inside ``moorage serve`` (one server process per node, see moorage.app) or as
``moorage worker``.

Graceful stop (:meth:`JobWorker.stop`): no new claims; running handlers get ``grace`` seconds to
finish; those still running are cancelled and their jobs released (queued again at once, the
interrupted attempt not counted), so another worker takes them over without waiting for the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import socket
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

import structlog

from moorage.jobs.kinds import KindSpec
from moorage.jobs.queue import JobQueue, JobRecord, LeaseLost
from moorage.jobs.scheduler import Scheduler

log = structlog.get_logger("moorage.jobs")


class JobObserver(Protocol):
    """Where a worker reports outcomes (the Prometheus metrics implement it)."""

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """``outcome``: done, cancelled, retry (failed, will run again), failed, released."""


def worker_name() -> str:
    """A lease owner unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


class RunningJob:
    """The :class:`moorage.jobs.types.JobContext` a handler receives."""

    def __init__(self, queue: JobQueue, record: JobRecord, owner: str, spec: KindSpec) -> None:
        self._queue = queue
        self._record = record
        self._owner = owner
        self._spec = spec
        self._cancel = record.cancel_requested
        self.lease_lost = False

    @property
    def job_id(self) -> int:
        return self._record.id

    @property
    def kind(self) -> str:
        return self._record.kind

    @property
    def payload(self) -> Mapping[str, Any]:
        return MappingProxyType(self._record.payload)

    @property
    def attempt(self) -> int:
        return self._record.attempts

    async def progress(self, done: int, total: int | None, message: str = "") -> None:
        try:
            self._cancel |= await self._queue.progress(
                self.job_id, self._owner, done, total, message, self._spec.lease_seconds
            )
        except LeaseLost:
            self._lost()

    def cancel_requested(self) -> bool:
        return self._cancel

    async def heartbeat(self) -> None:
        try:
            self._cancel |= await self._queue.renew(self.job_id, self._owner, self._spec.lease_seconds)
        except LeaseLost:
            self._lost()

    def _lost(self) -> None:
        if not self.lease_lost:
            log.warning("job.lease_lost", job_id=self.job_id, kind=self.kind)
        self.lease_lost = True
        self._cancel = True  # someone else owns it now: stop at the next safe point


class JobWorker:
    def __init__(
        self,
        queue: JobQueue,
        scheduler: Scheduler | None = None,
        *,
        owner: str | None = None,
        concurrency: int = 1,
        poll_seconds: float = 2.0,
        observer: JobObserver | None = None,
    ) -> None:
        self.queue = queue
        self.scheduler = scheduler
        self.owner = owner or worker_name()
        self.concurrency = max(1, concurrency)
        self.poll_seconds = poll_seconds
        self.observer = observer
        self._running: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def running(self) -> list[int]:
        return sorted(self._running)

    async def run(self) -> None:
        """Work until :meth:`stop`."""
        log.info(
            "jobs.worker_start",
            owner=self.owner,
            kinds=self.queue.kinds.names(),
            concurrency=self.concurrency,
        )
        pause = self.poll_seconds
        while not self._stopping.is_set():
            try:
                if self.scheduler is not None:
                    await self.scheduler.tick()
                while len(self._running) < self.concurrency and not self._stopping.is_set():
                    if not await self.start_one():
                        break
                pause = self.poll_seconds
            except Exception:  # database unreachable, ...: keep the worker alive, back off
                log.exception("jobs.poll_failed", owner=self.owner)
                pause = min(max(pause * 2, self.poll_seconds), 60.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def start_one(self) -> bool:
        """Claim one due job and start it in the background; False when none is due."""
        record = await self.queue.claim(self.owner)
        if record is None:
            return False
        task = asyncio.create_task(self._execute(record), name=f"job-{record.id}")
        self._running[record.id] = task
        task.add_done_callback(functools.partial(self._done, record.id))
        return True

    def _done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self._wake.set()  # a slot is free: claim the next one now

    async def run_until_idle(self, within: float = 60.0) -> None:
        """Run due jobs until none is due and none is running (tests, ``moorage jobs run-due``)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.scheduler is not None:
                await self.scheduler.tick()
            while len(self._running) < self.concurrency and await self.start_one():
                pass
            if not self._running:
                return
            await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)
        raise TimeoutError("jobs still running")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let running jobs finish for ``grace`` seconds, then release them."""
        self._stopping.set()
        self._wake.set()
        tasks = list(self._running.values())
        if tasks:
            log.info("jobs.worker_stopping", owner=self.owner, running=self.running, grace=grace)
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        log.info("jobs.worker_stop", owner=self.owner)

    async def _execute(self, record: JobRecord) -> None:
        spec = self.queue.kinds.get(record.kind)
        assert spec is not None  # claim() only takes registered kinds
        ctx = RunningJob(self.queue, record, self.owner, spec)
        started = time.monotonic()
        log.info(
            "job.start", job_id=record.id, kind=record.kind, attempt=record.attempts, owner=self.owner
        )
        beat = asyncio.create_task(self._heartbeat(ctx, spec.lease_seconds))
        outcome = "failed"
        try:
            try:
                result = await spec.handler(ctx)
            finally:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            if ctx.lease_lost:
                outcome = "lease_lost"
                return
            outcome = await self.queue.finish(record.id, self.owner, result)
            log.info("job.end", job_id=record.id, kind=record.kind, state=outcome, seconds=_since(started))
        except asyncio.CancelledError:
            outcome = "released"
            with contextlib.suppress(LeaseLost):
                state = await self.queue.release(record.id, self.owner)
                log.info("job.released", job_id=record.id, kind=record.kind, state=state)
            raise
        except LeaseLost:
            outcome = "lease_lost"
            log.warning("job.lease_lost", job_id=record.id, kind=record.kind)
        except Exception as exc:
            if ctx.lease_lost:
                outcome = "lease_lost"
                return
            error = f"{type(exc).__name__}: {exc}"
            try:
                state, delay = await self.queue.fail(record.id, self.owner, error)
            except LeaseLost:
                outcome = "lease_lost"
                return
            outcome = "retry" if state == "queued" else state
            if state == "queued":
                log.warning(
                    "job.attempt_failed",
                    job_id=record.id,
                    kind=record.kind,
                    attempt=record.attempts,
                    retry_in=delay,
                    error=error,
                )
            else:
                log.error(
                    "job.failed", job_id=record.id, kind=record.kind, attempt=record.attempts, error=error,
                    state=state, exc_info=exc,
                )
        finally:
            if self.observer is not None:
                self.observer.job_finished(record.kind, outcome, _since(started))

    async def _heartbeat(self, ctx: RunningJob, lease_seconds: float) -> None:
        """Renew the lease while the handler runs (a handler that never reports progress keeps it)."""
        interval = max(0.2, lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await ctx.heartbeat()
            except Exception:  # the database is away: the lease may expire; try again
                log.warning("job.heartbeat_failed", job_id=ctx.job_id, exc_info=True)
            if ctx.lease_lost:
                return


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
