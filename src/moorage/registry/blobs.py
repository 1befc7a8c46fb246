"""Blobs as seen through a repository: existence, size, links, deletion of links."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from moorage.db.engine import Database
from moorage.db.models import Blob, Repository, RepositoryBlob
from moorage.domain.actor import Actor
from moorage.domain.digest import Digest
from moorage.domain.errors import BlobUnknown
from moorage.registry.cache import ReadCache
from moorage.registry.quota_accounting import QuotaAccounting
from moorage.registry.repositories import Repositories
from moorage.registry.sql import link_blob, lock_digests, lock_repository
from moorage.registry.types import BlobInfo
from moorage.storage.base import StorageDriver


class Blobs:
    def __init__(
        self, db: Database, storage: StorageDriver, repositories: Repositories, quota: QuotaAccounting
    ) -> None:
        self.db = db
        self.storage = storage
        self.repositories = repositories
        self.quota = quota

    async def stat(self, repository: str, digest: Digest) -> BlobInfo | None:
        """The blob if it is linked to ``repository``."""
        key = ("blob", digest.hex)
        cache = self.repositories.cache
        cached = cache.get(repository, key)
        if not ReadCache.is_miss(cached):
            return cached  # type: ignore[no-any-return]
        gen = cache.generation(repository)
        stmt = (
            select(Blob.size)
            .join(RepositoryBlob, RepositoryBlob.blob_id == Blob.id)
            .join(Repository, Repository.id == RepositoryBlob.repository_id)
            .where(Repository.name == repository, Blob.digest == str(digest))
        )
        async with self.db.read() as s:
            size = (await s.execute(stmt)).scalar()
        info = None if size is None else BlobInfo(str(digest), int(size))
        cache.put(repository, key, gen, info)
        return info

    async def read_head(self, repository: str, digest: Digest, limit: int) -> bytes | None:
        """The first ``limit`` bytes of a blob linked to ``repository`` (an image config for display);
        None when the blob is not linked or its bytes are missing from storage."""
        if await self.stat(repository, digest) is None or await self.storage.blob_size(digest) is None:
            return None
        chunks: list[bytes] = []
        try:  # the read is bounded by its end offset, so the stream closes itself
            async for chunk in self.storage.read_blob(digest, 0, max(0, limit - 1)):
                chunks.append(chunk)
        except OSError:
            return None
        return b"".join(chunks)[:limit]

    async def mount(
        self, target: str, digest: Digest, source: str, actor: Actor | None = None
    ) -> BlobInfo | None:
        """Link a blob from ``source`` into ``target`` (created if needed). None when source lacks it."""
        found = await self.stat(source, digest)
        if found is None:
            return None
        async with self.db.write() as s:
            repo = await self.repositories.ensure_in(s, target, actor)
            await lock_digests(s, [str(digest)])  # ordered with garbage collection of this blob
            blob_id = (await s.execute(select(Blob.id).where(Blob.digest == str(digest)))).scalar()
            if blob_id is None:
                return None
            await link_blob(s, repo.id, int(blob_id), datetime.now(UTC))
            # a mount into another namespace counts there (and may be refused: QuotaExceeded)
            await self.quota.links_added(s, [(repo.id, blob_id)])
            self.repositories.touch(s, target)
        return found

    async def unlink(self, repository: str, digest: Digest, actor: Actor | None = None) -> None:
        """Remove a blob from a repository. The bytes stay until garbage collection finds them unused."""
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            # the lock orders this unlink with a manifest push checking its blobs (see lock_repository)
            if repo is None or not await lock_repository(s, repo.id):
                raise BlobUnknown("blob unknown to registry", {"digest": str(digest)})
            blob_id = (await s.execute(select(Blob.id).where(Blob.digest == str(digest)))).scalar()
            if blob_id is None:
                raise BlobUnknown("blob unknown to registry", {"digest": str(digest)})
            res = await s.execute(
                delete(RepositoryBlob).where(
                    RepositoryBlob.repository_id == repo.id, RepositoryBlob.blob_id == blob_id
                )
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise BlobUnknown("blob unknown to registry", {"digest": str(digest)})
            await self.quota.links_removed(s, [(repo.id, blob_id)])
            await self.repositories.audit.add(
                s, "delete_blob", actor, repository=repository, digest=str(digest)
            )
            self.repositories.touch(s, repository)
