"""Application tokens: per-user secrets for programs (``docker login -u '$app' -p TOKEN``, or the
user's name with the token as password). Shown once, stored as SHA-256, revocable, optional expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import AppToken, User
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound
from moorage.identity.secretbox import new_token, token_hash
from moorage.registry.cache import ReadCache

APP_USERNAME = "$app"
_LAST_USED_RESOLUTION = timedelta(minutes=5)  # last_used_at is refreshed at most this often


@dataclass(frozen=True, slots=True)
class AppTokenInfo:
    uuid: str
    title: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    token_prefix: str
    token: str | None = None  # only right after creation


@dataclass(frozen=True, slots=True)
class AppTokenOwner:
    user_id: int
    username: str
    superuser: bool
    token_id: int = 0
    generation: int = 0  # the owner's credential generation
    expires_at: datetime | None = None


def _aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class AppTokens:
    def __init__(self, db: Database, audit: AuditLog, cache: ReadCache | None = None) -> None:
        self.db = db
        self.audit = audit
        self.cache = cache

    @staticmethod
    def _info(t: AppToken, token: str | None = None) -> AppTokenInfo:
        return AppTokenInfo(
            t.uuid,
            t.title,
            _aware(t.created_at) or datetime.now(UTC),
            _aware(t.expires_at),
            _aware(t.last_used_at),
            t.token_prefix,
            token,
        )

    async def create(
        self, user_id: int, title: str, *, expires_at: datetime | None, actor: Actor
    ) -> AppTokenInfo:
        if not title.strip() or len(title) > 255:
            raise InvalidInput("a token needs a title of 1-255 characters")
        if expires_at is not None and (_aware(expires_at) or expires_at) <= datetime.now(UTC):
            raise InvalidInput("the expiry must be in the future")
        token = new_token(64)
        async with self.db.write() as s:
            generation = (
                await s.execute(select(User.credential_generation).where(User.id == user_id))
            ).scalar()
            if generation is None:
                raise NotFound("no such user")
            t = AppToken(
                uuid=str(uuid.uuid4()),
                user_id=user_id,
                title=title.strip(),
                token_hash=token_hash(token),
                token_prefix=token[:4],
                expires_at=expires_at,
                credential_generation=generation,
            )
            s.add(t)
            await s.flush()
            await self.audit.add(s, "create_app_token", actor, app_token=t.uuid, title=t.title)
            return self._info(t, token)

    async def list(self, user_id: int) -> list[AppTokenInfo]:
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(AppToken)
                    .join(User, User.id == AppToken.user_id)
                    .where(AppToken.user_id == user_id, AppToken.revoked_at.is_(None), _current())
                    .order_by(AppToken.created_at.desc())
                )
            ).scalars()
            return [self._info(t) for t in rows]

    async def get(self, user_id: int, token_uuid: str) -> AppTokenInfo:
        async with self.db.read() as s:
            t = (
                await s.execute(
                    select(AppToken)
                    .join(User, User.id == AppToken.user_id)
                    .where(
                        AppToken.user_id == user_id,
                        AppToken.uuid == token_uuid,
                        AppToken.revoked_at.is_(None),
                        _current(),
                    )
                )
            ).scalar()
        if t is None:
            raise NotFound("no such application token")
        return self._info(t)

    async def revoke(self, user_id: int, token_uuid: str, actor: Actor) -> None:
        async with self.db.write() as s:
            res = await s.execute(
                update(AppToken)
                .where(
                    AppToken.user_id == user_id, AppToken.uuid == token_uuid, AppToken.revoked_at.is_(None)
                )
                .values(revoked_at=datetime.now(UTC))
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("no such application token")
            await self.audit.add(s, "revoke_app_token", actor, app_token=token_uuid)
            unit_of_work(s).acl()

    async def authenticate(self, token: str, username: str | None = None) -> AppTokenOwner | None:
        """The owner of a live token (and, when ``username`` is given, only if it is theirs)."""
        if len(token) != 64:
            return None
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(
                        AppToken.id,
                        AppToken.expires_at,
                        AppToken.last_used_at,
                        User.id.label("uid"),
                        User.username,
                        User.superuser,
                        User.enabled,
                        User.credential_generation,
                    )
                    .join(User, User.id == AppToken.user_id)
                    .where(
                        AppToken.token_hash == token_hash(token), AppToken.revoked_at.is_(None), _current()
                    )
                )
            ).first()
        if row is None or not row.enabled:
            return None
        if row.expires_at is not None and (_aware(row.expires_at) or row.expires_at) <= datetime.now(UTC):
            return None
        if username is not None and username != row.username:
            return None
        now = datetime.now(UTC)
        if row.last_used_at is None or (_aware(row.last_used_at) or now) < now - _LAST_USED_RESOLUTION:
            async with self.db.write() as s:
                await s.execute(update(AppToken).where(AppToken.id == row.id).values(last_used_at=now))
        return AppTokenOwner(
            int(row.uid),
            row.username,
            bool(row.superuser),
            int(row.id),
            int(row.credential_generation),
            _aware(row.expires_at),
        )


def _current() -> ColumnElement[bool]:
    """Tokens issued under the owner's current credential generation (a password change, disabling
    or re-enabling moves it and so ends every token issued before)."""
    return AppToken.credential_generation == User.credential_generation
