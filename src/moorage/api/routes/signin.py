"""Password sign-in for API clients, as Quay offers it: ``GET /csrf_token`` (served by the UI app)
then ``POST /api/v1/signin`` with the token in ``X-CSRF-Token``. Success starts the same session
the web UI's sign-in form starts (moorage.identity.sessions), so later /api/v1 requests carry its
cookie; the login goes through Credentials.verify and is throttled like every other login."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from moorage.api.auth import get_ctx
from moorage.api.context import ApiContext
from moorage.api.errors import also, problem
from moorage.domain.errors import Forbidden
from moorage.identity.sessions import CSRF_HEADER, same_token

router = APIRouter(tags=["sign-in"])


class SigninIn(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)
    invite_code: str | None = Field(None, max_length=255, description="accepted and ignored (Quay)")


class SigninOut(BaseModel):
    success: bool = True


@router.post(
    "/signin",
    response_model=SigninOut,
    summary="Sign in with a username and password (Quay); sets the session cookie",
    responses=also(
        (403, "missing or wrong X-CSRF-Token, or wrong username or password (`invalidCredentials`)")
    ),
)
async def signin(
    body: SigninIn, request: Request, response: Response, ctx: ApiContext = Depends(get_ctx)
) -> SigninOut | JSONResponse:
    # the session layer put the expected token here: the signed-out visitor's CSRF cookie (set by
    # GET /csrf_token) or, for a caller already signed in, the session's own token
    if not same_token(request.headers.get(CSRF_HEADER), getattr(request.state, "csrf_token", "")):
        raise Forbidden("missing or wrong X-CSRF-Token header: send the token GET /csrf_token answers")
    ip = request.client.host if request.client else None
    principal = await ctx.credentials.verify(body.username, body.password, ip, where="api")
    if principal is None or principal.is_robot or principal.via != "password" or principal.id is None:
        # robots and tokens are for programs; a person signs in with their password (as in the UI)
        return problem(
            403,
            "Forbidden",
            "wrong username or password",
            invalidCredentials=True,
            needsEmailVerification=False,
        )
    new = await ctx.sessions.create(principal.id, ip, request.headers.get("user-agent"))
    response.set_cookie(**ctx.sessions.cookie(new, secure=ctx.secure_cookies))
    return SigninOut()
