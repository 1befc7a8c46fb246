"""Auto-prune runs and previews: which live tags the policies remove now, and removing them.

The policies of a repository are its own, its namespace's and the registry defaults
(``autoprune_default_policies`` in the configuration), applied together
(:func:`moorage.domain.pruning.select`). Pruning ends the selected tags' rows, exactly like a
delete: they go to the tag history and stay restorable within the namespace's time-machine window.
Immutable tags (:mod:`moorage.registry.immutability`) are skipped. Each removed tag gets an
``autoprune_tag_delete`` audit entry naming the policy. A run works one repository per
transaction, under the repository's lock, and selects again inside it, so it is idempotent and a
repeated run after a crash removes nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import AutoPrunePolicy, Manifest, Namespace, Repository, Tag
from moorage.domain.actor import SYSTEM, Actor
from moorage.domain.errors import NotFound
from moorage.domain.pruning import PruneRule, TagFacts, select_tags
from moorage.registry.immutability import immutable_rules
from moorage.registry.policies import Scope
from moorage.registry.repositories import Repositories
from moorage.registry.sql import live_tag, lock_repository

Progress = Callable[[int, int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PruneCandidate:
    repository: str
    tag: str
    manifest_digest: str
    pushed_at: datetime
    policy: str


@dataclass(frozen=True, slots=True)
class PruneResult:
    repositories: int
    pruned: int
    cancelled: bool = False


def _label(uuid: str, repository_id: int | None, namespace: str, repository: str | None) -> str:
    scope = (
        f"repository {repository}" if repository_id is not None and repository else f"namespace {namespace}"
    )
    return f"auto-prune policy {uuid} of {scope}"


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class AutoPruner:
    def __init__(
        self, db: Database, repositories: Repositories, audit: AuditLog, defaults: Sequence[PruneRule] = ()
    ) -> None:
        self.db = db
        self.repositories = repositories
        self.audit = audit
        self.defaults = tuple(defaults)

    async def _rules(self, s: AsyncSession, repo_id: int, ns_id: int, repo_name: str) -> list[PruneRule]:
        rows = (
            await s.execute(
                select(AutoPrunePolicy)
                .where(
                    AutoPrunePolicy.namespace_id == ns_id,
                    or_(AutoPrunePolicy.repository_id.is_(None), AutoPrunePolicy.repository_id == repo_id),
                )
                .order_by(AutoPrunePolicy.repository_id.is_(None), AutoPrunePolicy.id)
            )
        ).scalars()
        namespace = repo_name.split("/", 1)[0]
        rules = [
            PruneRule(
                _label(r.uuid, r.repository_id, namespace, repo_name),
                r.method,
                r.value,
                r.tag_pattern,
                r.tag_pattern_matches,
            )
            for r in rows
        ]
        return rules + list(self.defaults)

    async def _candidates(
        self, s: AsyncSession, repo_id: int, repo_name: str, rules: Sequence[PruneRule], now: datetime
    ) -> list[tuple[int, PruneCandidate]]:
        if not rules:
            return []
        rows = (
            await s.execute(
                select(Tag.id, Tag.name, Tag.lifetime_start, Manifest.digest)
                .join(Manifest, Manifest.id == Tag.manifest_id)
                .where(Tag.repository_id == repo_id, live_tag(now))
            )
        ).all()
        if not rows:
            return []
        protected = await immutable_rules(s, repo_id, [r.name for r in rows])
        facts = [TagFacts(r.name, _aware(r.lifetime_start), r.id, r.name in protected) for r in rows]
        chosen = select_tags(facts, rules, now)
        out = [
            (r.id, PruneCandidate(repo_name, r.name, r.digest, _aware(r.lifetime_start), chosen[r.name]))
            for r in rows
            if r.name in chosen
        ]
        out.sort(key=lambda c: (c[1].pushed_at, c[1].tag))
        return out

    async def _repository(self, s: AsyncSession, name: str) -> tuple[int, int]:
        row = (
            await s.execute(select(Repository.id, Repository.namespace_id).where(Repository.name == name))
        ).first()
        if row is None or row.namespace_id is None:
            raise NotFound(f"no repository named {name!r}")
        return int(row.id), int(row.namespace_id)

    # -- previews (dry runs)
    async def preview_repository(self, repository: str) -> list[PruneCandidate]:
        """What a run would remove from ``repository`` now, under all of its policies together."""
        now = datetime.now(UTC)
        async with self.db.read() as s:
            repo_id, ns_id = await self._repository(s, repository)
            rules = await self._rules(s, repo_id, ns_id, repository)
            return [c for _, c in await self._candidates(s, repo_id, repository, rules, now)]

    async def preview_policy(self, scope: Scope, policy_uuid: str) -> list[PruneCandidate]:
        """What one policy alone would remove now (from its repository, or each of its namespace's)."""
        now = datetime.now(UTC)
        async with self.db.read() as s:
            policy = (
                await s.execute(
                    select(AutoPrunePolicy, Namespace.name)
                    .join(Namespace, Namespace.id == AutoPrunePolicy.namespace_id)
                    .where(AutoPrunePolicy.uuid == policy_uuid, Namespace.name == scope.namespace)
                )
            ).first()
            if policy is None:
                raise NotFound(f"no auto-prune policy {policy_uuid[:40]!r} in {scope.label}")
            p: AutoPrunePolicy = policy[0]
            repos = select(Repository.id, Repository.name).where(Repository.namespace_id == p.namespace_id)
            if scope.repository is not None:
                repo_id, _ = await self._repository(s, scope.repository)
                if p.repository_id != repo_id:
                    raise NotFound(f"no auto-prune policy {policy_uuid[:40]!r} in {scope.label}")
            elif p.repository_id is not None:
                raise NotFound(f"no auto-prune policy {policy_uuid[:40]!r} in {scope.label}")
            if p.repository_id is not None:
                repos = repos.where(Repository.id == p.repository_id)
            out: list[PruneCandidate] = []
            for repo in (await s.execute(repos.order_by(Repository.name))).all():
                rule = PruneRule(
                    _label(p.uuid, p.repository_id, scope.namespace, repo.name),
                    p.method,
                    p.value,
                    p.tag_pattern,
                    p.tag_pattern_matches,
                )
                out.extend(c for _, c in await self._candidates(s, repo.id, repo.name, [rule], now))
            return out

    # -- runs
    async def _targets(self, namespace: str | None) -> list[str]:
        """Repositories some policy applies to (all of them when there are registry defaults)."""
        stmt = select(Repository.name).join(Namespace, Namespace.id == Repository.namespace_id)
        if namespace is not None:
            stmt = stmt.where(Namespace.name == namespace)
        if not self.defaults:
            with_policy = select(AutoPrunePolicy.id).where(
                AutoPrunePolicy.namespace_id == Repository.namespace_id,
                or_(AutoPrunePolicy.repository_id.is_(None), AutoPrunePolicy.repository_id == Repository.id),
            )
            stmt = stmt.where(with_policy.exists())
        async with self.db.read() as s:
            if namespace is not None:
                found = (await s.execute(select(Namespace.id).where(Namespace.name == namespace))).scalar()
                if found is None:
                    raise NotFound(f"no namespace named {namespace!r}")
            return list((await s.execute(stmt.order_by(Repository.name))).scalars())

    async def prune_repository(self, repository: str, actor: Actor | None = SYSTEM) -> list[PruneCandidate]:
        """Remove what the policies select in one repository now (one transaction); returns it."""
        async with self.db.write() as s:
            try:
                repo_id, ns_id = await self._repository(s, repository)
            except NotFound:
                return []  # deleted since the run listed it
            if not await lock_repository(s, repo_id):
                return []
            now = datetime.now(UTC)
            rules = await self._rules(s, repo_id, ns_id, repository)
            chosen = await self._candidates(s, repo_id, repository, rules, now)
            if not chosen:
                return []
            await s.execute(
                update(Tag)
                .where(Tag.id.in_([i for i, _ in chosen]), Tag.lifetime_end.is_(None))
                .values(lifetime_end=now)
            )
            for _, c in chosen:
                await self.audit.add(
                    s,
                    "autoprune_tag_delete",
                    actor,
                    repository=repository,
                    tag=c.tag,
                    digest=c.manifest_digest,
                    policy=c.policy,
                )
            self.repositories.touch(s, repository)
            return [c for _, c in chosen]

    async def run(
        self,
        namespace: str | None = None,
        *,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
        actor: Actor | None = SYSTEM,
    ) -> PruneResult:
        """Prune every repository a policy applies to (of one namespace, or all)."""
        targets = await self._targets(namespace)
        pruned = 0
        for i, repository in enumerate(targets):
            if cancelled is not None and cancelled():
                return PruneResult(i, pruned, cancelled=True)
            pruned += len(await self.prune_repository(repository, actor))
            if progress is not None:
                await progress(i + 1, len(targets), f"{repository}: {pruned} tags pruned so far")
        return PruneResult(len(targets), pruned)
