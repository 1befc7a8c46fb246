"""The ``autoprune.run`` job: apply every auto-prune policy now.

Payload: ``{}`` (every namespace) or ``{"namespace": "acme"}`` (one). Idempotent: a run selects
again per repository inside its transaction, so a retried job removes nothing twice. Result:
``{"repositories": N, "pruned": M, "cancelled": bool}``.
"""

from __future__ import annotations

from moorage.jobs.types import JobContext, JobHandler, JobResult
from moorage.registry.autoprune import AutoPruner

KIND = "autoprune.run"


def autoprune_handler(pruner: AutoPruner) -> JobHandler:
    async def run(ctx: JobContext) -> JobResult:
        namespace = ctx.payload.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise ValueError("autoprune.run: payload 'namespace' must be a string")

        async def progress(done: int, total: int, message: str) -> None:
            await ctx.progress(done, total, message)

        result = await pruner.run(namespace, progress=progress, cancelled=ctx.cancel_requested)
        return {"repositories": result.repositories, "pruned": result.pruned, "cancelled": result.cancelled}

    return run
