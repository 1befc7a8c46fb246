"""Throttling of credential guessing, per account and per client address.

After ``delay_after`` failures inside the window, each further attempt is answered only after a
growing delay (0.5 s, 1 s, 2 s ... up to ``max_delay``); after ``lock_after`` failures the key is
locked for ``lock_seconds`` and every attempt is refused, even with the right password, so a
locked account cannot be used as an oracle. State is in the database, so every worker and node
sees it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from moorage.db.engine import Database
from moorage.db.models import LoginThrottle
from moorage.domain.errors import Throttled


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Per-account limits, and looser per-address ones: many users may share one address (a NAT,
    a CI runner), so one misconfigured job must not lock everybody else out quickly."""

    delay_after: int = 3
    lock_after: int = 10
    window_seconds: int = 900
    lock_seconds: int = 900
    max_delay: float = 5.0
    ip_delay_after: int = 20
    ip_lock_after: int = 100

    def limits(self, key: str) -> tuple[int, int]:
        if key.startswith("ip:"):
            return self.ip_delay_after, self.ip_lock_after
        return self.delay_after, self.lock_after


@dataclass(frozen=True, slots=True)
class LockInfo:
    key: str
    failures: int
    locked_until: datetime | None


def _aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class LoginThrottler:
    def __init__(self, db: Database, policy: ThrottlePolicy) -> None:
        self.db = db
        self.policy = policy

    @staticmethod
    def keys(username: str | None, ip: str | None, client: str | None = None) -> list[str]:
        """The counters an attempt touches: the account (or OAuth client, whose secret is guessed at
        the token endpoint) with the per-account limits, and the address with the looser ones."""
        out = []
        if username:
            out.append(f"user:{username}")
        if client:
            out.append(f"client:{client}")
        if ip:
            out.append(f"ip:{ip}")
        return out

    async def before_attempt(
        self, username: str | None, ip: str | None, *, client: str | None = None
    ) -> None:
        """Raise Throttled when locked; otherwise wait the delay that recent failures call for."""
        keys = self.keys(username, ip, client)
        if not keys:
            return
        now = datetime.now(UTC)
        async with self.db.read() as s:
            rows = (await s.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))).scalars().all()
        excess = -1
        for r in rows:
            until = _aware(r.locked_until)
            if until is not None and until > now:
                seconds = int((until - now).total_seconds()) + 1
                raise Throttled(f"too many failed logins; try again in {seconds} s")
            start = _aware(r.window_start) or now
            if start > now - timedelta(seconds=self.policy.window_seconds):
                delay_after, _ = self.policy.limits(r.key)
                excess = max(excess, r.failures - delay_after)
        if excess >= 0:
            await asyncio.sleep(min(self.policy.max_delay, 0.5 * 2**excess))

    async def failed(self, username: str | None, ip: str | None, *, client: str | None = None) -> bool:
        """Count a failure; True when it locked the account or address."""
        now = datetime.now(UTC)
        locked = False
        window = timedelta(seconds=self.policy.window_seconds)
        async with self.db.write() as s:
            for key in self.keys(username, ip, client):
                r = await s.get(LoginThrottle, key)
                if r is None:
                    r = LoginThrottle(key=key, failures=0, window_start=now)
                    s.add(r)
                start = _aware(r.window_start) or now
                if start <= now - window:
                    r.failures, r.window_start = 0, now
                r.failures += 1
                if r.failures >= self.policy.limits(key)[1]:
                    r.locked_until = now + timedelta(seconds=self.policy.lock_seconds)
                    r.failures, r.window_start = 0, now
                    locked = True
        return locked

    async def succeeded(self, username: str | None, *, client: str | None = None) -> None:
        """Forget the account's (or client's) failures; the address keeps its count."""
        key = f"user:{username}" if username else f"client:{client}" if client else None
        if key is None:
            return
        async with self.db.read() as s:
            present = await s.get(LoginThrottle, key)
        if present is not None:
            async with self.db.write() as s:
                await s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))

    async def locked(self) -> list[LockInfo]:
        now = datetime.now(UTC)
        async with self.db.read() as s:
            rows = (
                await s.execute(select(LoginThrottle).where(LoginThrottle.locked_until.is_not(None)))
            ).scalars()
            return [
                LockInfo(r.key, r.failures, _aware(r.locked_until))
                for r in rows
                if (_aware(r.locked_until) or now) > now
            ]

    async def unlock(self, key: str) -> bool:
        async with self.db.write() as s:
            res = await s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
            return bool(res.rowcount)  # type: ignore[attr-defined]
