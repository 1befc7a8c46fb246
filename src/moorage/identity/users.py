"""User accounts. Each user owns the namespace of the same name."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from moorage.db.engine import Database, after_commit
from moorage.db.models import Namespace, User
from moorage.domain.errors import Conflict, InvalidInput, NotFound
from moorage.domain.reference import validate_namespace_name
from moorage.identity.passwords import hash_password, verify_password
from moorage.registry.cache import ACL_SLOT, ReadCache

UserError = InvalidInput  # kept for callers that catch the old name


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    superuser: bool
    enabled: bool
    email: str | None


class Users:
    def __init__(self, db: Database, cache: ReadCache | None = None) -> None:
        self.db = db
        self.cache = cache

    async def create(
        self, username: str, password: str, *, superuser: bool = False, email: str | None = None
    ) -> UserInfo:
        validate_namespace_name(username, "username")
        if len(password) < 8:
            raise InvalidInput("password must be at least 8 characters")
        pw_hash = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
        async with self.db.write() as s:
            taken = (await s.execute(select(Namespace.id).where(Namespace.name == username))).scalar()
            if taken is not None:
                raise Conflict(f"the name {username!r} is already taken")
            ns = Namespace(name=username, kind="user")
            s.add(ns)
            await s.flush()
            user = User(
                username=username, namespace_id=ns.id, password_hash=pw_hash, superuser=superuser, email=email
            )
            s.add(user)
            await s.flush()
            return UserInfo(user.id, username, superuser, True, email)

    async def get(self, username: str) -> UserInfo | None:
        async with self.db.read() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
        return None if u is None else UserInfo(u.id, u.username, u.superuser, u.enabled, u.email)

    async def authenticate(self, username: str, password: str) -> UserInfo | None:
        """The user when the password is right and the account enabled, else None."""
        async with self.db.read() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
        stored = u.password_hash if u is not None else None
        ok = await asyncio.get_running_loop().run_in_executor(None, verify_password, stored, password)
        if not ok or u is None or not u.enabled:
            return None
        return UserInfo(u.id, u.username, u.superuser, u.enabled, u.email)

    async def count(self) -> int:
        async with self.db.read() as s:
            return int((await s.execute(select(func.count()).select_from(User))).scalar_one())

    async def set_password(self, username: str, password: str) -> bool:
        if len(password) < 8:
            raise InvalidInput("password must be at least 8 characters")
        pw_hash = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
        async with self.db.write() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
            if u is None:
                return False
            u.password_hash = pw_hash
        return True

    async def list(self) -> list[UserInfo]:
        async with self.db.read() as s:
            rows = (await s.execute(select(User).order_by(User.username))).scalars().all()
        return [UserInfo(u.id, u.username, u.superuser, u.enabled, u.email) for u in rows]

    async def update(
        self,
        username: str,
        *,
        enabled: bool | None = None,
        superuser: bool | None = None,
        email: str | None = None,
    ) -> UserInfo:
        """Enable/disable an account, grant/revoke superuser, change e-mail (superuser operations)."""
        async with self.db.write() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
            if u is None:
                raise NotFound(f"no user named {username!r}")
            if enabled is not None:
                u.enabled = enabled
            if superuser is not None:
                u.superuser = superuser
            if email is not None:
                u.email = email or None
            if self.cache is not None:
                cache = self.cache
                after_commit(s, lambda: cache.bump(ACL_SLOT))
            return UserInfo(u.id, u.username, u.superuser, u.enabled, u.email)

    async def delete(self, username: str) -> None:
        """Delete an account, its namespace and that namespace's repositories."""
        async with self.db.write() as s:
            u = (await s.execute(select(User).where(User.username == username))).scalar()
            if u is None:
                raise NotFound(f"no user named {username!r}")
            await s.execute(delete(Namespace).where(Namespace.id == u.namespace_id))
            if self.cache is not None:
                cache = self.cache
                after_commit(s, lambda: cache.bump(ACL_SLOT))
