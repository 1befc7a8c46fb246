"""Background jobs in real `moorage serve` processes.

- A server is SIGKILLed (with its worker processes) while it runs a job: once the lease expires,
  another server on the same data takes the job over and completes it (SQLite, and PostgreSQL).
- Two servers on one PostgreSQL database fire the periodic uploads.purge once per period, not once
  per server.

The job is ``test.sleep`` (moorage/jobs/testing.py), registered only because MOORAGE_TEST_JOBS is
set in these servers' environment; leases are 2 s and polling 0.2 s, so nothing waits long.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import postgres_admin_url, skip_postgres
from tests.support.procs import run
from tests.support.servers import RegistryServer, moorage_executable, start_moorage

pytestmark = [pytest.mark.e2e]

JOB_ENV = {
    "MOORAGE_TEST_JOBS": "1",
    "MOORAGE_TEST_JOB_LEASE_SECONDS": "2",
    "MOORAGE_JOB_POLL_SECONDS": "0.2",
}


def _kill_hard(server: RegistryServer) -> None:
    """SIGKILL the server and its worker processes (its own process group): no clean shutdown."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.proc.wait(10)
    server.stop()


def _wait(check: Callable[[], Any], what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _job(server: RegistryServer, job_id: int) -> dict[str, Any]:
    r = httpx.get(
        f"{server.url}/api/v1/superuser/jobs/{job_id}", auth=(server.admin, server.password), timeout=10
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _enqueue_sleep(server: RegistryServer, log: Path) -> int:
    """`moorage jobs enqueue` from the command line, as an operator would."""
    args = [moorage_executable(), "jobs", "enqueue", "test.sleep", "--json"]
    args += ["--data-dir", str(server.data_dir)]
    # long enough that the first server is surely still in it when it is killed, on a loaded host
    args += ["--payload", json.dumps({"seconds": 12, "steps": 60, "log": str(log)})]
    if server.database_url:
        args += ["--database-url", server.database_url]
    out = run(args, env={**os.environ, **JOB_ENV}, timeout=60)
    job_id: int = json.loads(out.stdout)["id"]
    return job_id


def _kill_during_a_job_then_resume(tmp_path: Path, database_url: str | None) -> None:
    log = tmp_path / "job.log"
    first = start_moorage(tmp_path / "a", database_url=database_url, workers=1, env=JOB_ENV)
    second = None
    try:
        job_id = _enqueue_sleep(first, log)
        _wait(lambda: log.exists() and "start 1" in log.read_text(), "the first attempt to start")
        running = _wait(
            lambda: (j := _job(first, job_id))["state"] == "running" and j["progress"]["done"] > 0 and j,
            "progress of the first attempt",
        )
        assert running["attempts"] == 1
        assert running["lease_owner"]
    finally:
        _kill_hard(first)
    assert "end" not in log.read_text()  # killed mid-job
    second = start_moorage(tmp_path / "b", beside=first, workers=1, env=JOB_ENV)
    try:
        done = _wait(lambda: (j := _job(second, job_id))["state"] == "done" and j, "the job to complete", 90)
        assert done["attempts"] == 2, done  # claimed again once the dead worker's lease expired
        assert done["result"]["slept"] == 12
        assert done["progress"]["percent"] == 100
        lines = log.read_text().split()
        assert lines[0:2] == ["start", "1"]
        assert lines[3:5] == ["start", "2"]
        assert lines[6:8] == ["end", "2"]
        assert lines[2] != lines[5] == lines[8]  # another process finished it
        metrics = httpx.get(f"{second.url}/metrics", timeout=10).text
        assert 'moorage_jobs{kind="test.sleep",state="done"} 1.0' in metrics
        assert 'moorage_job_duration_seconds_count{kind="test.sleep",outcome="done"} 1.0' in metrics
    finally:
        second.stop()


def test_kill_9_during_a_job_and_another_server_completes_it_sqlite(tmp_path: Path) -> None:
    _kill_during_a_job_then_resume(tmp_path, None)


@pytest.mark.postgres
def test_kill_9_during_a_job_and_another_server_completes_it_postgres(
    tmp_path: Path, own_postgres_database_url: str
) -> None:
    _kill_during_a_job_then_resume(tmp_path, own_postgres_database_url)


async def _admin(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def shared_database() -> Iterator[str]:
    if skip_postgres():
        pytest.skip("MOORAGE_TEST_SKIP_POSTGRES is set")
    admin = postgres_admin_url()
    name = f"moorage_sched_{secrets.token_hex(6)}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    base, _, _ = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_database_fire_a_schedule_once_per_period(
    tmp_path: Path, shared_database: str
) -> None:
    period = 2
    env = {**JOB_ENV, "MOORAGE_UPLOAD_PURGE_INTERVAL_SECONDS": str(period)}
    a = start_moorage(tmp_path / "a", database_url=shared_database, name="node-a", workers=1, env=env)
    b = None
    try:
        b = start_moorage(tmp_path / "b", join=a, name="node-b", workers=1, env=env)
        auth = (a.admin, a.password)

        def purges() -> list[dict[str, Any]]:
            r = httpx.get(
                f"{b.url}/api/v1/superuser/jobs",
                params={"kind": "uploads.purge", "limit": 100},
                auth=auth,
                timeout=10,
            )
            assert r.status_code == 200, r.text
            jobs: list[dict[str, Any]] = r.json()["jobs"]
            return jobs

        _wait(lambda: len(purges()) >= 4, "four periods of uploads.purge", 60)
        jobs = sorted(purges(), key=lambda j: j["id"])
        assert {j["schedule"] for j in jobs} == {"uploads.purge"}
        created = [j["created"] for j in jobs]
        times = [datetime.fromisoformat(c) for c in created]
        gaps = [(t2 - t1).total_seconds() for t1, t2 in itertools.pairwise(times)]
        # one job per period: never two within a period, whichever node fired it
        fired = [
            f"{node.process.name}: {line}"
            for node in (a, b)
            for line in node.logs().splitlines()
            if "job.scheduled" in line or "jobs." in line
        ]
        print("\n".join([*created, *fired]))  # shown when the assertion fails: which node fired when
        assert min(gaps) >= period - 0.25, gaps
        _wait(lambda: all(j["state"] == "done" for j in purges()[1:]), "the purges to run")
    finally:
        for node in (b, a):
            if node is not None:
                node.stop()
