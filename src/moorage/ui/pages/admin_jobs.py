"""The superuser panel's Jobs tab: background jobs with their state and progress, filterable by kind
and state; cancel and retry. Mirrors ``/api/v1/superuser/jobs``; 404 for everybody but a superuser.
Plain links and forms: it works without JavaScript (reload to see progress move).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import NotFound, RegistryError, ServiceError, as_service_error
from moorage.jobs.kinds import KIND_PATTERN
from moorage.jobs.queue import STATES as JOB_STATES
from moorage.jobs.queue import JobRecord
from moorage.ui.pages.admin import capitalized, require_superuser
from moorage.ui.web import actor, ctx, page, redirect, render


def _filters(request: Request) -> tuple[str, str, str | None]:
    """(kind, state, error): a filter that cannot match is shown back with a message, not applied."""
    kind = request.query_params.get("kind", "").strip()[:64]
    state = request.query_params.get("state", "").strip()[:32]
    error = None
    if state and state not in JOB_STATES:
        error = f"There is no job state {state!r}; choose one of {', '.join(JOB_STATES)}."
    elif kind and not KIND_PATTERN.match(kind):
        error = "A job kind is made of lower-case letters, digits, dots, dashes and underscores."
    return kind, state, error


async def jobs_page(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    kind, state, error = _filters(request)
    before_raw = request.query_params.get("before", "")
    before = int(before_raw) if before_raw.isdigit() and len(before_raw) <= 18 else None
    limit = c.settings.page_size
    jobs: list[JobRecord] = []
    if error is None:
        jobs = await c.jobs.list(kind=kind or None, state=state or None, limit=limit, before_id=before)
    query = {k: v for k, v in (("kind", kind), ("state", state)) if v}
    next_url = None
    if len(jobs) >= limit:
        next_url = "/superuser/jobs?" + urlencode({**query, "before": jobs[-1].id})
    first_url = ("/superuser/jobs?" + urlencode(query)) if before is not None else None
    return render(
        request,
        "admin_jobs.html",
        status=400 if error else 200,
        jobs=jobs,
        kind=kind,
        state=state,
        states=JOB_STATES,
        kinds=c.jobs.kinds.names(),
        error=error,
        next_url=next_url,
        first_url=first_url,
    )


async def _job(request: Request) -> JobRecord:
    raw = request.path_params["job_id"]
    job = await ctx(request).jobs.get(int(raw)) if raw.isdigit() and len(raw) <= 18 else None
    if job is None:
        raise NotFound("There is no such job.")
    return job


async def _job_page(request: Request, status: int = 200, **variables: Any) -> Response:
    require_superuser(request)
    return render(request, "admin_job.html", status=status, job=await _job(request), **variables)


async def job_page(request: Request) -> Response:
    return await _job_page(request)


async def cancel_job(request: Request) -> Response:
    require_superuser(request)
    job = await _job(request)
    try:
        done = await ctx(request).jobs.cancel(job.id, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _job_page(request, exc.status, error=capitalized(exc.detail))
    message = (
        f"Job {done.id} cancelled."
        if done.state == "cancelled"
        else f"Job {done.id} is asked to stop; it ends cancelled at its next safe point."
    )
    return redirect(request, f"/superuser/jobs/{done.id}", message)


async def retry_job(request: Request) -> Response:
    require_superuser(request)
    job = await _job(request)
    try:
        again = await ctx(request).jobs.retry(job.id, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _job_page(request, exc.status, error=capitalized(exc.detail))
    return redirect(request, f"/superuser/jobs/{again.id}", f"Job {again.id} queued again.")


routes = [
    page("/superuser/jobs", jobs_page),
    page("/superuser/jobs/{job_id}", job_page),
    page("/superuser/jobs/{job_id}/cancel", cancel_job, methods=("POST",)),
    page("/superuser/jobs/{job_id}/retry", retry_job, methods=("POST",)),
]
