"""Online garbage collection: delete the manifests and blobs nothing reaches, while pushes go on.

What is kept (docs/lifecycle.md, "Garbage collection"), per repository:

- the targets of its tags that are live or still restorable in the time machine (ended, by deletion,
  move or expiry, less than the namespace's window ago: ``tag_expiration_s``, else the registry's
  ``default_tag_expiration_s``);
- manifests pushed to it (by digest or tag) less than the grace window ago (``gc_grace_seconds``);
- transitively, the children of a kept index and the referrers (``subject``) of a kept manifest
  that are in the same repository (as Quay: a signature or SBOM lives as long as its subject);
- the blobs the kept manifests reference, and every blob linked to it less than the grace window
  ago (an upload whose manifest is not pushed yet).

The mark is set-based SQL (a recursive CTE over ``(repository, manifest)`` pairs); Python only
ever holds one batch of ids. The sweep deletes rows in short transactions that take the same locks
as the writers they race and re-check liveness inside the deleting statement, and deletes the files
only after the rows' deletion committed (under the digest's lock, re-checking that no row came
back). A crash between the two leaves files without rows, which the storage sweep removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import (
    Blob,
    Manifest,
    ManifestBlob,
    ManifestChild,
    Namespace,
    Repository,
    RepositoryBlob,
    RepositoryManifest,
    Tag,
)
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.digest import Digest
from moorage.jobs.types import JobContext, JobResult
from moorage.registry.sql import lock_digests, lock_repository
from moorage.storage.base import StorageDriver

log = structlog.get_logger("moorage.gc")

Progress = Callable[[str, int, int | None], Awaitable[None] | None]
"""Called as work is done: (phase, done, total or None)."""

JOB_KIND = "gc"

_MARK = MetaData()
GC_LIVE = Table(
    "gc_live",
    _MARK,
    Column("repository_id", BigInteger, primary_key=True),
    Column("manifest_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
GC_LIVE_BLOB = Table(
    "gc_live_blob",
    _MARK,
    Column("repository_id", BigInteger, primary_key=True),
    Column("blob_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""The mark of one run: temporary tables of the connection that computes it (not in the schema)."""


def _not_live_manifest() -> ColumnElement[bool]:
    return ~(
        select(GC_LIVE.c.manifest_id)
        .where(
            GC_LIVE.c.repository_id == RepositoryManifest.repository_id,
            GC_LIVE.c.manifest_id == RepositoryManifest.manifest_id,
        )
        .exists()
    )


def _not_live_blob() -> ColumnElement[bool]:
    return ~(
        select(GC_LIVE_BLOB.c.blob_id)
        .where(
            GC_LIVE_BLOB.c.repository_id == RepositoryBlob.repository_id,
            GC_LIVE_BLOB.c.blob_id == RepositoryBlob.blob_id,
        )
        .exists()
    )


@dataclass
class NamespaceFreed:
    """What one run frees (or would free) in one namespace."""

    namespace: str
    manifests: int = 0
    """repository_manifest rows removed (a manifest removed from one repository)."""
    blobs: int = 0
    """repository_blob rows removed (a blob removed from one repository)."""
    bytes: int = 0
    """Sum of the sizes of those blob links (a blob linked from two repositories counts twice)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "manifests": self.manifests,
            "blobs": self.blobs,
            "bytes": self.bytes,
        }


@dataclass
class GcReport:
    """The outcome of one run (or, with ``dry_run``, what a run would do now)."""

    dry_run: bool
    grace_seconds: int
    started_at: datetime
    namespaces: dict[str, NamespaceFreed] = field(default_factory=dict)
    manifest_rows: int = 0
    """Manifests deleted from the registry (no repository holds them any more)."""
    blob_rows: int = 0
    """Blobs deleted from the registry (and from storage)."""
    bytes_freed: int = 0
    """Storage bytes of those blobs (each blob once)."""
    files_deleted: int = 0
    files_failed: int = 0
    """Files whose deletion failed after retries (left for the storage sweep)."""
    orphans_deleted: int = 0
    orphan_bytes: int = 0
    seconds: float = 0.0

    def ns(self, name: str | None) -> NamespaceFreed:
        key = name or "(none)"
        if key not in self.namespaces:
            self.namespaces[key] = NamespaceFreed(key)
        return self.namespaces[key]

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "grace_seconds": self.grace_seconds,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "manifests": self.manifest_rows,
            "blobs": self.blob_rows,
            "bytes_freed": self.bytes_freed,
            "files_deleted": self.files_deleted,
            "files_failed": self.files_failed,
            "orphans_deleted": self.orphans_deleted,
            "orphan_bytes": self.orphan_bytes,
            "namespaces": [n.to_json() for _, n in sorted(self.namespaces.items())],
        }


@dataclass(frozen=True, slots=True)
class DeletedBlobRows:
    """What :func:`delete_blob_rows` removed."""

    links: list[tuple[int, int, int]]
    """(repository_id, blob_id, size) of each repository_blob row deleted."""
    blobs: list[tuple[int, str, int]]
    """(blob_id, digest, size) of each blob row deleted."""


async def delete_blob_rows(
    s: AsyncSession,
    *,
    repository_id: int | None = None,
    link_blob_ids: Sequence[int] = (),
    blob_ids: Sequence[int] = (),
    cutoff: datetime | None = None,
) -> DeletedBlobRows:
    """THE one place where repository_blob and blob rows are deleted (quota accounting hooks here).

    Deletes, in the caller's transaction:

    - the links ``(repository_id, b)`` for ``b`` in ``link_blob_ids`` that are still unreferenced:
      created before ``cutoff`` and not referenced by a manifest the repository keeps (the caller
      passes only such candidates and holds the repository's lock; the condition is re-checked by
      the statement itself);
    - the blob rows in ``blob_ids`` that no repository links and no manifest references any more
      (the caller holds the digests' locks, ``lock_digests``).

    Returns exactly what was deleted, with sizes, so a namespace's usage can drop by the blobs it no
    longer holds: after the links of a repository are deleted, a blob counts against the namespace
    only while another repository of the namespace still links it. Files are not touched here; the
    caller deletes them after the commit.
    """
    links: list[tuple[int, int, int]] = []
    blobs: list[tuple[int, str, int]] = []
    if repository_id is not None and link_blob_ids:
        stmt = delete(RepositoryBlob).where(
            RepositoryBlob.repository_id == repository_id,
            RepositoryBlob.blob_id.in_(list(link_blob_ids)),
        )
        if cutoff is not None:
            stmt = stmt.where(RepositoryBlob.created_at <= cutoff)
        gone = (await s.execute(stmt.returning(RepositoryBlob.blob_id))).scalars().all()
        if gone:
            sizes = dict(
                (await s.execute(select(Blob.id, Blob.size).where(Blob.id.in_(gone)))).tuples().all()
            )
            links = [(repository_id, int(b), int(sizes.get(b, 0))) for b in gone]
    if blob_ids:
        stmt2 = (
            delete(Blob)
            .where(
                Blob.id.in_(list(blob_ids)),
                ~select(RepositoryBlob.blob_id).where(RepositoryBlob.blob_id == Blob.id).exists(),
                ~select(ManifestBlob.blob_id).where(ManifestBlob.blob_id == Blob.id).exists(),
            )
            .returning(Blob.id, Blob.digest, Blob.size)
        )
        blobs = [(int(i), str(d), int(z)) for i, d, z in (await s.execute(stmt2)).tuples().all()]
    return DeletedBlobRows(links, blobs)


class GarbageCollector:
    """Mark and sweep over the metadata database, then the storage files. See the module docstring."""

    def __init__(
        self,
        db: Database,
        storage: StorageDriver,
        audit: AuditLog,
        *,
        grace_seconds: int,
        default_window_s: int,
        batch_size: int = 500,
        on_report: Callable[[GcReport], None] | None = None,
        pause_after_commit: Path | None = None,
        delete_attempts: int = 3,
    ) -> None:
        self.db = db
        self.storage = storage
        self.audit = audit
        self.grace_seconds = grace_seconds
        self.default_window_s = default_window_s
        self.batch_size = batch_size
        self.on_report = on_report
        # test-only fault injection (docs/testing.md): after the first commit that deleted blob rows,
        # create this file and wait (a test kills the process there, before any file is deleted)
        self.pause_after_commit = pause_after_commit
        self.delete_attempts = delete_attempts

    # ------------------------------------------------------------------ the liveness rule (SQL)
    async def _windows(self, s: AsyncSession) -> list[int]:
        rows = (await s.execute(select(Namespace.tag_expiration_s).distinct())).scalars().all()
        return sorted({self.default_window_s, *(int(r) for r in rows if r is not None)})

    def _kept_tag(self, now: datetime, windows: Sequence[int]) -> ColumnElement[bool]:
        """A tag row that still holds its manifest: live, or ended less than its namespace's window ago."""
        ended = func.coalesce(Tag.lifetime_end, Tag.expires_at)
        window = func.coalesce(Namespace.tag_expiration_s, self.default_window_s)
        restorable = [and_(window == w, ended > now - timedelta(seconds=w)) for w in windows]
        return or_(ended.is_(None), *restorable)

    def _live(
        self, now: datetime, cutoff: datetime, windows: Sequence[int], repository_id: int | None = None
    ) -> Any:
        """The recursive CTE of kept ``(repository_id, manifest_id)`` pairs (of one repository if given)."""
        tags = (
            select(Tag.repository_id.label("repository_id"), Tag.manifest_id.label("manifest_id"))
            .join(Repository, Repository.id == Tag.repository_id)
            .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
            .where(self._kept_tag(now, windows))
        )
        recent = select(RepositoryManifest.repository_id, RepositoryManifest.manifest_id).where(
            RepositoryManifest.created_at > cutoff
        )
        if repository_id is not None:
            tags = tags.where(Tag.repository_id == repository_id)
            recent = recent.where(RepositoryManifest.repository_id == repository_id)
        roots = union(tags, recent).subquery("gc_roots")
        anchor = select(roots.c.repository_id, roots.c.manifest_id)
        live = anchor.cte("gc_live", recursive=True)
        children = select(live.c.repository_id, ManifestChild.child_id).join(
            ManifestChild, ManifestChild.manifest_id == live.c.manifest_id
        )
        subject = aliased(Manifest)
        referrer = aliased(Manifest)
        held = aliased(RepositoryManifest)
        if self.db.is_sqlite:
            # SQLite runs the recursive part once per row of the queue: two recursive parts that
            # each join tables directly (by index) keep that cheap (SQLite >= 3.34)
            referrers = (
                select(live.c.repository_id, referrer.id)
                .join(subject, subject.id == live.c.manifest_id)
                .join(referrer, referrer.subject_digest == subject.digest)
                .join(
                    held,
                    and_(held.manifest_id == referrer.id, held.repository_id == live.c.repository_id),
                )
            )
            return live.union(children, referrers)
        # PostgreSQL allows one recursive reference: one step over both kinds of edge (it runs the
        # step once per iteration over the whole working set, with hash joins)
        ref_edges = (
            select(
                subject.id.label("parent_id"),
                referrer.id.label("child_id"),
                held.repository_id.label("scope"),
            )
            .join(referrer, referrer.subject_digest == subject.digest)
            .join(held, held.manifest_id == referrer.id)
        )
        if repository_id is not None:
            ref_edges = ref_edges.where(held.repository_id == repository_id)
        edges = union_all(
            select(
                ManifestChild.manifest_id.label("parent_id"),
                ManifestChild.child_id.label("child_id"),
                literal(None, Integer).label("scope"),
            ),
            ref_edges,
        ).subquery("gc_edges")
        step = select(live.c.repository_id, edges.c.child_id).join(
            edges,
            and_(
                edges.c.parent_id == live.c.manifest_id,
                or_(edges.c.scope.is_(None), edges.c.scope == live.c.repository_id),
            ),
        )
        return live.union(step)

    @staticmethod
    def _live_blob_pairs(live: Any) -> Select[Any]:
        return select(live.c.repository_id, ManifestBlob.blob_id).join(
            ManifestBlob, ManifestBlob.manifest_id == live.c.manifest_id
        )

    async def _tune(self, s: AsyncSession) -> None:
        if s.get_bind().dialect.name == "postgresql":
            # the anti-joins over the kept set are hashed in memory rather than re-scanned per row
            await s.execute(text("SET LOCAL work_mem = '256MB'"))

    @contextlib.asynccontextmanager
    async def _marked(
        self, now: datetime, cutoff: datetime, windows: Sequence[int] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A read transaction in which the temporary tables ``gc_live`` (kept repository/manifest
        pairs) and ``gc_live_blob`` (the blobs those manifests reference, per repository) hold the
        mark: filled by one recursive query each, indexed, dropped at the end."""
        async with self.db.read() as s, s.begin():
            await self._tune(s)
            if windows is None:
                windows = await self._windows(s)
            if self.db.is_sqlite:
                for table in (GC_LIVE, GC_LIVE_BLOB):
                    await s.execute(text(f"DROP TABLE IF EXISTS temp.{table.name}"))

            def create(sync: Any) -> None:
                for table in (GC_LIVE, GC_LIVE_BLOB):
                    table.create(sync.connection())

            await s.run_sync(create)
            live = self._live(now, cutoff, windows)
            await s.execute(
                insert(GC_LIVE).from_select(
                    ["repository_id", "manifest_id"], select(live.c.repository_id, live.c.manifest_id)
                )
            )
            await s.execute(
                insert(GC_LIVE_BLOB).from_select(
                    ["repository_id", "blob_id"],
                    select(GC_LIVE.c.repository_id, ManifestBlob.blob_id)
                    .join(ManifestBlob, ManifestBlob.manifest_id == GC_LIVE.c.manifest_id)
                    .distinct(),
                )
            )
            if not self.db.is_sqlite:
                await s.execute(text("ANALYZE gc_live"))
                await s.execute(text("ANALYZE gc_live_blob"))
            try:
                yield s
            finally:
                if self.db.is_sqlite:
                    for table in (GC_LIVE, GC_LIVE_BLOB):
                        await s.execute(text(f"DROP TABLE IF EXISTS temp.{table.name}"))

    # ------------------------------------------------------------------ dry run
    async def plan(self, grace_seconds: int | None = None) -> GcReport:
        """What a run would free now (counts and bytes per namespace); changes nothing."""
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        started = time.monotonic()
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=grace)
        report = GcReport(True, grace, now)
        async with self._marked(now, cutoff) as s:
            ns_name = Namespace.name
            dead_rm = (
                select(ns_name, func.count())
                .select_from(RepositoryManifest)
                .join(Repository, Repository.id == RepositoryManifest.repository_id)
                .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
                .where(_not_live_manifest())
                .group_by(ns_name)
            )
            for name, count in (await s.execute(dead_rm)).tuples():
                report.ns(name).manifests = int(count)
            dead_rb = (
                select(ns_name, func.count(), func.coalesce(func.sum(Blob.size), 0))
                .select_from(RepositoryBlob)
                .join(Blob, Blob.id == RepositoryBlob.blob_id)
                .join(Repository, Repository.id == RepositoryBlob.repository_id)
                .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
                .where(RepositoryBlob.created_at <= cutoff, _not_live_blob())
                .group_by(ns_name)
            )
            for name, count, size in (await s.execute(dead_rb)).tuples():
                entry = report.ns(name)
                entry.blobs, entry.bytes = int(count), int(size)
            report.manifest_rows = int(
                (
                    await s.execute(
                        select(func.count())
                        .select_from(Manifest)
                        .where(
                            Manifest.created_at <= cutoff, Manifest.id.not_in(select(GC_LIVE.c.manifest_id))
                        )
                    )
                ).scalar_one()
            )
            dead_blobs = select(func.count(), func.coalesce(func.sum(Blob.size), 0)).where(
                Blob.created_at <= cutoff,
                Blob.id.not_in(select(RepositoryBlob.blob_id).where(RepositoryBlob.created_at > cutoff)),
                Blob.id.not_in(select(GC_LIVE_BLOB.c.blob_id)),
            )
            count, size = (await s.execute(dead_blobs)).tuples().one()
            report.blob_rows, report.bytes_freed = int(count), int(size)
        report.seconds = time.monotonic() - started
        return report

    # ------------------------------------------------------------------ the run
    async def run(
        self,
        grace_seconds: int | None = None,
        *,
        sweep_storage: bool = False,
        actor: Actor | None = None,
        progress: Progress | None = None,
    ) -> GcReport:
        """Collect now: links, then manifests, then blobs (rows, then files); then, if asked, the
        orphan files of storage. Idempotent: a run that died is simply run again."""
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        started = time.monotonic()
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=grace)
        report = GcReport(False, grace, now)
        async with self.db.read() as s:
            windows = await self._windows(s)
        await self._sweep_links(report, now, cutoff, windows, progress)
        await self._sweep_manifests(report, now, cutoff, windows, progress)
        await self._sweep_blobs(report, cutoff, progress)
        if sweep_storage:
            await self._sweep_orphans(report, cutoff, progress)
        report.seconds = time.monotonic() - started
        async with self.db.write() as s:
            await self.audit.add(s, "gc_run", actor, **_audit_meta(report))
        if self.on_report is not None:
            self.on_report(report)
        return report

    async def _repositories_with_garbage(
        self, now: datetime, cutoff: datetime, windows: Sequence[int]
    ) -> list[tuple[int, str, str | None]]:
        async with self._marked(now, cutoff, windows) as s:
            rm = select(RepositoryManifest.repository_id.label("rid")).where(_not_live_manifest())
            rb = select(RepositoryBlob.repository_id.label("rid")).where(
                RepositoryBlob.created_at <= cutoff, _not_live_blob()
            )
            ids = union(rm, rb).subquery("gc_repos")
            stmt = (
                select(Repository.id, Repository.name, Namespace.name)
                .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
                .where(Repository.id.in_(select(ids.c.rid)))
                .order_by(Repository.id)
            )
            return [(int(i), r, n) for i, r, n in (await s.execute(stmt)).tuples()]

    async def _sweep_links(
        self,
        report: GcReport,
        now: datetime,
        cutoff: datetime,
        windows: Sequence[int],
        progress: Progress | None,
    ) -> None:
        """Per repository, under its lock: drop the manifests and blob links it no longer keeps."""
        repos = await self._repositories_with_garbage(now, cutoff, windows)
        for done, (repo_id, repo_name, ns_name) in enumerate(repos, 1):
            while True:
                async with self.db.write() as s:
                    if not await lock_repository(s, repo_id):
                        break  # deleted meanwhile (its rows went with it)
                    # liveness is recomputed here, after the lock: a push or restore that committed
                    # before it is seen, and none can commit in this repository until this one does
                    live = self._live(now, cutoff, windows, repo_id)
                    dead_m = (
                        (
                            await s.execute(
                                select(RepositoryManifest.manifest_id)
                                .where(
                                    RepositoryManifest.repository_id == repo_id,
                                    RepositoryManifest.manifest_id.not_in(select(live.c.manifest_id)),
                                )
                                .limit(self.batch_size)
                            )
                        )
                        .scalars()
                        .all()
                    )
                    if dead_m:
                        await s.execute(
                            delete(RepositoryManifest).where(
                                RepositoryManifest.repository_id == repo_id,
                                RepositoryManifest.manifest_id.in_(dead_m),
                            )
                        )
                    dead_b = (
                        (
                            await s.execute(
                                select(RepositoryBlob.blob_id)
                                .where(
                                    RepositoryBlob.repository_id == repo_id,
                                    RepositoryBlob.created_at <= cutoff,
                                    RepositoryBlob.blob_id.not_in(
                                        select(ManifestBlob.blob_id).where(
                                            ManifestBlob.manifest_id.in_(select(live.c.manifest_id))
                                        )
                                    ),
                                )
                                .limit(self.batch_size)
                            )
                        )
                        .scalars()
                        .all()
                    )
                    deleted = await delete_blob_rows(
                        s, repository_id=repo_id, link_blob_ids=dead_b, cutoff=cutoff
                    )
                    if dead_m or deleted.links:
                        unit_of_work(s).invalidate(repo_name)  # cached reads of it end at commit
                entry = report.ns(ns_name)
                entry.manifests += len(dead_m)
                entry.blobs += len(deleted.links)
                entry.bytes += sum(size for _, _, size in deleted.links)
                if len(dead_m) < self.batch_size and len(dead_b) < self.batch_size:
                    break
            await _call(progress, "repositories", done, len(repos))

    async def _sweep_manifests(
        self,
        report: GcReport,
        now: datetime,
        cutoff: datetime,
        windows: Sequence[int],
        progress: Progress | None,
    ) -> None:
        """Delete manifests no repository holds, no kept tag points at and no remaining manifest
        lists as a child (an index is deleted first; its children follow in a later batch)."""
        kept_tags = (
            select(Tag.manifest_id)
            .join(Repository, Repository.id == Tag.repository_id)
            .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
            .where(self._kept_tag(now, windows))
        )

        def dead() -> list[ColumnElement[bool]]:
            return [
                Manifest.created_at <= cutoff,
                Manifest.id.not_in(select(RepositoryManifest.manifest_id)),
                Manifest.id.not_in(kept_tags),
                Manifest.id.not_in(select(ManifestChild.child_id)),
            ]

        done = 0
        while True:
            last = 0
            deleted_any = False
            while True:
                async with self.db.read() as s, s.begin():
                    await self._tune(s)
                    rows = (
                        (
                            await s.execute(
                                select(Manifest.id, Manifest.digest)
                                .where(Manifest.id > last, *dead())
                                .order_by(Manifest.id)
                                .limit(self.batch_size)
                            )
                        )
                        .tuples()
                        .all()
                    )
                if not rows:
                    break
                last = rows[-1][0]
                ids = [r[0] for r in rows]
                async with self.db.write() as s:
                    await lock_digests(s, [r[1] for r in rows])
                    await _lock_rows(s, Manifest, ids)
                    gone = (
                        (
                            await s.execute(
                                delete(Manifest).where(Manifest.id.in_(ids), *dead()).returning(Manifest.id)
                            )
                        )
                        .scalars()
                        .all()
                    )
                report.manifest_rows += len(gone)
                deleted_any = deleted_any or bool(gone)
                done += len(gone)
                await _call(progress, "manifests", done, None)
            if not deleted_any:
                break  # a pass that deleted nothing: no index was hiding a child

    async def _sweep_blobs(self, report: GcReport, cutoff: datetime, progress: Progress | None) -> None:
        """Delete blob rows nothing links or references; after each commit, delete their files."""
        dead = [
            Blob.created_at <= cutoff,
            Blob.id.not_in(select(RepositoryBlob.blob_id)),
            Blob.id.not_in(select(ManifestBlob.blob_id)),
        ]
        last = 0
        done = 0
        while True:
            async with self.db.read() as s, s.begin():
                await self._tune(s)
                rows = (
                    (
                        await s.execute(
                            select(Blob.id, Blob.digest)
                            .where(Blob.id > last, *dead)
                            .order_by(Blob.id)
                            .limit(self.batch_size)
                        )
                    )
                    .tuples()
                    .all()
                )
            if not rows:
                break
            last = rows[-1][0]
            async with self.db.write() as s:
                await lock_digests(s, [r[1] for r in rows])
                await _lock_rows(s, Blob, [r[0] for r in rows])
                deleted = await delete_blob_rows(s, blob_ids=[r[0] for r in rows])
            report.blob_rows += len(deleted.blobs)
            report.bytes_freed += sum(size for _, _, size in deleted.blobs)
            if deleted.blobs:
                await self._pause_for_tests()
                ok, failed = await self.delete_files([d for _, d, _ in deleted.blobs])
                report.files_deleted += ok
                report.files_failed += failed
            done += len(deleted.blobs)
            await _call(progress, "blobs", done, None)

    async def _pause_for_tests(self) -> None:
        if self.pause_after_commit is None:
            return
        self.pause_after_commit.write_text("paused between commit and file deletion\n")
        await asyncio.Event().wait()  # the test kills the process here

    async def delete_files(self, digests: Sequence[str]) -> tuple[int, int]:
        """Delete the files of blobs whose rows are gone: under the digests' locks, and only for a
        digest that still has no row (an upload may have stored it again since). Each deletion is
        retried; one that keeps failing is left to the storage sweep. Returns (deleted, failed)."""
        ok = failed = 0
        async with self.db.write() as s:
            await lock_digests(s, digests)
            back = set(
                (await s.execute(select(Blob.digest).where(Blob.digest.in_(list(digests))))).scalars().all()
            )
            for raw in digests:
                if raw in back:
                    continue
                if await self._delete_file(Digest.parse(raw)):
                    ok += 1
                else:
                    failed += 1
        return ok, failed

    async def _delete_file(self, digest: Digest) -> bool:
        for attempt in range(self.delete_attempts):
            try:
                await self.storage.delete_blob(digest)
                return True
            except OSError as exc:
                log.warning(
                    "gc: deleting a blob file failed", digest=str(digest), attempt=attempt + 1, error=str(exc)
                )
                await asyncio.sleep(0.2 * 2**attempt)
        return False

    # ------------------------------------------------------------------ storage sweep
    async def _sweep_orphans(self, report: GcReport, cutoff: datetime, progress: Progress | None) -> None:
        """Delete blob files that have no row and were written before the grace window (left by a
        crash between a GC commit and its file deletions, or by an upload that died after storing
        its file but before its commit)."""
        oldest = cutoff.timestamp()
        batch: list[tuple[str, int]] = []
        seen = 0

        async def flush() -> None:
            if not batch:
                return
            digests = [d for d, _ in batch]
            async with self.db.read() as s:
                known = set(
                    (await s.execute(select(Blob.digest).where(Blob.digest.in_(digests)))).scalars().all()
                )
            orphans = [d for d in digests if d not in known]
            if orphans:
                ok, failed = await self.delete_files(orphans)
                sizes = dict(batch)
                report.orphans_deleted += ok
                report.files_failed += failed
                report.orphan_bytes += sum(sizes[d] for d in orphans) if not failed else 0
            batch.clear()

        async for stored in self.storage.list_blobs():
            seen += 1
            if stored.mtime < oldest:
                size = await self.storage.blob_size(stored.digest)
                batch.append((str(stored.digest), size or 0))
            if len(batch) >= self.batch_size:
                await flush()
                await _call(progress, "storage", seen, None)
        await flush()
        await _call(progress, "storage", seen, seen)

    # ------------------------------------------------------------------ the scheduled job
    async def run_job(self, ctx: JobContext) -> JobResult:
        """Job handler for kind ``gc``. Payload (all optional): ``grace_seconds`` (int, overrides
        ``gc_grace_seconds`` for this run), ``dry_run`` (bool), ``sweep_storage`` (bool)."""
        payload = ctx.payload
        grace = payload.get("grace_seconds")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool) or grace < 0):
            raise ValueError("grace_seconds must be a non-negative integer")
        if payload.get("dry_run"):
            return (await self.plan(grace)).to_json()

        async def progress(phase: str, done: int, total: int | None) -> None:
            await ctx.progress(done, total, phase)

        report = await self.run(
            grace,
            sweep_storage=bool(payload.get("sweep_storage")),
            actor=Actor("gc", "system"),
            progress=progress,
        )
        return report.to_json()


async def _lock_rows(s: AsyncSession, model: type[Blob] | type[Manifest], ids: Sequence[int]) -> None:
    """PostgreSQL: wait for the writers that reference these rows (a foreign key takes a share lock)
    to finish, so the deleting statement that follows sees their rows (READ COMMITTED takes a new
    snapshot per statement). SQLite holds the single write lock already."""
    if s.get_bind().dialect.name == "postgresql" and ids:
        await s.execute(select(model.id).where(model.id.in_(list(ids))).order_by(model.id).with_for_update())


async def _call(progress: Progress | None, phase: str, done: int, total: int | None) -> None:
    if progress is None:
        return
    result = progress(phase, done, total)
    if result is not None:
        with contextlib.suppress(Exception):
            await result


def _audit_meta(report: GcReport) -> dict[str, Any]:
    return {
        "grace_seconds": report.grace_seconds,
        "manifests": report.manifest_rows,
        "blobs": report.blob_rows,
        "bytes_freed": report.bytes_freed,
        "files_deleted": report.files_deleted,
        "files_failed": report.files_failed,
        "orphans_deleted": report.orphans_deleted,
        "seconds": round(report.seconds, 3),
        "namespaces": {k: v.to_json() for k, v in sorted(report.namespaces.items())},
    }
