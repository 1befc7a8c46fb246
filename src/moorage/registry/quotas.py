"""Storage quotas of namespaces (Quay's model): one quota per namespace with Warning and Reject limits.

Management (create, change, delete quotas and limits, every change audited), the usage reports the
API, UI and CLI show, and ``verify``: usage recomputed from the rows and compared with the
incrementally kept counters. The counting itself lives in ``quota_accounting.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
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
from moorage.domain.actor import Actor
from moorage.domain.errors import Conflict, InvalidInput, NotFound
from moorage.domain.reference import namespace_of
from moorage.registry.quota_accounting import QuotaAccounting, QuotaPolicy, human_bytes, recount

MAX_LIMIT_BYTES = 2**53  # 8 PiB: larger is a typo, not a quota (and stays exact in JSON numbers)
LIMIT_TYPES = ("Warning", "Reject")


@dataclass(frozen=True, slots=True)
class LimitInfo:
    id: int
    type: str  # Warning | Reject
    percent: int


@dataclass(frozen=True, slots=True)
class QuotaInfo:
    id: int
    namespace: str
    limit_bytes: int
    limits: tuple[LimitInfo, ...]


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What a usage bar shows: the namespace's usage and the quota that applies (own or default)."""

    namespace: str
    kind: str  # user | org
    usage_bytes: int
    limit_bytes: int | None
    reject_bytes: int | None
    warning_bytes: tuple[int, ...]
    quota_id: int | None
    is_default: bool

    @property
    def percent(self) -> float | None:
        if not self.limit_bytes:
            return None
        return 100.0 * self.usage_bytes / self.limit_bytes

    @property
    def state(self) -> str:
        """ok, warning (a warning threshold reached) or over (beyond the reject limit)."""
        if self.reject_bytes is not None and self.usage_bytes > self.reject_bytes:
            return "over"
        if any(self.usage_bytes >= w for w in self.warning_bytes):
            return "warning"
        return "ok"

    def summary(self) -> str:
        if self.limit_bytes is None:
            return f"{human_bytes(self.usage_bytes)} used, no quota"
        pct = self.percent or 0.0
        text = f"{human_bytes(self.usage_bytes)} of {human_bytes(self.limit_bytes)} used ({pct:.0f}%)"
        return text + (" — over the quota: pushes are refused" if self.state == "over" else "")


@dataclass(frozen=True, slots=True)
class Drift:
    namespace: str
    stored_bytes: int
    actual_bytes: int
    stored_blobs: int
    actual_blobs: int


def _check_limit_bytes(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("limit_bytes must be a whole number of bytes")
    if value <= 0:
        raise InvalidInput("limit_bytes must be a positive number of bytes")
    if value > MAX_LIMIT_BYTES:
        raise InvalidInput(f"limit_bytes may not exceed {MAX_LIMIT_BYTES} bytes (8 PiB)")
    return value


def _check_type(value: str) -> str:
    for t in LIMIT_TYPES:
        if isinstance(value, str) and value.lower() == t.lower():
            return t
    raise InvalidInput("a quota limit's type is 'Warning' or 'Reject'")


def _check_percent(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise InvalidInput("threshold_percent must be a whole number from 1 to 100")
    return value


class Quotas:
    def __init__(self, db: Database, audit: AuditLog, accounting: QuotaAccounting) -> None:
        self.db = db
        self.audit = audit
        self.accounting = accounting

    # -- reads
    async def _namespace(self, s: AsyncSession, namespace: str, kind: str | None) -> tuple[int, str]:
        stmt = select(Namespace.id, Namespace.kind).where(Namespace.name == namespace)
        if kind is not None:
            stmt = stmt.where(Namespace.kind == kind)
        row = (await s.execute(stmt)).first()
        if row is None:
            what = {"org": "organization", "user": "user"}.get(kind or "", "user or organization")
            raise NotFound(f"no {what} named {namespace!r}")
        return int(row.id), str(row.kind)

    async def _quota_rows(self, s: AsyncSession, ns_id: int, namespace: str) -> list[QuotaInfo]:
        quotas = (
            (await s.execute(select(NamespaceQuota).where(NamespaceQuota.namespace_id == ns_id)))
            .scalars()
            .all()
        )
        out = []
        for q in quotas:
            limits = (
                (
                    await s.execute(
                        select(QuotaLimit).where(QuotaLimit.quota_id == q.id).order_by(QuotaLimit.id)
                    )
                )
                .scalars()
                .all()
            )
            out.append(
                QuotaInfo(
                    q.id,
                    namespace,
                    int(q.limit_bytes),
                    tuple(LimitInfo(x.id, x.kind, x.percent) for x in limits),
                )
            )
        return out

    async def list_quotas(self, namespace: str, kind: str | None = None) -> list[QuotaInfo]:
        async with self.db.read() as s:
            ns_id, _ = await self._namespace(s, namespace, kind)
            return await self._quota_rows(s, ns_id, namespace)

    async def get(self, namespace: str, quota_id: int, kind: str | None = None) -> QuotaInfo:
        for q in await self.list_quotas(namespace, kind):
            if q.id == quota_id:
                return q
        raise NotFound(f"no quota {quota_id} in namespace {namespace!r}")

    async def get_limit(
        self, namespace: str, quota_id: int, limit_id: int, kind: str | None = None
    ) -> LimitInfo:
        for limit in (await self.get(namespace, quota_id, kind)).limits:
            if limit.id == limit_id:
                return limit
        raise NotFound(f"no limit {limit_id} in quota {quota_id}")

    async def report(self, namespace: str) -> UsageReport | None:
        """Usage and the applying quota of a namespace; None when there is no such namespace."""
        async with self.db.read() as s:
            row = (
                await s.execute(select(Namespace.id, Namespace.kind).where(Namespace.name == namespace))
            ).first()
            if row is None:
                return None
            policy = await self.accounting.policy_in(s, row.id)
            usage = await self.accounting.usage_in(s, row.id)
        return _report(namespace, str(row.kind), usage, policy)

    async def report_for_repository(self, repository: str) -> UsageReport | None:
        ns = namespace_of(repository)
        return None if ns is None else await self.report(ns)

    # -- changes (superusers; the edges check)
    async def create(
        self, namespace: str, limit_bytes: int, actor: Actor | None, kind: str | None = None
    ) -> QuotaInfo:
        limit_bytes = _check_limit_bytes(limit_bytes)
        async with self.db.write() as s:
            ns_id, ns_kind = await self._namespace(s, namespace, kind)
            exists = (
                await s.execute(select(NamespaceQuota.id).where(NamespaceQuota.namespace_id == ns_id))
            ).scalar()
            if exists is not None:
                raise Conflict(
                    f"the namespace {namespace!r} already has a quota (id {exists}); change it instead"
                )
            q = NamespaceQuota(namespace_id=ns_id, limit_bytes=limit_bytes)
            s.add(q)
            await s.flush()
            await self.audit.add(
                s,
                _kind(ns_kind, "create_quota"),
                actor,
                namespace=namespace,
                quota_id=q.id,
                limit_bytes=limit_bytes,
            )
            return QuotaInfo(q.id, namespace, limit_bytes, ())

    async def update(
        self, namespace: str, quota_id: int, limit_bytes: int, actor: Actor | None, kind: str | None = None
    ) -> QuotaInfo:
        limit_bytes = _check_limit_bytes(limit_bytes)
        async with self.db.write() as s:
            q, ns_kind = await self._quota_in(s, namespace, quota_id, kind)
            old = int(q.limit_bytes)
            q.limit_bytes = limit_bytes
            await self.audit.add(
                s,
                _kind(ns_kind, "change_quota"),
                actor,
                namespace=namespace,
                quota_id=quota_id,
                limit_bytes=limit_bytes,
                previous_limit_bytes=old,
            )
        return await self.get(namespace, quota_id)

    async def delete(
        self, namespace: str, quota_id: int, actor: Actor | None, kind: str | None = None
    ) -> None:
        async with self.db.write() as s:
            q, ns_kind = await self._quota_in(s, namespace, quota_id, kind)
            await s.execute(delete(QuotaLimit).where(QuotaLimit.quota_id == q.id))
            await s.execute(delete(NamespaceQuota).where(NamespaceQuota.id == q.id))
            await self.audit.add(
                s, _kind(ns_kind, "delete_quota"), actor, namespace=namespace, quota_id=quota_id
            )

    async def add_limit(
        self,
        namespace: str,
        quota_id: int,
        type_: str,
        percent: int,
        actor: Actor | None,
        kind: str | None = None,
    ) -> LimitInfo:
        type_, percent = _check_type(type_), _check_percent(percent)
        async with self.db.write() as s:
            q, ns_kind = await self._quota_in(s, namespace, quota_id, kind)
            await self._check_unique(s, q.id, type_, percent, None)
            limit = QuotaLimit(quota_id=q.id, kind=type_, percent=percent)
            s.add(limit)
            await s.flush()
            await self.audit.add(
                s,
                _kind(ns_kind, "create_quota_limit"),
                actor,
                namespace=namespace,
                quota_id=quota_id,
                limit_id=limit.id,
                type=type_,
                threshold_percent=percent,
            )
            return LimitInfo(limit.id, type_, percent)

    async def update_limit(
        self,
        namespace: str,
        quota_id: int,
        limit_id: int,
        type_: str | None,
        percent: int | None,
        actor: Actor | None,
        kind: str | None = None,
    ) -> LimitInfo:
        new_type = None if type_ is None else _check_type(type_)
        new_percent = None if percent is None else _check_percent(percent)
        async with self.db.write() as s:
            q, ns_kind = await self._quota_in(s, namespace, quota_id, kind)
            limit = (
                await s.execute(
                    select(QuotaLimit).where(QuotaLimit.id == limit_id, QuotaLimit.quota_id == q.id)
                )
            ).scalar()
            if limit is None:
                raise NotFound(f"no limit {limit_id} in quota {quota_id}")
            final_type = new_type or limit.kind
            final_percent = new_percent if new_percent is not None else limit.percent
            await self._check_unique(s, q.id, final_type, final_percent, limit.id)
            limit.kind, limit.percent = final_type, final_percent
            await self.audit.add(
                s,
                _kind(ns_kind, "change_quota_limit"),
                actor,
                namespace=namespace,
                quota_id=quota_id,
                limit_id=limit_id,
                type=final_type,
                threshold_percent=final_percent,
            )
            return LimitInfo(limit.id, final_type, final_percent)

    async def delete_limit(
        self, namespace: str, quota_id: int, limit_id: int, actor: Actor | None, kind: str | None = None
    ) -> None:
        async with self.db.write() as s:
            q, ns_kind = await self._quota_in(s, namespace, quota_id, kind)
            res = await s.execute(
                delete(QuotaLimit).where(QuotaLimit.id == limit_id, QuotaLimit.quota_id == q.id)
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no limit {limit_id} in quota {quota_id}")
            await self.audit.add(
                s,
                _kind(ns_kind, "delete_quota_limit"),
                actor,
                namespace=namespace,
                quota_id=quota_id,
                limit_id=limit_id,
            )

    async def set(
        self,
        namespace: str,
        limit_bytes: int,
        *,
        reject_percent: int | None,
        warning_percent: int | None,
        actor: Actor | None,
    ) -> QuotaInfo:
        """Create or change a namespace's quota with at most one Reject and one Warning limit
        (the CLI's and the superuser form's one-step setting); the other limits are removed."""
        limit_bytes = _check_limit_bytes(limit_bytes)
        reject = None if reject_percent is None else _check_percent(reject_percent)
        warning = None if warning_percent is None else _check_percent(warning_percent)
        async with self.db.write() as s:
            ns_id, ns_kind = await self._namespace(s, namespace, None)
            q = (await s.execute(select(NamespaceQuota).where(NamespaceQuota.namespace_id == ns_id))).scalar()
            if q is None:
                q = NamespaceQuota(namespace_id=ns_id, limit_bytes=limit_bytes)
                s.add(q)
                await s.flush()
            q.limit_bytes = limit_bytes
            await s.execute(delete(QuotaLimit).where(QuotaLimit.quota_id == q.id))
            if reject is not None:
                s.add(QuotaLimit(quota_id=q.id, kind="Reject", percent=reject))
            if warning is not None:
                s.add(QuotaLimit(quota_id=q.id, kind="Warning", percent=warning))
            await s.flush()
            await self.audit.add(
                s,
                _kind(ns_kind, "change_quota"),
                actor,
                namespace=namespace,
                quota_id=q.id,
                limit_bytes=limit_bytes,
                reject_percent=reject,
                warning_percent=warning,
            )
            quota_id = q.id
        return await self.get(namespace, quota_id)

    async def clear(self, namespace: str, actor: Actor | None) -> bool:
        """Remove a namespace's quota (the default, if any, applies again); False when it had none."""
        async with self.db.write() as s:
            ns_id, ns_kind = await self._namespace(s, namespace, None)
            q = (
                await s.execute(select(NamespaceQuota.id).where(NamespaceQuota.namespace_id == ns_id))
            ).scalar()
            if q is None:
                return False
            await s.execute(delete(QuotaLimit).where(QuotaLimit.quota_id == q))
            await s.execute(delete(NamespaceQuota).where(NamespaceQuota.id == q))
            await self.audit.add(s, _kind(ns_kind, "delete_quota"), actor, namespace=namespace, quota_id=q)
        return True

    async def _quota_in(
        self, s: AsyncSession, namespace: str, quota_id: int, kind: str | None
    ) -> tuple[NamespaceQuota, str]:
        ns_id, ns_kind = await self._namespace(s, namespace, kind)
        q = (
            await s.execute(
                select(NamespaceQuota).where(
                    NamespaceQuota.id == quota_id, NamespaceQuota.namespace_id == ns_id
                )
            )
        ).scalar()
        if q is None:
            raise NotFound(f"no quota {quota_id} in namespace {namespace!r}")
        return q, ns_kind

    async def _check_unique(
        self, s: AsyncSession, quota_id: int, type_: str, percent: int, own: int | None
    ) -> None:
        others = [
            (k, p)
            for i, k, p in (
                await s.execute(
                    select(QuotaLimit.id, QuotaLimit.kind, QuotaLimit.percent).where(
                        QuotaLimit.quota_id == quota_id
                    )
                )
            ).all()
            if i != own
        ]
        if (type_, percent) in others:
            raise Conflict(f"the quota already has a {type_} limit at {percent}%")
        if type_ == "Reject" and any(k == "Reject" for k, _ in others):
            raise Conflict("a quota has at most one Reject limit; change the existing one")

    # -- verification
    async def verify(self, *, fix: bool = False, actor: Actor | None = None) -> list[Drift]:
        """Recompute every namespace's usage from the links and compare with the kept counters;
        with ``fix``, rewrite the drifted namespaces' counters (each under its usage lock)."""
        async with self.db.read() as s:
            drifts = await _drifts(s)
        if fix:
            for d in drifts:
                async with self.db.write() as s:
                    await self._rebuild(s, d.namespace)
                    await self.audit.add(
                        s,
                        "fix_quota_usage",
                        actor,
                        namespace=d.namespace,
                        stored_bytes=d.stored_bytes,
                        actual_bytes=d.actual_bytes,
                    )
        return drifts

    async def _rebuild(self, s: AsyncSession, namespace: str) -> None:
        ns_id = (await s.execute(select(Namespace.id).where(Namespace.name == namespace))).scalar()
        if ns_id is None:
            return
        await self.accounting._lock_usage(s, ns_id)
        await s.execute(delete(NamespaceBlob).where(NamespaceBlob.namespace_id == ns_id))
        rows = (
            await s.execute(
                select(RepositoryBlob.blob_id, Blob.size)
                .join(Repository, Repository.id == RepositoryBlob.repository_id)
                .join(Blob, Blob.id == RepositoryBlob.blob_id)
                .where(Repository.namespace_id == ns_id)
                .distinct()
            )
        ).all()
        if rows:
            await s.execute(
                insert(NamespaceBlob),
                [{"namespace_id": ns_id, "blob_id": b, "size": int(size)} for b, size in rows],
            )
        total = sum(int(size) for _, size in rows)
        usage = (
            await s.execute(select(NamespaceUsage).where(NamespaceUsage.namespace_id == ns_id))
        ).scalar_one()
        usage.bytes = total


async def _drifts(s: AsyncSession) -> list[Drift]:
    actual = await recount(s)
    stored = {
        int(ns): int(b)
        for ns, b in (await s.execute(select(NamespaceUsage.namespace_id, NamespaceUsage.bytes))).all()
    }
    kept = {
        int(ns): (int(b), int(n))
        for ns, b, n in (
            await s.execute(
                select(NamespaceBlob.namespace_id, func.sum(NamespaceBlob.size), func.count()).group_by(
                    NamespaceBlob.namespace_id
                )
            )
        ).all()
    }
    names = {int(i): str(n) for i, n in (await s.execute(select(Namespace.id, Namespace.name))).all()}
    out = []
    for ns_id in sorted(set(actual) | set(stored) | set(kept)):
        if ns_id not in names:
            continue
        a_bytes, a_blobs = actual.get(ns_id, (0, 0))
        k_bytes, k_blobs = kept.get(ns_id, (0, 0))
        s_bytes = stored.get(ns_id, 0)
        if (s_bytes, k_bytes, k_blobs) != (a_bytes, a_bytes, a_blobs):
            out.append(Drift(names[ns_id], s_bytes, a_bytes, k_blobs, a_blobs))
    return sorted(out, key=lambda d: d.namespace)


def _kind(ns_kind: str, action: str) -> str:
    """Quay's audit kinds: org_create_quota, ... for organizations; user_... for users."""
    return f"{'org' if ns_kind == 'org' else 'user'}_{action}"


def _report(namespace: str, kind: str, usage: int, policy: QuotaPolicy | None) -> UsageReport:
    if policy is None:
        return UsageReport(namespace, kind, usage, None, None, (), None, False)
    warnings = tuple(policy.limit_bytes * p // 100 for p in policy.warning_percents)
    return UsageReport(
        namespace,
        kind,
        usage,
        policy.limit_bytes,
        policy.reject_bytes,
        warnings,
        policy.quota_id,
        policy.quota_id is None,
    )
