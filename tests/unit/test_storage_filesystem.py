"""moorage.storage.drivers.filesystem: uploads, hashing, atomic commit, cancel, reads."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from moorage.domain.digest import Digest, sha256_of
from moorage.storage.drivers.filesystem import FilesystemDriver
from moorage.storage.layout import blob_key, upload_key


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _read(driver: FilesystemDriver, digest: Digest, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in driver.read_blob(digest, start, end)])


@pytest.fixture(params=[False, True], ids=["nofsync", "fsync"])
def driver(tmp_path: Path, request: pytest.FixtureRequest) -> FilesystemDriver:
    return FilesystemDriver(tmp_path / "store", fsync=request.param)


async def _size(driver: FilesystemDriver, upload_id: str) -> int | None:
    state = await driver.upload_state(upload_id)
    return None if state is None else state.offset


async def test_upload_append_commit(driver: FilesystemDriver) -> None:
    await driver.start_upload("u1", {"repository": "ns/app"})
    assert await _size(driver, "u1") == 0
    r1 = await driver.append_upload("u1", _chunks([b"hello ", b"world"]))
    assert r1.offset == 11
    r2 = await driver.append_upload("u1", _chunks([b"!"]), offset=11)
    assert r2.offset == 12
    data = b"hello world!"
    digest = sha256_of(data)
    assert await driver.commit_upload("u1", digest) == 12
    assert await driver.upload_state("u1") is None
    assert await driver.blob_size(digest) == 12
    assert await _read(driver, digest) == data
    path = driver.local_path(digest)
    assert path is not None
    assert path == driver.root / blob_key(digest)
    assert path.read_bytes() == data


async def test_commit_with_sha512_hashes_the_stored_bytes(driver: FilesystemDriver) -> None:
    data = b"not sha-256"
    await driver.start_upload("u5", {"repository": "ns/app"})
    await driver.append_upload("u5", _chunks([data]))
    digest = Digest.parse("sha512:" + hashlib.sha512(data).hexdigest())
    assert await driver.commit_upload("u5", digest) == len(data)
    assert await _read(driver, digest) == data


async def test_large_upload_crosses_write_blocks(driver: FilesystemDriver) -> None:
    parts = [os.urandom(300_000) for _ in range(8)]  # > the 1 MiB write block, odd sizes
    data = b"".join(parts)
    await driver.start_upload("big", {"repository": "ns/app"})
    result = await driver.append_upload("big", _chunks(parts))
    assert result.offset == len(data)
    digest = sha256_of(data)
    await driver.commit_upload("big", digest)
    assert await _read(driver, digest) == data
    assert await _read(driver, digest, 299_990, 300_010) == data[299_990:300_011]
    assert await _read(driver, digest, len(data) - 5) == data[-5:]


async def test_commit_is_atomic(driver: FilesystemDriver) -> None:
    """Until commit, nothing exists at the blob's content address; after it, the whole blob does."""
    data = b"x" * 5000
    digest = sha256_of(data)
    blob_path = driver.root / blob_key(digest)
    await driver.start_upload("atomic", {"repository": "ns/app"})
    assert not blob_path.exists()
    await driver.append_upload("atomic", _chunks([data[:100]]))
    assert not blob_path.exists()
    assert await driver.blob_size(digest) is None
    await driver.append_upload("atomic", _chunks([data[100:]]))
    assert not blob_path.exists()
    assert (driver.root / upload_key("atomic")).exists()
    await driver.commit_upload("atomic", digest)
    assert blob_path.read_bytes() == data
    assert not (driver.root / upload_key("atomic")).exists()
    leftovers = [p for p in blob_path.parent.iterdir() if p != blob_path]
    assert leftovers == []


async def test_commit_of_existing_blob_keeps_it(driver: FilesystemDriver) -> None:
    data = b"dedup"
    digest = sha256_of(data)
    for upload_id in ("a", "b"):
        await driver.start_upload(upload_id, {"repository": "ns/app"})
        await driver.append_upload(upload_id, _chunks([data]))
        await driver.commit_upload(upload_id, digest)
        assert await driver.upload_state(upload_id) is None
    assert await _read(driver, digest) == data


async def test_cancel_upload(driver: FilesystemDriver) -> None:
    await driver.start_upload("c", {"repository": "ns/app"})
    await driver.append_upload("c", _chunks([b"partial"]))
    await driver.cancel_upload("c")
    assert await driver.upload_state("c") is None
    await driver.cancel_upload("c")  # idempotent
    assert list((driver.root / "blobs").rglob("*")) == []


async def test_start_upload_twice_fails(driver: FilesystemDriver) -> None:
    await driver.start_upload("dup", {"repository": "ns/app"})
    with pytest.raises(FileExistsError):
        await driver.start_upload("dup", {"repository": "ns/app"})


@pytest.mark.parametrize("upload_id", ["", "../escape", "a/b", ".hidden", ".."])
async def test_bad_upload_ids(driver: FilesystemDriver, upload_id: str) -> None:
    with pytest.raises(ValueError, match="upload id"):
        await driver.start_upload(upload_id, {"repository": "ns/app"})
    with pytest.raises(ValueError, match="upload id"):
        await driver.upload_state(upload_id)


async def test_delete_blob(driver: FilesystemDriver) -> None:
    digest = sha256_of(b"gone")
    await driver.start_upload("d", {"repository": "ns/app"})
    await driver.append_upload("d", _chunks([b"gone"]))
    await driver.commit_upload("d", digest)
    await driver.delete_blob(digest)
    assert await driver.blob_size(digest) is None
    await driver.delete_blob(digest)  # missing is fine


async def test_missing_blob(driver: FilesystemDriver) -> None:
    digest = sha256_of(b"never")
    assert await driver.blob_size(digest) is None
    with pytest.raises(FileNotFoundError):
        await _read(driver, digest)


async def test_check(driver: FilesystemDriver) -> None:
    await driver.check()
    assert not (driver.root / "uploads" / ".health").exists()


def test_layout() -> None:
    d = sha256_of(b"layout")
    assert str(blob_key(d)) == f"blobs/sha256/{d.hex[:2]}/{d.hex}"
    assert str(upload_key("abc")) == "uploads/abc"


async def test_upload_record_is_kept_beside_the_bytes_and_removed_with_them(driver: FilesystemDriver) -> None:
    await driver.start_upload("u9", {"repository": "ns/app", "created_by": "alice"})
    state = await driver.upload_state("u9")
    assert state is not None
    assert state.meta == {"repository": "ns/app", "created_by": "alice"}
    await driver.cancel_upload("u9")
    assert await driver.upload_state("u9") is None


async def test_list_blobs_streams_stored_blobs_and_skips_strays(driver: FilesystemDriver) -> None:
    """The orphan sweep of garbage collection walks storage through list_blobs."""
    assert [b async for b in driver.list_blobs()] == []  # no blobs directory yet
    stored = []
    for i, data in enumerate([b"one", b"two", b"three"]):
        digest = sha256_of(data)
        await driver.start_upload(f"{i:032x}", {})
        await driver.append_upload(f"{i:032x}", _chunks([data]))
        await driver.commit_upload(f"{i:032x}", digest)
        stored.append(str(digest))
    stray = driver.root / "blobs" / "sha256" / "ab" / "not-a-digest"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"x")
    listed = [b async for b in driver.list_blobs()]
    assert sorted(str(b.digest) for b in listed) == sorted(stored)
    assert all(b.mtime > 0 for b in listed)
