"""Browser sessions of the web UI and invitations to create an account.

A session is a random 43-character secret in an HttpOnly cookie; the database keeps only its
SHA-256, the user, a per-session CSRF token, the expiry and the user's credential generation at
sign-in. Signing out deletes the row; disabling a user, deleting them or changing their password
(by any route: UI, API, CLI) moves the generation and so ends their sessions. Sessions expire after
``idle_seconds`` without a request and in any case after ``lifetime_seconds``.

The cookie's name and attributes and the CSRF rule's names live here too, for the two edges that
start sessions: the UI's sign-in form and the REST API's ``POST /api/v1/signin`` (Quay's).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Invitation, UiSession, User
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound
from moorage.domain.principal import Principal
from moorage.identity.secretbox import token_hash

_SEEN_RESOLUTION = timedelta(minutes=5)  # last_seen_at (the idle clock) is refreshed at most this often

SESSION_COOKIE = "moorage_session"
CSRF_COOKIE = "moorage_csrf"  # signed-out visitors' double-submit token
CSRF_HEADER = "x-csrf-token"


MASKED = "m."


def mask_token(token: str) -> str:
    """The CSRF token as a page carries it: XORed with a fresh random pad, so its bytes differ on
    every page. Pages are sent compressed; a secret that repeats byte for byte beside reflected
    input would leak through the compressed length (BREACH)."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    masked = bytes(p ^ r for p, r in zip(pad, raw, strict=True))
    return MASKED + base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")


def _unmask(sent: str) -> str:
    if not sent.startswith(MASKED):
        return sent
    body = sent[len(MASKED) :]
    try:
        both = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        return ""
    half = len(both) // 2
    if half == 0 or len(both) != 2 * half:
        return ""
    return bytes(p ^ m for p, m in zip(both[:half], both[half:], strict=True)).decode("latin-1")


def same_token(a: str | None, b: str | None) -> bool:
    """Whether a sent CSRF token (as issued, or masked by :func:`mask_token`) matches the expected
    one (both non-empty, constant time)."""
    if not a or not b:
        return False
    return secrets.compare_digest(
        _unmask(str(a)).encode("latin-1", "replace"), str(b).encode("latin-1", "replace")
    )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    principal: Principal
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InvitationInfo:
    id: int
    email: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    used_by: str | None
    token: str | None = None  # only right after creation


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Sessions:
    def __init__(self, db: Database, audit: AuditLog, *, idle_seconds: int, lifetime_seconds: int) -> None:
        self.db = db
        self.audit = audit
        self.idle = timedelta(seconds=idle_seconds)
        self.lifetime = timedelta(seconds=lifetime_seconds)

    async def create(self, user_id: int, ip: str | None, user_agent: str | None) -> NewSession:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + self.lifetime
        async with self.db.write() as s:
            generation = (
                await s.execute(select(User.credential_generation).where(User.id == user_id))
            ).scalar()
            if generation is None:
                raise NotFound("no such user")
            # sign-in is the natural moment to forget this user's expired sessions
            await s.execute(delete(UiSession).where(UiSession.user_id == user_id, UiSession.expires_at < now))
            s.add(
                UiSession(
                    token_hash=token_hash(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                    ip=(ip or "")[:64] or None,
                    user_agent=(user_agent or "")[:255] or None,
                    credential_generation=generation,
                )
            )
        return NewSession(token, csrf, expires)

    def cookie(self, new: NewSession, *, secure: bool) -> dict[str, Any]:
        """The ``set_cookie`` arguments of a new session's cookie (HttpOnly, SameSite=Lax)."""
        return {
            "key": SESSION_COOKIE,
            "value": new.token,
            "max_age": int(self.lifetime.total_seconds()),
            "httponly": True,
            "samesite": "lax",
            "secure": secure,
            "path": "/",
        }

    async def resolve(self, token: str) -> SessionInfo | None:
        """The signed-in user of a session cookie, or None (unknown, expired, idle, user disabled)."""
        if not token or len(token) > 128:
            return None
        h = token_hash(token)
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(
                        UiSession.id,
                        UiSession.csrf_token,
                        UiSession.expires_at,
                        UiSession.last_seen_at,
                        User.id.label("user_id"),
                        User.username,
                        User.superuser,
                        User.enabled,
                        User.credential_generation,
                        UiSession.credential_generation.label("session_generation"),
                    )
                    .join(User, User.id == UiSession.user_id)
                    .where(UiSession.token_hash == h)
                )
            ).first()
        if row is None or not row.enabled or row.session_generation != row.credential_generation:
            return None
        now = datetime.now(UTC)
        expires, seen = _aware(row.expires_at), _aware(row.last_seen_at)
        if expires <= now or seen + self.idle <= now:
            return None
        if now - seen > _SEEN_RESOLUTION:
            async with self.db.write() as s:
                await s.execute(update(UiSession).where(UiSession.id == row.id).values(last_seen_at=now))
        principal = Principal(
            "user",
            row.username,
            row.user_id,
            bool(row.superuser),
            via="session",
            generation=int(row.credential_generation),
        )
        return SessionInfo(principal, row.csrf_token, expires)

    async def end(self, token: str) -> None:
        async with self.db.write() as s:
            await s.execute(delete(UiSession).where(UiSession.token_hash == token_hash(token)))

    async def end_all(self, user_id: int, *, except_token: str | None = None) -> None:
        """Sign a user out everywhere (password change, disabled account), keeping one session if asked.

        The kept session (the one that changed the password) moves to the user's current credential
        generation; the others already stopped working when it moved and are deleted here."""
        async with self.db.write() as s:
            stmt = delete(UiSession).where(UiSession.user_id == user_id)
            if except_token:
                stmt = stmt.where(UiSession.token_hash != token_hash(except_token))
                current = select(User.credential_generation).where(User.id == user_id).scalar_subquery()
                await s.execute(
                    update(UiSession)
                    .where(UiSession.user_id == user_id, UiSession.token_hash == token_hash(except_token))
                    .values(credential_generation=current)
                )
            await s.execute(stmt)

    # -- invitations
    async def invite(self, email: str | None, actor: Actor, *, valid_days: int = 7) -> InvitationInfo:
        if email is not None and (len(email) > 320 or "@" not in email):
            raise InvalidInput("that does not look like an e-mail address")
        token = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        async with self.db.write() as s:
            inv = Invitation(
                token_hash=token_hash(token),
                email=email,
                created_by=actor.name,
                created_at=now,
                expires_at=now + timedelta(days=valid_days),
            )
            s.add(inv)
            await s.flush()
            await self.audit.add(s, "create_invitation", actor, invitation=inv.id, email=email)
            return InvitationInfo(inv.id, email, actor.name, now, inv.expires_at, None, token)

    async def invitations(
        self, *, include_used: bool = False, limit: int = 100, before_id: int | None = None
    ) -> list[InvitationInfo]:
        """Newest first; page with ``before_id`` = the last id of the previous page."""
        stmt = select(Invitation).order_by(Invitation.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(Invitation.id < before_id)
        if not include_used:
            stmt = stmt.where(Invitation.used_at.is_(None))
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).scalars().all()
        return [
            InvitationInfo(i.id, i.email, i.created_by, _aware(i.created_at), _aware(i.expires_at), i.used_by)
            for i in rows
        ]

    async def invitation_valid(self, token: str) -> bool:
        if not token or len(token) > 128:
            return False
        async with self.db.read() as s:
            inv = (
                await s.execute(select(Invitation).where(Invitation.token_hash == token_hash(token)))
            ).scalar()
        return inv is not None and inv.used_at is None and _aware(inv.expires_at) > datetime.now(UTC)

    async def use_invitation(self, token: str, username: str) -> bool:
        """Mark an invitation used; False when it is unknown, used or expired (one account per link)."""
        now = datetime.now(UTC)
        async with self.db.write() as s:
            res = await s.execute(
                update(Invitation)
                .where(
                    Invitation.token_hash == token_hash(token),
                    Invitation.used_at.is_(None),
                    Invitation.expires_at > now,
                )
                .values(used_at=now, used_by=username)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    async def revoke_invitation(self, invitation_id: int, actor: Actor) -> None:
        """Delete an unused invitation (its link stops working); NotFound when there is none."""
        async with self.db.write() as s:
            res = await s.execute(
                delete(Invitation).where(Invitation.id == invitation_id, Invitation.used_at.is_(None))
            )
            if not res.rowcount:  # type: ignore[attr-defined]
                raise NotFound("no such open invitation")
            await self.audit.add(s, "delete_invitation", actor, invitation=invitation_id)
