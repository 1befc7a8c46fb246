"""Upload state kept beside the upload: resumable SHA-256, compare-and-set offsets, exclusive claims,
crash-safe commit ordering (moorage.storage.hashing, moorage.storage.drivers.filesystem)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import pytest

from moorage.domain.digest import sha256_of
from moorage.storage.base import (
    UploadBusy,
    UploadDigestMismatch,
    UploadLengthMismatch,
    UploadOffsetMismatch,
    UploadUnknown,
)
from moorage.storage.drivers import filesystem
from moorage.storage.drivers.filesystem import FilesystemDriver
from moorage.storage.hashing import ResumableSha256, StateInvalid, resumable_available
from moorage.storage.layout import upload_key


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _broken(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise ConnectionResetError("client went away")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def driver(root: Path) -> FilesystemDriver:
    return FilesystemDriver(root, fsync=False)


@pytest.fixture
def held(root: Path) -> Iterator[list[int]]:
    """Claims taken as another process would: a separate open file description with flock."""
    fds: list[int] = []
    yield fds
    for fd in fds:
        os.close(fd)


def _hold(root: Path, upload_id: str, fds: list[int]) -> None:
    fd = os.open(root / upload_key(upload_id), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fds.append(fd)


def test_resumable_sha256_is_available_here() -> None:
    # libcrypto ships with Python's ssl module on every supported platform; if this fails the
    # server still works, but completing an upload re-reads it
    assert resumable_available()


@pytest.mark.parametrize("total", [0, 1, 55, 56, 63, 64, 65, 127, 1000, 300_001])
def test_resumable_sha256_state_round_trip(total: int) -> None:
    data = os.urandom(total)
    for cut in sorted({0, 1 if total else 0, total // 3, total // 2, total}):
        first = ResumableSha256()
        first.update(data[:cut])
        assert first.hexdigest() == hashlib.sha256(data[:cut]).hexdigest()
        resumed = ResumableSha256.resume(first.state())
        resumed.update(memoryview(bytearray(data[cut:])))
        assert resumed.length == total
        assert resumed.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "state",
    ["", "sha256-v1:", "sha256-v1:zz", "md5:00", "sha256-v1:" + "00" * 112, "sha256-v1:" + "ff" * 112],
)
def test_resumable_sha256_refuses_bad_states(state: str) -> None:
    with pytest.raises(StateInvalid):
        ResumableSha256.resume(state)


async def test_another_process_resumes_and_completes_without_reading_the_upload(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three drivers on one root stand for three processes; the one that completes verifies the
    digest from the saved state: hashing the stored bytes is made to fail."""
    data = os.urandom(3 * 1024 * 1024 + 7)
    first, second, third = (FilesystemDriver(root, fsync=False) for _ in range(3))
    await first.start_upload("x1", {"repository": "ns/app"})
    assert (await first.append_upload("x1", _chunks([data[:1_000_000]]), offset=0)).offset == 1_000_000
    assert (await second.append_upload("x1", _chunks([data[1_000_000:]]), offset=1_000_000)).offset == len(
        data
    )

    def no_reread(fd: int, algorithm: str) -> str:
        raise AssertionError("completion re-read the upload")

    monkeypatch.setattr(filesystem, "_hash_fd", no_reread)
    assert await third.commit_upload("x1", sha256_of(data)) == len(data)
    assert b"".join([c async for c in third.read_blob(sha256_of(data))]) == data


async def test_append_at_the_wrong_offset_changes_nothing(driver: FilesystemDriver) -> None:
    await driver.start_upload("c1", {"repository": "ns/app"})
    await driver.append_upload("c1", _chunks([b"0123456789"]), offset=0)
    for wrong in (0, 5, 11):
        with pytest.raises(UploadOffsetMismatch) as caught:
            await driver.append_upload("c1", _chunks([b"XXXXXXXXXX"]), offset=wrong)
        assert caught.value.offset == 10
    with pytest.raises(UploadOffsetMismatch):
        await driver.commit_upload("c1", sha256_of(b"0123456789"), offset=9)
    await driver.append_upload("c1", _chunks([b"abc"]), offset=10)
    assert await driver.commit_upload("c1", sha256_of(b"0123456789abc"), offset=13) == 13


async def test_a_claimed_upload_refuses_other_writers(
    root: Path, driver: FilesystemDriver, held: list[int]
) -> None:
    await driver.start_upload("b1", {"repository": "ns/app"})
    await driver.append_upload("b1", _chunks([b"abc"]))
    _hold(root, "b1", held)
    with pytest.raises(UploadBusy) as caught:
        await driver.append_upload("b1", _chunks([b"def"]), offset=3)
    assert caught.value.offset == 3
    with pytest.raises(UploadBusy):
        await driver.commit_upload("b1", sha256_of(b"abc"))
    with pytest.raises(UploadBusy):
        await driver.cancel_upload("b1")
    os.close(held.pop())
    await driver.append_upload("b1", _chunks([b"def"]), offset=3)
    assert await driver.commit_upload("b1", sha256_of(b"abcdef")) == 6


async def test_a_short_or_broken_chunk_is_not_accepted(driver: FilesystemDriver) -> None:
    await driver.start_upload("s1", {"repository": "ns/app"})
    await driver.append_upload("s1", _chunks([b"keep"]))
    with pytest.raises(UploadLengthMismatch) as caught:
        await driver.append_upload("s1", _chunks([b"short"]), offset=4, length=10)
    assert (caught.value.offset, caught.value.received) == (4, 5)
    with pytest.raises(ConnectionResetError):
        await driver.append_upload("s1", _broken([b"x" * 2_000_000]), offset=4)
    state = await driver.upload_state("s1")
    assert state is not None
    assert state.offset == 4
    await driver.append_upload("s1", _chunks([b" going"]), offset=4, length=6)
    assert await driver.commit_upload("s1", sha256_of(b"keep going")) == 10
    assert b"".join([c async for c in driver.read_blob(sha256_of(b"keep going"))]) == b"keep going"


async def test_wrong_digest_keeps_the_upload(driver: FilesystemDriver) -> None:
    await driver.start_upload("w1", {"repository": "ns/app"})
    await driver.append_upload("w1", _chunks([b"data"]))
    with pytest.raises(UploadDigestMismatch) as caught:
        await driver.commit_upload("w1", sha256_of(b"other"))
    assert caught.value.actual == hashlib.sha256(b"data").hexdigest()
    assert await driver.commit_upload("w1", sha256_of(b"data")) == 4


async def test_finished_upload_is_unknown(driver: FilesystemDriver) -> None:
    await driver.start_upload("f1", {"repository": "ns/app"})
    await driver.commit_upload("f1", sha256_of(b""))
    with pytest.raises(UploadUnknown):
        await driver.append_upload("f1", _chunks([b"late"]))
    with pytest.raises(UploadUnknown):
        await driver.commit_upload("f1", sha256_of(b""))


async def test_record_is_removed_only_after_the_rename(
    root: Path, driver: FilesystemDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (here: a failing rename) before the blob is in place leaves a whole upload that can
    still be finished."""
    await driver.start_upload("r1", {"repository": "ns/app"})
    await driver.append_upload("r1", _chunks([b"survives"]))

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        await driver.commit_upload("r1", sha256_of(b"survives"))
    monkeypatch.undo()
    state = await driver.upload_state("r1")
    assert state is not None
    assert state.offset == 8
    assert await driver.commit_upload("r1", sha256_of(b"survives")) == 8
    assert not (root / "uploads" / "r1.json").exists()


async def test_new_blob_directories_are_made_durable(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = FilesystemDriver(root, fsync=True)
    synced: list[Path] = []
    real = filesystem._fsync_dir

    def spy(path: Path) -> None:
        synced.append(path)
        real(path)

    monkeypatch.setattr(filesystem, "_fsync_dir", spy)
    digest = sha256_of(b"durable")
    await driver.start_upload("d1", {"repository": "ns/app"})
    await driver.append_upload("d1", _chunks([b"durable"]))
    await driver.commit_upload("d1", digest)
    blobs = root / "blobs"
    # blobs/sha256 is new: blobs is synced; blobs/sha256/xx is new: blobs/sha256 is synced; then the
    # directory the blob was renamed into
    assert synced == [blobs, blobs / "sha256", blobs / "sha256" / digest.hex[:2]]


async def test_an_upload_started_before_upload_state_still_completes(
    root: Path, driver: FilesystemDriver
) -> None:
    (root / "uploads" / "old1").write_bytes(b"legacy bytes")
    (root / "uploads" / "old1.json").write_text(json.dumps({"repository": "ns/app", "created_by": None}))
    state = await driver.upload_state("old1")
    assert state is not None
    assert (state.meta, state.offset) == ({"repository": "ns/app", "created_by": None}, 12)
    await driver.append_upload("old1", _chunks([b"!"]), offset=12)
    assert await driver.commit_upload("old1", sha256_of(b"legacy bytes!")) == 13
