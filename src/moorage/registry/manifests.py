"""Manifests: push (validated, every reference checked), pull by tag or digest, delete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.engine import Database
from moorage.db.models import (
    Blob,
    Manifest,
    ManifestBlob,
    ManifestChild,
    Repository,
    RepositoryBlob,
    RepositoryManifest,
    Tag,
)
from moorage.domain.actor import Actor
from moorage.domain.digest import Digest, digest_of, is_digest
from moorage.domain.errors import (
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameUnknown,
    PayloadTooLarge,
)
from moorage.domain.labels import config_labels, expires_after_seconds, is_marked_immutable
from moorage.domain.manifest import Descriptor, ParsedManifest, parse_manifest
from moorage.domain.mediatypes import OCI_CONFIG
from moorage.domain.reference import is_valid_tag, validate_tag
from moorage.registry.cache import ReadCache
from moorage.registry.immutability import check_tag_change, check_tags_change
from moorage.registry.quota_accounting import QuotaAccounting
from moorage.registry.repositories import Repositories
from moorage.registry.sql import (
    ended_at,
    insert_ignore,
    insert_ignore_many,
    insert_ignore_returning_id,
    live_tag,
    lock_digests,
    lock_repository,
)
from moorage.registry.types import ManifestRecord, PutManifestResult
from moorage.storage.base import StorageDriver

_CACHE_MAX_MANIFEST = 256 * 1024
_IMAGE_CONFIGS = (OCI_CONFIG, "application/vnd.docker.container.image.v1+json")
_MAX_CONFIG_BYTES = 4 * 1024 * 1024  # labels are read from configs up to this size


@dataclass(frozen=True, slots=True)
class TagStart:
    """How a new tag row starts: expiring after ``expires_in`` seconds (None: never), immutable or not."""

    expires_in: int | None = None
    immutable: bool = False


def _from_labels(labels: Mapping[str, str]) -> TagStart:
    immutable = is_marked_immutable(labels)  # an immutable tag never expires: the label loses
    return TagStart(None if immutable else expires_after_seconds(labels), immutable)


class TagMoveLost(RuntimeError):
    """A tag move whose new row did not land: never acknowledged (the transaction rolls back)."""


class Manifests:
    def __init__(
        self,
        db: Database,
        repositories: Repositories,
        max_bytes: int,
        storage: StorageDriver | None = None,
        quota: QuotaAccounting | None = None,
    ) -> None:
        self.db = db
        self.repositories = repositories
        self.max_bytes = max_bytes
        self.storage = storage
        self.quota = quota

    # -- read path: one indexed query, no ORM objects
    async def get(self, repository: str, reference: str) -> ManifestRecord:
        cache = self.repositories.cache
        cached = cache.get(repository, reference)
        if ReadCache.is_miss(cached):
            gen = cache.generation(repository)
            cached, expires = await self._fetch(repository, reference)
            if cached is None or len(cached.content) <= _CACHE_MAX_MANIFEST:
                ttl = None if expires is None else (expires - datetime.now(UTC)).total_seconds()
                cache.put(repository, reference, gen, cached, ttl)
        if cached is None:
            raise ManifestUnknown("manifest unknown", {"reference": reference[:200]})
        return cached  # type: ignore[no-any-return]

    async def _fetch(self, repository: str, reference: str) -> tuple[ManifestRecord | None, datetime | None]:
        """The manifest a reference names, and when that answer stops being true on its own (the
        tag's expiry), so the cache never serves an expired tag."""
        cols = (Manifest.digest, Manifest.media_type, Manifest.content, Manifest.subject_digest)
        expires: Any = null().label("expires_at")
        if not _valid_reference(reference):
            # a malformed tag or digest cannot name anything: unknown, as the conformance suite expects
            raise ManifestUnknown("manifest unknown", {"reference": reference[:200]})
        if is_digest(reference):
            stmt = (
                select(*cols, expires)
                .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
                .join(Repository, Repository.id == RepositoryManifest.repository_id)
                .where(Repository.name == repository, Manifest.digest == reference)
            )
        else:
            stmt = (
                select(*cols, Tag.expires_at)
                .join(Tag, Tag.manifest_id == Manifest.id)
                .join(Repository, Repository.id == Tag.repository_id)
                .where(Repository.name == repository, Tag.name == reference, live_tag(datetime.now(UTC)))
            )
        async with self.db.read() as s:
            row = (await s.execute(stmt)).first()
        if row is None:
            return None, None
        record = ManifestRecord(row.digest, row.media_type, bytes(row.content), row.subject_digest)
        return record, _aware(row.expires_at) if row.expires_at else None

    async def present(self, repository: str, digests: Iterable[str]) -> set[str]:
        """Which of ``digests`` are manifests of ``repository`` now (pages link only to those)."""
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        stmt = (
            select(Manifest.digest)
            .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
            .join(Repository, Repository.id == RepositoryManifest.repository_id)
            .where(Repository.name == repository, Manifest.digest.in_(wanted))
        )
        async with self.db.read() as s:
            return set((await s.execute(stmt)).scalars())

    # -- write path
    async def put(
        self, repository: str, reference: str, raw: bytes, content_type: str | None, actor: Actor | None
    ) -> PutManifestResult:
        if len(raw) > self.max_bytes:
            raise PayloadTooLarge(f"manifest is larger than {self.max_bytes} bytes")
        tag: str | None = None
        if is_digest(reference):
            wanted = Digest.parse(reference)
            digest = digest_of(raw, wanted.algorithm)
            if digest != wanted:
                raise DigestInvalid(
                    "manifest digest does not match the reference",
                    {"expected": reference, "actual": str(digest)},
                )
        else:
            tag = validate_tag(reference)
            digest = digest_of(raw)
        parsed = parse_manifest(raw, content_type)
        labels = await self.image_labels(parsed) if tag is not None else {}
        async with self.db.write() as s:
            repo = await self.repositories.ensure_in(s, repository, actor)
            await _lock(s, repo.id, repository)  # the checks below hold until commit
            await lock_digests(s, [str(digest)])  # ordered with garbage collection of this manifest
            if self.quota is not None:
                await self.quota.check_not_over(s, repo.id)
            blob_ids = await self._check_blobs(s, repo.id, parsed)
            child_ids = await self._check_children(s, repo.id, parsed)
            manifest_id = await self._store(s, digest, raw, parsed)
            await insert_ignore(
                s,
                RepositoryManifest,
                {"repository_id": repo.id, "manifest_id": manifest_id},
            )
            await insert_ignore_many(
                s, ManifestBlob, [{"manifest_id": manifest_id, "blob_id": b} for b in blob_ids]
            )
            await insert_ignore_many(
                s, ManifestChild, [{"manifest_id": manifest_id, "child_id": c} for c in child_ids]
            )
            moved = False
            if tag is not None:
                moved = await self.move_tag_in(
                    s,
                    repo.id,
                    tag,
                    manifest_id,
                    actor.name if actor else None,
                    repository,
                    _from_labels(labels),
                )
            await self.repositories.audit.add(
                s, "push_repo", actor, repository=repository, tag=tag, digest=str(digest), moved=moved
            )
            self.repositories.touch(s, repository)
        subject = str(parsed.subject.digest) if parsed.subject is not None else None
        return PutManifestResult(str(digest), subject)

    async def image_labels(self, parsed: ParsedManifest) -> dict[str, str]:
        """The labels of the image a manifest describes (its config blob's ``config.Labels``): the
        one place a push reads them (``quay.expires-after``, ``quay.immutable``). Empty for indexes,
        artifacts, configs missing from storage or larger than 4 MiB; never fails a push."""
        if self.storage is None or parsed.config is None or parsed.config.media_type not in _IMAGE_CONFIGS:
            return {}
        size = parsed.config.size
        if size <= 0 or size > _MAX_CONFIG_BYTES:
            return {}
        chunks: list[bytes] = []
        try:
            async for chunk in self.storage.read_blob(parsed.config.digest, 0, size - 1):
                chunks.append(chunk)
        except (OSError, ValueError):
            return {}
        return config_labels(b"".join(chunks))

    async def _check_blobs(self, s: AsyncSession, repo_id: int, parsed: ParsedManifest) -> list[int]:
        wanted = {str(d.digest) for d in parsed.blob_references}
        if not wanted:
            return []
        stmt = (
            select(Blob.id, Blob.digest, Blob.size)
            .join(RepositoryBlob, RepositoryBlob.blob_id == Blob.id)
            .where(RepositoryBlob.repository_id == repo_id, Blob.digest.in_(wanted))
        )
        rows = (await s.execute(stmt)).all()
        found = {row.digest: row.id for row in rows}
        missing = sorted(wanted - set(found))
        if missing:
            raise ManifestBlobUnknown("blob unknown to registry", {"digest": missing[0]})
        _check_sizes(parsed.blob_references, {row.digest: row.size for row in rows})
        return list(found.values())

    async def _check_children(self, s: AsyncSession, repo_id: int, parsed: ParsedManifest) -> list[int]:
        wanted = {str(d.digest) for d in parsed.manifests}
        if not wanted:
            return []
        stmt = (
            select(Manifest.id, Manifest.digest, Manifest.size)
            .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
            .where(RepositoryManifest.repository_id == repo_id, Manifest.digest.in_(wanted))
        )
        rows = (await s.execute(stmt)).all()
        found = {row.digest: row.id for row in rows}
        sizes = {row.digest: row.size for row in rows}
        missing = sorted(wanted - set(found))
        if missing:
            # an index may also point at plain blobs (rare but allowed by the image spec)
            blob_stmt = (
                select(Blob.digest, Blob.size)
                .join(RepositoryBlob, RepositoryBlob.blob_id == Blob.id)
                .where(RepositoryBlob.repository_id == repo_id, Blob.digest.in_(missing))
            )
            blobs = {row.digest: row.size for row in await s.execute(blob_stmt)}
            still = [d for d in missing if d not in blobs]
            if still:
                raise ManifestBlobUnknown("manifest unknown to registry", {"digest": still[0]})
            sizes.update(blobs)
        _check_sizes(parsed.manifests, sizes)
        return list(found.values())

    async def _store(self, s: AsyncSession, digest: Digest, raw: bytes, parsed: ParsedManifest) -> int:
        new_id = await insert_ignore_returning_id(
            s,
            Manifest,
            {
                "digest": str(digest),
                "media_type": parsed.media_type,
                "size": len(raw),
                "content": raw,
                "artifact_type": parsed.effective_artifact_type,
                "subject_digest": str(parsed.subject.digest) if parsed.subject else None,
                "config_digest": str(parsed.config.digest) if parsed.config else None,
                "created_at": datetime.now(UTC),
            },
        )
        if new_id is not None:
            return new_id
        return int((await s.execute(select(Manifest.id).where(Manifest.digest == str(digest)))).scalar_one())

    async def move_tag_in(
        self,
        s: AsyncSession,
        repo_id: int,
        tag: str,
        manifest_id: int,
        by: str | None,
        repository: str,
        start: TagStart | None = None,
    ) -> bool:
        """Point ``tag`` at the manifest: end the open row if it points elsewhere or has expired,
        then start a new one (with ``start``'s expiry and immutability). True when a live row was
        ended (a move), False for a new tag, one already there, or one that had expired (its row
        ends at its ``expires_at``: history shows when it really went away).

        The caller holds the repository's lock (:func:`lock_repository`), so the open row read here
        is the one this transaction ends; the new row starts no earlier than the row it replaces
        (history stays ordered even if clocks of two nodes disagree). An insert that did not land
        raises instead of acknowledging a move that did not happen.
        """
        now = datetime.now(UTC)
        open_row = (
            await s.execute(
                select(Tag.id, Tag.manifest_id, Tag.lifetime_start, Tag.expires_at).where(
                    Tag.repository_id == repo_id, Tag.name == tag, Tag.lifetime_end.is_(None)
                )
            )
        ).first()
        expired = (
            open_row is not None and open_row.expires_at is not None and _aware(open_row.expires_at) <= now
        )
        if open_row is not None and not expired and open_row.manifest_id == manifest_id:
            return False
        if open_row is not None and not expired:  # an immutable tag may be pushed again, never moved
            await check_tag_change(s, repo_id, repository, tag, "moved")
        if open_row is not None:
            end = _aware(open_row.expires_at) if expired else now
            end = max(end, _aware(open_row.lifetime_start))
            now = max(now, end)
            await s.execute(update(Tag).where(Tag.id == open_row.id).values(lifetime_end=end))
        start = start or TagStart()
        new_id = await insert_ignore_returning_id(
            s,
            Tag,
            {
                "repository_id": repo_id,
                "name": tag,
                "manifest_id": manifest_id,
                "lifetime_start": now,
                "created_by": by,
                "expires_at": now + timedelta(seconds=start.expires_in) if start.expires_in else None,
                "immutable": start.immutable,
            },
        )
        if new_id is None:
            raise TagMoveLost(f"tag {tag!r} was changed by a concurrent writer; nothing was stored")
        return open_row is not None and not expired

    async def delete(self, repository: str, digest: Digest, actor: Actor | None = None) -> None:
        """Delete a manifest from a repository by digest; every tag pointing at it in that repository ends."""
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None:
                raise NameUnknown("repository name not known to registry", {"name": repository})
            await _lock(s, repo.id, repository)
            manifest_id = (
                await s.execute(
                    select(Manifest.id)
                    .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
                    .where(RepositoryManifest.repository_id == repo.id, Manifest.digest == str(digest))
                )
            ).scalar()
            if manifest_id is None:
                raise ManifestUnknown("manifest unknown", {"digest": str(digest)})
            tagged = (
                await s.execute(
                    select(Tag.name).where(
                        Tag.repository_id == repo.id,
                        Tag.manifest_id == manifest_id,
                        live_tag(datetime.now(UTC)),
                    )
                )
            ).scalars()
            await check_tags_change(s, repo.id, repository, list(tagged), "deleted")
            await s.execute(
                update(Tag)
                .where(
                    and_(
                        Tag.repository_id == repo.id,
                        Tag.manifest_id == manifest_id,
                        Tag.lifetime_end.is_(None),
                    )
                )
                .values(lifetime_end=ended_at(datetime.now(UTC)))
            )
            await s.execute(
                delete(RepositoryManifest).where(
                    RepositoryManifest.repository_id == repo.id, RepositoryManifest.manifest_id == manifest_id
                )
            )
            await self.repositories.audit.add(
                s, "delete_manifest", actor, repository=repository, digest=str(digest)
            )
            self.repositories.touch(s, repository)

    async def retag(self, repository: str, tag: str, digest: Digest, actor: Actor | None) -> bool:
        """Point ``tag`` at a manifest already in the repository (creating or moving the tag)."""
        validate_tag(tag)
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None:
                raise NameUnknown("repository name not known to registry", {"name": repository})
            await _lock(s, repo.id, repository)
            manifest_id = (
                await s.execute(
                    select(Manifest.id)
                    .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
                    .where(RepositoryManifest.repository_id == repo.id, Manifest.digest == str(digest))
                )
            ).scalar()
            if manifest_id is None:
                raise ManifestUnknown("manifest unknown", {"digest": str(digest)})
            moved = await self.move_tag_in(
                s, repo.id, tag, int(manifest_id), actor.name if actor else None, repository
            )
            await self.repositories.audit.add(
                s,
                "move_tag" if moved else "create_tag",
                actor,
                repository=repository,
                tag=tag,
                digest=str(digest),
            )
            self.repositories.touch(s, repository)
            return moved


async def _lock(s: AsyncSession, repo_id: int, repository: str) -> None:
    if not await lock_repository(s, repo_id):
        raise NameUnknown("repository name not known to registry", {"name": repository})


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _check_sizes(descriptors: Iterable[Descriptor], stored: dict[str, int]) -> None:
    """Every descriptor's ``size`` must be the stored size of what it points at: a false size makes
    clients fail later (short reads, failed verification), so the manifest is refused now."""
    for desc in descriptors:
        actual = stored.get(str(desc.digest))
        if actual is not None and desc.size != actual:
            raise ManifestInvalid(
                f"descriptor {desc.digest} declares size {str(desc.size)[:40]}, but it has {actual} bytes",
                {"digest": str(desc.digest), "declared": str(desc.size)[:40], "actual": actual},
            )


def _valid_reference(reference: str) -> bool:
    if is_digest(reference):
        try:
            Digest.parse(reference)
        except DigestInvalid:
            return False
        return True
    return is_valid_tag(reference)
