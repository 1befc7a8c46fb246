"""A per-process read cache for the /v2 hot path, kept coherent across worker processes.

Every repository hashes to a slot in a small shared-memory table of generation counters
(an mmap'ed file under the data directory). A write to a repository bumps its slot after
the transaction commits, under the database write lock; a cached entry is used only while
its slot still holds the generation read *before* the entry was fetched. So a reader never
serves data older than the last committed write it could have seen.

The shared table only spans the processes of one machine, so the cache is on for the embedded
default (SQLite, one machine) and off when several nodes share a PostgreSQL database.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from pathlib import Path
from typing import Any, Protocol

ACL_SLOT = "\x00acl"
"""The slot bumped by every change that can alter permissions beyond one repository (teams,
memberships, robots, accounts); permission decisions are cached against it and the repository's."""

_SLOTS = 65536
_SLOT = struct.Struct("<Q")
_MAX_ENTRIES = 50_000


class Generations(Protocol):
    def current(self, repository: str) -> int: ...

    def bump(self, repository: str) -> None: ...


class SharedGenerations:
    """Generation counters in an mmap'ed file shared by every worker process of one machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SLOTS * _SLOT.size:
                os.ftruncate(fd, _SLOTS * _SLOT.size)
            self._mm = mmap.mmap(fd, _SLOTS * _SLOT.size)
        finally:
            os.close(fd)

    @staticmethod
    def _offset(repository: str) -> int:
        return (zlib.crc32(repository.encode()) % _SLOTS) * _SLOT.size

    def current(self, repository: str) -> int:
        return int(_SLOT.unpack_from(self._mm, self._offset(repository))[0])

    def bump(self, repository: str) -> None:
        # callers hold the database write lock, so read-modify-write is not racing another bump
        off = self._offset(repository)
        _SLOT.pack_into(self._mm, off, (_SLOT.unpack_from(self._mm, off)[0] + 1) & 0xFFFFFFFFFFFFFFFF)


class ReadCache:
    """Cached lookups keyed by (repository, key), valid while the repository's generation holds."""

    _MISS = object()

    def __init__(self, generations: Generations | None) -> None:
        self.generations = generations
        self._entries: dict[tuple[Any, Any], tuple[Any, Any]] = {}

    @property
    def enabled(self) -> bool:
        return self.generations is not None

    def generation(self, repository: str) -> int:
        return self.generations.current(repository) if self.generations is not None else 0

    def get(self, repository: str, key: Any) -> Any:
        """The cached value, or ReadCache.MISS."""
        if self.generations is None:
            return self._MISS
        hit = self._entries.get((repository, key))
        if hit is None or hit[0] != self.generations.current(repository):
            return self._MISS
        return hit[1]

    def put(self, repository: str, key: Any, generation: int, value: Any) -> None:
        if self.generations is None:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[(repository, key)] = (generation, value)

    def bump(self, repository: str) -> None:
        if self.generations is not None:
            self.generations.bump(repository)

    # -- entries that depend on several slots (e.g. a repository and the ACL slot)
    def generations_of(self, slots: tuple[str, ...]) -> tuple[int, ...]:
        if self.generations is None:
            return ()
        return tuple(self.generations.current(s) for s in slots)

    def get_multi(self, slots: tuple[str, ...], key: Any) -> Any:
        if self.generations is None:
            return self._MISS
        hit = self._entries.get((slots, key))
        if hit is None or hit[0] != self.generations_of(slots):
            return self._MISS
        return hit[1]

    def put_multi(self, slots: tuple[str, ...], key: Any, generations: tuple[int, ...], value: Any) -> None:
        if self.generations is None:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[(slots, key)] = (generations, value)

    @classmethod
    def is_miss(cls, value: Any) -> bool:
        return value is cls._MISS
