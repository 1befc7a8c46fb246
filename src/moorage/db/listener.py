"""The PostgreSQL listener that keeps a process's caches coherent with every other process and node.

One dedicated asyncpg connection per process runs ``LISTEN`` on ``NOTIFY_CHANNEL``; each committed
unit of work's notification names the cache slots it changed (db/engine.py). The listener reports
its state: up (after ``LISTEN`` succeeded: the caches forget everything, since notifications sent
while it was down are lost) and down (the caches stop serving until it is up again). A keep-alive
query every ``keepalive`` seconds detects a silently dropped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from moorage.db.engine import NOTIFY_CHANNEL

log = structlog.get_logger("moorage.db.listener")


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+asyncpg://`` URL as a plain libpq DSN for asyncpg."""
    return "postgresql://" + url.split("://", 1)[1]


class InvalidationListener:
    def __init__(
        self,
        url: str,
        on_payload: Callable[[str], None],
        on_state: Callable[[bool], None],
        *,
        keepalive: float = 5.0,
        retry: float = 1.0,
    ) -> None:
        self.dsn = asyncpg_dsn(url)
        self.on_payload = on_payload
        self.on_state = on_state
        self.keepalive = keepalive
        self.retry = retry
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after any failure."""
        import asyncpg  # type: ignore[import-untyped]

        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
                self.on_state(True)
                self.connected.set()
                log.debug("cache_listener.up")
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=self.keepalive)
                        break
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=self.keepalive)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: caches off, reconnect
                log.warning("cache_listener.down", error=f"{type(exc).__name__}: {exc}")
            finally:
                self.connected.clear()
                self.on_state(False)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(self.retry)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.on_payload(payload)
