"""Which process of a node runs jobs: the one holding the node's job lock.

``moorage serve`` runs several server worker processes, all alike (uvicorn's supervisor restarts and
replaces them). Each of them starts a :class:`NodeJobRunner`; only the one that holds an exclusive
``flock`` on ``<data_dir>/run/jobs-<node_id>.lock`` runs the job worker and the scheduler, the others
try again every few seconds. So a node runs ``job_concurrency`` jobs at most, whatever its number of
HTTP workers, and when the process holding the lock dies (killed, replaced) the kernel releases the
lock and another worker takes over within ``retry_seconds``. Correctness never depends on this lock
(claims and schedules are safe across any number of processes and nodes); it only bounds the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import structlog

from moorage.jobs.worker import JobWorker

log = structlog.get_logger("moorage.jobs")


class NodeJobRunner:
    def __init__(
        self,
        make_worker: Callable[[], JobWorker],
        lock_path: Path,
        *,
        retry_seconds: float = 5.0,
        grace_seconds: float = 10.0,
    ) -> None:
        self._make_worker = make_worker
        self.lock_path = lock_path
        self.retry_seconds = retry_seconds
        self.grace_seconds = grace_seconds
        self.worker: JobWorker | None = None
        self._fd: int | None = None

    def _try_lock(self) -> bool:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def run(self) -> None:
        while not self._try_lock():  # noqa: ASYNC110 -- another process holds it; a flock has no event
            await asyncio.sleep(self.retry_seconds)
        log.info("jobs.node_runner", pid=os.getpid(), lock=str(self.lock_path))
        self.worker = self._make_worker()
        await self.worker.run()

    async def stop(self) -> None:
        """Graceful: running jobs get the grace period, then are released."""
        if self.worker is not None:
            await self.worker.stop(self.grace_seconds)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
