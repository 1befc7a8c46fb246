"""Storage quotas in Quay's shape: /organization/{org}/quota..., /user/quota...

Superusers create, change and delete quotas and their limits; members of an organization read its
quota (Quay's OrganizationMemberPermission); users read their own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from moorage.api.access import require_org_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, superuser, user_admin
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.routes.schemas import Deleted
from moorage.registry.quotas import MAX_LIMIT_BYTES, LimitInfo, QuotaInfo

router = APIRouter(tags=["quotas"])

LimitType = Literal["Warning", "Reject"]
_ID_MAX = 2**31 - 1  # the ids are 32-bit integer columns
QuotaId = Annotated[int, Path(ge=1, le=_ID_MAX, description="the quota's id")]
LimitId = Annotated[int, Path(ge=1, le=_ID_MAX, description="the limit's id")]


class QuotaCreate(BaseModel):
    limit_bytes: int = Field(
        ge=1, le=MAX_LIMIT_BYTES, strict=True, description="bytes the namespace may hold (1 to 2^53)"
    )


class QuotaUpdate(BaseModel):
    limit_bytes: int = Field(ge=1, le=MAX_LIMIT_BYTES, strict=True)


class LimitCreate(BaseModel):
    type: LimitType = Field(description="Warning: a quota_warning event; Reject: pushes refused")
    threshold_percent: int = Field(ge=1, le=100, strict=True, description="percent of the quota")


class LimitUpdate(BaseModel):
    """Only the keys sent change."""

    type: LimitType | None = None
    threshold_percent: int | None = Field(None, ge=1, le=100, strict=True)


class LimitOut(BaseModel):
    id: int
    type: str
    limit_percent: int = Field(description="the threshold, in percent of the quota (Quay's name)")


class QuotaOut(BaseModel):
    id: int
    limit_bytes: int
    limits: list[LimitOut]


def _limit(limit: LimitInfo) -> LimitOut:
    return LimitOut(id=limit.id, type=limit.type, limit_percent=limit.percent)


def _quota(q: QuotaInfo) -> QuotaOut:
    return QuotaOut(id=q.id, limit_bytes=q.limit_bytes, limits=[_limit(x) for x in q.limits])


_ORG = "org"
_QUOTA = "/organization/{org}/quota"
_ONE = _QUOTA + "/{quota_id}"
_LIMITS = _ONE + "/limit"
_LIMIT = _LIMITS + "/{limit_id}"


# -- organizations: read by members, changed by superusers
@router.get(_QUOTA, response_model=list[QuotaOut], summary="The organization's quotas (at most one)")
async def list_org_quotas(
    org: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> list[QuotaOut]:
    await require_org_role(ctx, caller, org, "member")
    return [_quota(q) for q in await ctx.quotas.list_quotas(org, _ORG)]


@router.post(
    _QUOTA,
    response_model=QuotaOut,
    status_code=201,
    summary="Give the organization a quota (superusers)",
    responses=also((409, "the organization already has a quota")),
)
async def create_org_quota(
    org: str, body: QuotaCreate, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> QuotaOut:
    return _quota(await ctx.quotas.create(org, body.limit_bytes, caller.actor, _ORG))


@router.get(_ONE, response_model=QuotaOut, summary="One quota of the organization")
async def get_org_quota(
    org: str, quota_id: QuotaId, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> QuotaOut:
    await require_org_role(ctx, caller, org, "member")
    return _quota(await ctx.quotas.get(org, quota_id, _ORG))


@router.put(_ONE, response_model=QuotaOut, summary="Change the quota's size (superusers)")
async def update_org_quota(
    org: str,
    quota_id: QuotaId,
    body: QuotaUpdate,
    caller: ApiCaller = Depends(superuser),
    ctx: ApiContext = Depends(get_ctx),
) -> QuotaOut:
    return _quota(await ctx.quotas.update(org, quota_id, body.limit_bytes, caller.actor, _ORG))


@router.delete(_ONE, response_model=Deleted, summary="Remove the quota and its limits (superusers)")
async def delete_org_quota(
    org: str, quota_id: QuotaId, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await ctx.quotas.delete(org, quota_id, caller.actor, _ORG)
    return Deleted()


@router.get(_LIMITS, response_model=list[LimitOut], summary="The quota's limits")
async def list_org_limits(
    org: str, quota_id: QuotaId, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> list[LimitOut]:
    await require_org_role(ctx, caller, org, "member")
    return [_limit(x) for x in (await ctx.quotas.get(org, quota_id, _ORG)).limits]


@router.post(
    _LIMITS,
    response_model=LimitOut,
    status_code=201,
    summary="Add a Warning or Reject limit (superusers)",
    responses=also((409, "the same limit exists, or a second Reject limit")),
)
async def create_org_limit(
    org: str,
    quota_id: QuotaId,
    body: LimitCreate,
    caller: ApiCaller = Depends(superuser),
    ctx: ApiContext = Depends(get_ctx),
) -> LimitOut:
    return _limit(
        await ctx.quotas.add_limit(org, quota_id, body.type, body.threshold_percent, caller.actor, _ORG)
    )


@router.get(_LIMIT, response_model=LimitOut, summary="One limit of the quota")
async def get_org_limit(
    org: str,
    quota_id: QuotaId,
    limit_id: LimitId,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> LimitOut:
    await require_org_role(ctx, caller, org, "member")
    return _limit(await ctx.quotas.get_limit(org, quota_id, limit_id, _ORG))


@router.put(
    _LIMIT,
    response_model=QuotaOut,
    summary="Change a limit (superusers); answers the whole quota, as Quay",
    responses=also((409, "the same limit exists, or a second Reject limit")),
)
async def update_org_limit(
    org: str,
    quota_id: QuotaId,
    limit_id: LimitId,
    body: LimitUpdate,
    caller: ApiCaller = Depends(superuser),
    ctx: ApiContext = Depends(get_ctx),
) -> QuotaOut:
    await ctx.quotas.update_limit(
        org, quota_id, limit_id, body.type, body.threshold_percent, caller.actor, _ORG
    )
    return _quota(await ctx.quotas.get(org, quota_id, _ORG))


@router.delete(_LIMIT, response_model=Deleted, summary="Remove a limit (superusers)")
async def delete_org_limit(
    org: str,
    quota_id: QuotaId,
    limit_id: LimitId,
    caller: ApiCaller = Depends(superuser),
    ctx: ApiContext = Depends(get_ctx),
) -> Deleted:
    await ctx.quotas.delete_limit(org, quota_id, limit_id, caller.actor, _ORG)
    return Deleted()


# -- the caller's own namespace: read only (Quay's /user/quota)
@router.get("/user/quota", response_model=list[QuotaOut], summary="The caller's quotas (at most one)")
async def list_user_quotas(
    caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> list[QuotaOut]:
    return [_quota(q) for q in await ctx.quotas.list_quotas(caller.principal.name, "user")]


@router.get("/user/quota/{quota_id}", response_model=QuotaOut, summary="One quota of the caller")
async def get_user_quota(
    quota_id: QuotaId, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> QuotaOut:
    return _quota(await ctx.quotas.get(caller.principal.name, quota_id, "user"))


@router.get("/user/quota/{quota_id}/limit", response_model=list[LimitOut], summary="Its limits")
async def list_user_limits(
    quota_id: QuotaId, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> list[LimitOut]:
    return [_limit(x) for x in (await ctx.quotas.get(caller.principal.name, quota_id, "user")).limits]


@router.get("/user/quota/{quota_id}/limit/{limit_id}", response_model=LimitOut, summary="One limit")
async def get_user_limit(
    quota_id: QuotaId,
    limit_id: LimitId,
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> LimitOut:
    return _limit(await ctx.quotas.get_limit(caller.principal.name, quota_id, limit_id, "user"))
