"""Storage usage and activity figures for lists and the administrator's panel (read-only queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from moorage.db.engine import Database
from moorage.db.models import Blob, Manifest, Namespace, Repository, RepositoryBlob, Tag
from moorage.registry.sql import live_tag


@dataclass(frozen=True, slots=True)
class RepoStats:
    last_pushed: datetime | None
    size: int  # bytes of the distinct blobs the repository holds


@dataclass(frozen=True, slots=True)
class StorageTotals:
    repositories: int
    tags: int
    manifests: int
    blobs: int
    blob_bytes: int


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    namespace: str
    repositories: int
    blob_bytes: int


def _aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Usage:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def repository_stats(self, names: list[str]) -> dict[str, RepoStats]:
        """Last push (newest tag change) and stored size of each named repository (one page of a list)."""
        if not names:
            return {}
        async with self.db.read() as s:
            pushed = {
                r[0]: r[1]
                for r in (
                    await s.execute(
                        select(Repository.name, func.max(Tag.lifetime_start))
                        .join(Tag, Tag.repository_id == Repository.id)
                        .where(Repository.name.in_(names))
                        .group_by(Repository.name)
                    )
                ).all()
            }
            sizes = {
                r[0]: r[1]
                for r in (
                    await s.execute(
                        select(Repository.name, func.coalesce(func.sum(Blob.size), 0))
                        .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
                        .join(Blob, Blob.id == RepositoryBlob.blob_id)
                        .where(Repository.name.in_(names))
                        .group_by(Repository.name)
                    )
                ).all()
            }
        return {n: RepoStats(_aware(pushed.get(n)), int(sizes.get(n) or 0)) for n in names}

    async def totals(self) -> StorageTotals:
        async with self.db.read() as s:
            repos = (await s.execute(select(func.count(Repository.id)))).scalar_one()
            tags = (
                await s.execute(select(func.count(Tag.id)).where(live_tag(datetime.now(UTC))))
            ).scalar_one()
            manifests = (await s.execute(select(func.count(Manifest.id)))).scalar_one()
            blobs, size = (
                await s.execute(select(func.count(Blob.id), func.coalesce(func.sum(Blob.size), 0)))
            ).one()
        return StorageTotals(int(repos), int(tags), int(manifests), int(blobs), int(size))

    async def by_namespace(self, limit: int = 100, search: str | None = None) -> list[NamespaceUsage]:
        """Namespaces by the bytes of the distinct blobs their repositories hold, largest first
        (only those whose name contains ``search``, when given)."""
        pairs = (
            select(Repository.namespace_id.label("ns_id"), RepositoryBlob.blob_id.label("blob_id"))
            .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
            .distinct()
            .subquery()
        )
        size = (
            select(pairs.c.ns_id, func.sum(Blob.size).label("bytes"))
            .join(Blob, Blob.id == pairs.c.blob_id)
            .group_by(pairs.c.ns_id)
            .subquery()
        )
        repos = (
            select(Repository.namespace_id.label("ns_id"), func.count(Repository.id).label("n"))
            .group_by(Repository.namespace_id)
            .subquery()
        )
        stmt = (
            select(Namespace.name, func.coalesce(repos.c.n, 0), func.coalesce(size.c.bytes, 0))
            .join(repos, repos.c.ns_id == Namespace.id)
            .outerjoin(size, size.c.ns_id == Namespace.id)
            .order_by(func.coalesce(size.c.bytes, 0).desc(), Namespace.name)
            .limit(limit)
        )
        if search:
            stmt = stmt.where(Namespace.name.contains(search, autoescape=True))
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        return [NamespaceUsage(name, int(n), int(b)) for name, n, b in rows]

    async def repository_counts(self, namespaces: list[str]) -> dict[str, int]:
        """How many repositories each named namespace holds (one page of a list of organizations)."""
        if not namespaces:
            return {}
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(Namespace.name, func.count(Repository.id))
                    .join(Repository, Repository.namespace_id == Namespace.id)
                    .where(Namespace.name.in_(namespaces))
                    .group_by(Namespace.name)
                )
            ).all()
        found = {name: int(n) for name, n in rows}
        return {n: found.get(n, 0) for n in namespaces}
