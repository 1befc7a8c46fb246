"""The audit log, per repository, organization and user: filter by time and kind, page, export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator
from starlette.responses import StreamingResponse

from moorage.api.access import require_org_role, require_repo_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, user_admin
from moorage.api.context import ApiContext
from moorage.api.pagination import IdPage
from moorage.audit import AuditQuery, AuditRecord

router = APIRouter(tags=["logs"])

# format=jsonl answers a stream of JSON lines instead of a LogList
JSONL: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a page of entries; with format=jsonl every matching entry, one JSON object a line",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


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


def _not_a_number(value: Any) -> Any:
    """Times are ISO 8601 text, as the document says: not Unix timestamps (which pydantic would take)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("expected an ISO 8601 date and time")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]


class Filters:
    def __init__(
        self,
        starttime: IsoDateTime | None = Query(None, description="ISO 8601; only entries at or after"),
        endtime: IsoDateTime | None = Query(None, description="ISO 8601; only entries before"),
        kind: list[str] = Query([], description="only these kinds (repeatable), e.g. push_repo"),
        format: Literal["json", "jsonl"] = Query(
            "json", description="jsonl streams every entry as JSON lines"
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
    ctx: ApiContext, page: IdPage, f: Filters, **where: str | None
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
    before = page.after_id
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


@router.get(
    "/repository/{repo:path}/logs",
    response_model=LogList,
    summary="Audit log of a repository",
    responses=JSONL,
)
async def repo_logs(
    repo: str,
    page: IdPage = Depends(),
    f: Filters = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> LogList | StreamingResponse:
    await require_repo_role(ctx, caller, repo, "admin")
    return await _answer(ctx, page, f, repository=repo)


@router.get(
    "/organization/{org}/logs",
    response_model=LogList,
    summary="Audit log of an organization",
    responses=JSONL,
)
async def org_logs(
    org: str,
    page: IdPage = Depends(),
    f: Filters = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> LogList | StreamingResponse:
    await require_org_role(ctx, caller, org, "admin")
    return await _answer(ctx, page, f, namespace=org)


@router.get("/user/logs", response_model=LogList, summary="What the caller did", responses=JSONL)
async def user_logs(
    page: IdPage = Depends(),
    f: Filters = Depends(),
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> LogList | StreamingResponse:
    return await _answer(ctx, page, f, performer=caller.principal.name)
