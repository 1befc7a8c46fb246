"""Authentication of /v2 requests and the Docker token endpoint (``/v2/auth``).

A request carries a bearer token (issued by ``/v2/auth``), Basic credentials, or nothing. Whether
credentials are valid is decided by ``identity.credentials.Credentials`` (passwords, application
tokens, OAuth tokens, robot tokens; throttled and audited). A successful Basic check is cached for
30 s (keyed by a hash of the pair), so clients that send Basic on every request do not pay argon2
each time; every revocation bumps the ACL generation, which ends cached logins at once, and the
credential's expiry is checked on every use, cache hits included.

Bearer tokens name the account by id and credential generation; ``identity.revocation`` refuses
them on every use once the account's generation moved (password change, disabling, deletion) or the
credential they were obtained with was revoked. Their grants were computed at issue time as the
intersection of the account's rights and the credential's OAuth scopes; the scopes travel in the
token and cap every use again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from moorage.authz import ANONYMOUS, Principal
from moorage.authz.evaluator import ALL_REPO_ACTIONS
from moorage.domain.actor import Actor
from moorage.domain.errors import Throttled
from moorage.domain.reference import is_valid_name
from moorage.domain.roles import ROLE_ACTIONS, scope_role_cap
from moorage.identity.tokens import AccessEntry, AccountRef, InvalidToken, TokenClaims
from moorage.protocol.context import RegistryContext
from moorage.protocol.errors import API_VERSION_HEADER, error_response
from moorage.registry.cache import ACL_SLOT

_BASIC_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated (or anonymous) caller; ``claims`` is set when a bearer token was used."""

    principal: Principal
    claims: TokenClaims | None = None
    credentials_given: bool = False
    ip: str | None = None

    @property
    def actor(self) -> Actor:
        p = self.principal
        return Actor(p.name or None, p.kind, self.ip, p.id)


class BadCredentials(Exception):
    pass


class LockedOut(Exception):
    pass


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


class Authenticator:
    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self._basic_cache: dict[bytes, tuple[Principal, float, int]] = {}

    def challenge(self, scope: str | None = None, error: str | None = None) -> dict[str, str]:
        value = f'Bearer realm="{self.ctx.base_url}/v2/auth",service="{self.ctx.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}

    async def basic(self, username: str, password: str, ip: str | None, where: str) -> Principal | None:
        """Verify a username/secret pair (cached briefly). Raises LockedOut while throttled."""
        key = hashlib.sha256(f"{username}\x00{password}".encode()).digest()
        hit = self._basic_cache.get(key)
        now = time.monotonic()
        # any account or credential change (disable, revoke, regenerate, password) bumps the ACL
        # generation, which ends every cached login at once
        acl = self.ctx.repositories.cache.generation(ACL_SLOT)
        cache = self.ctx.repositories.cache
        # expiry (robots, tokens) is checked on every use, cache hits included
        if (
            hit is not None
            and hit[1] > now
            and hit[2] == acl
            and cache.enabled
            and not hit[0].expired(time.time())
        ):
            return hit[0]
        try:
            principal = await self.ctx.credentials.verify(username, password, ip, where=where)
        except Throttled as exc:
            raise LockedOut(exc.detail) from exc
        if principal is None:
            return None
        # only while a revocation is sure to reach this cache (registry/cache.py: the generation
        # table is usable, and no credential change is in flight: an odd generation)
        if cache.enabled and acl % 2 == 0:
            if len(self._basic_cache) > 10_000:
                self._basic_cache.clear()
            self._basic_cache[key] = (principal, now + min(_BASIC_CACHE_SECONDS, cache.ttl), acl)
        return principal

    @staticmethod
    def principal_for_claims(claims: TokenClaims) -> Principal:
        """Access comes from the token's claims; the principal only names the subject."""
        if not claims.subject or claims.account is None:
            return ANONYMOUS
        account = claims.account
        return Principal(
            account.kind,
            claims.subject,
            account.id,
            scopes=claims.scopes,
            via="token",
            generation=account.generation,
            credential=claims.credential,
        )

    async def authenticate(self, request: Request) -> Caller:
        """Raise BadCredentials for wrong credentials; return anonymous when none were sent."""
        ip = client_ip(request)
        header = request.headers.get("authorization")
        if not header:
            return Caller(ANONYMOUS, ip=ip)
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            try:
                claims = self.ctx.tokens.verify(value.strip())
            except InvalidToken as exc:
                raise BadCredentials("invalid or expired token") from exc
            if claims.kind != "access":
                raise BadCredentials("not an access token")
            if not await self.ctx.revocations.still_valid(claims):
                raise BadCredentials("token revoked: the account or its credentials changed")
            return Caller(self.principal_for_claims(claims), claims, True, ip)
        if scheme == "basic":
            username, password = decode_basic(value)
            principal = await self.basic(username, password, ip, "v2")
            if principal is None:
                raise BadCredentials("invalid username/password")
            return Caller(principal, None, True, ip)
        raise BadCredentials("unsupported authorization scheme")

    async def repository_actions(self, caller: Caller, repository: str) -> frozenset[str]:
        if caller.claims is not None:
            granted = caller.claims.actions_for("repository", repository)
            actions = ALL_REPO_ACTIONS if "*" in granted else granted
            if caller.claims.scopes is not None:  # never more than the credential's scopes allow
                cap = scope_role_cap(caller.claims.scopes)
                actions = actions & ROLE_ACTIONS[cap] if cap is not None else frozenset()
            return actions
        return await self.ctx.authorizer.allowed(caller.principal, repository)


def decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadCredentials("malformed Basic credentials") from exc
    username, sep, password = decoded.partition(":")
    if not sep:
        raise BadCredentials("malformed Basic credentials")
    return username, password


# -- the token endpoint -------------------------------------------------------------------------


def parse_scope(scope: str) -> AccessEntry | None:
    """``repository:name:pull,push`` → AccessEntry; None when malformed (ignored, per the spec)."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    type_ = parts[0]
    name = ":".join(parts[1:-1])
    actions = tuple(a for a in parts[-1].split(",") if a)
    if type_ == "repository":
        if not is_valid_name(name):
            return None
    elif type_ != "registry":
        return None
    return AccessEntry(type_, name, actions)


async def grant(auth: Authenticator, principal: Principal, requested: list[AccessEntry]) -> list[AccessEntry]:
    """The intersection of what was asked and what the evaluator allows."""
    out: list[AccessEntry] = []
    for entry in requested:
        if entry.type == "repository":
            allowed = await auth.ctx.authorizer.allowed(principal, entry.name)
            actions = tuple(
                a for a in entry.actions if a in allowed or (a == "*" and allowed >= ALL_REPO_ACTIONS)
            )
        elif entry.type == "registry" and entry.name == "catalog":
            ok = auth.ctx.authorizer.may_list_catalog(principal)
            actions = tuple(a for a in entry.actions if a == "*" and ok)
        else:
            actions = ()
        out.append(AccessEntry(entry.type, entry.name, actions))
    return out


_MAX_FORM_BYTES = 64 * 1024


async def _read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the OAuth2 token request), size-limited."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            break
    try:
        pairs = parse_qsl(body[:_MAX_FORM_BYTES].decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return dict(pairs)


def _account_of(principal: Principal) -> AccountRef | None:
    """The account a token is bound to: its immutable id and current credential generation."""
    if principal.is_anonymous or principal.id is None or principal.generation is None:
        return None
    return AccountRef(principal.kind, principal.id, principal.generation)


def _token_error(message: str, status: int = 401) -> Response:
    code = {401: "UNAUTHORIZED", 429: "TOOMANYREQUESTS"}.get(status, "DENIED")
    return error_response(code, message, status=status)


async def token_endpoint(request: Request, auth: Authenticator) -> Response:
    """GET (Basic credentials or none) and POST (OAuth2 password / refresh_token grants)."""
    ctx = auth.ctx
    ip = client_ip(request)
    principal: Principal | None
    refresh_token: str | None = None
    try:
        if request.method == "POST":
            form = await _read_form(request)
            grant_type = form.get("grant_type", "")
            scopes = [s for s in form.get("scope", "").split(" ") if s]
            offline = form.get("access_type", "") == "offline"
            if grant_type == "password":
                principal = await auth.basic(form.get("username", ""), form.get("password", ""), ip, "token")
                if principal is None:
                    return _token_error("invalid username/password")
            elif grant_type == "refresh_token":
                try:
                    claims = ctx.tokens.verify(form.get("refresh_token", ""))
                except InvalidToken:
                    return _token_error("invalid refresh token")
                if claims.kind != "refresh":
                    return _token_error("invalid refresh token")
                # by the account's id and credential generation: a password change, disabling or
                # deleting the account (even re-creating one of the same name) ends the token
                principal = await ctx.credentials.resolve(claims.account)
                if principal is None:
                    return _token_error("account disabled or removed")
                refresh_token = form.get("refresh_token")
            else:
                return error_response("UNSUPPORTED", "unsupported grant_type", status=400)
        else:
            scopes = request.query_params.getlist("scope")
            offline = request.query_params.get("offline_token", "").lower() == "true"
            header = request.headers.get("authorization")
            if header:
                scheme, _, value = header.partition(" ")
                if scheme.lower() != "basic":
                    return _token_error("use Basic credentials with the token endpoint")
                try:
                    username, password = decode_basic(value)
                except BadCredentials:
                    return _token_error("malformed Basic credentials")
                principal = await auth.basic(username, password, ip, "token")
                if principal is None:
                    return _token_error("invalid username/password")
            else:
                principal = ANONYMOUS
    except LockedOut as exc:
        return _token_error(str(exc), 429)
    service = request.query_params.get("service") or ctx.service
    if service != ctx.service:
        return error_response("DENIED", f"unknown service {service[:100]!r}", status=400)
    requested = [e for e in (parse_scope(s) for s in scopes) if e is not None]
    granted = await grant(auth, principal, requested)
    account = _account_of(principal)
    token, expires_in, issued_at = ctx.tokens.issue(
        principal.name,
        granted,
        account=account,
        credential=principal.credential,
        scopes=principal.scopes,
        not_after=principal.expires_at,
    )
    body: dict[str, object] = {
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
        "issued_at": datetime.fromtimestamp(issued_at, UTC).isoformat().replace("+00:00", "Z"),
    }
    # refresh tokens only for password logins of users: they are re-checked on every refresh, and a
    # revoked application/OAuth/robot token must not live on inside one
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    elif offline and principal.kind == "user" and principal.via == "password" and account is not None:
        body["refresh_token"] = ctx.tokens.issue_refresh(principal.name, account)
    if request.method == "POST":
        body["scope"] = " ".join(f"{g.type}:{g.name}:{','.join(g.actions)}" for g in granted if g.actions)
        body["token_type"] = "Bearer"  # noqa: S105
    return Response(
        json.dumps(body),
        media_type="application/json",
        headers={**API_VERSION_HEADER, "Cache-Control": "no-store"},
    )
