"""Registry bearer tokens (Docker token specification): short-lived ES256 JWTs with ``access`` claims.

Verified tokens are cached until they expire, so the /v2 hot path verifies a signature once per token.
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
class TokenClaims:
    subject: str
    access: tuple[AccessEntry, ...]
    expires_at: float
    kind: str  # "access" | "refresh"

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

    def issue(self, subject: str, access: list[AccessEntry]) -> tuple[str, int, int]:
        """A signed access token; returns (token, expires_in seconds, issued_at epoch)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.ttl,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_urlsafe(12),
            "access": [{"type": a.type, "name": a.name, "actions": list(a.actions)} for a in access],
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._kid})
        return token, self.ttl, now

    def issue_refresh(self, subject: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.refresh_ttl,
            "iat": now,
            "typ": "refresh",
            "jti": secrets.token_urlsafe(12),
        }
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
        claims = TokenClaims(str(raw["sub"]), access, float(raw["exp"]), str(raw.get("typ", "access")))
        if len(self._cache) > 50_000:
            self._prune(now)
        self._cache[token] = claims
        return claims

    def _prune(self, now: float) -> None:
        for tok in [t for t, c in self._cache.items() if c.expires_at <= now]:
            del self._cache[tok]
        if len(self._cache) > 50_000:
            self._cache.clear()
