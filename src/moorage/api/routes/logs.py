"""The audit log, per repository, organization and user: filter by time and kind, page, export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from moorage.api.access import require_org_role, require_repo_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, user_admin
from moorage.api.context import ApiContext
from moorage.api.pagination import Page
from moorage.audit import AuditQuery, AuditRecord

router = APIRouter(tags=["logs"])


class Performer(BaseModel):
    name: str | None
    kind: str | None


class LogOut(BaseModel):
    id: int
    kind: str
    datetime: datetime
    ip: str | None
    performer: Performer
    namespace: str | None
    repository: str | None
    metadata: dict[str, Any]


class LogList(BaseModel):
    logs: list[LogOut]
    next_page: str | None = None


class Filters:
    def __init__(
        self,
        starttime: datetime | None = Query(None, description="ISO 8601; only entries at or after"),
        endtime: datetime | None = Query(None, description="ISO 8601; only entries before"),
        kind: list[str] = Query([], description="only these kinds (repeatable), e.g. push_repo"),
        format: str = Query(
            "json", pattern="^(json|jsonl)$", description="jsonl streams every entry as JSON lines"
        ),
    ) -> None:
        self.since = starttime
        self.until = endtime
        self.kinds = tuple(kind)
        self.format = format


def _out(r: AuditRecord) -> LogOut:
    return LogOut(
        id=r.id,
        kind=r.kind,
        datetime=r.created_at,
        ip=r.ip,
        performer=Performer(name=r.performer, kind=r.performer_kind),
        namespace=r.namespace,
        repository=r.repository,
        metadata=r.metadata,
    )


async def _answer(
    ctx: ApiContext, page: Page, f: Filters, **where: str | None
) -> LogList | StreamingResponse:
    base = AuditQuery(kinds=f.kinds, since=f.since, until=f.until, **where)  # type: ignore[arg-type]
    if f.format == "jsonl":

        async def lines() -> AsyncIterator[str]:
            async for line in ctx.audit.export(base):
                yield line

        return StreamingResponse(
            lines(),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )
    before = int(page.after) if page.after else None
    q = AuditQuery(
        base.namespace,
        base.repository,
        base.performer,
        base.kinds,
        base.since,
        base.until,
        before,
        page.limit,
    )
    rows = await ctx.audit.query(q)
    return LogList(
        logs=[_out(r) for r in rows], next_page=page.next_cursor(len(rows), rows[-1].id if rows else None)
    )


@router.get("/repository/{repo:path}/logs", response_model=LogList, summary="Audit log of a repository")
async def repo_logs(
    repo: str,
    page: Page = Depends(),
    f: Filters = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> LogList | StreamingResponse:
    await require_repo_role(ctx, caller, repo, "admin")
    return await _answer(ctx, page, f, repository=repo)


@router.get("/organization/{org}/logs", response_model=LogList, summary="Audit log of an organization")
async def org_logs(
    org: str,
    page: Page = Depends(),
    f: Filters = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> LogList | StreamingResponse:
    await require_org_role(ctx, caller, org, "admin")
    return await _answer(ctx, page, f, namespace=org)


@router.get("/user/logs", response_model=LogList, summary="What the caller did")
async def user_logs(
    page: Page = Depends(),
    f: Filters = Depends(),
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> LogList | StreamingResponse:
    return await _answer(ctx, page, f, performer=caller.principal.name)
