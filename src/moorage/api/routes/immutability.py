"""Immutability rules in Quay's shapes: ``/organization/{org}/immutabilitypolicy/``,
``/repository/{repo}/immutabilitypolicy/`` and (an addition) ``/user/immutabilitypolicy/``.

Organization admins (repository admins for a repository) manage them; superusers may lift any
(delete it), audited as ``delete_immutability_policy`` with the superuser as performer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from moorage.api.auth import ApiCaller, get_ctx, signed_in, signed_in_user, user_admin
from moorage.api.context import ApiContext
from moorage.api.routes.policies import (
    ImmutabilityIn,
    ImmutabilityList,
    ImmutabilityOut,
    PolicyRef,
    PolicyUuid,
    imm_out,
    org_scope,
    repo_scope,
    user_scope,
)
from moorage.registry.policies import ImmutabilityInfo, Scope

router = APIRouter(tags=["auto-prune and immutability policies"])


async def _create(ctx: ApiContext, scope: Scope, body: ImmutabilityIn, caller: ApiCaller) -> ImmutabilityInfo:
    return await ctx.policies.create_immutability(
        scope, tag_pattern=body.tagPattern, tag_pattern_matches=body.tagPatternMatches, actor=caller.actor
    )


async def _update(
    ctx: ApiContext, scope: Scope, policy_uuid: str, body: ImmutabilityIn, caller: ApiCaller
) -> ImmutabilityInfo:
    # only the keys sent change (tagPattern is required, as in Quay)
    matches = body.tagPatternMatches
    if "tagPatternMatches" not in body.model_fields_set:
        matches = (await ctx.policies.get_immutability(scope, policy_uuid)).tag_pattern_matches
    return await ctx.policies.update_immutability(
        scope, policy_uuid, tag_pattern=body.tagPattern, tag_pattern_matches=matches, actor=caller.actor
    )


# -- organization
@router.get(
    "/organization/{org}/immutabilitypolicy/", response_model=ImmutabilityList, summary="Immutability rules"
)
async def list_org_immutability(
    org: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> ImmutabilityList:
    scope = await org_scope(org, caller, ctx)
    return ImmutabilityList(policies=[imm_out(p) for p in await ctx.policies.list_immutability(scope)])


@router.post(
    "/organization/{org}/immutabilitypolicy/", response_model=PolicyRef, status_code=201, summary="Add one"
)
async def create_org_immutability(
    org: str,
    body: ImmutabilityIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await org_scope(org, caller, ctx)
    return PolicyRef(uuid=(await _create(ctx, scope, body, caller)).uuid)


@router.get(
    "/organization/{org}/immutabilitypolicy/{policy_uuid}", response_model=ImmutabilityOut, summary="One"
)
async def get_org_immutability(
    org: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> ImmutabilityOut:
    scope = await org_scope(org, caller, ctx)
    return imm_out(await ctx.policies.get_immutability(scope, policy_uuid))


@router.put(
    "/organization/{org}/immutabilitypolicy/{policy_uuid}",
    status_code=204,
    response_class=Response,
    summary="Change it (204, as in Quay)",
)
async def update_org_immutability(
    org: str,
    policy_uuid: PolicyUuid,
    body: ImmutabilityIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    scope = await org_scope(org, caller, ctx)
    await _update(ctx, scope, policy_uuid, body, caller)
    return Response(status_code=204)


@router.delete(
    "/organization/{org}/immutabilitypolicy/{policy_uuid}", response_model=PolicyRef, summary="Lift it"
)
async def delete_org_immutability(
    org: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await org_scope(org, caller, ctx)
    await ctx.policies.delete_immutability(scope, policy_uuid, caller.actor)
    return PolicyRef(uuid=policy_uuid)


# -- the caller's own namespace
@router.get("/user/immutabilitypolicy/", response_model=ImmutabilityList, summary="Your namespace's rules")
async def list_user_immutability(
    caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> ImmutabilityList:
    rules = await ctx.policies.list_immutability(user_scope(caller))
    return ImmutabilityList(policies=[imm_out(p) for p in rules])


@router.post("/user/immutabilitypolicy/", response_model=PolicyRef, status_code=201, summary="Add one")
async def create_user_immutability(
    body: ImmutabilityIn, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> PolicyRef:
    return PolicyRef(uuid=(await _create(ctx, user_scope(caller), body, caller)).uuid)


@router.get("/user/immutabilitypolicy/{policy_uuid}", response_model=ImmutabilityOut, summary="One")
async def get_user_immutability(
    policy_uuid: PolicyUuid, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> ImmutabilityOut:
    return imm_out(await ctx.policies.get_immutability(user_scope(caller), policy_uuid))


@router.put(
    "/user/immutabilitypolicy/{policy_uuid}", status_code=204, response_class=Response, summary="Change it"
)
async def update_user_immutability(
    policy_uuid: PolicyUuid,
    body: ImmutabilityIn,
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    await _update(ctx, user_scope(caller), policy_uuid, body, caller)
    return Response(status_code=204)


@router.delete("/user/immutabilitypolicy/{policy_uuid}", response_model=PolicyRef, summary="Lift it")
async def delete_user_immutability(
    policy_uuid: PolicyUuid, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> PolicyRef:
    await ctx.policies.delete_immutability(user_scope(caller), policy_uuid, caller.actor)
    return PolicyRef(uuid=policy_uuid)


# -- repository
@router.get(
    "/repository/{repo:path}/immutabilitypolicy/",
    response_model=ImmutabilityList,
    summary="A repository's rules",
)
async def list_repo_immutability(
    repo: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> ImmutabilityList:
    scope = await repo_scope(repo, caller, ctx)
    return ImmutabilityList(policies=[imm_out(p) for p in await ctx.policies.list_immutability(scope)])


@router.post(
    "/repository/{repo:path}/immutabilitypolicy/",
    response_model=PolicyRef,
    status_code=201,
    summary="Add one",
)
async def create_repo_immutability(
    repo: str,
    body: ImmutabilityIn,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await repo_scope(repo, caller, ctx)
    return PolicyRef(uuid=(await _create(ctx, scope, body, caller)).uuid)


@router.get(
    "/repository/{repo:path}/immutabilitypolicy/{policy_uuid}", response_model=ImmutabilityOut, summary="One"
)
async def get_repo_immutability(
    repo: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> ImmutabilityOut:
    scope = await repo_scope(repo, caller, ctx)
    return imm_out(await ctx.policies.get_immutability(scope, policy_uuid))


@router.put(
    "/repository/{repo:path}/immutabilitypolicy/{policy_uuid}",
    status_code=204,
    response_class=Response,
    summary="Change it",
)
async def update_repo_immutability(
    repo: str,
    policy_uuid: PolicyUuid,
    body: ImmutabilityIn,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    scope = await repo_scope(repo, caller, ctx)
    await _update(ctx, scope, policy_uuid, body, caller)
    return Response(status_code=204)


@router.delete(
    "/repository/{repo:path}/immutabilitypolicy/{policy_uuid}", response_model=PolicyRef, summary="Lift it"
)
async def delete_repo_immutability(
    repo: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await repo_scope(repo, caller, ctx)
    await ctx.policies.delete_immutability(scope, policy_uuid, caller.actor)
    return PolicyRef(uuid=policy_uuid)
