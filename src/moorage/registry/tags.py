"""Tags: listing (paginated, filtered by name), deletion of one tag, history."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta

from sqlalchemy import ScalarSelect, Select, and_, func, or_, select, update
from sqlalchemy.orm import aliased

from moorage.audit import AuditQuery
from moorage.db.engine import Database
from moorage.db.models import Blob, Manifest, ManifestBlob, ManifestChild, Repository, Tag
from moorage.domain.actor import Actor
from moorage.domain.errors import ManifestUnknown, NameUnknown
from moorage.domain.reference import validate_tag
from moorage.registry.cache import ReadCache
from moorage.registry.immutability import check_tag_change
from moorage.registry.repositories import Repositories
from moorage.registry.sql import live_tag, lock_repository
from moorage.registry.types import TagChange, TagRecord, TagRow

_DELETE_KINDS = ("delete_tag", "delete_manifest")
TAG_ORDERS = ("name", "newest")


def content_size() -> ScalarSelect[int]:
    """The size of the outer query's ``Manifest`` as every list shows it (tags page, CLI, API): the
    distinct blobs (config and layers) it references and, for an index, those of its child
    manifests, counted once each. The manifest documents themselves are not counted, as in Quay;
    so a repository holding one tag has the size of that tag (``Usage.repository_stats``)."""
    children = (
        select(ManifestChild.child_id).where(ManifestChild.manifest_id == Manifest.id).correlate(Manifest)
    )
    blob_ids = (
        select(ManifestBlob.blob_id)
        .where(or_(ManifestBlob.manifest_id == Manifest.id, ManifestBlob.manifest_id.in_(children)))
        .correlate(Manifest)  # the outer query's manifest, two levels up
    )
    return (
        select(func.coalesce(func.sum(Blob.size), 0))
        .where(Blob.id.in_(blob_ids))
        .correlate(Manifest)
        .scalar_subquery()
    )


class Tags:
    def __init__(self, db: Database, repositories: Repositories) -> None:
        self.db = db
        self.repositories = repositories

    async def list(self, repository: str, n: int | None, last: str | None) -> list[str] | None:
        """Live tag names in lexical order after ``last``; None when the repository does not exist."""
        cache = self.repositories.cache
        key = ("tags", n, last)
        cached = cache.get(repository, key)
        if not ReadCache.is_miss(cached):
            return cached  # type: ignore[no-any-return]
        gen = cache.generation(repository)
        now = datetime.now(UTC)
        names, soonest = await self._fetch(repository, n, last, now)
        # an expiring tag leaves the list without a write: the entry must not outlive it
        ttl = None if soonest is None else (_aware(soonest) - now).total_seconds()
        cache.put(repository, key, gen, names, ttl)
        return names

    async def pointing_at(
        self, repository: str, digest: str, limit: int = 200
    ) -> tuple[builtins.list[str], builtins.list[tuple[str, str]]]:
        """The live tags of ``repository`` naming ``digest`` directly, and ``(tag, index digest)``
        for the live tags naming an index that lists it (a platform's manifest is pulled that way)."""
        now = datetime.now(UTC)
        in_repo = select(Repository.id).where(Repository.name == repository).scalar_subquery()
        target = select(Manifest.id).where(Manifest.digest == digest).scalar_subquery()
        direct = (
            select(Tag.name)
            .where(Tag.repository_id == in_repo, Tag.manifest_id == target, live_tag(now))
            .order_by(Tag.name)
            .limit(limit)
        )
        parents = (
            select(Tag.name, Manifest.digest)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .join(ManifestChild, ManifestChild.manifest_id == Manifest.id)
            .where(Tag.repository_id == in_repo, ManifestChild.child_id == target, live_tag(now))
            .order_by(Tag.name)
            .limit(limit)
        )
        async with self.db.read() as s:
            names = list((await s.execute(direct)).scalars())
            via = [(r[0], r[1]) for r in (await s.execute(parents)).all()]
        return names, via

    async def content_size(self, digest: str) -> int:
        """The size of one manifest as every list shows it (:func:`content_size`)."""
        async with self.db.read() as s:
            size = (await s.execute(select(content_size()).where(Manifest.digest == digest))).scalar()
        return int(size or 0)


    async def _fetch(
        self, repository: str, n: int | None, last: str | None, now: datetime
    ) -> tuple[builtins.list[str] | None, datetime | None]:
        stmt = (
            select(Tag.name, Tag.expires_at)
            .join(Repository, Repository.id == Tag.repository_id)
            .where(Repository.name == repository, live_tag(now))
            .order_by(Tag.name)
        )
        if last:
            stmt = stmt.where(Tag.name > last)
        if n is not None:
            stmt = stmt.limit(n)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
            if not rows and (await self.repositories.get_in(s, repository)) is None:
                return None, None
        expiries = [r.expires_at for r in rows if r.expires_at is not None]
        return [r.name for r in rows], min(expiries) if expiries else None

    async def delete(self, repository: str, tag: str, actor: Actor | None = None) -> None:
        """End the live row of one tag; the manifest and other tags stay."""
        validate_tag(tag)
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None or not await lock_repository(s, repo.id):
                raise NameUnknown("repository name not known to registry", {"name": repository})
            now = datetime.now(UTC)
            live = (
                await s.execute(
                    select(Tag.id).where(Tag.repository_id == repo.id, Tag.name == tag, live_tag(now))
                )
            ).scalar()
            if live is None:
                raise ManifestUnknown("manifest unknown", {"tag": tag})
            await check_tag_change(s, repo.id, repository, tag, "deleted")
            await s.execute(update(Tag).where(Tag.id == live).values(lifetime_end=now))
            await self.repositories.audit.add(s, "delete_tag", actor, repository=repository, tag=tag)
            self.repositories.touch(s, repository)

    async def history(self, repository: str, limit: int = 100) -> builtins.list[TagRecord]:
        stmt = (
            select(Tag.name, Manifest.digest, Tag.lifetime_start, Tag.lifetime_end, Tag.expires_at)
            .join(Repository, Repository.id == Tag.repository_id)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Repository.name == repository)
            .order_by(Tag.lifetime_start.desc(), Tag.id.desc())
            .limit(limit)
        )
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        return [TagRecord(r.name, r.digest, r.lifetime_start, r.lifetime_end, r.expires_at) for r in rows]

    async def page(
        self,
        repository: str,
        *,
        only_active: bool,
        specific: str | None,
        limit: int,
        after: str | None,
        search: str | None = None,
        order: str = "name",
    ) -> builtins.list[TagRow]:
        """Tags with digests, sizes and lifetimes. Active tags in name order (cursor: name) or, with
        ``order="newest"``, last modified first (cursor: the last row's id); with history, newest
        change first (cursor: row id). ``search`` keeps names containing it.

        The size (:func:`content_size`) is a correlated subquery, computed for the rows of the page
        only: live tags come in the order of the live-tag index; history rows are chosen first by id
        alone (see :func:`_history_ids`), then described."""
        size = content_size()
        stmt = (
            select(
                Tag.id,
                Tag.name,
                Manifest.digest,
                Manifest.media_type,
                size.label("size"),
                Tag.lifetime_start,
                Tag.lifetime_end,
                Tag.created_by,
                Manifest.artifact_type,
                Tag.expires_at,
                Tag.immutable,
            )
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .limit(limit)
        )
        if only_active:
            stmt = stmt.join(Repository, Repository.id == Tag.repository_id).where(
                Repository.name == repository, live_tag(datetime.now(UTC))
            )
            if specific:
                stmt = stmt.where(Tag.name == specific)
            if search:
                stmt = stmt.where(Tag.name.contains(search, autoescape=True))
            if order == "newest":
                stmt = stmt.order_by(Tag.lifetime_start.desc(), Tag.id.desc())
                if after and after.isdigit():
                    start = select(Tag.lifetime_start).where(Tag.id == int(after)).scalar_subquery()
                    stmt = stmt.where(
                        or_(
                            Tag.lifetime_start < start,
                            and_(Tag.lifetime_start == start, Tag.id < int(after)),
                        )
                    )
            else:
                stmt = stmt.order_by(Tag.name)
                if after:
                    stmt = stmt.where(Tag.name > after)
        else:
            before = int(after) if after else None
            ids = _history_ids(repository, limit, before, specific, search)
            stmt = stmt.where(Tag.id.in_(ids)).order_by(Tag.id.desc())
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        return [
            TagRow(
                r.id,
                r.name,
                r.digest,
                r.media_type,
                int(r.size or 0),
                _aware(r.lifetime_start),
                _aware(r.lifetime_end) if r.lifetime_end else None,
                r.created_by,
                r.artifact_type,
                _aware(r.expires_at) if r.expires_at else None,
                bool(r.immutable),
            )
            for r in rows
        ]

    async def changes(
        self, repository: str, *, limit: int, before: int | None, tag: str | None = None
    ) -> tuple[builtins.list[TagChange], int | None]:
        """History events (created, moved, deleted) of a page of tag rows, newest row first.

        A row starts with "created", or "moved" when the previous row of the same name ended at the
        instant it started (a move ends one row and starts the next in one transaction); it ends with
        "deleted" unless the next row of that name started at that instant. Who deleted a tag comes
        from the audit log. Returns the events (newest first) and the cursor of the next page (the
        smallest row id of this page), None on the last page.
        """
        ids = _history_ids(repository, limit, before, tag, None)
        other = aliased(Tag)
        same = (other.repository_id == Tag.repository_id) & (other.name == Tag.name)
        prev_id = select(func.max(other.id)).where(same, other.id < Tag.id).scalar_subquery()
        next_id = select(func.min(other.id)).where(same, other.id > Tag.id).scalar_subquery()
        stmt = (
            select(
                Tag.id,
                Tag.name,
                Manifest.digest,
                Tag.lifetime_start,
                Tag.lifetime_end,
                Tag.expires_at,
                Tag.created_by,
                prev_id.label("prev_id"),
                next_id.label("next_id"),
            )
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Tag.id.in_(ids))
            .order_by(Tag.id.desc())
        )
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
            linked = {r.prev_id for r in rows} | {r.next_id for r in rows}
            linked.discard(None)
            neighbours = {
                n.id: n
                for n in (
                    await s.execute(
                        select(Tag.id, Tag.lifetime_start, Tag.lifetime_end, Manifest.digest)
                        .join(Manifest, Manifest.id == Tag.manifest_id)
                        .where(Tag.id.in_(linked))
                    )
                ).all()
            }
        events: builtins.list[TagChange] = []
        now = datetime.now(UTC)
        for r in rows:
            start = _aware(r.lifetime_start)
            prev = neighbours.get(r.prev_id)
            if prev is not None and prev.lifetime_end is not None and _aware(prev.lifetime_end) == start:
                events.append(TagChange(r.id, "moved", r.name, r.digest, prev.digest, start, r.created_by))
            else:
                events.append(TagChange(r.id, "created", r.name, r.digest, None, start, r.created_by))
            expires = _aware(r.expires_at) if r.expires_at else None
            if r.lifetime_end is not None:
                end = _aware(r.lifetime_end)
            elif expires is not None and expires <= now:
                end = expires
            else:
                continue
            nxt = neighbours.get(r.next_id)
            if nxt is not None and _aware(nxt.lifetime_start) == end:
                continue  # moved: the next row's event tells it
            if end == expires:
                events.append(TagChange(r.id, "expired", r.name, r.digest, None, end, None))
                continue
            by = await self._deleted_by(repository, r.name, r.digest, end)
            events.append(TagChange(r.id, "deleted", r.name, r.digest, None, end, by))
        events.sort(key=lambda e: (e.at, e.row_id), reverse=True)
        cursor = rows[-1].id if rows and len(rows) >= limit else None
        return events, cursor

    async def _deleted_by(self, repository: str, tag: str, digest: str, at: datetime) -> str | None:
        """Who ended a tag row: the audit entry that deleted the tag (or its manifest) at that moment."""
        window = timedelta(seconds=5)
        entries = await self.repositories.audit.query(
            AuditQuery(repository=repository, kinds=_DELETE_KINDS, since=at - window, until=at + window)
        )
        best: tuple[float, str | None] | None = None
        for e in entries:
            if e.metadata.get("tag") != tag and e.metadata.get("digest") != digest:
                continue
            distance = abs((e.created_at - at).total_seconds())
            if best is None or distance < best[0]:
                best = (distance, e.performer)
        return best[1] if best else None


def _history_ids(
    repository: str, limit: int, before: int | None, name: str | None, search: str | None
) -> Select[int]:
    """Ids of a page of tag rows, newest first. Chosen from the (repository, name) index alone, so
    the per-row subqueries of the caller run for ``limit`` rows instead of the whole history (sorting
    the repository's row ids is the remaining cost: ~3 ms for 10,000 rows on SQLite)."""
    ids = (
        select(Tag.id)
        .join(Repository, Repository.id == Tag.repository_id)
        .where(Repository.name == repository)
        .order_by(Tag.id.desc())
        .limit(limit)
    )
    if before is not None:
        ids = ids.where(Tag.id < before)
    if name:
        ids = ids.where(Tag.name == name)
    if search:
        ids = ids.where(Tag.name.contains(search, autoescape=True))
    return ids


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
