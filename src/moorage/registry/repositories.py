"""Repositories: lookup, creation (on first push or explicitly), visibility, description, deletion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Namespace, Repository, RepositoryBlob, Tag
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import Conflict, InvalidInput, NameUnknown, NotFound
from moorage.domain.reference import namespace_of, validate_name
from moorage.registry.cache import ReadCache
from moorage.registry.catalog import Visibility, visibility_filter
from moorage.registry.quota_accounting import QuotaAccounting
from moorage.registry.sql import insert_ignore_returning_id, live_tag
from moorage.registry.types import RepositoryInfo

_REPO_COLUMNS = (Repository.id, Repository.name, Repository.visibility)

CreationHook = Callable[[AsyncSession, RepositoryInfo, "Actor | None"], Awaitable[None]]
VISIBILITIES = ("private", "public")


@dataclass(frozen=True, slots=True)
class RepositoryDetails:
    name: str
    namespace: str | None
    visibility: str
    description: str | None
    created_at: datetime
    tag_count: int


def _no_namespace_message(name: str) -> str:
    ns = namespace_of(name)
    if ns is None:
        return (
            f"repository names start with a user or organization namespace: push to "
            f"<namespace>/{name}, not {name}"
        )
    return (
        f"the namespace {ns!r} does not exist: no user or organization has that name; "
        "create the organization first"
    )


class Repositories:
    def __init__(self, db: Database, cache: ReadCache, audit: AuditLog, quota: QuotaAccounting) -> None:
        self.db = db
        self.cache = cache
        self.audit = audit
        self.quota = quota
        self._on_create: list[CreationHook] = []

    def on_create(self, hook: CreationHook) -> None:
        """Run ``hook`` inside the transaction that creates a repository (default permissions...)."""
        self._on_create.append(hook)

    def touch(self, s: AsyncSession, name: str) -> None:
        """Mark ``name`` changed by this unit of work (its cached reads end everywhere when it commits)."""
        unit_of_work(s).invalidate(name)

    async def get(self, name: str) -> RepositoryInfo | None:
        cached = self.cache.get(name, "repo")
        if not ReadCache.is_miss(cached):
            return cached  # type: ignore[no-any-return]
        gen = self.cache.generation(name)
        async with self.db.read() as s:
            info = await self.get_in(s, name)
        self.cache.put(name, "repo", gen, info)
        return info

    async def get_in(self, s: AsyncSession, name: str) -> RepositoryInfo | None:
        row = (await s.execute(select(*_REPO_COLUMNS).where(Repository.name == name))).first()
        if row is None:
            return None
        return RepositoryInfo(row.id, row.name, namespace_of(row.name), row.visibility)

    async def check_push_target(self, name: str) -> None:
        """Refuse (NAME_UNKNOWN) a push that would create ``name`` outside any existing namespace.

        A cheap early check for the start of an upload, so a client learns before it sends bytes;
        ``ensure_in`` enforces the same rule inside the transaction that creates the repository."""
        if await self.get(name) is not None:
            return
        ns_name = namespace_of(name)
        if ns_name is not None:
            async with self.db.read() as s:
                if (await s.execute(select(Namespace.id).where(Namespace.name == ns_name))).scalar():
                    return
        raise NameUnknown(_no_namespace_message(name))

    async def ensure_in(self, s: AsyncSession, name: str, actor: Actor | None = None) -> RepositoryInfo:
        """The repository ``name``, created (private) inside the session's transaction if missing."""
        validate_name(name)
        found = await self.get_in(s, name)
        if found is not None:
            return found
        return await self._create_in(s, name, actor, "private", None, must_be_new=False)

    async def _create_in(
        self,
        s: AsyncSession,
        name: str,
        actor: Actor | None,
        visibility: str,
        description: str | None,
        *,
        must_be_new: bool,
    ) -> RepositoryInfo:
        ns_name = namespace_of(name)
        ns_id = None
        if ns_name is not None:
            ns_id = (await s.execute(select(Namespace.id).where(Namespace.name == ns_name))).scalar()
        if ns_id is None:
            # every repository lives in a user's or an organization's namespace, superusers' pushes too
            raise NameUnknown(_no_namespace_message(name))
        new_id = await insert_ignore_returning_id(
            s,
            Repository,
            {"name": name, "namespace_id": ns_id, "visibility": visibility, "description": description},
        )
        created = await self.get_in(s, name)
        assert created is not None
        if new_id is None:
            if must_be_new:
                raise Conflict(f"repository {name} already exists")
            return created
        for hook in self._on_create:
            await hook(s, created, actor)
        await self.audit.add(s, "create_repo", actor, repository=name, visibility=visibility)
        self.touch(s, name)
        return created

    async def create(
        self, name: str, *, visibility: str, description: str | None, actor: Actor | None
    ) -> RepositoryInfo:
        """Create an empty repository explicitly (REST API, UI, CLI)."""
        validate_name(name)
        if visibility not in VISIBILITIES:
            raise InvalidInput("visibility must be 'public' or 'private'")
        if namespace_of(name) is None:
            raise InvalidInput("repository names start with a namespace: namespace/name")
        async with self.db.write() as s:
            ns = namespace_of(name)
            if (await s.execute(select(Namespace.id).where(Namespace.name == ns))).scalar() is None:
                raise NotFound(f"no user or organization named {ns!r}")
            return await self._create_in(s, name, actor, visibility, description, must_be_new=True)

    async def details(self, name: str) -> RepositoryDetails:
        count = (
            select(func.count(Tag.id))
            .where(Tag.repository_id == Repository.id, live_tag(datetime.now(UTC)))
            .scalar_subquery()
        )
        async with self.db.read() as s:
            row = (
                await s.execute(select(Repository, count.label("n")).where(Repository.name == name))
            ).first()
        if row is None:
            raise NotFound(f"no repository named {name!r}")
        r, n = row
        created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
        return RepositoryDetails(r.name, namespace_of(r.name), r.visibility, r.description, created, int(n))

    async def list(
        self,
        visible: Visibility,
        *,
        namespace: str | None = None,
        public_only: bool = False,
        search: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[RepositoryDetails]:
        """Repositories the caller may see, by name, filtered; page with ``after`` = last name seen."""
        count = (
            select(func.count(Tag.id))
            .where(Tag.repository_id == Repository.id, live_tag(datetime.now(UTC)))
            .scalar_subquery()
        )
        stmt = select(Repository, count.label("n")).order_by(Repository.name).limit(limit)
        cond = visibility_filter(visible)
        if cond is not None:
            stmt = stmt.where(cond)
        if namespace:
            stmt = stmt.where(Repository.name.startswith(f"{namespace}/", autoescape=True))
        if public_only:
            stmt = stmt.where(Repository.visibility == "public")
        if search:
            stmt = stmt.where(or_(Repository.name.contains(search, autoescape=True)))
        if after:
            stmt = stmt.where(Repository.name > after)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        out = []
        for r, n in rows:
            created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
            out.append(
                RepositoryDetails(r.name, namespace_of(r.name), r.visibility, r.description, created, int(n))
            )
        return out

    async def set_visibility(self, name: str, visibility: str, actor: Actor | None = None) -> bool:
        if visibility not in VISIBILITIES:
            raise InvalidInput("visibility must be 'public' or 'private'")
        async with self.db.write() as s:
            repo = (await s.execute(select(Repository).where(Repository.name == name))).scalar()
            if repo is None:
                return False
            if repo.visibility != visibility:
                repo.visibility = visibility
                await self.audit.add(
                    s, "change_repo_visibility", actor, repository=name, visibility=visibility
                )
            self.touch(s, name)
        return True

    async def set_description(self, name: str, description: str | None, actor: Actor | None) -> None:
        if description is not None and len(description) > 4096:
            raise InvalidInput("the description is limited to 4096 characters")
        async with self.db.write() as s:
            repo = (await s.execute(select(Repository).where(Repository.name == name))).scalar()
            if repo is None:
                raise NotFound(f"no repository named {name!r}")
            repo.description = description
            await self.audit.add(s, "set_repo_description", actor, repository=name)

    async def delete(self, name: str, actor: Actor | None) -> None:
        """Delete a repository with its tags and links; blobs no longer referenced become garbage.

        The namespace's quota usage drops by the blobs no other repository of the namespace holds."""
        async with self.db.write() as s:
            # FOR UPDATE first (before the usage lock): uploads linking into this repository hold a
            # key-share lock on it and then take the usage lock, so this order cannot deadlock
            stmt = select(Repository.id).where(Repository.name == name)
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            repo_id = (await s.execute(stmt)).scalar()
            if repo_id is None:
                raise NotFound(f"no repository named {name!r}")
            linked = select(RepositoryBlob.blob_id).where(RepositoryBlob.repository_id == repo_id)
            blob_ids = list((await s.execute(linked)).scalars())
            await s.execute(delete(RepositoryBlob).where(RepositoryBlob.repository_id == repo_id))
            await self.quota.links_removed(s, [(repo_id, b) for b in blob_ids])
            await s.execute(delete(Repository).where(Repository.id == repo_id))
            await self.audit.add(s, "delete_repo", actor, repository=name)
            self.touch(s, name)
