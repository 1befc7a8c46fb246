"""OAuth 2 applications of an organization and their access tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from moorage.api.access import require_org_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, signed_in_user
from moorage.api.context import ApiContext
from moorage.api.pagination import Page, paginate
from moorage.api.partial import given
from moorage.api.routes.schemas import Deleted, NotBlank, Scope
from moorage.domain.clientcommands import ClientCommands
from moorage.domain.errors import Forbidden
from moorage.domain.unset import UNSET
from moorage.identity.oauth import ApplicationInfo, parse_scopes

router = APIRouter(tags=["applications"])


class ApplicationIn(BaseModel):
    name: str = Field(min_length=1, max_length=255, pattern=NotBlank)
    redirect_uri: str | None = Field(None, max_length=2048)
    application_uri: str | None = Field(None, max_length=2048)
    description: str | None = Field(None, max_length=4096)


class ApplicationUpdate(BaseModel):
    """Only the keys sent change (absent keys keep their value); null clears a URI or description."""

    name: str | None = Field(None, min_length=1, max_length=255, pattern=NotBlank)
    redirect_uri: str | None = Field(None, max_length=2048)
    application_uri: str | None = Field(None, max_length=2048)
    description: str | None = Field(None, max_length=4096)


class ApplicationOut(BaseModel):
    name: str
    client_id: str
    redirect_uri: str | None
    application_uri: str | None
    description: str | None
    created: datetime
    client_secret: str | None = Field(None, description="only when created or reset")


class ApplicationList(BaseModel):
    applications: list[ApplicationOut]
    next_page: str | None = None


class TokenRequest(BaseModel):
    scopes: list[Scope] = Field(min_length=1, description="what the token may do")
    expires_in_seconds: int | None = Field(None, ge=60, le=366 * 86400)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105
    scopes: list[str]
    docker_login: str


def _out(a: ApplicationInfo) -> ApplicationOut:
    return ApplicationOut(
        name=a.name,
        client_id=a.client_id,
        redirect_uri=a.redirect_uri,
        application_uri=a.application_uri,
        description=a.description,
        created=a.created_at,
        client_secret=a.client_secret,
    )


@router.get("/organization/{org}/applications", response_model=ApplicationList, summary="OAuth applications")
async def list_apps(
    org: str,
    page: Page = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> ApplicationList:
    await require_org_role(ctx, caller, org, "admin")
    apps, nxt = paginate(await ctx.oauth.list(org), page, lambda a: a.client_id)
    return ApplicationList(applications=[_out(a) for a in apps], next_page=nxt)


@router.post(
    "/organization/{org}/applications",
    response_model=ApplicationOut,
    status_code=201,
    summary="Register an OAuth application (the client secret is in the answer)",
)
async def create_app(
    org: str,
    body: ApplicationIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> ApplicationOut:
    await require_org_role(ctx, caller, org, "admin")
    a = await ctx.oauth.create(
        org,
        body.name,
        redirect_uri=body.redirect_uri,
        application_uri=body.application_uri,
        description=body.description,
        actor=caller.actor,
    )
    return _out(a)


@router.get(
    "/organization/{org}/applications/{client_id}", response_model=ApplicationOut, summary="One application"
)
async def get_app(
    org: str, client_id: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> ApplicationOut:
    await require_org_role(ctx, caller, org, "admin")
    return _out(await ctx.oauth.get(org, client_id))


@router.put(
    "/organization/{org}/applications/{client_id}", response_model=ApplicationOut, summary="Change it"
)
async def update_app(
    org: str,
    client_id: str,
    body: ApplicationUpdate,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> ApplicationOut:
    await require_org_role(ctx, caller, org, "admin")
    a = await ctx.oauth.update(
        org,
        client_id,
        name=UNSET if body.name is None else body.name,
        redirect_uri=given(body, "redirect_uri", body.redirect_uri),
        application_uri=given(body, "application_uri", body.application_uri),
        description=given(body, "description", body.description),
        actor=caller.actor,
    )
    return _out(a)


@router.post(
    "/organization/{org}/applications/{client_id}/resetclientsecret",
    response_model=ApplicationOut,
    summary="Replace the client secret",
)
async def reset_secret(
    org: str, client_id: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> ApplicationOut:
    await require_org_role(ctx, caller, org, "admin")
    return _out(await ctx.oauth.reset_secret(org, client_id, caller.actor))


@router.delete("/organization/{org}/applications/{client_id}", response_model=Deleted, summary="Delete it")
async def delete_app(
    org: str, client_id: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await require_org_role(ctx, caller, org, "admin")
    await ctx.oauth.delete(org, client_id, caller.actor)
    return Deleted()


@router.post(
    "/organization/{org}/applications/{client_id}/token",
    response_model=TokenOut,
    status_code=201,
    summary="Authorize the application for the caller: an access token with the chosen scopes",
)
async def issue_token(
    org: str,
    client_id: str,
    body: TokenRequest,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> TokenOut:
    p = caller.principal
    if p.via == "oauth":
        raise Forbidden("an OAuth token cannot mint further OAuth tokens")
    scopes = parse_scopes(body.scopes)
    if "super:user" in scopes and not p.superuser:
        raise Forbidden("only superusers can grant the super:user scope")
    await ctx.oauth.get(org, client_id)  # the application must exist; any signed-in user may authorize it
    assert p.id is not None
    expires = timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
    token = await ctx.oauth.issue_token(
        org, client_id, user_id=p.id, scopes=scopes, expires_in=expires, actor=caller.actor
    )
    return TokenOut(
        access_token=token,
        scopes=sorted(scopes),
        docker_login=ClientCommands(ctx.base_url).login("docker", "$oauthtoken", token),
    )
