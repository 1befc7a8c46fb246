"""Registry bearer tokens (Docker token specification): short-lived ES256 JWTs with ``access`` claims.

Verified tokens are cached until they expire, so the /v2 hot path verifies a signature once per token.

Besides the name of the account (``sub``, for logs and clients), a token names the account by its
immutable id and the credential generation it was issued under (``act``: kind, id, generation),
the application or OAuth token it was obtained with (``crd``) and that credential's scopes
(``scp``); ``identity.revocation`` checks them on every use.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from moorage.identity.keys import key_id

ISSUER = "moorage"


@dataclass(frozen=True, slots=True)
class AccessEntry:
    type: str
    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account by immutable id, with the credential generation a token was issued under."""

    kind: str  # user | robot
    id: int
    generation: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    access: tuple[AccessEntry, ...]
    expires_at: float
    kind: str  # "access" | "refresh"
    account: AccountRef | None = None  # None: anonymous (or a token of an older format)
    credential: str | None = None  # app:ID | oauth:ID when obtained with such a token
    scopes: frozenset[str] | None = None  # the OAuth scopes of that credential

    def actions_for(self, type_: str, name: str) -> frozenset[str]:
        out: set[str] = set()
        for entry in self.access:
            if entry.type == type_ and entry.name == name:
                out.update(entry.actions)
        return frozenset(out)


class InvalidToken(Exception):
    pass


class TokenService:
    def __init__(self, key: ec.EllipticCurvePrivateKey, service: str, ttl: int, refresh_ttl: int) -> None:
        self._key = key
        self._public = key.public_key()
        self._kid = key_id(key)
        self.service = service
        self.ttl = ttl
        self.refresh_ttl = refresh_ttl
        self._cache: dict[str, TokenClaims] = {}

    def issue(
        self,
        subject: str,
        access: list[AccessEntry],
        *,
        account: AccountRef | None = None,
        credential: str | None = None,
        scopes: frozenset[str] | None = None,
        not_after: float | None = None,
    ) -> tuple[str, int, int]:
        """A signed access token; returns (token, expires_in seconds, issued_at epoch).

        ``not_after`` (epoch) caps the lifetime at the expiry of the credential it was obtained with."""
        now = int(time.time())
        ttl = self.ttl
        if not_after is not None:
            ttl = max(1, min(ttl, int(not_after) - now))
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "aud": self.service,
            "exp": now + ttl,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_urlsafe(12),
            "access": [{"type": a.type, "name": a.name, "actions": list(a.actions)} for a in access],
        }
        _bind(claims, account, credential, scopes)
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._kid})
        return token, ttl, now

    def issue_refresh(self, subject: str, account: AccountRef | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.refresh_ttl,
            "iat": now,
            "typ": "refresh",
            "jti": secrets.token_urlsafe(12),
        }
        _bind(claims, account, None, None)
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._kid})

    def verify(self, token: str) -> TokenClaims:
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > now:
                return cached
            del self._cache[token]
        try:
            raw = jwt.decode(
                token,
                self._public,
                algorithms=["ES256"],
                audience=self.service,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        access = tuple(
            AccessEntry(str(a.get("type")), str(a.get("name")), tuple(str(x) for x in a.get("actions", [])))
            for a in raw.get("access", [])
            if isinstance(a, dict)
        )
        claims = TokenClaims(
            str(raw["sub"]),
            access,
            float(raw["exp"]),
            str(raw.get("typ", "access")),
            _account(raw.get("act")),
            str(raw["crd"]) if isinstance(raw.get("crd"), str) else None,
            _scopes(raw.get("scp")),
        )
        if len(self._cache) > 50_000:
            self._prune(now)
        self._cache[token] = claims
        return claims

    def _prune(self, now: float) -> None:
        for tok in [t for t, c in self._cache.items() if c.expires_at <= now]:
            del self._cache[tok]
        if len(self._cache) > 50_000:
            self._cache.clear()


def _bind(
    claims: dict[str, Any], account: AccountRef | None, credential: str | None, scopes: frozenset[str] | None
) -> None:
    if account is not None:
        claims["act"] = {"kind": account.kind, "id": account.id, "gen": account.generation}
    if credential is not None:
        claims["crd"] = credential
    if scopes is not None:
        claims["scp"] = sorted(scopes)


def _account(raw: object) -> AccountRef | None:
    if not isinstance(raw, dict):
        return None
    kind, id_, gen = raw.get("kind"), raw.get("id"), raw.get("gen")
    if kind not in ("user", "robot") or not isinstance(id_, int) or not isinstance(gen, int):
        return None
    return AccountRef(kind, id_, gen)


def _scopes(raw: object) -> frozenset[str] | None:
    if not isinstance(raw, list):
        return None
    return frozenset(str(x) for x in raw)
