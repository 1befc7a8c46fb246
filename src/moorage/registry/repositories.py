"""Repositories: lookup and creation on first push."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.engine import Database, after_commit
from moorage.db.models import Namespace, Repository
from moorage.domain.reference import namespace_of, validate_name
from moorage.registry.cache import ReadCache
from moorage.registry.sql import insert_ignore
from moorage.registry.types import RepositoryInfo

_REPO_COLUMNS = (Repository.id, Repository.name, Repository.visibility)


class Repositories:
    def __init__(self, db: Database, cache: ReadCache) -> None:
        self.db = db
        self.cache = cache

    def touch(self, s: AsyncSession, name: str) -> None:
        """Mark ``name`` changed once this transaction commits (invalidates cached reads everywhere)."""
        after_commit(s, lambda: self.cache.bump(name))

    async def get(self, name: str) -> RepositoryInfo | None:
        cached = self.cache.get(name, "repo")
        if not ReadCache.is_miss(cached):
            return cached  # type: ignore[no-any-return]
        gen = self.cache.generation(name)
        async with self.db.read() as s:
            row = (await s.execute(select(*_REPO_COLUMNS).where(Repository.name == name))).first()
        info = (
            None if row is None else RepositoryInfo(row.id, row.name, namespace_of(row.name), row.visibility)
        )
        self.cache.put(name, "repo", gen, info)
        return info

    async def get_in(self, s: AsyncSession, name: str) -> RepositoryInfo | None:
        row = (await s.execute(select(*_REPO_COLUMNS).where(Repository.name == name))).first()
        if row is None:
            return None
        return RepositoryInfo(row.id, row.name, namespace_of(row.name), row.visibility)

    async def ensure_in(self, s: AsyncSession, name: str) -> RepositoryInfo:
        """The repository ``name``, created (private) inside the session's transaction if missing."""
        validate_name(name)
        found = await self.get_in(s, name)
        if found is not None:
            return found
        ns_name = namespace_of(name)
        ns_id = None
        if ns_name is not None:
            ns_id = (await s.execute(select(Namespace.id).where(Namespace.name == ns_name))).scalar()
        await insert_ignore(
            s,
            Repository,
            {"name": name, "namespace_id": ns_id, "visibility": "private"},
        )
        created = await self.get_in(s, name)
        assert created is not None
        self.touch(s, name)
        return created

    async def set_visibility(self, name: str, visibility: str) -> bool:
        if visibility not in ("public", "private"):
            raise ValueError("visibility must be 'public' or 'private'")
        async with self.db.write() as s:
            repo = (await s.execute(select(Repository).where(Repository.name == name))).scalar()
            if repo is None:
                return False
            repo.visibility = visibility
            self.touch(s, name)
        return True
