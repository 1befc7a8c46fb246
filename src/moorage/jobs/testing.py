"""Job kinds for the test suite only, registered by the composition root when the environment
variable ``MOORAGE_TEST_JOBS`` is set (docs/testing.md). Never set it on a real server.

``test.sleep`` (payload ``seconds``, ``steps``, ``log``): appends ``start <attempt> <pid>`` to the
file ``log``, sleeps in ``steps`` steps reporting progress and honouring cancellation, then appends
``end <attempt> <pid>``. ``test.fail`` (payload ``failures``): raises on its first N attempts.
``MOORAGE_TEST_JOB_LEASE_SECONDS`` sets their lease (default 2 s) and backoff (a tenth of it).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from moorage.jobs.kinds import JobKinds
from moorage.jobs.types import JobContext, JobResult


def _note(path: object, line: str) -> None:
    if isinstance(path, str) and path:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(line + "\n")


async def sleep_job(ctx: JobContext) -> JobResult:
    seconds = float(ctx.payload.get("seconds", 1.0))
    steps = max(1, int(ctx.payload.get("steps", 10)))
    _note(ctx.payload.get("log"), f"start {ctx.attempt} {os.getpid()}")
    for step in range(steps):
        if ctx.cancel_requested():
            _note(ctx.payload.get("log"), f"cancelled {ctx.attempt} {os.getpid()}")
            return {"stopped_at": step}
        await asyncio.sleep(seconds / steps)
        await ctx.progress(step + 1, steps, f"step {step + 1} of {steps}")
    _note(ctx.payload.get("log"), f"end {ctx.attempt} {os.getpid()}")
    return {"slept": seconds, "pid": os.getpid()}


async def fail_job(ctx: JobContext) -> JobResult:
    if ctx.attempt <= int(ctx.payload.get("failures", 1)):
        raise RuntimeError(f"planned failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


def register_test_kinds(kinds: JobKinds) -> None:
    lease = float(os.environ.get("MOORAGE_TEST_JOB_LEASE_SECONDS") or 2.0)
    kinds.register("test.sleep", sleep_job, max_attempts=5, lease_seconds=lease, backoff_seconds=lease / 10)
    kinds.register("test.fail", fail_job, max_attempts=3, lease_seconds=lease, backoff_seconds=lease / 10)
