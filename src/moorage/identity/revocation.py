"""Is a registry token still good? Credential generations, checked on every use.

Every account (user, robot) holds a *credential generation*: a number that starts at a random value
and moves on a password change, disabling and re-enabling (users) or a token regeneration (robots).
Every token carries the account's id and the generation it was issued under, never only the name:
registry bearer and refresh tokens in their claims, sessions, application and OAuth tokens in their
rows. A token whose generation is no longer the account's is refused, and so is one whose account
is gone, even when a new account of the same name (or, on SQLite, the same reused id) exists.

Bearer tokens issued through an application or OAuth token also name that credential (``app:ID``,
``oauth:ID``) and die with it (revoked, expired, application deleted).

This is the revocation list of the registry's bearer tokens, kept per account instead of per token
id: one number per account revokes every token issued before it moved. The state is cached per
process against the ACL generation (``registry.cache.ACL_SLOT``), which every revocation bumps, so
a request checks it without a database query unless something changed. Without the shared
generation table (several nodes on PostgreSQL) the cache is off and the state is read every time.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from moorage.db.engine import Database
from moorage.db.models import AppToken, OAuthToken, Robot, User
from moorage.identity.tokens import AccountRef, TokenClaims
from moorage.registry.cache import ACL_SLOT, ReadCache

_ACL = (ACL_SLOT,)


def initial_generation() -> int:
    """A random starting generation: an account re-created under a reused id (SQLite reuses the
    highest rowid) never matches the tokens of the account that had it before."""
    return secrets.randbelow(1 << 62) + 1


def epoch(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True, slots=True)
class LiveState:
    """An account or credential that exists and is enabled: its generation and expiry."""

    generation: int
    expires_at: float | None

    def good_for(self, generation: int | None, now: float) -> bool:
        if generation is not None and generation != self.generation:
            return False
        return self.expires_at is None or self.expires_at > now


class Revocations:
    def __init__(self, db: Database, cache: ReadCache) -> None:
        self.db = db
        self.cache = cache

    async def account(self, ref: AccountRef) -> LiveState | None:
        """The current state of a user or robot (None: gone or disabled)."""
        key = ("account-state", ref.kind, ref.id)
        hit = self.cache.get_multi(_ACL, key)
        if not ReadCache.is_miss(hit):
            return hit  # type: ignore[no-any-return]
        gens = self.cache.generations_of(_ACL)
        state: LiveState | None = None
        async with self.db.read() as s:
            if ref.kind == "robot":
                row = (
                    await s.execute(
                        select(Robot.credential_generation, Robot.expires_at).where(Robot.id == ref.id)
                    )
                ).first()
                if row is not None:
                    state = LiveState(int(row[0]), epoch(row[1]))
            elif ref.kind == "user":
                user = (
                    await s.execute(select(User.credential_generation, User.enabled).where(User.id == ref.id))
                ).first()
                if user is not None and user[1]:
                    state = LiveState(int(user[0]), None)
        self.cache.put_multi(_ACL, key, gens, state)
        return state

    async def credential(self, ref: str) -> LiveState | None:
        """The state of an application or OAuth token (``app:ID``, ``oauth:ID``); None when it was
        revoked or deleted. Its generation is the owner's generation it was issued under."""
        key = ("credential-state", ref)
        hit = self.cache.get_multi(_ACL, key)
        if not ReadCache.is_miss(hit):
            return hit  # type: ignore[no-any-return]
        gens = self.cache.generations_of(_ACL)
        kind, _, raw_id = ref.partition(":")
        state: LiveState | None = None
        if raw_id.isdigit() and kind in ("app", "oauth"):
            model = AppToken if kind == "app" else OAuthToken
            async with self.db.read() as s:
                row = (
                    await s.execute(
                        select(model.credential_generation, model.expires_at).where(
                            model.id == int(raw_id), model.revoked_at.is_(None)
                        )
                    )
                ).first()
            if row is not None:
                state = LiveState(int(row[0]), epoch(row[1]))
        self.cache.put_multi(_ACL, key, gens, state)
        return state

    async def still_valid(self, claims: TokenClaims) -> bool:
        """Whether the account (and credential) a token was issued for still stand as they did."""
        if claims.account is None:
            return not claims.subject  # anonymous tokens name nobody; a named one without id is stale
        now = time.time()
        state = await self.account(claims.account)
        if state is None or not state.good_for(claims.account.generation, now):
            return False
        if claims.credential is not None:
            cred = await self.credential(claims.credential)
            # the credential was issued under the owner's generation of that time
            if cred is None or not cred.good_for(claims.account.generation, now):
                return False
        return True
