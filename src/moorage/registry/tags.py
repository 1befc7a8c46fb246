"""Tags: listing (paginated), deletion of one tag, history."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from moorage.db.engine import Database
from moorage.db.models import Blob, Manifest, ManifestBlob, Repository, Tag
from moorage.domain.actor import Actor
from moorage.domain.errors import ManifestUnknown, NameUnknown
from moorage.domain.reference import validate_tag
from moorage.registry.cache import ReadCache
from moorage.registry.repositories import Repositories
from moorage.registry.types import TagRecord, TagRow


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
        names = await self._fetch(repository, n, last)
        cache.put(repository, key, gen, names)
        return names

    async def _fetch(self, repository: str, n: int | None, last: str | None) -> builtins.list[str] | None:
        stmt = (
            select(Tag.name)
            .join(Repository, Repository.id == Tag.repository_id)
            .where(Repository.name == repository, Tag.lifetime_end.is_(None))
            .order_by(Tag.name)
        )
        if last:
            stmt = stmt.where(Tag.name > last)
        if n is not None:
            stmt = stmt.limit(n)
        async with self.db.read() as s:
            names = list((await s.execute(stmt)).scalars())
            if not names and (await self.repositories.get_in(s, repository)) is None:
                return None
        return names

    async def delete(self, repository: str, tag: str, actor: Actor | None = None) -> None:
        """End the live row of one tag; the manifest and other tags stay."""
        validate_tag(tag)
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None:
                raise NameUnknown("repository name not known to registry", {"name": repository})
            res = await s.execute(
                update(Tag)
                .where(Tag.repository_id == repo.id, Tag.name == tag, Tag.lifetime_end.is_(None))
                .values(lifetime_end=datetime.now(UTC))
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise ManifestUnknown("manifest unknown", {"tag": tag})
            await self.repositories.audit.add(s, "delete_tag", actor, repository=repository, tag=tag)
            self.repositories.touch(s, repository)

    async def history(self, repository: str, limit: int = 100) -> builtins.list[TagRecord]:
        stmt = (
            select(Tag.name, Manifest.digest, Tag.lifetime_start, Tag.lifetime_end)
            .join(Repository, Repository.id == Tag.repository_id)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Repository.name == repository)
            .order_by(Tag.lifetime_start.desc(), Tag.id.desc())
            .limit(limit)
        )
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        return [TagRecord(r.name, r.digest, r.lifetime_start, r.lifetime_end) for r in rows]

    async def page(
        self,
        repository: str,
        *,
        only_active: bool,
        specific: str | None,
        limit: int,
        after: str | None,
    ) -> builtins.list[TagRow]:
        """Tags with digests, sizes and lifetimes. Active tags in name order (cursor: name); with
        history, newest change first (cursor: row id)."""
        size = (
            select(func.coalesce(func.sum(Blob.size), 0) + Manifest.size)
            .select_from(ManifestBlob)
            .join(Blob, Blob.id == ManifestBlob.blob_id)
            .where(ManifestBlob.manifest_id == Manifest.id)
            .scalar_subquery()
        )
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
            )
            .join(Repository, Repository.id == Tag.repository_id)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Repository.name == repository)
            .limit(limit)
        )
        if specific:
            stmt = stmt.where(Tag.name == specific)
        if only_active:
            stmt = stmt.where(Tag.lifetime_end.is_(None)).order_by(Tag.name)
            if after:
                stmt = stmt.where(Tag.name > after)
        else:
            stmt = stmt.order_by(Tag.id.desc())
            if after:
                stmt = stmt.where(Tag.id < int(after))
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
            )
            for r in rows
        ]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
