"""Auto-prune policies and immutability rules of namespaces and repositories: list, create, get,
update, delete (by uuid), each change audited in its own transaction.

A scope is a namespace (organization or user) or one repository of it. Patterns go through the
one acceptance check (:func:`moorage.registry.patterncheck.accept_pattern`); values through
:func:`moorage.domain.pruning.normalize_value`. Bad input raises InvalidInput before anything is
written; an unknown namespace, repository or uuid raises NotFound.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import AutoPrunePolicy, ImmutabilityPolicy, Namespace, Repository, Tag
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound
from moorage.domain.pruning import PolicyValueError, normalize_value
from moorage.domain.tagpattern import PatternError
from moorage.registry.immutability import immutable_rules
from moorage.registry.patterncheck import accept_pattern
from moorage.registry.repositories import Repositories
from moorage.registry.sql import live_tag, lock_repository

MAX_POLICIES_PER_SCOPE = 50


@dataclass(frozen=True, slots=True)
class Scope:
    namespace: str
    repository: str | None = None  # full name (ns/app)

    @property
    def label(self) -> str:
        return f"repository {self.repository}" if self.repository else f"namespace {self.namespace}"


@dataclass(frozen=True, slots=True)
class AutoPruneInfo:
    uuid: str
    scope: Scope
    method: str
    value: str
    tag_pattern: str | None
    tag_pattern_matches: bool

    @property
    def value_json(self) -> int | str:
        """``value`` as Quay answers it: a number for number_of_tags, the duration text otherwise."""
        return int(self.value) if self.method == "number_of_tags" else self.value


@dataclass(frozen=True, slots=True)
class ImmutabilityInfo:
    uuid: str
    scope: Scope
    tag_pattern: str
    tag_pattern_matches: bool


async def _checked_pattern(pattern: str | None, required: bool) -> str | None:
    if pattern is None or not pattern.strip():
        if required:
            raise InvalidInput("tagPattern is required: a regular expression searched in tag names")
        return None
    try:
        return await accept_pattern(pattern)
    except PatternError as exc:
        raise InvalidInput(str(exc)) from exc


class Policies:
    def __init__(self, db: Database, repositories: Repositories, audit: AuditLog) -> None:
        self.db = db
        self.repositories = repositories
        self.audit = audit

    # -- scopes
    async def _ids(self, s: AsyncSession, scope: Scope) -> tuple[int, int | None]:
        ns_id = (await s.execute(select(Namespace.id).where(Namespace.name == scope.namespace))).scalar()
        if ns_id is None:
            raise NotFound(f"no namespace named {scope.namespace!r}")
        if scope.repository is None:
            return int(ns_id), None
        repo = (
            await s.execute(
                select(Repository.id, Repository.namespace_id).where(Repository.name == scope.repository)
            )
        ).first()
        if repo is None or repo.namespace_id != ns_id:
            raise NotFound(f"no repository named {scope.repository!r}")
        return int(ns_id), int(repo.id)

    @staticmethod
    def _where(model: Any, ns_id: int, repo_id: int | None) -> Any:
        scope = model.repository_id.is_(None) if repo_id is None else model.repository_id == repo_id
        return (model.namespace_id == ns_id) & scope

    async def _audit(
        self, s: AsyncSession, kind: str, scope: Scope, actor: Actor | None, **meta: Any
    ) -> None:
        await self.audit.add(s, kind, actor, namespace=scope.namespace, repository=scope.repository, **meta)

    # -- auto-prune policies
    async def list_autoprune(self, scope: Scope) -> list[AutoPruneInfo]:
        async with self.db.read() as s:
            ns_id, repo_id = await self._ids(s, scope)
            rows = (
                await s.execute(
                    select(AutoPrunePolicy)
                    .where(self._where(AutoPrunePolicy, ns_id, repo_id))
                    .order_by(AutoPrunePolicy.id)
                )
            ).scalars()
            return [self._prune_info(r, scope) for r in rows]

    async def get_autoprune(self, scope: Scope, policy_uuid: str) -> AutoPruneInfo:
        for p in await self.list_autoprune(scope):
            if p.uuid == policy_uuid:
                return p
        raise NotFound(f"no auto-prune policy {policy_uuid[:40]!r} in {scope.label}")

    @staticmethod
    def _prune_info(r: AutoPrunePolicy, scope: Scope) -> AutoPruneInfo:
        return AutoPruneInfo(r.uuid, scope, r.method, r.value, r.tag_pattern, r.tag_pattern_matches)

    async def _prune_fields(
        self, method: str, value: object, tag_pattern: str | None, matches: bool
    ) -> dict[str, Any]:
        try:
            stored = normalize_value(method, value)
        except PolicyValueError as exc:
            raise InvalidInput(str(exc)) from exc
        pattern = await _checked_pattern(tag_pattern, required=False)
        return {
            "method": method,
            "value": stored,
            "tag_pattern": pattern,
            "tag_pattern_matches": bool(matches) if pattern is not None else True,
        }

    async def create_autoprune(
        self,
        scope: Scope,
        *,
        method: str,
        value: object,
        tag_pattern: str | None,
        tag_pattern_matches: bool,
        actor: Actor | None,
    ) -> AutoPruneInfo:
        fields = await self._prune_fields(method, value, tag_pattern, tag_pattern_matches)
        async with self.db.write() as s:
            ns_id, repo_id = await self._ids(s, scope)
            existing = list(
                (
                    await s.execute(
                        select(AutoPrunePolicy).where(self._where(AutoPrunePolicy, ns_id, repo_id))
                    )
                ).scalars()
            )
            if len(existing) >= MAX_POLICIES_PER_SCOPE:
                raise InvalidInput(f"{scope.label} already has {MAX_POLICIES_PER_SCOPE} auto-prune policies")
            for e in existing:
                if (e.method, e.value, e.tag_pattern, e.tag_pattern_matches) == tuple(fields.values()):
                    raise InvalidInput(f"{scope.label} already has this policy ({e.uuid})")
            row = AutoPrunePolicy(
                uuid=str(uuidlib.uuid4()),
                namespace_id=ns_id,
                repository_id=repo_id,
                created_by=actor.name if actor else None,
                **fields,
            )
            s.add(row)
            kind = "create_repository_autoprune_policy" if repo_id else "create_namespace_autoprune_policy"
            await self._audit(s, kind, scope, actor, policy_uuid=row.uuid, **_audit_fields(fields))
            return self._prune_info(row, scope)

    async def update_autoprune(
        self,
        scope: Scope,
        policy_uuid: str,
        *,
        method: str,
        value: object,
        tag_pattern: str | None,
        tag_pattern_matches: bool,
        actor: Actor | None,
    ) -> AutoPruneInfo:
        fields = await self._prune_fields(method, value, tag_pattern, tag_pattern_matches)
        async with self.db.write() as s:
            ns_id, repo_id = await self._ids(s, scope)
            res = await s.execute(
                update(AutoPrunePolicy)
                .where(self._where(AutoPrunePolicy, ns_id, repo_id), AutoPrunePolicy.uuid == policy_uuid)
                .values(**fields)
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no auto-prune policy {policy_uuid[:40]!r} in {scope.label}")
            kind = "update_repository_autoprune_policy" if repo_id else "update_namespace_autoprune_policy"
            await self._audit(s, kind, scope, actor, policy_uuid=policy_uuid, **_audit_fields(fields))
        return AutoPruneInfo(
            policy_uuid,
            scope,
            fields["method"],
            fields["value"],
            fields["tag_pattern"],
            fields["tag_pattern_matches"],
        )

    async def delete_autoprune(self, scope: Scope, policy_uuid: str, actor: Actor | None) -> None:
        async with self.db.write() as s:
            ns_id, repo_id = await self._ids(s, scope)
            res = await s.execute(
                delete(AutoPrunePolicy).where(
                    self._where(AutoPrunePolicy, ns_id, repo_id), AutoPrunePolicy.uuid == policy_uuid
                )
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no auto-prune policy {policy_uuid[:40]!r} in {scope.label}")
            kind = "delete_repository_autoprune_policy" if repo_id else "delete_namespace_autoprune_policy"
            await self._audit(s, kind, scope, actor, policy_uuid=policy_uuid)

    # -- immutability rules
    async def list_immutability(self, scope: Scope) -> list[ImmutabilityInfo]:
        async with self.db.read() as s:
            ns_id, repo_id = await self._ids(s, scope)
            rows = (
                await s.execute(
                    select(ImmutabilityPolicy)
                    .where(self._where(ImmutabilityPolicy, ns_id, repo_id))
                    .order_by(ImmutabilityPolicy.id)
                )
            ).scalars()
            return [ImmutabilityInfo(r.uuid, scope, r.tag_pattern, r.tag_pattern_matches) for r in rows]

    async def get_immutability(self, scope: Scope, policy_uuid: str) -> ImmutabilityInfo:
        for p in await self.list_immutability(scope):
            if p.uuid == policy_uuid:
                return p
        raise NotFound(f"no immutability rule {policy_uuid[:40]!r} in {scope.label}")

    async def create_immutability(
        self, scope: Scope, *, tag_pattern: str | None, tag_pattern_matches: bool, actor: Actor | None
    ) -> ImmutabilityInfo:
        pattern = await _checked_pattern(tag_pattern, required=True)
        assert pattern is not None
        async with self.db.write() as s:
            ns_id, repo_id = await self._ids(s, scope)
            existing = list(
                (
                    await s.execute(
                        select(ImmutabilityPolicy).where(self._where(ImmutabilityPolicy, ns_id, repo_id))
                    )
                ).scalars()
            )
            if len(existing) >= MAX_POLICIES_PER_SCOPE:
                raise InvalidInput(f"{scope.label} already has {MAX_POLICIES_PER_SCOPE} immutability rules")
            for e in existing:
                if (e.tag_pattern, e.tag_pattern_matches) == (pattern, bool(tag_pattern_matches)):
                    raise InvalidInput(f"{scope.label} already has this rule ({e.uuid})")
            row = ImmutabilityPolicy(
                uuid=str(uuidlib.uuid4()),
                namespace_id=ns_id,
                repository_id=repo_id,
                tag_pattern=pattern,
                tag_pattern_matches=bool(tag_pattern_matches),
                created_by=actor.name if actor else None,
            )
            s.add(row)
            await self._audit(
                s,
                "create_immutability_policy",
                scope,
                actor,
                policy_uuid=row.uuid,
                tag_pattern=pattern,
                tag_pattern_matches=bool(tag_pattern_matches),
            )
            self._touch(s, scope)
            return ImmutabilityInfo(row.uuid, scope, pattern, bool(tag_pattern_matches))

    async def update_immutability(
        self,
        scope: Scope,
        policy_uuid: str,
        *,
        tag_pattern: str | None,
        tag_pattern_matches: bool,
        actor: Actor | None,
    ) -> ImmutabilityInfo:
        pattern = await _checked_pattern(tag_pattern, required=True)
        assert pattern is not None
        async with self.db.write() as s:
            ns_id, repo_id = await self._ids(s, scope)
            res = await s.execute(
                update(ImmutabilityPolicy)
                .where(
                    self._where(ImmutabilityPolicy, ns_id, repo_id), ImmutabilityPolicy.uuid == policy_uuid
                )
                .values(tag_pattern=pattern, tag_pattern_matches=bool(tag_pattern_matches))
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no immutability rule {policy_uuid[:40]!r} in {scope.label}")
            await self._audit(
                s,
                "update_immutability_policy",
                scope,
                actor,
                policy_uuid=policy_uuid,
                tag_pattern=pattern,
                tag_pattern_matches=bool(tag_pattern_matches),
            )
            self._touch(s, scope)
        return ImmutabilityInfo(policy_uuid, scope, pattern, bool(tag_pattern_matches))

    async def delete_immutability(self, scope: Scope, policy_uuid: str, actor: Actor | None) -> None:
        """Remove a rule (lifting it: its tags may change again). Audited with who lifted it."""
        async with self.db.write() as s:
            ns_id, repo_id = await self._ids(s, scope)
            res = await s.execute(
                delete(ImmutabilityPolicy).where(
                    self._where(ImmutabilityPolicy, ns_id, repo_id), ImmutabilityPolicy.uuid == policy_uuid
                )
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no immutability rule {policy_uuid[:40]!r} in {scope.label}")
            await self._audit(s, "delete_immutability_policy", scope, actor, policy_uuid=policy_uuid)
            self._touch(s, scope)

    async def immutable_tags(self, repository: str, names: list[str]) -> dict[str, str]:
        """For each live tag among ``names`` that may not be moved or deleted, the rule that says so
        (its own mark or a policy of its repository or namespace)."""
        async with self.db.read() as s:
            repo = await self.repositories.get_in(s, repository)
            return {} if repo is None else await immutable_rules(s, repo.id, names)

    async def set_tag_immutable(
        self, repository: str, tag: str, immutable: bool, actor: Actor | None
    ) -> bool:
        """Mark or clear ``tag.immutable`` on the live tag (clearing lifts the label's rule); audited.
        Returns whether it changed; NotFound when there is no such live tag."""
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None or not await lock_repository(s, repo.id):
                raise NotFound(f"no repository named {repository!r}")
            row = (
                await s.execute(
                    select(Tag.id, Tag.immutable).where(
                        Tag.repository_id == repo.id, Tag.name == tag, live_tag(datetime.now(UTC))
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"no tag {tag[:128]!r} in {repository}")
            if bool(row.immutable) == immutable:
                return False
            await s.execute(update(Tag).where(Tag.id == row.id).values(immutable=immutable))
            await self.audit.add(
                s, "change_tag_immutability", actor, repository=repository, tag=tag, immutable=immutable
            )
            self.repositories.touch(s, repository)
            return True

    def _touch(self, s: AsyncSession, scope: Scope) -> None:
        if scope.repository is not None:
            self.repositories.touch(s, scope.repository)


def _audit_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": fields["method"],
        "value": fields["value"],
        "tag_pattern": fields["tag_pattern"],
        "tag_pattern_matches": fields["tag_pattern_matches"],
    }
