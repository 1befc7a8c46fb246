"""User accounts. Each user owns the namespace of the same name."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Namespace, Team, TeamMember, User
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from moorage.domain.reference import validate_namespace_name
from moorage.domain.unset import UNSET, Unset
from moorage.identity.orgs import repositories_of
from moorage.identity.passwords import hash_password, verify_password
from moorage.identity.revocation import initial_generation
from moorage.registry.cache import ReadCache

UserError = InvalidInput  # kept for callers that catch the old name


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    superuser: bool
    enabled: bool
    email: str | None
    created_at: datetime | None = None
    generation: int = 0  # the credential generation: tokens of the account carry it


def _info(u: User) -> UserInfo:
    created = u.created_at if u.created_at.tzinfo else u.created_at.replace(tzinfo=UTC)
    return UserInfo(u.id, u.username, u.superuser, u.enabled, u.email, created, u.credential_generation)


async def bump_generation(s: AsyncSession, user_id: int) -> None:
    """End every token of the account (sessions, application, OAuth, refresh and registry
    tokens): they carry the generation this moves past. Runs in the caller's transaction."""
    await s.execute(
        update(User)
        .where(User.id == user_id)
        .values(credential_generation=User.credential_generation + 1)
        .execution_options(synchronize_session="fetch")
    )


class Users:
    def __init__(
        self,
        db: Database,
        cache: ReadCache | None = None,
        audit: AuditLog | None = None,
        *,
        hash_concurrency: int = 0,
    ) -> None:
        self.db = db
        self.cache = cache
        self.audit = audit
        # argon2 costs ~64 MiB and a core for ~0.2 s: a burst of logins queues here instead of
        # hashing in parallel beyond the cores (0: the event loop's default executor)
        self._hashing = (
            ThreadPoolExecutor(max_workers=hash_concurrency, thread_name_prefix="argon2")
            if hash_concurrency
            else None
        )

    async def _hash(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._hashing, fn, *args)

    async def _audit(self, s: AsyncSession, kind: str, actor: Actor | None, name: str, **meta: Any) -> None:
        if self.audit is not None:
            await self.audit.add(s, kind, actor, namespace=name, **meta)

    async def create(
        self,
        username: str,
        password: str,
        *,
        superuser: bool = False,
        email: str | None = None,
        actor: Actor | None = None,
    ) -> UserInfo:
        validate_namespace_name(username, "username")
        if len(password) < 8:
            raise InvalidInput("password must be at least 8 characters")
        pw_hash = await self._hash(hash_password, password)
        async with self.db.write() as s:
            taken = (await s.execute(select(Namespace.id).where(Namespace.name == username))).scalar()
            if taken is not None:
                raise Conflict(f"the name {username!r} is already taken")
            ns = Namespace(name=username, kind="user")
            s.add(ns)
            await s.flush()
            user = User(
                username=username,
                namespace_id=ns.id,
                password_hash=pw_hash,
                superuser=superuser,
                email=email,
                credential_generation=initial_generation(),
            )
            s.add(user)
            await s.flush()
            await self._audit(s, "user_create", actor, username, super_user=superuser)
            return _info(user)

    async def get(self, username: str) -> UserInfo | None:
        async with self.db.read() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
        return None if u is None else _info(u)

    async def get_by_id(self, user_id: int) -> UserInfo | None:
        async with self.db.read() as s:
            u = await s.get(User, user_id)
        return None if u is None else _info(u)

    async def authenticate(self, username: str, password: str) -> UserInfo | None:
        """The user when the password is right and the account enabled, else None."""
        async with self.db.read() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
        stored = u.password_hash if u is not None else None
        ok = bool(await self._hash(verify_password, stored, password))
        if not ok or u is None or not u.enabled:
            return None
        return _info(u)

    async def count(self) -> int:
        async with self.db.read() as s:
            return int((await s.execute(select(func.count()).select_from(User))).scalar_one())

    async def set_password(self, username: str, password: str, actor: Actor | None = None) -> bool:
        if len(password) < 8:
            raise InvalidInput("password must be at least 8 characters")
        pw_hash = await self._hash(hash_password, password)
        async with self.db.write() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
            if u is None:
                return False
            u.password_hash = pw_hash
            await bump_generation(s, u.id)
            await self._audit(s, "user_change", actor, username, password_changed=True)
            unit_of_work(s).acl()
        return True

    async def list(self) -> list[UserInfo]:
        async with self.db.read() as s:
            rows = (await s.execute(select(User).order_by(User.username))).scalars().all()
        return [_info(u) for u in rows]

    async def find(self, *, search: str | None, limit: int, after: str | None) -> builtins.list[UserInfo]:
        """One page of accounts in name order, optionally only those whose name or e-mail contains
        ``search`` (the superuser panel's list)."""
        stmt = select(User).order_by(User.username).limit(limit)
        if after:
            stmt = stmt.where(User.username > after)
        if search:
            needle = search.lower()
            stmt = stmt.where(
                or_(
                    func.lower(User.username).contains(needle, autoescape=True),
                    func.lower(func.coalesce(User.email, "")).contains(needle, autoescape=True),
                )
            )
        async with self.db.read() as s:
            return [_info(u) for u in (await s.execute(stmt)).scalars()]

    async def matching(self, prefix: str, limit: int) -> builtins.list[str]:
        """Names of enabled accounts starting with ``prefix``, in name order (entity lookup)."""
        stmt = (
            select(User.username)
            .where(User.username.startswith(prefix, autoescape=True), User.enabled.is_(True))
            .order_by(User.username)
            .limit(limit)
        )
        async with self.db.read() as s:
            return [str(n) for n in (await s.execute(stmt)).scalars()]

    async def update(
        self,
        username: str,
        *,
        enabled: bool | None = None,
        superuser: bool | None = None,
        email: str | Unset | None = UNSET,
        actor: Actor | None = None,
    ) -> UserInfo:
        """Enable/disable an account, grant/revoke superuser, change e-mail (superuser operations).

        None for ``enabled``/``superuser`` and UNSET for ``email`` leave them as they are; an
        e-mail of None or "" clears it."""
        async with self.db.write() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
            if u is None:
                raise NotFound(f"no user named {username!r}")
            was_admin = u.superuser and u.enabled
            if enabled is not None and enabled != u.enabled:
                u.enabled = enabled
                # disabling ends every token; re-enabling must not bring the old ones back
                await bump_generation(s, u.id)
            if superuser is not None:
                u.superuser = superuser
            if not isinstance(email, Unset):
                u.email = email or None
            demoting = was_admin and (enabled is False or superuser is False)
            if demoting and await self._would_leave_no_superuser(s, u):
                raise Forbidden("this is the last enabled superuser; promote another account first")
            await self._audit(s, "user_change", actor, username, enabled=enabled, super_user=superuser)
            unit_of_work(s).acl()
            return _info(u)

    async def _would_leave_no_superuser(self, s: AsyncSession, u: User) -> bool:
        others = (
            await s.execute(
                select(func.count(User.id)).where(
                    User.superuser.is_(True), User.enabled.is_(True), User.id != u.id
                )
            )
        ).scalar_one()
        return int(others) == 0

    async def delete(self, username: str, actor: Actor | None = None) -> None:
        """Delete an account, its namespace and that namespace's repositories.

        Refused for the last superuser and for the last owner of an organization (it would be
        left without administrators)."""
        async with self.db.write() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
            if u is None:
                raise NotFound(f"no user named {username!r}")
            if u.superuser and u.enabled and await self._would_leave_no_superuser(s, u):
                raise Forbidden("this is the last enabled superuser; promote another account first")
            orphaned = await self._orgs_only_owned_by(s, u.id)
            if orphaned:
                raise Forbidden(
                    f"{username} is the only member of the owners team of {', '.join(orphaned)}; "
                    "add another owner or delete the organization first"
                )
            repositories = await repositories_of(s, u.namespace_id)
            await s.execute(delete(Namespace).where(Namespace.id == u.namespace_id))
            await self._audit(s, "user_delete", actor, username)
            # the namespace's repositories went with it: end their cached reads too
            uow = unit_of_work(s)
            uow.acl()
            uow.invalidate(*repositories)

    @staticmethod
    async def _orgs_only_owned_by(s: AsyncSession, user_id: int) -> builtins.list[str]:
        """Organizations whose owners team has this user as its only user member."""
        owner_teams = (
            await s.execute(
                select(Team.id, Namespace.name)
                .join(Namespace, Namespace.id == Team.namespace_id)
                .join(TeamMember, TeamMember.team_id == Team.id)
                .where(Team.name == "owners", TeamMember.user_id == user_id)
            )
        ).all()
        out = []
        for team_id, org in owner_teams:
            n = (
                await s.execute(
                    select(func.count(TeamMember.id)).where(
                        TeamMember.team_id == team_id, TeamMember.user_id.is_not(None)
                    )
                )
            ).scalar_one()
            if int(n) <= 1:
                out.append(org)
        return out
