"""Application tokens of the signed-in user: /user/apptoken."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from moorage.api.auth import ApiCaller, get_ctx, user_admin
from moorage.api.context import ApiContext
from moorage.api.pagination import Page, paginate
from moorage.api.routes.schemas import Deleted, NotBlank
from moorage.identity.apptokens import AppTokenInfo

router = APIRouter(tags=["application tokens"])


class AppTokenIn(BaseModel):
    title: str = Field(min_length=1, max_length=255, pattern=NotBlank)
    expiration: datetime | None = None


class AppTokenOut(BaseModel):
    uuid: str
    title: str
    created: datetime
    expiration: datetime | None
    last_accessed: datetime | None
    token_prefix: str


class NewAppTokenOut(AppTokenOut):
    token_code: str = Field(description="the secret; shown only once, in the answer that created it")


class AppTokenEnvelope(BaseModel):
    """Quay's shape for one token: ``{"token": {...}}`` (without ``token_code``: see NewAppToken)."""

    token: AppTokenOut


class NewAppTokenEnvelope(BaseModel):
    """The answer to creating a token: ``{"token": {..., "token_code"}}``, the only one with the secret."""

    token: NewAppTokenOut


class AppTokenList(BaseModel):
    tokens: list[AppTokenOut]
    next_page: str | None = None


def _out(t: AppTokenInfo) -> AppTokenOut:
    return AppTokenOut(
        uuid=t.uuid,
        title=t.title,
        created=t.created_at,
        expiration=t.expires_at,
        last_accessed=t.last_used_at,
        token_prefix=t.token_prefix,
    )


def _user_id(caller: ApiCaller) -> int:
    """The account whose tokens these are (``user_admin``: OAuth tokens need the user:admin scope,
    as in Quay)."""
    assert caller.principal.id is not None
    return caller.principal.id


@router.get("/user/apptoken", response_model=AppTokenList, summary="The caller's application tokens")
async def list_tokens(
    page: Page = Depends(), caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> AppTokenList:
    tokens, nxt = paginate(await ctx.app_tokens.list(_user_id(caller)), page, lambda t: t.uuid)
    return AppTokenList(tokens=[_out(t) for t in tokens], next_page=nxt)


@router.post(
    "/user/apptoken",
    response_model=NewAppTokenEnvelope,
    status_code=201,
    summary="Create an application token (its secret is shown once)",
)
async def create_token(
    body: AppTokenIn, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> NewAppTokenEnvelope:
    t = await ctx.app_tokens.create(
        _user_id(caller), body.title, expires_at=body.expiration, actor=caller.actor
    )
    assert t.token is not None  # a new token carries its secret, once
    return NewAppTokenEnvelope(token=NewAppTokenOut(**_out(t).model_dump(), token_code=t.token))


@router.get(
    "/user/apptoken/{token_uuid}",
    response_model=AppTokenEnvelope,
    summary="One application token (its secret is never shown again)",
)
async def get_token(
    token_uuid: str, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> AppTokenEnvelope:
    return AppTokenEnvelope(token=_out(await ctx.app_tokens.get(_user_id(caller), token_uuid)))


@router.delete("/user/apptoken/{token_uuid}", response_model=Deleted, summary="Revoke an application token")
async def revoke_token(
    token_uuid: str, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await ctx.app_tokens.revoke(_user_id(caller), token_uuid, caller.actor)
    return Deleted()
