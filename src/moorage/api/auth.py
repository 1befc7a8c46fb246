"""Who is calling the REST API: bearer (OAuth or application token), Basic, or the UI's session."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from dataclasses import dataclass

from fastapi import Depends, Request

from moorage.api.context import ApiContext
from moorage.domain.actor import Actor
from moorage.domain.errors import Forbidden, Unauthenticated
from moorage.domain.principal import ANONYMOUS, Principal
from moorage.registry.cache import ACL_SLOT

_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ApiCaller:
    principal: Principal
    ip: str | None

    @property
    def actor(self) -> Actor:
        p = self.principal
        return Actor(p.name or None, p.kind, self.ip, p.id)


def get_ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


class _BasicCache:
    def __init__(self) -> None:
        self.entries: dict[bytes, tuple[Principal, float, int]] = {}


async def current_caller(request: Request, ctx: ApiContext = Depends(get_ctx)) -> ApiCaller:
    ip = request.client.host if request.client else None
    session_principal = getattr(request.state, "principal", None)
    if isinstance(session_principal, Principal):
        return ApiCaller(session_principal, ip)
    header = request.headers.get("authorization")
    if not header:
        return ApiCaller(ANONYMOUS, ip)
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer":
        grant = await ctx.oauth.authenticate(value)
        if grant is not None:
            return ApiCaller(
                Principal("user", grant.username, grant.user_id, grant.superuser, grant.scopes, via="oauth"),
                ip,
            )
        owner = await ctx.app_tokens.authenticate(value)
        if owner is not None:
            return ApiCaller(
                Principal("user", owner.username, owner.user_id, owner.superuser, via="app_token"), ip
            )
        raise Unauthenticated("invalid or expired token")
    if scheme == "basic":
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed Basic credentials") from None
        cache: _BasicCache = request.app.state.basic_cache
        key = hashlib.sha256(f"{username}\x00{password}".encode()).digest()
        hit = cache.entries.get(key)
        acl = ctx.repositories.cache.generation(ACL_SLOT)  # credential changes end cached logins
        # expiry (robots, tokens) is checked on every use, cache hits included
        if (
            hit is not None
            and hit[1] > time.monotonic()
            and hit[2] == acl
            and ctx.repositories.cache.enabled
            and not hit[0].expired(time.time())
        ):
            return ApiCaller(hit[0], ip)
        principal = await ctx.credentials.verify(username, password, ip, where="api")
        if principal is None:
            raise Unauthenticated("invalid username or password")
        if ctx.repositories.cache.enabled and acl % 2 == 0:  # as in protocol/auth.py
            if len(cache.entries) > 10_000:
                cache.entries.clear()
            ttl = min(_CACHE_SECONDS, ctx.repositories.cache.ttl)
            cache.entries[key] = (principal, time.monotonic() + ttl, acl)
        return ApiCaller(principal, ip)
    raise Unauthenticated("unsupported authorization scheme; use Bearer or Basic")


async def signed_in(caller: ApiCaller = Depends(current_caller)) -> ApiCaller:
    if caller.principal.is_anonymous:
        raise Unauthenticated("sign in first: Basic credentials or a bearer token")
    return caller


async def signed_in_user(caller: ApiCaller = Depends(signed_in)) -> ApiCaller:
    """A user (not a robot): account, organization and token management."""
    if caller.principal.is_robot:
        raise Forbidden("robot accounts cannot use this endpoint")
    return caller


async def user_admin(caller: ApiCaller = Depends(signed_in_user)) -> ApiCaller:
    """The caller's own account settings (robots, logs): OAuth tokens need the user:admin scope."""
    require_scope(caller, "user:admin")
    return caller


async def superuser(caller: ApiCaller = Depends(signed_in_user)) -> ApiCaller:
    if not (caller.principal.superuser and caller.principal.has_scope("super:user")):
        raise Forbidden("only superusers may do this")
    return caller


def require_scope(caller: ApiCaller, scope: str) -> None:
    if not caller.principal.has_scope(scope):
        raise Forbidden(f"this token lacks the {scope} scope")
