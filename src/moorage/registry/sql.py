"""Small SQL helpers shared by the registry services."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, null, or_, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.models import Base, Namespace, Repository, RepositoryBlob, Tag


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def insert_ignore(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> None:
    """INSERT that does nothing when the row (by any unique constraint) already exists."""
    await session.execute(_insert(session, model).values(**values))


async def insert_ignore_many(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """insert_ignore for many rows in one round trip (executemany)."""
    if rows:
        await session.execute(_insert(session, model), rows)


async def insert_ignore_returning_id(
    session: AsyncSession, model: type[Base], values: dict[str, Any]
) -> int | None:
    """insert_ignore that returns the new row's id, or None when it already existed."""
    table = cast(Table, model.__table__)
    stmt = _insert(session, model).values(**values).returning(table.c.id)
    return (await session.execute(stmt)).scalar()


async def lock_repository(session: AsyncSession, repository_id: int) -> bool:
    """Serialize the writers of one repository until this transaction ends; False when it is gone.

    Tag moves and the reference checks before a manifest is stored read rows and then write on
    what they read; under PostgreSQL's READ COMMITTED two such transactions on one repository can
    interleave and lose a write. So they first lock the repository's row (``FOR NO KEY UPDATE``:
    it waits for the other writers of that repository but not for inserts of rows that merely
    reference it, which take only a key-share lock). SQLite needs nothing: every write transaction
    already holds the database's single write lock (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    stmt = select(Repository.id).where(Repository.id == repository_id).with_for_update(key_share=True)
    return (await session.execute(stmt)).scalar() is not None


async def link_blob(session: AsyncSession, repository_id: int, blob_id: int, now: datetime) -> None:
    """Link a blob to a repository (upload, mount), or renew the link's age when it exists: garbage
    collection spares links younger than its grace window, and a push that stores a blob again
    must get that window from now, not from when an earlier, abandoned push first linked it."""
    table = cast(Table, RepositoryBlob.__table__)
    values = {"repository_id": repository_id, "blob_id": blob_id, "created_at": now}
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        stmt: Any = pg.on_conflict_do_update(
            index_elements=["repository_id", "blob_id"], set_={"created_at": pg.excluded.created_at}
        )
    else:
        lite = sqlite.insert(table).values(**values)
        stmt = lite.on_conflict_do_update(
            index_elements=["repository_id", "blob_id"], set_={"created_at": lite.excluded.created_at}
        )
    await session.execute(stmt)


def _digest_key(digest: str) -> int:
    """A 64-bit advisory-lock key for a digest (collisions only make two digests share a lock)."""
    hashed = hashlib.sha256(b"moorage-digest:" + digest.encode()).digest()
    return int.from_bytes(hashed[:8], "big", signed=True)


async def lock_digests(session: AsyncSession, digests: Iterable[str]) -> None:
    """Serialize, until this transaction ends, everything that creates or removes the given blobs or
    manifests by digest: an upload storing a blob file and inserting its row, a mount or manifest put
    linking to an existing row, and garbage collection deleting rows and then files.

    Garbage collection takes these locks before it re-checks and deletes blob or manifest rows, and
    again before it re-checks that no row exists and deletes a file (registry/gc.py); so a blob file
    is never deleted while a row for its digest exists or is being written. On PostgreSQL these are
    transaction-scoped advisory locks taken in key order (no deadlock between two lockers of many
    keys); on SQLite every write transaction already holds the single write lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_digest_key(d) for d in digests})
    if not keys:
        return
    await session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM "
            "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
        ),
        {"keys": keys},
    )


def live_tag(now: datetime) -> ColumnElement[bool]:
    """The one definition of a live tag: its row is open and it has not expired by ``now``.

    An expired tag is gone from ``/v2`` and the tag lists at once, before any job closes its row.
    """
    return and_(Tag.lifetime_end.is_(None), or_(Tag.expires_at.is_(None), Tag.expires_at > now))


def ended_at(now: datetime) -> ColumnElement[datetime]:
    """The instant an open tag row ends when it is closed at ``now``: its ``expires_at`` when that has
    already passed (history then shows when the tag really went away), else ``now``."""
    return case((and_(Tag.expires_at.is_not(None), Tag.expires_at <= now), Tag.expires_at), else_=now)


def tag_end(now: datetime) -> ColumnElement[datetime | None]:
    """When a tag row stopped being live: ``lifetime_end``, or ``expires_at`` once that has passed
    (an expired row the ``tags.expire`` job has not closed yet); NULL for a live row."""
    return func.coalesce(
        Tag.lifetime_end,
        case((and_(Tag.expires_at.is_not(None), Tag.expires_at <= now), Tag.expires_at), else_=null()),
    )


def retained_tag(now: datetime, default_window_s: int, options: Iterable[int]) -> ColumnElement[bool]:
    """The tag rows whose manifest must be kept: live, or ended within their namespace's time machine
    window (still restorable). For garbage collection's mark phase: the query must join
    ``Repository`` (on ``Tag.repository_id``) and outer-join ``Namespace`` (on
    ``Repository.namespace_id``).

    Portable SQL without interval arithmetic: a namespace's window is NULL (the default) or one of
    ``options`` (``TagLifecycle.check_window`` refuses anything else), so each possible window is
    one comparison with a cut-off computed here; an unknown value keeps the row (the safe side).
    """
    end = tag_end(now)
    window = func.coalesce(Namespace.tag_expiration_s, default_window_s)
    windows = sorted({default_window_s, *options})
    return or_(
        end.is_(None),
        case(
            *((window == w, end >= now - timedelta(seconds=w)) for w in windows),
            else_=true(),
        ),
    )
