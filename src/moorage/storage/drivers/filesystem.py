"""Local-disk blob storage.

An upload is two files: ``uploads/<id>`` (the bytes) and ``uploads/<id>.json`` (its record: the
repository and creator given at start, the bytes accepted so far and the running SHA-256 state).
Every change to an upload holds an exclusive ``flock`` on its data file, taken without waiting:
a second writer, from this process or any other (both ``serve`` workers, or two servers on one
data directory), is refused with :class:`UploadBusy` instead of interleaving bytes. An append
writes at the recorded offset (bytes a broken request left beyond it are cut off), fsyncs, and
only then replaces the record (atomically, by rename) with the new offset and hash state; so the
record never claims bytes that are not on disk, and completion on any process verifies the digest
from the saved state without reading the upload again.

Commit = check the digest, fsync, atomic rename to ``blobs/<alg>/<xx>/<hex>`` (a new directory is
made durable by fsyncing its parent), fsync of the directory, and only then removal of the record.
A crash before the rename leaves only an upload behind, never a partial blob under a content address.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from moorage.domain.digest import Digest
from moorage.domain.errors import DigestInvalid
from moorage.storage.base import (
    StoredBlob,
    UploadBusy,
    UploadDigestMismatch,
    UploadEntry,
    UploadLengthMismatch,
    UploadOffsetMismatch,
    UploadState,
    UploadUnknown,
)
from moorage.storage.hashing import ResumableSha256, StateInvalid, resumable_available
from moorage.storage.layout import blob_key, upload_key

_WRITE_BLOCK = 1024 * 1024
_READ_BLOCK = 256 * 1024
_RECORD_VERSION = 2


class _Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs_durable(path: Path, fsync: bool) -> None:
    """mkdir -p, fsyncing the parent of every directory that was missing (so the new directory's
    entry survives a crash along with the file renamed into it)."""
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
        if fsync:  # also when another process won the mkdir: it may not have synced the parent yet
            _fsync_dir(d.parent)


def _write_block(f: BinaryIO, hasher: _Hasher | None, data: memoryview) -> None:
    if hasher is not None:
        hasher.update(data)
    f.write(data)


class _Record:
    """The parsed ``uploads/<id>.json``."""

    __slots__ = ("meta", "offset", "sha256")

    def __init__(self, meta: dict[str, Any], offset: int, sha256: str | None) -> None:
        self.meta = meta
        self.offset = offset
        self.sha256 = sha256

    def to_json(self) -> str:
        return json.dumps(
            {"v": _RECORD_VERSION, "meta": self.meta, "offset": self.offset, "sha256": self.sha256}
        )

    def hasher(self) -> ResumableSha256 | None:
        """The saved running hash, when there is one that matches the offset."""
        if self.sha256 is None or not resumable_available():
            return None
        try:
            hasher = ResumableSha256.resume(self.sha256)
        except StateInvalid:
            return None
        return hasher if hasher.length == self.offset else None


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

    async def list_blobs(self) -> AsyncIterator[StoredBlob]:
        root = self.root / "blobs"
        try:
            algorithms = sorted(p for p in root.iterdir() if p.is_dir())
        except FileNotFoundError:
            return
        for alg_dir in algorithms:
            for prefix in sorted(p for p in alg_dir.iterdir() if p.is_dir()):
                entries = await asyncio.to_thread(_scan_blob_dir, prefix)
                for name, mtime in entries:
                    try:
                        digest = Digest.parse(f"{alg_dir.name}:{name}")
                    except DigestInvalid:
                        continue
                    yield StoredBlob(digest, mtime)

    def _record_path(self, upload_id: str) -> Path:
        return self._upload(upload_id).with_suffix(".json")

    def _read_record(self, upload_id: str) -> _Record | None:
        path = self._record_path(upload_id)  # raises ValueError for a bad id
        try:
            loaded = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(loaded, dict):
            return None
        if loaded.get("v") != _RECORD_VERSION:
            # a record written before upload state was kept: the bytes on disk are the upload
            try:
                size = os.stat(self._upload(upload_id)).st_size
            except FileNotFoundError:
                return None
            return _Record(loaded, size, None)
        meta, offset, sha = loaded.get("meta"), loaded.get("offset"), loaded.get("sha256")
        if not isinstance(meta, dict) or not isinstance(offset, int) or offset < 0:
            return None
        return _Record(meta, offset, sha if isinstance(sha, str) else None)

    def _write_record(self, upload_id: str, record: _Record) -> None:
        """Replace the record atomically (write a temporary file, rename it over the old one)."""
        final = self._record_path(upload_id)
        tmp = final.parent / f".{upload_id}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(record.to_json())
        os.replace(tmp, final)

    @contextlib.contextmanager
    def _claim(self, upload_id: str) -> Iterator[tuple[int, _Record]]:
        """Hold the upload exclusively (flock on its data file, never waiting); yields the data
        file's descriptor and the record as read under the lock."""
        path = self._upload(upload_id)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            raise UploadUnknown("no such upload") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                record = self._read_record(upload_id)
                raise UploadBusy(
                    "another request is writing to this upload", record.offset if record else 0
                ) from None
            record = self._read_record(upload_id)
            if record is None:  # finished or cancelled while we opened it
                raise UploadUnknown("no such upload")
            yield fd, record
        finally:
            os.close(fd)  # releases the lock

    async def start_upload(self, upload_id: str, meta: dict[str, Any]) -> None:
        path = self._upload(upload_id)
        path.touch(exist_ok=False)
        initial = ResumableSha256().state() if resumable_available() else None
        self._write_record(upload_id, _Record(meta, 0, initial))

    async def upload_state(self, upload_id: str) -> UploadState | None:
        record = self._read_record(upload_id)
        if record is None or not self._upload(upload_id).exists():
            return None
        return UploadState(record.meta, record.offset)

    async def append_upload(
        self,
        upload_id: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int | None = None,
        length: int | None = None,
    ) -> UploadState:
        """Append a stream, double-buffered: one block is filled while the other is hashed and written.

        Two fixed 1 MiB buffers per upload and no per-block allocation keep memory flat whatever
        the blob size. The hash runs in the executor thread too (the resumable SHA-256 releases
        the GIL like hashlib).
        """
        loop = asyncio.get_running_loop()
        with self._claim(upload_id) as (fd, record):
            start = record.offset
            if offset is not None and offset != start:
                raise UploadOffsetMismatch(
                    f"chunk starts at {offset} but the upload has {start} bytes", start
                )
            hasher = record.hasher()
            f = await loop.run_in_executor(None, _open_at, fd, start)
            try:
                written = await _copy(loop, chunks, f, hasher)
                await loop.run_in_executor(None, f.flush)
                if length is not None and written != length:
                    raise UploadLengthMismatch(
                        f"chunk length {written} does not match the declared {length}", start, written
                    )
                if self.fsync:
                    await loop.run_in_executor(None, os.fsync, fd)
            finally:
                f.close()
            new = _Record(record.meta, start + written, hasher.state() if hasher is not None else None)
            await loop.run_in_executor(None, self._write_record, upload_id, new)
            return UploadState(new.meta, new.offset)

    async def commit_upload(self, upload_id: str, digest: Digest, *, offset: int | None = None) -> int:
        src = self._upload(upload_id)
        dst = self._blob(digest)
        with self._claim(upload_id) as (fd, record):
            size = record.offset
            if offset is not None and offset != size:
                raise UploadOffsetMismatch(f"the upload has {size} bytes, not {offset}", size)
            hasher = record.hasher() if digest.algorithm == "sha256" else None

            def run() -> None:
                if os.fstat(fd).st_size != size:
                    os.ftruncate(fd, size)  # bytes a broken request left beyond the accepted ones
                actual = hasher.hexdigest() if hasher is not None else _hash_fd(fd, digest.algorithm)
                if actual != digest.hex:
                    raise UploadDigestMismatch("digest mismatch", size, actual)
                if dst.exists():
                    src.unlink(missing_ok=True)
                else:
                    if self.fsync:
                        os.fsync(fd)
                    _make_dirs_durable(dst.parent, self.fsync)
                    os.replace(src, dst)
                    if self.fsync:
                        _fsync_dir(dst.parent)
                # only now: a crash before the rename leaves a complete, resumable upload
                self._record_path(upload_id).unlink(missing_ok=True)

            await asyncio.get_running_loop().run_in_executor(None, run)
            return size

    async def cancel_upload(self, upload_id: str) -> None:
        try:
            with self._claim(upload_id):
                self._upload(upload_id).unlink(missing_ok=True)
                self._record_path(upload_id).unlink(missing_ok=True)
        except UploadUnknown:
            self._record_path(upload_id).unlink(missing_ok=True)  # a record left without bytes

    async def list_uploads(self) -> list[UploadEntry]:
        latest: dict[str, float] = {}
        with os.scandir(self.root / "uploads") as entries:
            for entry in entries:
                if entry.name.startswith("."):  # record temporaries, the health probe
                    continue
                upload_id = entry.name.removesuffix(".json")
                try:
                    mtime = entry.stat().st_mtime
                except FileNotFoundError:  # finished or cancelled meanwhile
                    continue
                latest[upload_id] = max(latest.get(upload_id, 0.0), mtime)
        return [UploadEntry(i, datetime.fromtimestamp(m, UTC)) for i, m in sorted(latest.items())]

    async def purge_upload(self, upload_id: str, idle_before: datetime) -> bool:
        cutoff = idle_before.timestamp()
        data, record = self._upload(upload_id), self._record_path(upload_id)
        try:
            fd = os.open(data, os.O_RDWR)
        except FileNotFoundError:  # a record left without bytes (a crash while finishing)
            if 0.0 < _mtime(record) < cutoff:
                record.unlink(missing_ok=True)
                return True
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a request is writing to it right now
            # under the claim: still there (not finished meanwhile) and still idle?
            if not data.exists() or max(_mtime(data), _mtime(record)) >= cutoff:
                return False
            data.unlink(missing_ok=True)
            record.unlink(missing_ok=True)
            return True
        finally:
            os.close(fd)

    async def purge_temporaries(self, older_than: datetime) -> int:
        cutoff, removed = older_than.timestamp(), 0
        with os.scandir(self.root / "uploads") as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime < cutoff:
                            os.unlink(entry.path)
                            removed += 1
        return removed

    async def check(self) -> None:
        probe = self.root / "uploads" / ".health"
        probe.write_bytes(b"ok")
        probe.unlink()


def _scan_blob_dir(path: Path) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    with os.scandir(path) as it:
        for entry in it:
            try:
                if entry.is_file(follow_symlinks=False):
                    out.append((entry.name, entry.stat(follow_symlinks=False).st_mtime))
            except FileNotFoundError:  # deleted meanwhile
                continue
    return out
def _mtime(path: Path) -> float:
    """Modification time, or 0 for a file that is not there."""
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def _open_at(fd: int, offset: int) -> BinaryIO:
    """A file object on the upload's descriptor, positioned at ``offset`` with nothing beyond it."""
    f = open(fd, "r+b", closefd=False)  # noqa: SIM115 - the caller closes it
    f.truncate(offset)
    f.seek(offset)
    return f


async def _copy(
    loop: asyncio.AbstractEventLoop, chunks: AsyncIterator[bytes], f: BinaryIO, hasher: _Hasher | None
) -> int:
    """Write ``chunks`` to ``f`` through two alternating 1 MiB buffers; returns the bytes written."""
    buffers = (bytearray(_WRITE_BLOCK), bytearray(_WRITE_BLOCK))
    current, fill, total = 0, 0, 0
    pending: asyncio.Future[None] | None = None
    try:
        async for chunk in chunks:
            view = memoryview(chunk)
            pos, size = 0, len(view)
            total += size
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
        return total
    finally:
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending


def _hash_fd(fd: int, algorithm: str) -> str:
    """Hash the upload's bytes from disk (an algorithm other than SHA-256, or no saved state)."""
    h = hashlib.new(algorithm)
    pos = 0
    while block := os.pread(fd, _WRITE_BLOCK, pos):
        h.update(block)
        pos += len(block)
    return h.hexdigest()
