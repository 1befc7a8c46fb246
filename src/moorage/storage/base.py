"""The StorageDriver protocol that every blob store (filesystem, S3, ...) implements.

Blobs are addressed by digest. Uploads are append-only files named by upload id; committing an
upload verifies its digest and moves it atomically to its content address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from moorage.domain.digest import Digest


@dataclass(frozen=True, slots=True)
class BlobWriteResult:
    size: int
    """Size of the upload after the write."""


class StorageDriver(Protocol):
    async def blob_size(self, digest: Digest) -> int | None:
        """Size of a stored blob, or None when it is not stored."""

    def local_path(self, digest: Digest) -> Path | None:
        """A local file holding the blob, when the driver has one (lets the server use sendfile)."""

    def read_blob(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes [start, end] (inclusive end) of a blob."""

    async def delete_blob(self, digest: Digest) -> None: ...

    async def start_upload(self, upload_id: str, meta: dict[str, Any]) -> None:
        """Create an empty upload with a small JSON-able record (repository, creator) beside it."""

    async def upload_meta(self, upload_id: str) -> dict[str, Any] | None:
        """The record given to start_upload, or None when there is no such upload."""

    async def upload_size(self, upload_id: str) -> int | None:
        """Bytes received so far, or None when there is no such upload."""

    async def append_upload(
        self, upload_id: str, chunks: AsyncIterator[bytes], hasher: _Hasher | None
    ) -> BlobWriteResult:
        """Append a stream to the upload, feeding ``hasher`` with the same bytes as they are written."""

    async def hash_upload(self, upload_id: str, algorithm: str) -> str:
        """Hash the whole upload from storage (used when no running hash is available)."""

    async def commit_upload(self, upload_id: str, digest: Digest) -> None:
        """Make the (already verified) upload durable and visible under its digest; remove the upload."""

    async def cancel_upload(self, upload_id: str) -> None: ...

    async def check(self) -> None:
        """Raise when the storage is not usable (health check)."""


class _Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...
