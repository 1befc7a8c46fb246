"""The job queue against real SQLite and real PostgreSQL: claims, leases, retries with backoff,
cancel, retry, graceful release, and the scheduler's once-per-period firing.

Concurrent workers are separate ``Database`` objects (own engines and connections; on SQLite their
own file-lock descriptor), as separate processes would be. Leases and backoffs are short (tenths of
a second) and every wait polls with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moorage.config import load_settings
from moorage.db.engine import Database
from moorage.db.migrate import upgrade_async
from moorage.domain.actor import SYSTEM
from moorage.domain.errors import Conflict, InvalidInput, NotFound
from moorage.jobs.kinds import JobKinds, Schedules
from moorage.jobs.queue import JobQueue, LeaseLost
from moorage.jobs.scheduler import Scheduler
from moorage.jobs.types import JobContext, JobResult
from moorage.jobs.worker import JobWorker

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class Env:
    url: str
    dbs: list[Database]
    runs: list[tuple[int, int]]  # (job id, attempt) of every handler run, in order
    gate: asyncio.Event

    def queue(self, kinds: JobKinds) -> JobQueue:
        db = Database(self.url, fsync=False)
        self.dbs.append(db)
        return JobQueue(db, kinds)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """A database of its own per test (PostgreSQL), so counts of jobs are this test's."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("own_postgres_database_url")
        return url
    return None


@pytest.fixture
async def env(database_url: str | None, tmp_path: Path) -> AsyncIterator[Env]:
    url = load_settings(data_dir=tmp_path, database_url=database_url).resolved_database_url
    await upgrade_async(url)
    e = Env(url, [], [], asyncio.Event())
    try:
        yield e
    finally:
        for db in e.dbs:
            await db.dispose()


def kinds_for(e: Env, **handlers: Callable[[JobContext], Awaitable[JobResult]]) -> JobKinds:
    kinds = JobKinds()
    for name, handler in handlers.items():
        kinds.register(
            name.replace("_", "."), handler, max_attempts=3, lease_seconds=0.6, backoff_seconds=0.3
        )
    return kinds


async def until(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_a_job_runs_once_and_records_progress_and_result(env: Env) -> None:
    async def work(ctx: JobContext) -> JobResult:
        env.runs.append((ctx.job_id, ctx.attempt))
        await ctx.progress(1, 2, "half")
        return {"answer": ctx.payload["x"] * 2}

    q = env.queue(kinds_for(env, t_work=work))
    job = await q.enqueue("t.work", {"x": 21})
    assert job.state == "queued"
    assert job.attempts == 0
    assert job.max_attempts == 3
    await JobWorker(q).run_until_idle()
    done = await q.get(job.id)
    assert done is not None
    assert (done.state, done.attempts, done.result, done.error) == ("done", 1, {"answer": 42}, None)
    assert (done.progress_done, done.progress_total, done.progress_message) == (2, 2, "half")
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.lease_owner is None
    assert env.runs == [(job.id, 1)]


async def test_unknown_kinds_are_refused_and_unknown_jobs_are_404(env: Env) -> None:
    q = env.queue(JobKinds())
    with pytest.raises(InvalidInput):
        await q.enqueue("no.such.kind")
    with pytest.raises(NotFound):
        await q.cancel(123456, SYSTEM)
    with pytest.raises(InvalidInput):
        await q.list(state="sleeping")


async def test_two_workers_never_run_the_same_job(env: Env) -> None:
    seen: list[int] = []

    async def work(ctx: JobContext) -> JobResult:
        seen.append(ctx.job_id)
        env.runs.append((ctx.job_id, ctx.attempt))
        await asyncio.sleep(0.01)
        return None

    kinds = JobKinds()  # a lease long enough that no run can outlive it on a loaded host
    kinds.register("t.work", work, lease_seconds=30)
    producer = env.queue(kinds)
    ids = [(await producer.enqueue("t.work", {"n": n})).id for n in range(24)]
    workers = [JobWorker(env.queue(kinds), concurrency=3, owner=f"w{i}") for i in range(4)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    assert sorted(seen) == sorted(ids), env.runs  # each exactly once
    jobs = await producer.list(limit=100)
    assert {j.state for j in jobs} == {"done"}
    assert {j.attempts for j in jobs} == {1}


async def test_an_expired_lease_makes_the_job_claimable_again(env: Env) -> None:
    async def work(ctx: JobContext) -> JobResult:
        return {"attempt": ctx.attempt}

    kinds = kinds_for(env, t_work=work)
    a, b = env.queue(kinds), env.queue(kinds)
    job = await a.enqueue("t.work")
    claimed = await a.claim("dead-worker")  # claims, then "dies": no heartbeat, no finish
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.state == "running"
    assert await b.claim("other") is None  # leased: not claimable yet
    await until(lambda: _claimable(b, "other", job.id))
    again = await b.get(job.id)
    assert again is not None
    assert again.lease_owner == "other"
    assert again.attempts == 2
    with pytest.raises(LeaseLost):  # the old owner cannot finish what is no longer its job
        await a.finish(job.id, "dead-worker", {"late": True})
    assert await b.finish(job.id, "other", {"ok": True}) == "done"


async def _claimable(q: JobQueue, owner: str, job_id: int) -> bool:
    got = await q.claim(owner)
    return got is not None and got.id == job_id


async def test_the_heartbeat_keeps_a_long_job_leased(env: Env) -> None:
    async def slow(ctx: JobContext) -> JobResult:
        await asyncio.sleep(2.0)  # more than three leases, without reporting progress
        return None

    kinds = kinds_for(env, t_slow=slow)
    q, other = env.queue(kinds), env.queue(kinds)
    job = await q.enqueue("t.slow")
    worker = JobWorker(q, owner="busy")
    assert await worker.start_one()
    for _ in range(10):
        await asyncio.sleep(0.2)
        assert await other.claim("thief") is None
    await worker.run_until_idle()
    done = await q.get(job.id)
    assert done is not None
    assert (done.state, done.attempts) == ("done", 1)


async def test_failures_are_retried_with_exponential_backoff_up_to_the_kind_maximum(env: Env) -> None:
    async def flaky(ctx: JobContext) -> JobResult:
        env.runs.append((ctx.job_id, ctx.attempt))
        if ctx.attempt < 3:
            raise RuntimeError(f"boom {ctx.attempt}")
        return {"attempt": ctx.attempt}

    async def broken(ctx: JobContext) -> JobResult:
        raise ValueError("always")

    q = env.queue(kinds_for(env, t_flaky=flaky, t_broken=broken))
    job = await q.enqueue("t.flaky")
    owner = "w"
    first = await q.claim(owner)
    assert first is not None
    state, delay = await q.fail(first.id, owner, "RuntimeError: boom 1")
    after_first = await q.get(job.id)
    assert after_first is not None
    assert (state, delay, after_first.state) == ("queued", 0.3, "queued")
    assert after_first.error == "RuntimeError: boom 1"
    assert await q.claim(owner) is None  # not before run_after
    await until(lambda: _claimable(q, owner, job.id))
    state, delay = await q.fail(job.id, owner, "again")
    assert (state, delay) == ("queued", 0.6)  # doubled
    second = await q.get(job.id)
    assert second is not None
    assert second.started_at is not None
    assert second.run_after - second.started_at >= timedelta(seconds=0.6)
    await until(lambda: _claimable(q, owner, job.id))
    assert await q.finish(job.id, owner, {"attempt": 3}) == "done"

    bad = await q.enqueue("t.broken")
    worker = JobWorker(q, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: _state_is(q, bad.id, "failed"))
    finally:
        await worker.stop(1)
        await task
    failed = await q.get(bad.id)
    assert failed is not None
    assert failed.attempts == 3
    assert failed.error == "ValueError: always"


async def _state_is(q: JobQueue, job_id: int, state: str) -> bool:
    job = await q.get(job_id)
    return job is not None and job.state == state


async def test_cancel_a_queued_job_at_once_and_a_running_job_through_its_handler(env: Env) -> None:
    async def patient(ctx: JobContext) -> JobResult:
        env.gate.set()
        while not ctx.cancel_requested():
            await asyncio.sleep(0.05)
            await ctx.progress(1, None, "waiting")
        return {"stopped": True}

    q = env.queue(kinds_for(env, t_patient=patient))
    queued = await q.enqueue("t.patient", delay_seconds=3600)
    cancelled = await q.cancel(queued.id, SYSTEM)
    assert cancelled.state == "cancelled"
    assert cancelled.finished_at is not None
    with pytest.raises(Conflict):
        await q.cancel(queued.id, SYSTEM)

    running = await q.enqueue("t.patient")
    worker = JobWorker(q)
    assert await worker.start_one()
    await asyncio.wait_for(env.gate.wait(), 10)
    asked = await q.cancel(running.id, SYSTEM)
    assert asked.state == "running"
    assert asked.cancel_requested
    await worker.run_until_idle()
    ended = await q.get(running.id)
    assert ended is not None
    assert ended.state == "cancelled"
    assert ended.result == {"stopped": True}


async def test_retry_of_failed_and_cancelled_jobs_only(env: Env) -> None:
    async def once_broken(ctx: JobContext) -> JobResult:
        if ctx.payload.get("fail"):
            raise RuntimeError("no")
        return {"ok": True}

    kinds = JobKinds()
    kinds.register("t.once", once_broken, max_attempts=1, lease_seconds=5)
    q = env.queue(kinds)
    job = await q.enqueue("t.once", {"fail": True})
    await JobWorker(q).run_until_idle()
    failed = await q.get(job.id)
    assert failed is not None
    assert (failed.state, failed.attempts) == ("failed", 1)
    again = await q.retry(job.id, SYSTEM)
    assert (again.state, again.attempts, again.error, again.finished_at) == ("queued", 0, None, None)
    fine = await q.enqueue("t.once", {})
    await JobWorker(q).run_until_idle()
    done = await q.get(fine.id)
    assert done is not None
    assert done.state == "done"
    with pytest.raises(Conflict):
        await q.retry(fine.id, SYSTEM)  # done: nothing to retry
    queued = await q.enqueue("t.once", {}, delay_seconds=3600)
    with pytest.raises(Conflict):
        await q.retry(queued.id, SYSTEM)
    await q.cancel(queued.id, SYSTEM)
    assert (await q.retry(queued.id, SYSTEM)).state == "queued"


async def test_graceful_stop_releases_a_running_job_without_counting_the_attempt(env: Env) -> None:
    async def long(ctx: JobContext) -> JobResult:
        env.gate.set()
        await asyncio.sleep(60)
        return None

    q = env.queue(kinds_for(env, t_long=long))
    job = await q.enqueue("t.long")
    worker = JobWorker(q)
    assert await worker.start_one()
    await asyncio.wait_for(env.gate.wait(), 10)
    await worker.stop(grace=0.1)
    released = await q.get(job.id)
    assert released is not None
    assert (released.state, released.attempts, released.lease_owner) == ("queued", 0, None)
    assert await q.claim("next") is not None  # at once, without waiting for a lease to expire


async def test_a_worker_that_dies_on_its_last_attempt_fails_the_job_when_the_lease_expires(env: Env) -> None:
    async def work(ctx: JobContext) -> JobResult:
        return None

    kinds = JobKinds()
    kinds.register("t.work", work, max_attempts=1, lease_seconds=0.3)
    q = env.queue(kinds)
    job = await q.enqueue("t.work")
    assert await q.claim("dies") is not None
    await asyncio.sleep(0.5)
    assert await q.claim("next") is None
    failed = await q.get(job.id)
    assert failed is not None
    assert failed.state == "failed"
    assert "lease expired" in (failed.error or "")


async def test_a_schedule_fires_once_per_period_whatever_the_number_of_schedulers(env: Env) -> None:
    async def work(ctx: JobContext) -> JobResult:
        return None

    kinds = kinds_for(env, t_periodic=work)
    schedules = Schedules()
    schedules.add("periodic", "t.periodic", every_seconds=2, payload={"scope": "all"})
    queues = [env.queue(kinds) for _ in range(4)]
    schedulers = [Scheduler(q.db, schedules, q) for q in queues]
    for s in schedulers:
        await s.sync()
    assert await queues[0].list() == []  # a new schedule first fires one period later
    deadline = time.monotonic() + 10
    fired: list[int] = []
    while time.monotonic() < deadline and len(fired) < 2:
        results = await asyncio.gather(*(s.tick() for s in schedulers))
        fired += [job_id for r in results for job_id in r]
        await asyncio.sleep(0.05)
    jobs = await queues[0].list()
    assert len(fired) == 2
    assert len(jobs) == 2
    assert {j.schedule for j in jobs} == {"periodic"}
    assert {str(j.payload) for j in jobs} == {"{'scope': 'all'}"}
    first, second = sorted(jobs, key=lambda j: j.id)
    assert second.created_at - first.created_at >= timedelta(seconds=1.9)


async def test_a_late_sync_never_undoes_a_firing_and_a_shorter_period_applies_at_once(env: Env) -> None:
    async def work(ctx: JobContext) -> JobResult:
        return None

    kinds = kinds_for(env, t_periodic=work)
    hourly, daily = Schedules(), Schedules()
    hourly.add("p", "t.periodic", every_seconds=3600)
    daily.add("p", "t.periodic", every_seconds=86400)
    q = env.queue(kinds)
    slow_clock = [datetime.now(UTC) - timedelta(seconds=7200)]  # a node whose sync read the time long ago
    late = Scheduler(q.db, hourly, q, clock=lambda: slow_clock[0])
    await Scheduler(q.db, daily, q).sync()
    first = await _next_run(q)
    await late.sync()  # same row, a shorter period: next run moves to (its) now + 1 h
    shortened = await _next_run(q)
    assert shortened < first
    await late.sync()  # the same period again: nothing moves, whatever the clock says
    assert await _next_run(q) == shortened


async def _next_run(q: JobQueue) -> datetime:
    from sqlalchemy import select

    from moorage.db.models import JobSchedule

    async with q.db.read() as s:
        value = (await s.execute(select(JobSchedule.next_run))).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_metrics_count_durations_failures_and_queue_depth(env: Env) -> None:
    from moorage.observability.metrics import Metrics

    async def flaky(ctx: JobContext) -> JobResult:
        if ctx.attempt == 1:
            raise RuntimeError("first attempt fails")
        return None

    kinds = JobKinds()
    kinds.register("t.flaky", flaky, max_attempts=2, lease_seconds=5, backoff_seconds=0)
    q = env.queue(kinds)
    await q.enqueue("t.flaky")
    await q.enqueue("t.flaky", delay_seconds=3600)
    metrics = Metrics()
    await JobWorker(q, observer=metrics).run_until_idle()
    text = metrics.render(await q.depth()).decode()
    assert 'moorage_job_failures_total{kind="t.flaky"} 1.0' in text
    assert 'moorage_job_duration_seconds_count{kind="t.flaky",outcome="retry"} 1.0' in text
    assert 'moorage_job_duration_seconds_count{kind="t.flaky",outcome="done"} 1.0' in text
    assert 'moorage_jobs{kind="t.flaky",state="done"} 1.0' in text
    assert 'moorage_jobs{kind="t.flaky",state="queued"} 1.0' in text


async def test_one_process_per_node_runs_the_jobs_and_another_takes_over(env: Env, tmp_path: Path) -> None:
    from moorage.jobs.runner import NodeJobRunner

    async def work(ctx: JobContext) -> JobResult:
        return None

    kinds = kinds_for(env, t_work=work)
    lock = tmp_path / "run" / "jobs-node.lock"
    runners = [
        NodeJobRunner(lambda: JobWorker(env.queue(kinds), poll_seconds=0.1), lock, retry_seconds=0.1)
        for _ in range(2)
    ]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    try:
        await until(lambda: _true(any(r.worker for r in runners)))
        await asyncio.sleep(0.5)
        holders = [r for r in runners if r.worker is not None]
        assert len(holders) == 1  # the other process of the node waits for the lock
        first = holders[0]
        other = runners[1 - runners.index(first)]
        await first.stop()  # the process holding the lock ends: the other one takes over
        tasks[runners.index(first)].cancel()
        await until(lambda: _true(other.worker is not None))
        job = await env.queue(kinds).enqueue("t.work")
        await until(lambda: _state_is(env.queue(kinds), job.id, "done"))
    finally:
        for r in runners:
            await r.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _true(value: bool) -> bool:
    return value
