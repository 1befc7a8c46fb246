"""Database engines and sessions.

On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing when a read transaction tries to upgrade; reads use a separate
engine with ordinary deferred transactions so they never take the write lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from moorage.db.sqlite_inline import inline_creator
from moorage.db.unit_of_work import ALL_SLOTS, Invalidator, UnitOfWork

NOTIFY_CHANNEL = "moorage_invalidate"
"""The PostgreSQL channel on which every committed unit of work names the cache slots it changed."""

_MAX_NOTIFY_PAYLOAD = 7000  # PostgreSQL refuses payloads of 8000 bytes or more


def notify_payload(slots: frozenset[str]) -> str:
    """The NOTIFY payload naming ``slots`` (JSON, so the NUL of the ACL slot survives), or "*"."""
    payload = json.dumps(sorted(slots))
    return payload if len(payload.encode()) < _MAX_NOTIFY_PAYLOAD else json.dumps([ALL_SLOTS])


def _sqlite_connect(synchronous: str) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return on_connect


def make_engine(url: str, *, immediate: bool = False, fsync: bool = True, pool_size: int = 8) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    sqlite = url.startswith("sqlite")
    if sqlite:
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        kwargs["async_creator"] = inline_creator(path, timeout=30, check_same_thread=False)
        kwargs["pool_size"] = pool_size
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = 20
    engine = create_async_engine(url, **kwargs)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_connect("FULL" if fsync else "NORMAL"))
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        def on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        event.listen(engine.sync_engine, "begin", on_begin)
    return engine


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (still under the write lock)."""
    session.info.setdefault("after_commit", []).append(callback)


class _FileLock:
    """An exclusive lock shared by every process on this machine (flock on a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _fileno(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    async def acquire(self) -> None:
        fd = self._fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class Database:
    """The metadata database: a read engine and a write engine (the same one on PostgreSQL).

    On SQLite every write transaction runs under an in-process asyncio lock and a cross-process
    file lock, so ``BEGIN IMMEDIATE`` never has to poll SQLite's busy handler (which sleeps for
    up to 100 ms at a time) and writers are served in order.
    """

    def __init__(
        self,
        url: str,
        *,
        fsync: bool = True,
        invalidator: Invalidator | None = None,
        crash_after_commit: str | None = None,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.invalidator = invalidator
        # test-only fault injection: die (SIGKILL) right after a commit that invalidates a slot
        # containing this text, before the post-commit invalidation runs
        self._crash_after_commit = crash_after_commit
        self._local_lock = asyncio.Lock()
        self._file_lock: _FileLock | None = None
        if self.is_sqlite:
            path = url.split(":///", 1)[1]
            if path and path != ":memory:":
                self._file_lock = _FileLock(Path(path + ".writelock"))
        self.read_engine = make_engine(url, fsync=fsync, pool_size=8)
        self.write_engine = (
            make_engine(url, immediate=True, fsync=fsync, pool_size=2) if self.is_sqlite else self.read_engine
        )
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: a session in one transaction, committed on success and rolled back on
        error, with the cache invalidations it collected applied around the commit (see
        db/unit_of_work.py)."""
        if not self.is_sqlite:
            async with self._transaction() as session:
                yield session
            return
        async with self._local_lock:
            if self._file_lock is not None:
                await self._file_lock.acquire()
            try:
                async with self._transaction() as session:
                    yield session
            finally:
                if self._file_lock is not None:
                    self._file_lock.release()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._write() as session:
            slots: frozenset[str] = frozenset()
            try:
                async with session.begin():
                    yield session
                    uow = session.info.get("uow")
                    if isinstance(uow, UnitOfWork) and uow.slots:
                        slots = frozenset(uow.slots)
                        if not self.is_sqlite:
                            # delivered to every listener by PostgreSQL if and only if this commits
                            await session.execute(
                                text("SELECT pg_notify(:channel, :payload)"),
                                {"channel": NOTIFY_CHANNEL, "payload": notify_payload(slots)},
                            )
                        if self.invalidator is not None:
                            self.invalidator.begin(slots)
                if slots and self._crash_after_commit and any(self._crash_after_commit in s for s in slots):
                    os.kill(os.getpid(), signal.SIGKILL)
            finally:
                if slots and self.invalidator is not None:
                    self.invalidator.end(slots)
                session.info.pop("uow", None)
            _run_after_commit(session)

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()


def _run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()
