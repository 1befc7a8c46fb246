"""Database engines and sessions.

On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing when a read transaction tries to upgrade; reads use a separate
engine with ordinary deferred transactions so they never take the write lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


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
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
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


class Database:
    """The metadata database: a read engine and a write engine (the same one on PostgreSQL)."""

    def __init__(self, url: str, *, fsync: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
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
        """A session in one transaction, committed on success and rolled back on error."""
        async with self._write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
