"""Audit log entries.

Changes are recorded in the same transaction as the change (``add``), as part of its unit of work
(db/unit_of_work.py). High-volume read events (pulls, successful logins) are queued in memory
(``enqueue``) and written in batches by ``flush`` (run by the app's flusher), so the /v2 read path
never waits for a database write. A batch leaves the queue only once it is written: a failed
write is retried by the next flush. When the queue is full, ``enqueue`` wakes the flusher and
waits (back-pressure, at most ``max_wait`` seconds) for room; only then is an entry dropped, and
every dropped entry is counted (``moorage_audit_dropped_total``). A crash loses at most the
queued pull records, never a change record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.engine import Database
from moorage.db.models import AuditEntry
from moorage.domain.actor import Actor

_MAX_QUEUE = 10_000
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    created_at: datetime
    kind: str
    performer: str | None
    performer_kind: str | None
    ip: str | None
    namespace: str | None
    repository: str | None
    metadata: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "datetime": self.created_at.isoformat(),
            "kind": self.kind,
            "performer": self.performer,
            "performer_kind": self.performer_kind,
            "ip": self.ip,
            "namespace": self.namespace,
            "repository": self.repository,
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class AuditQuery:
    namespace: str | None = None
    repository: str | None = None
    performer: str | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def _row(
    kind: str, actor: Actor | None, namespace: str | None, repository: str | None, meta: dict[str, Any]
) -> dict[str, Any]:
    if repository is not None and namespace is None and "/" in repository:
        namespace = repository.split("/", 1)[0]
    return {
        "created_at": datetime.now(UTC),
        "kind": kind,
        "performer": actor.name if actor else None,
        "performer_kind": actor.kind if actor else None,
        "ip": actor.ip if actor else None,
        "namespace": namespace,
        "repository": repository,
        "metadata_json": json.dumps(meta, default=str, sort_keys=True),
    }


class AuditLog:
    def __init__(
        self,
        db: Database,
        *,
        max_queue: int = _MAX_QUEUE,
        batch: int = _BATCH,
        max_wait: float = 2.0,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.max_queue = max_queue
        self.batch = batch
        self.max_wait = max_wait
        self.on_dropped = on_dropped
        self.dropped = 0
        self._rows: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()  # the flusher should run now (a batch is ready, or the queue is full)
        self._room = asyncio.Event()  # a batch was written: waiting producers may retry
        self._flushing = asyncio.Lock()

    async def add(
        self,
        s: AsyncSession,
        kind: str,
        actor: Actor | None,
        *,
        namespace: str | None = None,
        repository: str | None = None,
        **meta: Any,
    ) -> None:
        """Record a change inside the transaction that makes it."""
        await s.execute(insert(AuditEntry).values(**_row(kind, actor, namespace, repository, meta)))

    async def record(
        self,
        kind: str,
        actor: Actor | None,
        *,
        namespace: str | None = None,
        repository: str | None = None,
        **meta: Any,
    ) -> None:
        """Record an event on its own (no surrounding change), e.g. a failed login."""
        async with self.db.write() as s:
            await self.add(s, kind, actor, namespace=namespace, repository=repository, **meta)

    async def enqueue(
        self,
        kind: str,
        actor: Actor | None,
        *,
        namespace: str | None = None,
        repository: str | None = None,
        **meta: Any,
    ) -> None:
        """Queue a high-volume event (a pull) for the next batch write, waiting for room if full."""
        if len(self._rows) >= self.max_queue:
            self._wake.set()
            try:
                await asyncio.wait_for(self._wait_for_room(), self.max_wait)
            except TimeoutError:
                self._drop()
                return
        self._rows.append(_row(kind, actor, namespace, repository, meta))
        if len(self._rows) >= self.batch:
            self._wake.set()

    async def _wait_for_room(self) -> None:
        while len(self._rows) >= self.max_queue:
            self._room.clear()
            await self._room.wait()

    def _drop(self) -> None:
        self.dropped += 1
        if self.on_dropped is not None:
            self.on_dropped(1)

    @property
    def queued(self) -> int:
        return len(self._rows)

    async def wait_for_work(self, seconds: float) -> None:
        """Return after ``seconds``, or earlier when a batch is ready (for the flusher)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def flush(self) -> int:
        """Write every queued entry, in batches. A batch leaves the queue only once written; if a
        write fails the exception propagates and the entries stay queued for the next flush."""
        written = 0
        async with self._flushing:
            while self._rows:
                rows = list(islice(self._rows, self.batch))
                async with self.db.write() as s:
                    await s.execute(insert(AuditEntry), rows)
                for _ in rows:  # only flush removes entries, always from the left
                    self._rows.popleft()
                written += len(rows)
                self._room.set()
        return written

    async def query(self, q: AuditQuery) -> list[AuditRecord]:
        """Newest first; page with ``before_id`` = the last id of the previous page."""
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(q.limit)
        if q.repository is not None:
            stmt = stmt.where(AuditEntry.repository == q.repository)
        if q.namespace is not None:
            stmt = stmt.where(AuditEntry.namespace == q.namespace)
        if q.performer is not None:
            stmt = stmt.where(or_(AuditEntry.performer == q.performer))
        if q.kinds:
            stmt = stmt.where(AuditEntry.kind.in_(q.kinds))
        if q.since is not None:
            stmt = stmt.where(AuditEntry.created_at >= q.since)
        if q.until is not None:
            stmt = stmt.where(AuditEntry.created_at < q.until)
        if q.before_id is not None:
            stmt = stmt.where(AuditEntry.id < q.before_id)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).scalars().all()
        return [
            AuditRecord(
                r.id,
                r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC),
                r.kind,
                r.performer,
                r.performer_kind,
                r.ip,
                r.namespace,
                r.repository,
                json.loads(r.metadata_json or "{}"),
            )
            for r in rows
        ]

    async def daily_counts(self, q: AuditQuery) -> dict[date, int]:
        """How many entries match ``q`` on each UTC day (for the usage logs' chart); days without
        any are absent. ``before_id`` and ``limit`` play no part: the whole range is counted."""
        day = func.date(AuditEntry.created_at)
        stmt = select(day, func.count(AuditEntry.id)).group_by(day)
        if q.repository is not None:
            stmt = stmt.where(AuditEntry.repository == q.repository)
        if q.namespace is not None:
            stmt = stmt.where(AuditEntry.namespace == q.namespace)
        if q.kinds:
            stmt = stmt.where(AuditEntry.kind.in_(q.kinds))
        if q.since is not None:
            stmt = stmt.where(AuditEntry.created_at >= q.since)
        if q.until is not None:
            stmt = stmt.where(AuditEntry.created_at < q.until)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        out: dict[date, int] = {}
        for d, n in rows:
            key = d if isinstance(d, date) else date.fromisoformat(str(d))
            out[key] = out.get(key, 0) + int(n)
        return out

    async def export(self, q: AuditQuery) -> AsyncIterator[str]:
        """Every matching entry as JSON lines, newest first, in pages."""
        before = q.before_id
        while True:
            page = await self.query(
                AuditQuery(q.namespace, q.repository, q.performer, q.kinds, q.since, q.until, before, 500)
            )
            for rec in page:
                yield json.dumps(rec.to_json(), sort_keys=True) + "\n"
            if len(page) < 500:
                return
            before = page[-1].id
