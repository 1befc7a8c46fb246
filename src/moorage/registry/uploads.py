"""Blob uploads: monolithic, chunked (resumable) and cross-repository mounts.

This service keeps nothing in memory between requests. An upload's state (its repository, the
bytes accepted so far and the running SHA-256 state) lives beside its bytes in storage, and the
driver serializes every change to one upload across processes and compare-and-sets its offset:
a PATCH that does not start where the upload ends, or that races another request on the same
upload (a client's retry and its original, on any worker or server), is refused with 416 and
changes nothing. Completion on any process verifies the digest from the saved hash state.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import select

from moorage.db.engine import Database
from moorage.db.models import Blob
from moorage.domain.actor import Actor
from moorage.domain.digest import Digest
from moorage.domain.errors import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    RangeInvalid,
    RegistryError,
)
from moorage.registry.quota_accounting import QuotaAccounting, QuotaExceeded
from moorage.registry.repositories import Repositories
from moorage.registry.sql import insert_ignore, link_blob, lock_digests
from moorage.registry.types import BlobInfo, UploadInfo
from moorage.storage.base import (
    StorageDriver,
    UploadBusy,
    UploadDigestMismatch,
    UploadError,
    UploadOffsetMismatch,
    UploadUnknown,
)


def _registry_error(exc: UploadError) -> RegistryError:
    """The OCI error for a refused upload operation (``size``: the bytes the upload still holds)."""
    if isinstance(exc, UploadUnknown):
        return BlobUploadUnknown("blob upload unknown to registry")
    if isinstance(exc, UploadBusy | UploadOffsetMismatch):
        return RangeInvalid(str(exc), {"size": exc.offset})
    return BlobUploadInvalid(str(exc), {"size": exc.offset})  # UploadLengthMismatch


class Uploads:
    def __init__(
        self, db: Database, storage: StorageDriver, repositories: Repositories, quota: QuotaAccounting
    ) -> None:
        self.db = db
        self.storage = storage
        self.repositories = repositories
        self.quota = quota

    async def start(self, repository: str, actor: Actor | None) -> UploadInfo:
        """Begin an upload. Its state (which repository, who) lives beside its bytes in storage, so
        starting and appending cost no database write; the repository is created when a blob or
        manifest first lands in it."""
        await self.repositories.check_push_target(repository)
        upload_id = uuid.uuid4().hex
        await self.storage.start_upload(
            upload_id, {"repository": repository, "created_by": actor.name if actor else None}
        )
        return UploadInfo(upload_id, repository, 0)

    async def get(self, repository: str, upload_id: str) -> UploadInfo:
        if not _valid_id(upload_id):
            raise BlobUploadUnknown("blob upload unknown to registry")
        state = await self.storage.upload_state(upload_id)
        if state is None or state.meta.get("repository") != repository:
            raise BlobUploadUnknown("blob upload unknown to registry")
        return UploadInfo(upload_id, repository, state.offset)

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
        await self.get(repository, upload_id)
        try:
            state = await self.storage.append_upload(upload_id, body, offset=start, length=length)
        except UploadError as exc:
            raise _registry_error(exc) from None
        return UploadInfo(upload_id, repository, state.offset)

    async def complete(
        self,
        repository: str,
        upload_id: str,
        digest: Digest,
        body: AsyncIterator[bytes] | None,
        actor: Actor | None = None,
        *,
        start: int | None = None,
    ) -> BlobInfo:
        """Finish an upload: append the last chunk, verify the digest, store the blob, link it.

        The commit is compare-and-set on the size this request saw, so a chunk that another
        request appended in between is never committed unverified by this one."""
        if body is not None:
            info = await self.append(repository, upload_id, body, start=start)
        else:
            info = await self.get(repository, upload_id)
            if start is not None and start != info.size:
                raise RangeInvalid(
                    f"chunk starts at {start} but the upload has {info.size} bytes", {"size": info.size}
                )
        # the quota is decided before the bytes become a blob: a refused blob leaves no file and no row
        try:
            async with self.db.read() as s:
                await self.quota.check_room(s, repository, str(digest), info.size)
        except QuotaExceeded:
            await self._drop_quietly(upload_id)
            raise
        try:
            async with self.db.write() as s:
                # The blob file appears and its row is written under the digest's lock, so garbage
                # collection (which deletes a file only under that lock and only when no row exists)
                # can never remove the file of a row this commits (registry/sql.py lock_digests).
                await lock_digests(s, [str(digest)])
                repo = await self.repositories.ensure_in(s, repository, actor)
                await insert_ignore(s, Blob, {"digest": str(digest), "size": info.size})
                blob_id = (await s.execute(select(Blob.id).where(Blob.digest == str(digest)))).scalar_one()
                await link_blob(s, repo.id, blob_id, datetime.now(UTC))
                # counted under the namespace's lock, so two racing uploads cannot both squeeze in
                await self.quota.links_added(s, [(repo.id, blob_id)])
                # the rename happens inside the transaction: a refusal or a failed rename rolls the
                # rows back, and a crash after the rename leaves at most an orphan file (never a
                # row without its bytes)
                size = await self.storage.commit_upload(upload_id, digest, offset=info.size)
                self.repositories.touch(s, repository)
        except QuotaExceeded:
            await self._drop_quietly(upload_id)
            raise
        except UploadDigestMismatch as exc:
            await self._drop(upload_id)
            raise DigestInvalid(
                "provided digest did not match uploaded content",
                {"expected": str(digest), "actual": f"{digest.algorithm}:{exc.actual}"},
            ) from None
        except UploadError as exc:
            raise _registry_error(exc) from None
        return BlobInfo(str(digest), size)

    async def cancel(self, repository: str, upload_id: str) -> None:
        await self.get(repository, upload_id)
        await self._drop(upload_id)

    async def _drop_quietly(self, upload_id: str) -> None:
        with contextlib.suppress(UploadError):
            await self.storage.cancel_upload(upload_id)

    async def _drop(self, upload_id: str) -> None:
        try:
            await self.storage.cancel_upload(upload_id)
        except UploadError as exc:
            raise _registry_error(exc) from None


def _valid_id(upload_id: str) -> bool:
    return len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)
