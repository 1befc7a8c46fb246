"""The StorageDriver protocol that every blob store (filesystem, S3, ...) implements.

Blobs are addressed by digest. Uploads are append-only files named by upload id; committing an
upload verifies its digest and moves it atomically to its content address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from moorage.domain.digest import Digest


@dataclass(frozen=True, slots=True)
class UploadState:
    """What storage knows of an upload: the record given at start, and the bytes accepted so far."""

    meta: dict[str, Any]
    offset: int


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A blob file as storage sees it: its digest and when it was last written (Unix seconds)."""

    digest: Digest
    mtime: float


@dataclass(frozen=True, slots=True)
class UploadEntry:
    """An upload found in storage, with its last activity (the later of its bytes' and its record's
    modification times: every append rewrites both)."""

    upload_id: str
    last_activity: datetime


class UploadError(Exception):
    """Base of the upload errors a driver raises; the registry maps them to OCI errors."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset
        """Bytes the upload holds (unchanged by the refused request)."""


class UploadUnknown(UploadError):
    """No such upload (never started, finished, cancelled)."""


class UploadBusy(UploadError):
    """Another request (in this process or another) is writing to or finishing the upload."""


class UploadOffsetMismatch(UploadError):
    """The request expected the upload to hold a different number of bytes (compare-and-set lost)."""


class UploadLengthMismatch(UploadError):
    """The chunk received was not as long as declared; nothing of it was accepted."""

    def __init__(self, message: str, offset: int, received: int) -> None:
        super().__init__(message, offset)
        self.received = received


class UploadDigestMismatch(UploadError):
    """The upload's bytes do not have the digest given to finish it."""

    def __init__(self, message: str, offset: int, actual: str) -> None:
        super().__init__(message, offset)
        self.actual = actual
        """Hex digest of the bytes, in the algorithm that was asked for."""


class StorageDriver(Protocol):
    async def blob_size(self, digest: Digest) -> int | None:
        """Size of a stored blob, or None when it is not stored."""

    def local_path(self, digest: Digest) -> Path | None:
        """A local file holding the blob, when the driver has one (lets the server use sendfile)."""

    def read_blob(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes [start, end] (inclusive end) of a blob."""

    async def delete_blob(self, digest: Digest) -> None: ...

    def list_blobs(self) -> AsyncIterator[StoredBlob]:
        """Every stored blob file with its age (for the orphan sweep of garbage collection); streamed,
        in no particular order. Files whose name is not a digest are skipped."""

    async def start_upload(self, upload_id: str, meta: dict[str, Any]) -> None:
        """Create an empty upload with a small JSON-able record (repository, creator) beside it."""

    async def upload_state(self, upload_id: str) -> UploadState | None:
        """The upload's record and accepted size, or None when there is no such upload."""

    async def append_upload(
        self,
        upload_id: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int | None = None,
        length: int | None = None,
    ) -> UploadState:
        """Append a stream to the upload and return its new state.

        Exclusive (:class:`UploadBusy` while another request holds the upload) and compare-and-set:
        with ``offset`` the upload must hold exactly that many bytes (:class:`UploadOffsetMismatch`).
        With ``length`` the stream must be that long (:class:`UploadLengthMismatch`). The new size
        and the running hash state are recorded only when the whole stream was written; a refused
        or broken request leaves the upload as it was.
        """

    async def commit_upload(self, upload_id: str, digest: Digest, *, offset: int | None = None) -> int:
        """Verify the upload against ``digest`` (from the saved hash state, without reading the bytes
        again where the driver can), make it durable and visible under the digest, then remove
        the upload. Returns the blob's size. Exclusive and compare-and-set like append_upload;
        :class:`UploadDigestMismatch` leaves the upload in place."""

    async def cancel_upload(self, upload_id: str) -> None:
        """Remove the upload (nothing happens when it does not exist; :class:`UploadBusy` while in use)."""

    async def list_uploads(self) -> list[UploadEntry]:
        """Every upload in storage (finished or not), for the purge of abandoned uploads."""

    async def purge_upload(self, upload_id: str, idle_before: datetime) -> bool:
        """Remove an upload whose last activity is before ``idle_before``, checked again while holding
        it exclusively; False (nothing removed) when it is in use, active since, or gone."""

    async def purge_temporaries(self, older_than: datetime) -> int:
        """Remove temporary files of upload records left by a crash, older than ``older_than``."""

    async def check(self) -> None:
        """Raise when the storage is not usable (health check)."""
