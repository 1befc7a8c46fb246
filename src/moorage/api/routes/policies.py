"""Auto-prune policies and immutability rules in Quay's shapes.

``/organization/{org}/autoprunepolicy/``, ``/user/autoprunepolicy/``,
``/repository/{repo}/autoprunepolicy/`` and the same three under ``immutabilitypolicy/`` (Quay
has no user immutability policies: an addition). Lists answer ``{"policies": [...]}``; create
answers 201 ``{"uuid": ...}``, update 204, delete 200 ``{"uuid": ...}`` as in Quay. Each auto-prune
policy also has ``.../{uuid}/preview`` (an addition: the tags it would remove now).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from moorage.api.access import require_org_role, require_repo_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, signed_in_user, user_admin
from moorage.api.context import ApiContext
from moorage.domain.pruning import MAX_NUMBER_OF_TAGS
from moorage.registry.autoprune import PruneCandidate
from moorage.registry.policies import AutoPruneInfo, ImmutabilityInfo, Scope

router = APIRouter(tags=["auto-prune and immutability policies"])

PolicyUuid = Annotated[str, Path(max_length=36, description="the uuid of the policy")]


class AutoPruneIn(BaseModel):
    method: Literal["number_of_tags", "creation_date"] = Field(
        description="number_of_tags (keep the newest N) or creation_date (remove tags older than value)"
    )
    value: StrictInt | StrictStr = Field(
        description=f"number_of_tags: N, 1 to {MAX_NUMBER_OF_TAGS}; creation_date: a duration <N><unit>, "
        "unit s, m, h, d or w (7d, 2w), at most ten years"
    )
    tagPattern: StrictStr | None = Field(  # noqa: N815 - Quay's field name
        None,
        max_length=256,
        description="a regular expression searched in tag names (refused when it could backtrack "
        "catastrophically); none: every tag",
    )
    tagPatternMatches: StrictBool = Field(  # noqa: N815
        True, description="true: the tags the pattern is found in; false: the others"
    )


class AutoPruneOut(BaseModel):
    uuid: str
    method: str
    value: int | str
    tagPattern: str | None  # noqa: N815
    tagPatternMatches: bool  # noqa: N815


class ImmutabilityIn(BaseModel):
    tagPattern: StrictStr = Field(  # noqa: N815
        min_length=1, max_length=256, description="a regular expression searched in tag names"
    )
    tagPatternMatches: StrictBool = Field(  # noqa: N815
        True, description="true: matching tags are immutable; false: the others are"
    )


class ImmutabilityOut(BaseModel):
    uuid: str
    tagPattern: str  # noqa: N815
    tagPatternMatches: bool  # noqa: N815


class AutoPruneList(BaseModel):
    policies: list[AutoPruneOut]


class ImmutabilityList(BaseModel):
    policies: list[ImmutabilityOut]


class PolicyRef(BaseModel):
    uuid: str


class PreviewTag(BaseModel):
    repository: str
    name: str
    manifest_digest: str
    start_ts: datetime = Field(description="when the tag was pushed (its current row started)")
    policy: str = Field(description="the policy that selects it")


class Preview(BaseModel):
    uuid: str
    tags: list[PreviewTag] = Field(description="the tags this policy would remove now, oldest first")


def _prune_out(p: AutoPruneInfo) -> AutoPruneOut:
    return AutoPruneOut(
        uuid=p.uuid,
        method=p.method,
        value=p.value_json,
        tagPattern=p.tag_pattern,
        tagPatternMatches=p.tag_pattern_matches,
    )


def imm_out(p: ImmutabilityInfo) -> ImmutabilityOut:
    return ImmutabilityOut(uuid=p.uuid, tagPattern=p.tag_pattern, tagPatternMatches=p.tag_pattern_matches)


def _preview(policy_uuid: str, rows: list[PruneCandidate]) -> Preview:
    return Preview(
        uuid=policy_uuid,
        tags=[
            PreviewTag(
                repository=c.repository,
                name=c.tag,
                manifest_digest=c.manifest_digest,
                start_ts=c.pushed_at,
                policy=c.policy,
            )
            for c in rows
        ],
    )


# -- who may manage the policies of a scope ------------------------------------------------------


async def org_scope(org: str, caller: ApiCaller, ctx: ApiContext) -> Scope:
    await require_org_role(ctx, caller, org, "admin")
    return Scope(org)


async def repo_scope(repo: str, caller: ApiCaller, ctx: ApiContext) -> Scope:
    await require_repo_role(ctx, caller, repo, "admin")
    return Scope(repo.split("/", 1)[0], repo)


def user_scope(caller: ApiCaller) -> Scope:
    assert caller.principal.name is not None
    return Scope(caller.principal.name)


# -- auto-prune: organization ----------------------------------------------------------------------


@router.get(
    "/organization/{org}/autoprunepolicy/", response_model=AutoPruneList, summary="Auto-prune policies"
)
async def list_org_autoprune(
    org: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> AutoPruneList:
    scope = await org_scope(org, caller, ctx)
    return AutoPruneList(policies=[_prune_out(p) for p in await ctx.policies.list_autoprune(scope)])


@router.post(
    "/organization/{org}/autoprunepolicy/", response_model=PolicyRef, status_code=201, summary="Add one"
)
async def create_org_autoprune(
    org: str,
    body: AutoPruneIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await org_scope(org, caller, ctx)
    return PolicyRef(uuid=(await _create_prune(ctx, scope, body, caller)).uuid)


@router.get("/organization/{org}/autoprunepolicy/{policy_uuid}", response_model=AutoPruneOut, summary="One")
async def get_org_autoprune(
    org: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> AutoPruneOut:
    scope = await org_scope(org, caller, ctx)
    return _prune_out(await ctx.policies.get_autoprune(scope, policy_uuid))


@router.put(
    "/organization/{org}/autoprunepolicy/{policy_uuid}",
    status_code=204,
    response_class=Response,
    summary="Change it (204, as in Quay)",
)
async def update_org_autoprune(
    org: str,
    policy_uuid: PolicyUuid,
    body: AutoPruneIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    scope = await org_scope(org, caller, ctx)
    await _update_prune(ctx, scope, policy_uuid, body, caller)
    return Response(status_code=204)


@router.delete(
    "/organization/{org}/autoprunepolicy/{policy_uuid}", response_model=PolicyRef, summary="Remove it"
)
async def delete_org_autoprune(
    org: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await org_scope(org, caller, ctx)
    await ctx.policies.delete_autoprune(scope, policy_uuid, caller.actor)
    return PolicyRef(uuid=policy_uuid)


@router.get(
    "/organization/{org}/autoprunepolicy/{policy_uuid}/preview",
    response_model=Preview,
    summary="The tags this policy would remove now (dry run)",
)
async def preview_org_autoprune(
    org: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> Preview:
    scope = await org_scope(org, caller, ctx)
    return _preview(policy_uuid, await ctx.autoprune.preview_policy(scope, policy_uuid))


# -- auto-prune: the caller's own namespace ------------------------------------------------------


@router.get(
    "/user/autoprunepolicy/", response_model=AutoPruneList, summary="Your namespace's auto-prune policies"
)
async def list_user_autoprune(
    caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> AutoPruneList:
    return AutoPruneList(
        policies=[_prune_out(p) for p in await ctx.policies.list_autoprune(user_scope(caller))]
    )


@router.post("/user/autoprunepolicy/", response_model=PolicyRef, status_code=201, summary="Add one")
async def create_user_autoprune(
    body: AutoPruneIn, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> PolicyRef:
    return PolicyRef(uuid=(await _create_prune(ctx, user_scope(caller), body, caller)).uuid)


@router.get("/user/autoprunepolicy/{policy_uuid}", response_model=AutoPruneOut, summary="One")
async def get_user_autoprune(
    policy_uuid: PolicyUuid, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> AutoPruneOut:
    return _prune_out(await ctx.policies.get_autoprune(user_scope(caller), policy_uuid))


@router.put(
    "/user/autoprunepolicy/{policy_uuid}", status_code=204, response_class=Response, summary="Change it"
)
async def update_user_autoprune(
    policy_uuid: PolicyUuid,
    body: AutoPruneIn,
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    await _update_prune(ctx, user_scope(caller), policy_uuid, body, caller)
    return Response(status_code=204)


@router.delete("/user/autoprunepolicy/{policy_uuid}", response_model=PolicyRef, summary="Remove it")
async def delete_user_autoprune(
    policy_uuid: PolicyUuid, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> PolicyRef:
    await ctx.policies.delete_autoprune(user_scope(caller), policy_uuid, caller.actor)
    return PolicyRef(uuid=policy_uuid)


@router.get(
    "/user/autoprunepolicy/{policy_uuid}/preview", response_model=Preview, summary="What it would remove now"
)
async def preview_user_autoprune(
    policy_uuid: PolicyUuid, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> Preview:
    return _preview(policy_uuid, await ctx.autoprune.preview_policy(user_scope(caller), policy_uuid))


# -- auto-prune: repository ----------------------------------------------------------------------


@router.get(
    "/repository/{repo:path}/autoprunepolicy/",
    response_model=AutoPruneList,
    summary="A repository's policies",
)
async def list_repo_autoprune(
    repo: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> AutoPruneList:
    scope = await repo_scope(repo, caller, ctx)
    return AutoPruneList(policies=[_prune_out(p) for p in await ctx.policies.list_autoprune(scope)])


@router.post(
    "/repository/{repo:path}/autoprunepolicy/", response_model=PolicyRef, status_code=201, summary="Add one"
)
async def create_repo_autoprune(
    repo: str, body: AutoPruneIn, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> PolicyRef:
    scope = await repo_scope(repo, caller, ctx)
    return PolicyRef(uuid=(await _create_prune(ctx, scope, body, caller)).uuid)


@router.get(
    "/repository/{repo:path}/autoprunepolicy/{policy_uuid}/preview",
    response_model=Preview,
    summary="What it would remove now",
)
async def preview_repo_autoprune(
    repo: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> Preview:
    scope = await repo_scope(repo, caller, ctx)
    return _preview(policy_uuid, await ctx.autoprune.preview_policy(scope, policy_uuid))


@router.get(
    "/repository/{repo:path}/autoprunepolicy/{policy_uuid}", response_model=AutoPruneOut, summary="One"
)
async def get_repo_autoprune(
    repo: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> AutoPruneOut:
    scope = await repo_scope(repo, caller, ctx)
    return _prune_out(await ctx.policies.get_autoprune(scope, policy_uuid))


@router.put(
    "/repository/{repo:path}/autoprunepolicy/{policy_uuid}",
    status_code=204,
    response_class=Response,
    summary="Change it",
)
async def update_repo_autoprune(
    repo: str,
    policy_uuid: PolicyUuid,
    body: AutoPruneIn,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    scope = await repo_scope(repo, caller, ctx)
    await _update_prune(ctx, scope, policy_uuid, body, caller)
    return Response(status_code=204)


@router.delete(
    "/repository/{repo:path}/autoprunepolicy/{policy_uuid}", response_model=PolicyRef, summary="Remove it"
)
async def delete_repo_autoprune(
    repo: str,
    policy_uuid: PolicyUuid,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> PolicyRef:
    scope = await repo_scope(repo, caller, ctx)
    await ctx.policies.delete_autoprune(scope, policy_uuid, caller.actor)
    return PolicyRef(uuid=policy_uuid)


async def _create_prune(ctx: ApiContext, scope: Scope, body: AutoPruneIn, caller: ApiCaller) -> AutoPruneInfo:
    return await ctx.policies.create_autoprune(
        scope,
        method=body.method,
        value=body.value,
        tag_pattern=body.tagPattern,
        tag_pattern_matches=body.tagPatternMatches,
        actor=caller.actor,
    )


async def _update_prune(
    ctx: ApiContext, scope: Scope, policy_uuid: str, body: AutoPruneIn, caller: ApiCaller
) -> AutoPruneInfo:
    # only the keys sent change (method and value are required, as in Quay)
    sent = body.model_fields_set
    current = await ctx.policies.get_autoprune(scope, policy_uuid)
    return await ctx.policies.update_autoprune(
        scope,
        policy_uuid,
        method=body.method,
        value=body.value,
        tag_pattern=body.tagPattern if "tagPattern" in sent else current.tag_pattern,
        tag_pattern_matches=(
            body.tagPatternMatches if "tagPatternMatches" in sent else current.tag_pattern_matches
        ),
        actor=caller.actor,
    )
