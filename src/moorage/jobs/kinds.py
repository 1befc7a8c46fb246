"""What a process can run: job kinds with their handlers, and the periodic schedules.

Both are plain objects built by the composition root (moorage.app.build_jobs), never module-level
registries. Registering a kind::

    kinds.register("gc.run", gc_handler, max_attempts=3, lease_seconds=120)
    schedules.add("gc", "gc.run", every_seconds=3600)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from moorage.jobs.types import JobHandler

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A job kind: its handler, how many attempts it gets, how long a lease lasts without a
    heartbeat, and the first retry delay (doubled on each further retry, capped at max_backoff)."""

    kind: str
    handler: JobHandler
    max_attempts: int = 5
    lease_seconds: float = 60.0
    backoff_seconds: float = 10.0
    max_backoff_seconds: float = 3600.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` failed."""
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** max(0, attempt - 1)))


class JobKinds:
    """The job kinds this process knows. Workers claim only these kinds; enqueueing an unknown kind
    is refused."""

    def __init__(self) -> None:
        self._kinds: dict[str, KindSpec] = {}

    def register(
        self,
        kind: str,
        handler: JobHandler,
        *,
        max_attempts: int = 5,
        lease_seconds: float = 60.0,
        backoff_seconds: float = 10.0,
        max_backoff_seconds: float = 3600.0,
    ) -> KindSpec:
        if not KIND_PATTERN.match(kind):
            raise ValueError(f"job kind {kind!r}: lower-case letters, digits and . _ - (at most 64)")
        if kind in self._kinds:
            raise ValueError(f"job kind {kind!r} is registered twice")
        if max_attempts < 1 or lease_seconds <= 0 or backoff_seconds < 0:
            raise ValueError(f"job kind {kind!r}: max_attempts >= 1, lease_seconds > 0, backoff >= 0")
        spec = KindSpec(kind, handler, max_attempts, lease_seconds, backoff_seconds, max_backoff_seconds)
        self._kinds[kind] = spec
        return spec

    def get(self, kind: str) -> KindSpec | None:
        return self._kinds.get(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds

    def __iter__(self) -> Iterator[KindSpec]:
        return iter(self._kinds.values())

    def names(self) -> list[str]:
        return sorted(self._kinds)


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    name: str
    kind: str
    every_seconds: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True


class Schedules:
    """Periodic jobs. Each is a row in ``job_schedule`` (written from this list when a worker starts);
    every node should be configured alike: the rows are shared."""

    def __init__(self) -> None:
        self._items: dict[str, ScheduleSpec] = {}

    def add(
        self,
        name: str,
        kind: str,
        every_seconds: int,
        payload: Mapping[str, Any] | None = None,
        *,
        enabled: bool = True,
    ) -> ScheduleSpec:
        if not KIND_PATTERN.match(name):
            raise ValueError(f"schedule {name!r}: lower-case letters, digits and . _ - (at most 64)")
        if name in self._items:
            raise ValueError(f"schedule {name!r} is added twice")
        if every_seconds < 1:
            raise ValueError(f"schedule {name!r}: every_seconds must be at least 1")
        spec = ScheduleSpec(name, kind, int(every_seconds), dict(payload or {}), enabled)
        self._items[name] = spec
        return spec

    def __iter__(self) -> Iterator[ScheduleSpec]:
        return iter(self._items.values())

    def get(self, name: str) -> ScheduleSpec | None:
        return self._items.get(name)
