"""The contract between the job system and the code that does the work (GC, expiry, auto-prune, ...).

A handler is an async function of a :class:`JobContext`. It must be idempotent: a job whose worker
died is run again from the start once its lease expires. Raising fails this attempt (the queue retries
with backoff up to the kind's maximum); returning a mapping stores it as the job's result (JSON).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol


class JobContext(Protocol):
    """What a running job sees of the queue."""

    @property
    def job_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...

    @property
    def attempt(self) -> int:
        """1 for the first run, 2 for the first retry, ..."""
        ...

    async def progress(self, done: int, total: int | None, message: str = "") -> None:
        """Record how far the job is (shown by the CLI, the API and the Jobs page); also renews the lease."""
        ...

    def cancel_requested(self) -> bool:
        """True once someone cancelled the job: stop at the next safe point and return."""
        ...


JobResult = Mapping[str, Any] | None
JobHandler = Callable[[JobContext], Awaitable[JobResult]]
