"""Background jobs for superusers: /superuser/jobs (list, one, cancel, retry).

Quay has no jobs API (its workers are separate processes with no queue visible through the API);
these routes are Moorage's own and follow the conventions of the rest of /api/v1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from moorage.api.auth import ApiCaller, get_ctx, superuser
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.pagination import IdPage
from moorage.domain.errors import NotFound
from moorage.jobs.kinds import KIND_PATTERN
from moorage.jobs.queue import JobRecord

router = APIRouter(tags=["jobs"])

JobStateName = Literal["queued", "running", "done", "failed", "cancelled"]
JOB_ID = Path(ge=1, le=2**63 - 1, description="the job's id")


class Progress(BaseModel):
    done: int
    total: int | None
    message: str
    percent: int | None = Field(description="0-100 when the total is known")


class JobOut(BaseModel):
    id: int
    kind: str
    state: JobStateName
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    cancel_requested: bool
    progress: Progress
    result: dict[str, Any] | None
    error: str | None
    schedule: str | None = Field(description="the schedule that queued it, if any")
    run_after: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    created: datetime
    started: datetime | None
    finished: datetime | None


class JobList(BaseModel):
    jobs: list[JobOut]
    next_page: str | None = None


def job_out(j: JobRecord) -> JobOut:
    return JobOut.model_validate(
        {
            **j.to_json(),
            "run_after": j.run_after,
            "created": j.created_at,
            "started": j.started_at,
            "finished": j.finished_at,
            "lease_expires_at": j.lease_expires_at,
        }
    )


@router.get("/superuser/jobs", response_model=JobList, summary="Background jobs, newest first")
async def list_jobs(
    page: IdPage = Depends(),
    kind: str | None = Query(None, pattern=KIND_PATTERN.pattern, description="only jobs of this kind"),
    state: JobStateName | None = Query(None, description="only jobs in this state"),
    _: ApiCaller = Depends(superuser),
    ctx: ApiContext = Depends(get_ctx),
) -> JobList:
    jobs = await ctx.jobs.list(kind=kind, state=state, limit=page.limit, before_id=page.after_id)
    return JobList(
        jobs=[job_out(j) for j in jobs],
        next_page=page.next_cursor(len(jobs), jobs[-1].id if jobs else None),
    )


async def _job(ctx: ApiContext, job_id: int) -> JobRecord:
    job = await ctx.jobs.get(job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}")
    return job


@router.get("/superuser/jobs/{job_id}", response_model=JobOut, summary="One background job")
async def get_job(
    job_id: int = JOB_ID, _: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> JobOut:
    return job_out(await _job(ctx, job_id))


@router.post(
    "/superuser/jobs/{job_id}/cancel",
    response_model=JobOut,
    summary="Cancel a job (queued: at once; running: its handler stops at the next safe point)",
    responses=also((409, "the job has already finished")),
)
async def cancel_job(
    job_id: int = JOB_ID, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> JobOut:
    return job_out(await ctx.jobs.cancel(job_id, caller.actor))


@router.post(
    "/superuser/jobs/{job_id}/retry",
    response_model=JobOut,
    summary="Queue a failed or cancelled job again",
    responses=also((409, "the job is not failed or cancelled, or its kind is not registered")),
)
async def retry_job(
    job_id: int = JOB_ID, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> JobOut:
    return job_out(await ctx.jobs.retry(job_id, caller.actor))
