"""A per-process read cache for the /v2 hot path and permission decisions, kept coherent across
worker processes and nodes.

Every repository (and the ACL, see ``ACL_SLOT``) hashes to a slot holding a generation counter.
A cached entry is used only while its slot still holds the generation read *before* the entry was
fetched, and never for longer than its lifetime (``cache_ttl_seconds``), a backstop for anything
that could escape invalidation.

Writes invalidate through the unit of work (db/unit_of_work.py): ``Database.write()`` calls
``begin`` before the commit and ``end`` after it. A slot whose generation is odd has a write in
flight: readers neither cache it nor trust entries for it. So a process that dies between its
commit and its ``end`` leaves the slot odd (uncached, always read from the database) until the
next write to it, never stale.

Two implementations of the generation table:

- ``SharedGenerations``: an mmap'ed file shared by every worker process of one machine (the
  embedded default, SQLite, whose writers are serialised by a machine-wide lock);
- ``NotifiedGenerations``: per process, for PostgreSQL with several processes or nodes. Each
  process listens on a dedicated connection; a unit of work's ``NOTIFY`` (sent inside its
  transaction, delivered by PostgreSQL exactly when it commits) bumps the named slots everywhere.
  While the listener is not connected the cache is unusable (every read goes to the database),
  and on every (re)connection every entry is forgotten, since notifications may have been missed.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from moorage.db.unit_of_work import ACL_SLOT, ALL_SLOTS

__all__ = ["ACL_SLOT", "Generations", "NotifiedGenerations", "ReadCache", "SharedGenerations"]

_SLOTS = 65536
_SLOT = struct.Struct("<Q")
_MAX_ENTRIES = 50_000
_MASK = 0xFFFFFFFFFFFFFFFF


class Generations(Protocol):
    def current(self, repository: str) -> int: ...

    def usable(self) -> bool: ...

    def begin(self, slots: frozenset[str]) -> None: ...

    def end(self, slots: frozenset[str]) -> None: ...


def _to_odd(v: int) -> int:
    return (v + 1 if v % 2 == 0 else v + 2) & _MASK


def _to_even(v: int) -> int:
    return (v + 1 if v % 2 == 1 else v + 2) & _MASK


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

    def usable(self) -> bool:
        return True

    # writers hold the machine-wide database write lock, so read-modify-write races no other writer
    def begin(self, slots: frozenset[str]) -> None:
        for slot in slots:
            off = self._offset(slot)
            _SLOT.pack_into(self._mm, off, _to_odd(_SLOT.unpack_from(self._mm, off)[0]))

    def end(self, slots: frozenset[str]) -> None:
        for slot in slots:
            off = self._offset(slot)
            _SLOT.pack_into(self._mm, off, _to_even(_SLOT.unpack_from(self._mm, off)[0]))


class NotifiedGenerations:
    """Per-process generations advanced by PostgreSQL notifications (and by this process's writes)."""

    def __init__(self) -> None:
        self._slots: dict[str, int] = {}
        self._epoch = 0  # advanced on every listener (re)connection: forgets every entry
        self._listening = False

    def current(self, repository: str) -> int:
        return self._epoch * 2**40 + self._slots.get(repository, 0)

    def usable(self) -> bool:
        return self._listening

    def begin(self, slots: frozenset[str]) -> None:
        for slot in slots:
            self._slots[slot] = _to_odd(self._slots.get(slot, 0))

    def end(self, slots: frozenset[str]) -> None:
        for slot in slots:
            self._slots[slot] = _to_even(self._slots.get(slot, 0))

    # -- called by the listener (db/listener.py)
    def notified(self, payload: str) -> None:
        try:
            slots = json.loads(payload)
        except ValueError:
            slots = [ALL_SLOTS]
        if not isinstance(slots, list) or ALL_SLOTS in slots:
            self._forget_all()
            return
        for slot in slots:
            if isinstance(slot, str):
                self._slots[slot] = _to_even(_to_odd(self._slots.get(slot, 0)))

    def listening(self, up: bool) -> None:
        """The listener connected (``True``, after any gap) or lost its connection (``False``)."""
        self._forget_all()
        self._listening = up

    def _forget_all(self) -> None:
        self._epoch += 1
        self._slots.clear()


class ReadCache:
    """Cached lookups keyed by (repository, key), valid while the repository's generation holds
    and for at most ``ttl`` seconds."""

    _MISS = object()

    def __init__(self, generations: Generations | None, ttl: float = 30.0) -> None:
        self.generations = generations
        self.ttl = ttl
        self._entries: dict[tuple[Any, Any], tuple[Any, float, Any]] = {}

    @property
    def enabled(self) -> bool:
        """Whether entries may be cached now (a shared generation table is present and usable)."""
        return self.generations is not None and self.generations.usable()

    def generation(self, repository: str) -> int:
        return self.generations.current(repository) if self.generations is not None else 0

    def get(self, repository: str, key: Any) -> Any:
        """The cached value, or ReadCache.MISS."""
        return self._lookup((repository, key), (repository,))

    def put(self, repository: str, key: Any, generation: int, value: Any, ttl: float | None = None) -> None:
        """Cache ``value``; ``ttl`` shortens its lifetime (a tag that expires on its own, without a
        write to bump the generation, must not outlive its expiry in the cache)."""
        if generation % 2 == 0:  # odd: a write to the slot is in flight
            self._store((repository, key), generation, value, ttl)

    # -- entries that depend on several slots (e.g. a repository and the ACL slot)
    def generations_of(self, slots: tuple[str, ...]) -> tuple[int, ...]:
        if self.generations is None:
            return ()
        return tuple(self.generations.current(s) for s in slots)

    def get_multi(self, slots: tuple[str, ...], key: Any) -> Any:
        return self._lookup((slots, key), slots)

    def put_multi(self, slots: tuple[str, ...], key: Any, generations: tuple[int, ...], value: Any) -> None:
        if all(g % 2 == 0 for g in generations):
            self._store((slots, key), generations, value)

    def _lookup(self, full_key: tuple[Any, Any], slots: Iterable[str]) -> Any:
        gens = self.generations
        if gens is None or not gens.usable():
            return self._MISS
        hit = self._entries.get(full_key)
        if hit is None:
            return self._MISS
        expected, expires, value = hit
        current = tuple(gens.current(s) for s in slots)
        if isinstance(expected, tuple):
            if current != expected:
                return self._MISS
        elif current != (expected,):
            return self._MISS
        if expires <= time.monotonic():
            del self._entries[full_key]
            return self._MISS
        return value

    def _store(
        self, full_key: tuple[Any, Any], generation: Any, value: Any, ttl: float | None = None
    ) -> None:
        if not self.enabled or (ttl is not None and ttl <= 0):
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        life = self.ttl if ttl is None else min(self.ttl, ttl)
        self._entries[full_key] = (generation, time.monotonic() + life, value)

    @classmethod
    def is_miss(cls, value: Any) -> bool:
        return value is cls._MISS
