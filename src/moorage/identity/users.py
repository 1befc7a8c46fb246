"""User accounts. Each user owns the namespace of the same name."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from moorage.db.engine import Database
from moorage.db.models import Namespace, User
from moorage.identity.passwords import hash_password, verify_password

USERNAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


class UserError(ValueError):
    """A user-management request that cannot be done (bad name, name taken...)."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    superuser: bool
    enabled: bool
    email: str | None


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, username: str, password: str, *, superuser: bool = False, email: str | None = None
    ) -> UserInfo:
        if not (2 <= len(username) <= 255) or not USERNAME_RE.match(username):
            raise UserError(
                "username must be 2-255 characters: lower-case letters and digits, "
                "with single . _ - between them"
            )
        if len(password) < 8:
            raise UserError("password must be at least 8 characters")
        pw_hash = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
        async with self.db.write() as s:
            taken = (await s.execute(select(Namespace.id).where(Namespace.name == username))).scalar()
            if taken is not None:
                raise UserError(f"the name {username!r} is already taken")
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
            raise UserError("password must be at least 8 characters")
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
