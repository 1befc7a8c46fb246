"""Application tokens of the signed-in user: /user/apptoken."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from moorage.api.auth import ApiCaller, get_ctx, signed_in_user
from moorage.api.context import ApiContext
from moorage.api.pagination import Page, paginate
from moorage.api.routes.schemas import Deleted, NotBlank
from moorage.domain.errors import Forbidden
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
    token_code: str | None = Field(None, description="the secret; shown only once, right after creation")


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
        token_code=t.token,
    )


def _user_id(caller: ApiCaller) -> int:
    if caller.principal.via == "oauth":
        raise Forbidden("OAuth tokens cannot manage application tokens")
    assert caller.principal.id is not None
    return caller.principal.id


@router.get("/user/apptoken", response_model=AppTokenList, summary="The caller's application tokens")
async def list_tokens(
    page: Page = Depends(), caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> AppTokenList:
    tokens, nxt = paginate(await ctx.app_tokens.list(_user_id(caller)), page, lambda t: t.uuid)
    return AppTokenList(tokens=[_out(t) for t in tokens], next_page=nxt)


@router.post(
    "/user/apptoken",
    response_model=AppTokenOut,
    status_code=201,
    summary="Create an application token (its secret is shown once)",
)
async def create_token(
    body: AppTokenIn, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> AppTokenOut:
    t = await ctx.app_tokens.create(
        _user_id(caller), body.title, expires_at=body.expiration, actor=caller.actor
    )
    return _out(t)


@router.get("/user/apptoken/{token_uuid}", response_model=AppTokenOut, summary="One application token")
async def get_token(
    token_uuid: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> AppTokenOut:
    return _out(await ctx.app_tokens.get(_user_id(caller), token_uuid))


@router.delete("/user/apptoken/{token_uuid}", response_model=Deleted, summary="Revoke an application token")
async def revoke_token(
    token_uuid: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await ctx.app_tokens.revoke(_user_id(caller), token_uuid, caller.actor)
    return Deleted()
