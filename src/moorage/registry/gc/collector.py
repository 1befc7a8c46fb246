"""The collector: mark, sweep of rows, file deletions, storage sweep, job handler (see __init__)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import structlog
from sqlalchemy import (
    ColumnElement,
    Integer,
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
from moorage.registry.gc.report import GcReport, audit_meta
from moorage.registry.gc.rows import (
    GC_LIVE,
    GC_LIVE_BLOB,
    delete_blob_rows,
    lock_rows,
    not_live_blob,
    not_live_manifest,
)
from moorage.registry.quota_accounting import QuotaAccounting
from moorage.registry.sql import lock_digests, lock_repository, retained_tag
from moorage.storage.base import StorageDriver

log = structlog.get_logger("moorage.gc")

T = TypeVar("T")

_SCAN_BATCHES = 10
"""Candidates are scanned (anti-joins over whole tables, no lock) for this many batches at a time,
then deleted batch by batch (each re-checked by index under the locks)."""

Progress = Callable[[str, int, int | None], Awaitable[None] | None]
"""Called as work is done: (phase, done, total or None)."""

JOB_KIND = "gc"


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
        quota: QuotaAccounting | None = None,
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
        self.quota = quota

    # ------------------------------------------------------------------ the liveness rule (SQL)
    async def _windows(self, s: AsyncSession) -> list[int]:
        rows = (await s.execute(select(Namespace.tag_expiration_s).distinct())).scalars().all()
        return sorted({self.default_window_s, *(int(r) for r in rows if r is not None)})

    def _kept_tag(self, now: datetime, windows: Sequence[int]) -> ColumnElement[bool]:
        """A tag row that still holds its manifest: live, or ended less than its namespace's window ago
        (the time machine's rule, ``registry.sql.retained_tag``; ``windows`` are those in use)."""
        return retained_tag(now, self.default_window_s, windows)

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
                .where(not_live_manifest())
                .group_by(ns_name)
            )
            for name, count in await s.execute(dead_rm):
                report.ns(name).manifests = int(count)
            dead_rb = (
                select(ns_name, func.count(), func.coalesce(func.sum(Blob.size), 0))
                .select_from(RepositoryBlob)
                .join(Blob, Blob.id == RepositoryBlob.blob_id)
                .join(Repository, Repository.id == RepositoryBlob.repository_id)
                .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
                .where(RepositoryBlob.created_at <= cutoff, not_live_blob())
                .group_by(ns_name)
            )
            for name, count, size in await s.execute(dead_rb):
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
            count, size = (await s.execute(dead_blobs)).one()
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
        stop: Callable[[], bool] | None = None,
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
        stopped = stop or (lambda: False)
        # a stop request is honoured between phases (each phase is a sequence of short, complete
        # transactions; what a stopped run leaves is collected by the next one)
        await self._sweep_links(report, now, cutoff, windows, progress, stopped)
        if not stopped():
            await self._sweep_manifests(report, now, cutoff, windows, progress)
        if not stopped():
            await self._sweep_blobs(report, cutoff, progress)
        if sweep_storage and not stopped():
            await self._sweep_orphans(report, cutoff, progress)
        report.stopped = stopped()
        report.seconds = time.monotonic() - started
        async with self.db.write() as s:
            await self.audit.add(s, "gc_run", actor, **audit_meta(report))
        if self.on_report is not None:
            self.on_report(report)
        return report

    async def _repositories_with_garbage(
        self, now: datetime, cutoff: datetime, windows: Sequence[int]
    ) -> list[tuple[int, str, str | None]]:
        async with self._marked(now, cutoff, windows) as s:
            rm = select(RepositoryManifest.repository_id.label("rid")).where(not_live_manifest())
            rb = select(RepositoryBlob.repository_id.label("rid")).where(
                RepositoryBlob.created_at <= cutoff, not_live_blob()
            )
            ids = union(rm, rb).subquery("gc_repos")
            stmt = (
                select(Repository.id, Repository.name, Namespace.name)
                .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
                .where(Repository.id.in_(select(ids.c.rid)))
                .order_by(Repository.id)
            )
            return [(int(i), r, n) for i, r, n in (await s.execute(stmt)).all()]

    async def _sweep_links(
        self,
        report: GcReport,
        now: datetime,
        cutoff: datetime,
        windows: Sequence[int],
        progress: Progress | None,
        stopped: Callable[[], bool],
    ) -> None:
        """Per repository, under its lock: drop the manifests and blob links it no longer keeps."""
        repos = await self._repositories_with_garbage(now, cutoff, windows)
        for done, (repo_id, repo_name, ns_name) in enumerate(repos, 1):
            if stopped():
                return
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
                        s, repository_id=repo_id, link_blob_ids=dead_b, cutoff=cutoff, quota=self.quota
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
            """For the candidate scan: anti-joins computed once per scan."""
            return [
                Manifest.created_at <= cutoff,
                Manifest.id.not_in(select(RepositoryManifest.manifest_id)),
                Manifest.id.not_in(kept_tags),
                Manifest.id.not_in(select(ManifestChild.child_id)),
            ]

        def still_dead(ids: Sequence[int]) -> list[ColumnElement[bool]]:
            """For the deleting statement: the same rule, probed by index for these candidates only."""
            return [
                Manifest.created_at <= cutoff,
                ~select(RepositoryManifest.manifest_id)
                .where(RepositoryManifest.manifest_id == Manifest.id)
                .exists(),
                Manifest.id.not_in(kept_tags.where(Tag.manifest_id.in_(list(ids)))),
                ~select(ManifestChild.child_id).where(ManifestChild.child_id == Manifest.id).exists(),
            ]

        done = 0
        while True:
            last = 0
            deleted_any = False
            while True:
                async with self.db.read() as s, s.begin():
                    await self._tune(s)
                    rows = (
                        await s.execute(
                            select(Manifest.id, Manifest.digest)
                            .where(Manifest.id > last, *dead())
                            .order_by(Manifest.id)
                            .limit(self.batch_size * _SCAN_BATCHES)
                        )
                    ).all()
                if not rows:
                    break
                last = rows[-1][0]
                for chunk in _chunks(rows, self.batch_size):
                    ids = [r[0] for r in chunk]
                    async with self.db.write() as s:
                        await lock_digests(s, [r[1] for r in chunk])
                        await lock_rows(s, Manifest, ids)
                        stmt = delete(Manifest).where(Manifest.id.in_(ids), *still_dead(ids))
                        gone = (await s.execute(stmt.returning(Manifest.id))).scalars().all()
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
                    await s.execute(
                        select(Blob.id, Blob.digest)
                        .where(Blob.id > last, *dead)
                        .order_by(Blob.id)
                        .limit(self.batch_size * _SCAN_BATCHES)
                    )
                ).all()
            if not rows:
                break
            last = rows[-1][0]
            for chunk in _chunks(rows, self.batch_size):
                async with self.db.write() as s:
                    await lock_digests(s, [r[1] for r in chunk])
                    await lock_rows(s, Blob, [r[0] for r in chunk])
                    deleted = await delete_blob_rows(s, blob_ids=[r[0] for r in chunk])
                report.blob_rows += len(deleted.blobs)
                report.bytes_freed += sum(size for _, _, size in deleted.blobs)
                if deleted.blobs:
                    await self._pause_for_tests()
                    gone, failed = await self.delete_files([d for _, d, _ in deleted.blobs])
                    report.files_deleted += len(gone)
                    report.files_failed += failed
                done += len(deleted.blobs)
                await _call(progress, "blobs", done, None)

    async def _pause_for_tests(self) -> None:
        if self.pause_after_commit is None:
            return
        self.pause_after_commit.write_text("paused between commit and file deletion\n")
        await asyncio.Event().wait()  # the test kills the process here

    async def delete_files(self, digests: Sequence[str]) -> tuple[list[str], int]:
        """Delete the files of blobs whose rows are gone: under the digests' locks, and only for a
        digest that still has no row (an upload may have stored it again since). Each deletion is
        retried; one that keeps failing is left to the storage sweep. Returns (deleted, failed count)."""
        gone: list[str] = []
        failed = 0
        async with self.db.write() as s:
            await lock_digests(s, digests)
            back = set(
                (await s.execute(select(Blob.digest).where(Blob.digest.in_(list(digests))))).scalars().all()
            )
            for raw in digests:
                if raw in back:
                    continue
                if await self._delete_file(Digest.parse(raw)):
                    gone.append(raw)
                else:
                    failed += 1
        return gone, failed

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
                gone, failed = await self.delete_files(orphans)
                sizes = dict(batch)
                report.orphans_deleted += len(gone)
                report.files_failed += failed
                report.orphan_bytes += sum(sizes[d] for d in gone)
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
            stop=ctx.cancel_requested,
        )
        return report.to_json()


def _chunks(rows: Sequence[T], size: int) -> list[Sequence[T]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


async def _call(progress: Progress | None, phase: str, done: int, total: int | None) -> None:
    if progress is None:
        return
    result = progress(phase, done, total)
    if result is not None:
        with contextlib.suppress(Exception):
            await result
