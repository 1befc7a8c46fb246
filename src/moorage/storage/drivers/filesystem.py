"""Local-disk blob storage.

Uploads are written to ``uploads/<id>``; the hash is computed while writing, in a worker thread, so
receiving the next chunk overlaps with hashing and writing the previous one. Commit = fsync, atomic
rename to ``blobs/<alg>/<xx>/<hex>``, fsync of the directory. A crash before the rename leaves only an
upload file behind, never a partial blob under a content address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from moorage.domain.digest import Digest
from moorage.storage.base import BlobWriteResult, _Hasher
from moorage.storage.layout import blob_key, upload_key

_WRITE_BLOCK = 1024 * 1024
_READ_BLOCK = 256 * 1024


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_block(f: BinaryIO, hasher: _Hasher | None, data: memoryview) -> None:
    if hasher is not None:
        hasher.update(data)
    f.write(data)


class FilesystemDriver:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        (root / "uploads").mkdir(parents=True, exist_ok=True)

    def _blob(self, digest: Digest) -> Path:
        return self.root / blob_key(digest)

    def _upload(self, upload_id: str) -> Path:
        if not upload_id or "/" in upload_id or upload_id.startswith("."):
            raise ValueError("bad upload id")
        return self.root / upload_key(upload_id)

    async def blob_size(self, digest: Digest) -> int | None:
        try:
            return os.stat(self._blob(digest)).st_size
        except FileNotFoundError:
            return None

    def local_path(self, digest: Digest) -> Path | None:
        return self._blob(digest)

    async def read_blob(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._blob(digest)
        loop = asyncio.get_running_loop()
        f = await loop.run_in_executor(None, open, path, "rb")
        try:
            if start:
                f.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                n = _READ_BLOCK if remaining is None else min(_READ_BLOCK, remaining)
                data = await loop.run_in_executor(None, f.read, n)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
        finally:
            f.close()

    async def delete_blob(self, digest: Digest) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._blob(digest))

    async def start_upload(self, upload_id: str, meta: dict[str, Any]) -> None:
        path = self._upload(upload_id)
        path.touch(exist_ok=False)
        path.with_suffix(".json").write_text(json.dumps(meta))

    async def upload_meta(self, upload_id: str) -> dict[str, Any] | None:
        try:
            loaded = json.loads(self._upload(upload_id).with_suffix(".json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None

    async def upload_size(self, upload_id: str) -> int | None:
        try:
            return os.stat(self._upload(upload_id)).st_size
        except FileNotFoundError:
            return None

    async def append_upload(
        self, upload_id: str, chunks: AsyncIterator[bytes], hasher: _Hasher | None
    ) -> BlobWriteResult:
        """Append a stream, double-buffered: one block is filled while the other is hashed and written.

        Two fixed 1 MiB buffers per upload and no per-block allocation keep memory flat whatever
        the blob size.
        """
        path = self._upload(upload_id)
        loop = asyncio.get_running_loop()
        f = await loop.run_in_executor(None, open, path, "ab")
        buffers = (bytearray(_WRITE_BLOCK), bytearray(_WRITE_BLOCK))
        current, fill = 0, 0
        pending: asyncio.Future[None] | None = None
        try:
            async for chunk in chunks:
                view = memoryview(chunk)
                pos, size = 0, len(view)
                while pos < size:
                    n = min(_WRITE_BLOCK - fill, size - pos)
                    buffers[current][fill : fill + n] = view[pos : pos + n]
                    fill += n
                    pos += n
                    if fill == _WRITE_BLOCK:
                        if pending is not None:
                            await pending
                        pending = loop.run_in_executor(
                            None, _write_block, f, hasher, memoryview(buffers[current])
                        )
                        current ^= 1
                        fill = 0
            if pending is not None:
                await pending
                pending = None
            if fill:
                await loop.run_in_executor(None, _write_block, f, hasher, memoryview(buffers[current])[:fill])
            await loop.run_in_executor(None, f.flush)
            return BlobWriteResult(size=f.tell())
        finally:
            if pending is not None:
                try:
                    await pending
                finally:
                    f.close()
            else:
                f.close()

    async def hash_upload(self, upload_id: str, algorithm: str) -> str:
        path = self._upload(upload_id)

        def run() -> str:
            h = hashlib.new(algorithm)
            with open(path, "rb") as f:
                while block := f.read(_WRITE_BLOCK):
                    h.update(block)
            return h.hexdigest()

        return await asyncio.get_running_loop().run_in_executor(None, run)

    async def commit_upload(self, upload_id: str, digest: Digest) -> None:
        src = self._upload(upload_id)
        dst = self._blob(digest)

        def run() -> None:
            src.with_suffix(".json").unlink(missing_ok=True)
            if dst.exists():
                src.unlink(missing_ok=True)
                return
            if self.fsync:
                fd = os.open(src, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            if self.fsync:
                _fsync_dir(dst.parent)

        await asyncio.get_running_loop().run_in_executor(None, run)

    async def cancel_upload(self, upload_id: str) -> None:
        self._upload(upload_id).unlink(missing_ok=True)
        self._upload(upload_id).with_suffix(".json").unlink(missing_ok=True)

    async def check(self) -> None:
        probe = self.root / "uploads" / ".health"
        probe.write_bytes(b"ok")
        probe.unlink()
