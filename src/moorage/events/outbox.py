"""The outbox: events and jobs recorded in the same transaction as the change they describe.

``append`` is called with the session of a unit of work (``Database.write()``): the row commits
with the change, its audit rows and its cache invalidation, or vanishes with them on rollback. A
delivery worker (a later issue) reads ``pending`` rows, delivers them with retries and marks them
delivered; nothing here sends anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.engine import Database
from moorage.db.models import OutboxEntry
from moorage.domain.errors import InvalidInput

Kind = Literal["event", "job"]
_MAX_PAYLOAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    kind: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    available_at: datetime
    delivered_at: datetime | None
    attempts: int


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self,
        s: AsyncSession,
        kind: Kind,
        topic: str,
        payload: dict[str, Any],
        *,
        delay_seconds: float = 0.0,
    ) -> int:
        """Record an event or job inside the unit of work whose session is ``s``; its id."""
        if kind not in ("event", "job"):
            raise InvalidInput("an outbox row is an 'event' or a 'job'")
        if not topic or len(topic) > 128:
            raise InvalidInput("an outbox topic has 1 to 128 characters")
        body = json.dumps(payload, sort_keys=True, default=str)
        if len(body) > _MAX_PAYLOAD:
            raise InvalidInput("an outbox payload is limited to 64 KiB")
        now = datetime.now(UTC)
        row_id = (
            await s.execute(
                insert(OutboxEntry)
                .values(
                    kind=kind,
                    topic=topic,
                    payload_json=body,
                    created_at=now,
                    available_at=now + timedelta(seconds=delay_seconds),
                    attempts=0,
                )
                .returning(OutboxEntry.id)
            )
        ).scalar_one()
        return int(row_id)

    async def pending(self, *, topic: str | None = None, limit: int = 100) -> list[OutboxRecord]:
        """Undelivered rows, oldest first (what a delivery worker will read)."""
        stmt = (
            select(OutboxEntry)
            .where(OutboxEntry.delivered_at.is_(None))
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
        if topic is not None:
            stmt = stmt.where(OutboxEntry.topic == topic)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).scalars().all()
        return [
            OutboxRecord(
                r.id,
                r.kind,
                r.topic,
                json.loads(r.payload_json),
                _aware(r.created_at),
                _aware(r.available_at),
                _aware(r.delivered_at) if r.delivered_at else None,
                r.attempts,
            )
            for r in rows
        ]
