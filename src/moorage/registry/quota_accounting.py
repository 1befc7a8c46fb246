"""Quota accounting: each namespace's usage, kept exact in the transaction that links or unlinks a blob.

Usage counts every blob once per namespace, as stored (deduplicated): a blob is in
``namespace_blob`` while at least one repository of the namespace links it (``repository_blob``),
and ``namespace_usage.bytes`` is the sum of those blobs' sizes. Two functions keep both exact and
are the only writers of either (besides ``moorage quota verify --fix``):

- ``links_added(s, links)``: after inserting ``repository_blob`` rows (upload, mount);
- ``links_removed(s, links)``: after deleting ``repository_blob`` rows (blob delete, repository
  delete, garbage collection), *before* the repository rows or blob rows go.

Both run inside the caller's unit of work (``Database.write()``), so the counter commits or rolls
back with the links. Concurrency: both first lock the namespace's usage row (PostgreSQL: ``SELECT
... FOR UPDATE``, namespaces in id order; SQLite: the single writer already serializes), so the
"first link in the namespace" / "last link in the namespace" decisions of two transactions never
interleave. Callers that also lock a repository (``lock_repository``) take that lock first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.models import (
    Blob,
    Namespace,
    NamespaceBlob,
    NamespaceQuota,
    NamespaceUsage,
    QuotaLimit,
    Repository,
    RepositoryBlob,
)
from moorage.domain.errors import Denied
from moorage.domain.reference import namespace_of
from moorage.events.outbox import Outbox
from moorage.registry.sql import insert_ignore, insert_ignore_many

QUOTA_WARNING_TOPIC = "quota_warning"
_CHUNK = 500
T = TypeVar("T")


class QuotaExceeded(Denied):
    """A push that would take a namespace over its reject limit (OCI ``DENIED`` on /v2)."""


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """The quota that applies to a namespace: its own, or the registry default from the configuration."""

    limit_bytes: int
    reject_percent: int | None  # None: the quota only reports (no Reject limit)
    warning_percents: tuple[int, ...]
    quota_id: int | None  # None: the registry default

    @property
    def reject_bytes(self) -> int | None:
        """The most bytes the namespace may hold (floor of the percent of the limit)."""
        if self.reject_percent is None:
            return None
        return self.limit_bytes * self.reject_percent // 100

    def over_reject(self, usage: int) -> bool:
        return self.reject_percent is not None and usage * 100 > self.limit_bytes * self.reject_percent

    def warnings_crossed(self, old: int, new: int) -> list[int]:
        """Warning thresholds (percent) that ``old -> new`` crosses upwards."""
        return [p for p in self.warning_percents if old * 100 < self.limit_bytes * p <= new * 100]


@dataclass(frozen=True, slots=True)
class DefaultQuota:
    """The registry-wide default from the configuration (``default_quota_bytes``, 0: none)."""

    limit_bytes: int = 0
    warning_percent: int = 0

    def policy(self) -> QuotaPolicy | None:
        if self.limit_bytes <= 0:
            return None
        warnings = (self.warning_percent,) if self.warning_percent > 0 else ()
        return QuotaPolicy(self.limit_bytes, 100, warnings, None)


def human_bytes(n: int) -> str:
    """Decimal units, as registries and clients print sizes: ``1.2 GB``."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(value) < 1000 or unit == "PB":
            if unit == "bytes":
                return f"{n} bytes"
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        value /= 1000
    return f"{n} bytes"  # pragma: no cover


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _kind_word(kind: str) -> str:
    return "organization" if kind == "org" else "user"


class QuotaAccounting:
    def __init__(self, outbox: Outbox, default: DefaultQuota) -> None:
        self.outbox = outbox
        self.default = default

    # -- policy
    async def policy_in(self, s: AsyncSession, namespace_id: int) -> QuotaPolicy | None:
        """The quota applying to the namespace (its own, else the default), or None."""
        quota = (
            await s.execute(
                select(NamespaceQuota.id, NamespaceQuota.limit_bytes).where(
                    NamespaceQuota.namespace_id == namespace_id
                )
            )
        ).first()
        if quota is None:
            return self.default.policy()
        limits = (
            await s.execute(
                select(QuotaLimit.kind, QuotaLimit.percent).where(QuotaLimit.quota_id == quota.id)
            )
        ).all()
        rejects = [p for k, p in limits if k == "Reject"]
        warnings = tuple(sorted(p for k, p in limits if k == "Warning"))
        return QuotaPolicy(int(quota.limit_bytes), min(rejects) if rejects else None, warnings, int(quota.id))

    async def usage_in(self, s: AsyncSession, namespace_id: int) -> int:
        got = (
            await s.execute(select(NamespaceUsage.bytes).where(NamespaceUsage.namespace_id == namespace_id))
        ).scalar()
        return int(got or 0)

    # -- the two accounting functions
    async def links_added(
        self, s: AsyncSession, links: Iterable[tuple[int, int]], *, enforce: bool = True
    ) -> None:
        """Count ``(repository_id, blob_id)`` links just inserted into ``repository_blob``.

        A blob new to its repository's namespace adds its size to the namespace's usage. With
        ``enforce``, raises QuotaExceeded (the caller's transaction then rolls back, links and all)
        when the namespace would go over its reject limit; a blob the namespace already holds
        costs nothing and is never refused. Crossing a warning threshold upwards writes one
        ``quota_warning`` event to the outbox, in this transaction."""
        by_ns = await self._group(s, links)
        for ns_id in sorted(by_ns):
            await self._lock_usage(s, ns_id)
            blob_ids = by_ns[ns_id]
            counted: set[int] = set()
            for batch in _chunks(sorted(blob_ids)):
                counted.update(
                    (
                        await s.execute(
                            select(NamespaceBlob.blob_id).where(
                                NamespaceBlob.namespace_id == ns_id, NamespaceBlob.blob_id.in_(batch)
                            )
                        )
                    ).scalars()
                )
            new = sorted(blob_ids - counted)
            delta = 0
            for batch in _chunks(new):
                sizes = (await s.execute(select(Blob.id, Blob.size).where(Blob.id.in_(batch)))).all()
                await insert_ignore_many(
                    s,
                    NamespaceBlob,
                    [{"namespace_id": ns_id, "blob_id": b, "size": int(size)} for b, size in sizes],
                )
                delta += sum(int(size) for _, size in sizes)
            if delta == 0:
                continue
            after = await self._add(s, ns_id, delta)
            before = after - delta
            policy = await self.policy_in(s, ns_id)
            if policy is None:
                continue
            if enforce and policy.over_reject(after):
                raise await self._exceeded(s, ns_id, policy, after)
            for percent in policy.warnings_crossed(before, after):
                await self._warn(s, ns_id, policy, percent, before, after)

    async def links_removed(self, s: AsyncSession, links: Iterable[tuple[int, int]]) -> None:
        """Uncount ``(repository_id, blob_id)`` links just deleted from ``repository_blob``.

        Call it after deleting the links and before deleting the repository rows or blob rows
        (the repositories name the namespaces; ``namespace_blob`` keeps blob rows from going
        while counted). A blob leaves its namespace's usage when no repository of that namespace
        links it any more."""
        by_ns = await self._group(s, links)
        for ns_id in sorted(by_ns):
            await self._lock_usage(s, ns_id)
            candidates = by_ns[ns_id]
            delta = 0
            for batch in _chunks(sorted(candidates)):
                still = set(
                    (
                        await s.execute(
                            select(RepositoryBlob.blob_id)
                            .join(Repository, Repository.id == RepositoryBlob.repository_id)
                            .where(Repository.namespace_id == ns_id, RepositoryBlob.blob_id.in_(batch))
                            .distinct()
                        )
                    ).scalars()
                )
                gone = [b for b in batch if b not in still]
                if not gone:
                    continue
                sizes = (
                    await s.execute(
                        select(NamespaceBlob.blob_id, NamespaceBlob.size).where(
                            NamespaceBlob.namespace_id == ns_id, NamespaceBlob.blob_id.in_(gone)
                        )
                    )
                ).all()
                if not sizes:
                    continue
                await s.execute(
                    delete(NamespaceBlob).where(
                        NamespaceBlob.namespace_id == ns_id,
                        NamespaceBlob.blob_id.in_([b for b, _ in sizes]),
                    )
                )
                delta += sum(int(size) for _, size in sizes)
            if delta:
                await self._add(s, ns_id, -delta)

    # -- checks before anything is stored
    async def check_room(self, s: AsyncSession, repository: str, digest: str, size: int) -> None:
        """Refuse (QuotaExceeded) a blob that would take the namespace of ``repository`` over its
        reject limit, before its bytes are stored: a cheap early answer; ``links_added`` decides
        again under the namespace's lock."""
        ns = namespace_of(repository)
        if ns is None:
            return
        ns_id = (await s.execute(select(Namespace.id).where(Namespace.name == ns))).scalar()
        if ns_id is None:
            return
        policy = await self.policy_in(s, ns_id)
        if policy is None or policy.reject_percent is None:
            return
        held = (
            await s.execute(
                select(NamespaceBlob.blob_id)
                .join(Blob, Blob.id == NamespaceBlob.blob_id)
                .where(NamespaceBlob.namespace_id == ns_id, Blob.digest == digest)
            )
        ).scalar()
        if held is not None:
            return
        after = await self.usage_in(s, ns_id) + size
        if policy.over_reject(after):
            raise await self._exceeded(s, ns_id, policy, after)

    async def check_not_over(self, s: AsyncSession, repository_id: int) -> None:
        """Refuse (QuotaExceeded) a manifest push into a namespace already over its reject limit
        (the limit was lowered, or blobs arrived before the quota was set)."""
        ns_id = (
            await s.execute(select(Repository.namespace_id).where(Repository.id == repository_id))
        ).scalar()
        if ns_id is None:
            return
        policy = await self.policy_in(s, ns_id)
        if policy is None:
            return
        usage = await self.usage_in(s, ns_id)
        if policy.over_reject(usage):
            raise await self._exceeded(s, ns_id, policy, usage)

    # -- helpers
    async def _group(self, s: AsyncSession, links: Iterable[tuple[int, int]]) -> dict[int, set[int]]:
        pairs = set(links)
        if not pairs:
            return {}
        ns_of: dict[int, int | None] = {}
        for batch in _chunks(sorted({r for r, _ in pairs})):
            rows = (
                await s.execute(
                    select(Repository.id, Repository.namespace_id).where(Repository.id.in_(batch))
                )
            ).all()
            ns_of.update({int(r): ns for r, ns in rows})
        by_ns: dict[int, set[int]] = defaultdict(set)
        for repo_id, blob_id in pairs:
            ns_id = ns_of.get(repo_id)
            if ns_id is not None:
                by_ns[ns_id].add(blob_id)
        return dict(by_ns)

    async def _lock_usage(self, s: AsyncSession, ns_id: int) -> None:
        await insert_ignore(s, NamespaceUsage, {"namespace_id": ns_id, "bytes": 0})
        if s.get_bind().dialect.name == "postgresql":
            await s.execute(
                select(NamespaceUsage.bytes).where(NamespaceUsage.namespace_id == ns_id).with_for_update()
            )

    async def _add(self, s: AsyncSession, ns_id: int, delta: int) -> int:
        """usage += delta, atomically; the new usage."""
        after = (
            await s.execute(
                update(NamespaceUsage)
                .where(NamespaceUsage.namespace_id == ns_id)
                .values(bytes=NamespaceUsage.bytes + delta)
                .returning(NamespaceUsage.bytes)
            )
        ).scalar_one()
        return int(after)

    async def _namespace(self, s: AsyncSession, ns_id: int) -> tuple[str, str]:
        row = (await s.execute(select(Namespace.name, Namespace.kind).where(Namespace.id == ns_id))).one()
        return str(row.name), str(row.kind)

    async def _exceeded(self, s: AsyncSession, ns_id: int, policy: QuotaPolicy, after: int) -> QuotaExceeded:
        name, kind = await self._namespace(s, ns_id)
        allowed = policy.reject_bytes or 0
        message = (
            f"quota of {_kind_word(kind)} {name} exceeded: {human_bytes(after)} of {human_bytes(allowed)}"
        )
        if policy.reject_percent != 100:
            message += f" ({policy.reject_percent}% of the quota of {human_bytes(policy.limit_bytes)})"
        detail: dict[str, Any] = {
            "namespace": name,
            "usage_bytes": after,
            "reject_bytes": allowed,
            "limit_bytes": policy.limit_bytes,
        }
        return QuotaExceeded(message, detail)

    async def _warn(
        self,
        s: AsyncSession,
        ns_id: int,
        policy: QuotaPolicy,
        percent: int,
        before: int,
        after: int,
    ) -> None:
        name, kind = await self._namespace(s, ns_id)
        await self.outbox.append(
            s,
            "event",
            QUOTA_WARNING_TOPIC,
            {
                "namespace": name,
                "namespace_kind": _kind_word(kind),
                "quota_id": policy.quota_id,
                "limit_bytes": policy.limit_bytes,
                "threshold_percent": percent,
                "usage_bytes": after,
                "previous_usage_bytes": before,
                "message": f"{_kind_word(kind)} {name} uses {human_bytes(after)}, over {percent}% of its "
                f"quota of {human_bytes(policy.limit_bytes)}",
            },
        )


async def recount(s: AsyncSession) -> dict[int, tuple[int, int]]:
    """Usage recomputed from ``repository_blob`` rows: namespace id -> (bytes, blobs)."""
    pairs = (
        select(Repository.namespace_id.label("ns_id"), RepositoryBlob.blob_id.label("blob_id"))
        .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
        .where(Repository.namespace_id.is_not(None))
        .distinct()
        .subquery()
    )
    rows = (
        await s.execute(
            select(pairs.c.ns_id, func.coalesce(func.sum(Blob.size), 0), func.count(Blob.id))
            .join(Blob, Blob.id == pairs.c.blob_id)
            .group_by(pairs.c.ns_id)
        )
    ).all()
    return {int(ns): (int(b), int(n)) for ns, b, n in rows}
