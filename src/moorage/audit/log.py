"""Audit log entries.

Changes are recorded in the same transaction as the change (``add``). High-volume read events
(pulls) are queued in memory and written in batches by ``flush`` (called every second by the app),
so the /v2 read path never waits for a database write; a crash loses at most the last second of
pull records, never a change record.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.engine import Database
from moorage.db.models import AuditEntry
from moorage.domain.actor import Actor

_MAX_QUEUE = 10_000


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


@dataclass(slots=True)
class _Pending:
    rows: list[dict[str, Any]] = field(default_factory=list)


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
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending = _Pending()

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

    def queue(
        self,
        kind: str,
        actor: Actor | None,
        *,
        namespace: str | None = None,
        repository: str | None = None,
        **meta: Any,
    ) -> None:
        """Queue a high-volume event (a pull) for the next batch write."""
        if len(self._pending.rows) < _MAX_QUEUE:
            self._pending.rows.append(_row(kind, actor, namespace, repository, meta))

    async def flush(self) -> int:
        rows, self._pending.rows = self._pending.rows, []
        if rows:
            async with self.db.write() as s:
                await s.execute(insert(AuditEntry), rows)
        return len(rows)

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
