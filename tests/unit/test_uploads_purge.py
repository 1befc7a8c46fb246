"""The ``uploads.purge`` job, run by the real queue and worker on SQLite and PostgreSQL against the
filesystem storage: abandoned uploads lose both their files, fresh ones and ones in use are left
alone and still finish, and the schedule queues the job by itself."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from tests.support.services import unit_services

from moorage.app import Services
from moorage.domain.digest import Digest

TWO_DAYS = 2 * 86400


@pytest.fixture
async def services(services_database_url: str | None, tmp_path: Path) -> AsyncIterator[Services]:
    async with unit_services(tmp_path, services_database_url, upload_purge_interval_seconds=1) as s:
        yield s


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _upload(s: Services, upload_id: str, data: bytes) -> None:
    await s.storage.start_upload(upload_id, {"repository": "alice/app", "created_by": "alice"})
    await s.storage.append_upload(upload_id, _chunks([data]))


def _files(root: Path, upload_id: str) -> list[Path]:
    return [p for p in (root / "uploads" / upload_id, root / "uploads" / f"{upload_id}.json") if p.exists()]


def _age(paths: Iterable[Path], seconds: int) -> None:
    then = time.time() - seconds
    for p in paths:
        os.utime(p, (then, then))


async def test_purge_removes_abandoned_uploads_and_never_a_fresh_or_busy_one(services: Services) -> None:
    s = services
    root = s.settings.resolved_storage_root
    old, fresh, busy, orphan = "a" * 32, "b" * 32, "c" * 32, "d" * 32
    await _upload(s, old, b"abandoned" * 1000)
    await _upload(s, fresh, b"first half ")
    await _upload(s, busy, b"in use")
    await _upload(s, orphan, b"")
    (root / "uploads" / orphan).unlink()  # a record left without bytes (a crash while finishing)
    temporary = root / "uploads" / f".{old}.0badcafe.tmp"  # a record write interrupted by a crash
    temporary.write_text("{}")
    _age([*_files(root, old), *_files(root, busy), *_files(root, orphan), temporary], TWO_DAYS)
    assert s.settings.upload_expiry_seconds == 86400  # the default age: a day
    # a request is writing to `busy` right now: it holds the upload's claim (flock on its bytes)
    fd = os.open(root / "uploads" / busy, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        job = await s.jobs.queue.enqueue("uploads.purge")
        await s.jobs.worker(s.settings).run_until_idle()
    finally:
        os.close(fd)
    done = await s.jobs.queue.get(job.id)
    assert done is not None
    assert done.state == "done", done
    assert done.result == {"removed": 2, "skipped": 1, "temporaries": 1, "max_age_seconds": 86400}
    assert (done.progress_done, done.progress_total) == (3, 3)
    assert _files(root, old) == []
    assert _files(root, orphan) == []
    assert not temporary.exists()
    assert len(_files(root, busy)) == 2  # in use: skipped, kept whole
    assert len(_files(root, fresh)) == 2
    # the fresh upload is untouched: it resumes and finishes with the right digest
    rest = b"second half"
    state = await s.storage.append_upload(fresh, _chunks([rest]), offset=len(b"first half "))
    assert state.offset == len(b"first half " + rest)
    digest = Digest.parse("sha256:" + hashlib.sha256(b"first half " + rest).hexdigest())
    assert await s.storage.commit_upload(fresh, digest) == len(b"first half " + rest)
    assert await s.storage.blob_size(digest) == len(b"first half " + rest)

    # idempotent: a second run finds nothing more; the busy upload, now idle and old, goes
    again = await s.jobs.queue.enqueue("uploads.purge", {"max_age_seconds": 3600})
    await s.jobs.worker(s.settings).run_until_idle()
    second = await s.jobs.queue.get(again.id)
    assert second is not None
    assert second.result == {
        "removed": 1,
        "skipped": 0,
        "temporaries": 0,
        "max_age_seconds": 3600,
    }
    assert _files(root, busy) == []


async def test_a_bad_payload_fails_the_job_with_a_clear_error(services: Services) -> None:
    s = services
    job = await s.jobs.queue.enqueue("uploads.purge", {"max_age_seconds": "soon"})
    await s.jobs.worker(s.settings).run_until_idle()  # the first attempt; the retry waits its backoff
    failed = await s.jobs.queue.get(job.id)
    assert failed is not None
    assert (failed.state, failed.attempts) == ("queued", 1)
    assert failed.error == "ValueError: max_age_seconds must be a whole number of seconds >= 0, not 'soon'"
    assert failed.run_after > failed.started_at  # type: ignore[operator]


async def test_the_schedule_queues_the_purge_by_itself(services: Services) -> None:
    s = services
    root = s.settings.resolved_storage_root
    await _upload(s, "e" * 32, b"old")
    _age(_files(root, "e" * 32), TWO_DAYS)
    worker = s.jobs.worker(s.settings)
    await s.jobs.scheduler.sync()  # first run one period (1 s here) from now
    deadline = time.monotonic() + 20
    while not (jobs := await s.jobs.queue.list(kind="uploads.purge", state="done")):
        assert time.monotonic() < deadline, "the schedule never ran"
        await worker.run_until_idle()
        await asyncio.sleep(0.2)
    assert jobs[0].schedule == "uploads.purge"
    assert jobs[0].result is not None
    assert jobs[0].result["removed"] == 1
    assert _files(root, "e" * 32) == []
