"""Blob uploads: monolithic, chunked (resumable) and cross-repository mounts.

The running hash of an upload lives in the process that received its bytes; if the next chunk lands on
another process (or after a restart), the upload is re-hashed from storage when it completes.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select

from moorage.db.engine import Database
from moorage.db.models import Blob, RepositoryBlob
from moorage.domain.actor import Actor
from moorage.domain.digest import Digest
from moorage.domain.errors import BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, RangeInvalid
from moorage.registry.repositories import Repositories
from moorage.registry.sql import insert_ignore
from moorage.registry.types import BlobInfo, UploadInfo
from moorage.storage.base import StorageDriver


@dataclass(slots=True)
class _RunningHash:
    hasher: hashlib._Hash
    offset: int


class Uploads:
    def __init__(self, db: Database, storage: StorageDriver, repositories: Repositories) -> None:
        self.db = db
        self.storage = storage
        self.repositories = repositories
        self._hashes: dict[str, _RunningHash] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            lock = self._locks[upload_id] = asyncio.Lock()
        return lock

    def _forget(self, upload_id: str) -> None:
        self._hashes.pop(upload_id, None)
        self._locks.pop(upload_id, None)

    async def start(self, repository: str, actor: Actor | None) -> UploadInfo:
        """Begin an upload. Its state (which repository, who) lives beside its bytes in storage, so
        starting and appending cost no database write; the repository is created when a blob or
        manifest first lands in it."""
        await self.repositories.check_push_target(repository)
        upload_id = uuid.uuid4().hex
        await self.storage.start_upload(
            upload_id, {"repository": repository, "created_by": actor.name if actor else None}
        )
        self._hashes[upload_id] = _RunningHash(hashlib.sha256(), 0)
        return UploadInfo(upload_id, repository, 0)

    async def get(self, repository: str, upload_id: str) -> UploadInfo:
        if not _valid_id(upload_id):
            raise BlobUploadUnknown("blob upload unknown to registry")
        meta = await self.storage.upload_meta(upload_id)
        found = meta is not None and meta.get("repository") == repository
        size = await self.storage.upload_size(upload_id) if found else None
        if size is None:
            raise BlobUploadUnknown("blob upload unknown to registry")
        return UploadInfo(upload_id, repository, size)

    async def append(
        self,
        repository: str,
        upload_id: str,
        body: AsyncIterator[bytes],
        *,
        start: int | None = None,
        length: int | None = None,
    ) -> UploadInfo:
        """Append a chunk. ``start`` (from Content-Range) must equal the bytes received so far."""
        async with self._lock(upload_id):
            info = await self.get(repository, upload_id)
            if start is not None and start != info.size:
                raise RangeInvalid(
                    f"chunk starts at {start} but the upload has {info.size} bytes", {"size": info.size}
                )
            running = self._hashes.get(upload_id)
            if running is not None and running.offset != info.size:
                running = None
                self._hashes.pop(upload_id, None)
            result = await self.storage.append_upload(
                upload_id, body, running.hasher if running is not None else None
            )
            if running is not None:
                running.offset = result.size
            if length is not None and result.size - info.size != length:
                raise BlobUploadInvalid(
                    f"chunk length {result.size - info.size} does not match the declared {length}",
                    {"size": result.size},
                )
            return UploadInfo(upload_id, repository, result.size)

    async def complete(
        self,
        repository: str,
        upload_id: str,
        digest: Digest,
        body: AsyncIterator[bytes] | None,
        actor: Actor | None = None,
    ) -> BlobInfo:
        """Finish an upload: append the last chunk, verify the digest, store the blob, link it."""
        info = await self.append(repository, upload_id, body) if body is not None else None
        async with self._lock(upload_id):
            if info is None:
                info = await self.get(repository, upload_id)
            running = self._hashes.get(upload_id)
            if running is not None and running.offset == info.size and digest.algorithm == "sha256":
                actual = running.hasher.hexdigest()
            else:
                actual = await self.storage.hash_upload(upload_id, digest.algorithm)
            if actual != digest.hex:
                await self._drop(upload_id)
                raise DigestInvalid(
                    "provided digest did not match uploaded content",
                    {"expected": str(digest), "actual": f"{digest.algorithm}:{actual}"},
                )
            await self.storage.commit_upload(upload_id, digest)
            async with self.db.write() as s:
                repo = await self.repositories.ensure_in(s, repository, actor)
                await insert_ignore(s, Blob, {"digest": str(digest), "size": info.size})
                blob_id = (await s.execute(select(Blob.id).where(Blob.digest == str(digest)))).scalar_one()
                await insert_ignore(
                    s,
                    RepositoryBlob,
                    {"repository_id": repo.id, "blob_id": blob_id},
                )
                self.repositories.touch(s, repository)
            self._forget(upload_id)
            return BlobInfo(str(digest), info.size)

    async def cancel(self, repository: str, upload_id: str) -> None:
        await self.get(repository, upload_id)
        await self._drop(upload_id)

    async def _drop(self, upload_id: str) -> None:
        await self.storage.cancel_upload(upload_id)
        self._forget(upload_id)


def _valid_id(upload_id: str) -> bool:
    return len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)
