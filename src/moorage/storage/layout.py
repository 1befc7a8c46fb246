"""Where things live under a storage root. See docs/storage-layout.md."""

from __future__ import annotations

from pathlib import PurePosixPath

from moorage.domain.digest import Digest


def blob_key(digest: Digest) -> PurePosixPath:
    return PurePosixPath("blobs", digest.algorithm, digest.hex[:2], digest.hex)


def upload_key(upload_id: str) -> PurePosixPath:
    return PurePosixPath("uploads", upload_id)
