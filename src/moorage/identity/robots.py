"""Robot accounts: ``namespace+shortname`` with a random 64-character token (Quay's model).

Tokens are stored AES-GCM encrypted (an administrator may reveal them again) and as a SHA-256
lookup hash; logins compare hashes and never decrypt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Namespace, Robot
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import Conflict, InvalidInput, NotFound
from moorage.domain.reference import ROBOT_SHORTNAME_RE, split_robot_name
from moorage.identity.revocation import initial_generation
from moorage.identity.secretbox import SecretBox, new_token, same_hash, token_hash
from moorage.registry.cache import ReadCache


@dataclass(frozen=True, slots=True)
class RobotInfo:
    id: int
    name: str  # namespace+shortname
    namespace: str
    shortname: str
    description: str | None
    created_at: datetime
    expires_at: datetime | None
    token: str | None = None  # only when revealed
    generation: int = 0  # the credential generation: registry tokens of the robot carry it

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and _aware(self.expires_at) <= datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Robots:
    def __init__(self, db: Database, box: SecretBox, audit: AuditLog, cache: ReadCache) -> None:
        self.db = db
        self.box = box
        self.audit = audit
        self.cache = cache

    @staticmethod
    def _context(fullname: str) -> str:
        return f"robot:{fullname}"

    def _info(self, ns: str, r: Robot, reveal: bool = False) -> RobotInfo:
        full = f"{ns}+{r.shortname}"
        token = self.box.decrypt(r.token_encrypted, self._context(full)) if reveal else None
        return RobotInfo(
            r.id,
            full,
            ns,
            r.shortname,
            r.description,
            _aware(r.created_at),
            _aware(r.expires_at) if r.expires_at else None,
            token,
            r.credential_generation,
        )

    async def _namespace(self, s: AsyncSession, name: str) -> Namespace:
        ns = (await s.execute(select(Namespace).where(Namespace.name == name))).scalar()
        if ns is None:
            raise NotFound(f"no user or organization named {name!r}")
        return ns

    async def _robot(self, s: AsyncSession, namespace: str, shortname: str) -> Robot:
        ns = await self._namespace(s, namespace)
        r = (
            await s.execute(select(Robot).where(Robot.namespace_id == ns.id, Robot.shortname == shortname))
        ).scalar()
        if r is None:
            raise NotFound(f"no robot account {namespace}+{shortname}")
        return r

    async def create(
        self,
        namespace: str,
        shortname: str,
        *,
        description: str | None,
        expires_at: datetime | None,
        actor: Actor,
        inside: Callable[[AsyncSession, RobotInfo], Awaitable[None]] | None = None,
    ) -> RobotInfo:
        """Create a robot; the returned info carries its token (shown once here, revealable later).

        ``inside`` runs in the same transaction once the robot exists (permission checks and grants
        that must commit, or fail, with it)."""
        if ROBOT_SHORTNAME_RE.fullmatch(shortname) is None:
            raise InvalidInput(
                "robot names are 2-255 characters: a lower-case letter, then lower-case letters, digits or _"
            )
        if expires_at is not None and _aware(expires_at) <= datetime.now(UTC):
            raise InvalidInput("the expiry must be in the future")
        token = new_token(64)
        full = f"{namespace}+{shortname}"
        async with self.db.write() as s:
            ns = await self._namespace(s, namespace)
            taken = (
                await s.execute(
                    select(Robot.id).where(Robot.namespace_id == ns.id, Robot.shortname == shortname)
                )
            ).scalar()
            if taken is not None:
                raise Conflict(f"robot account {full} already exists")
            r = Robot(
                namespace_id=ns.id,
                shortname=shortname,
                description=description,
                token_hash=token_hash(token),
                token_encrypted=self.box.encrypt(token, self._context(full)),
                expires_at=expires_at,
                created_by=actor.name,
                credential_generation=initial_generation(),
            )
            s.add(r)
            await s.flush()
            await self.audit.add(s, "create_robot", actor, namespace=namespace, robot=full)
            info = self._info(namespace, r)
            if inside is not None:
                await inside(s, info)
        return replace(info, token=token)

    async def list(self, namespace: str) -> list[RobotInfo]:
        async with self.db.read() as s:
            ns = await self._namespace(s, namespace)
            rows = (
                await s.execute(select(Robot).where(Robot.namespace_id == ns.id).order_by(Robot.shortname))
            ).scalars()
            return [self._info(namespace, r) for r in rows]

    async def get(self, namespace: str, shortname: str, *, reveal: bool = False) -> RobotInfo:
        async with self.db.read() as s:
            return self._info(namespace, await self._robot(s, namespace, shortname), reveal)

    async def regenerate(self, namespace: str, shortname: str, actor: Actor) -> RobotInfo:
        token = new_token(64)
        full = f"{namespace}+{shortname}"
        async with self.db.write() as s:
            r = await self._robot(s, namespace, shortname)
            r.token_hash = token_hash(token)
            r.token_encrypted = self.box.encrypt(token, self._context(full))
            # registry tokens obtained with the old token end with it
            await s.execute(
                update(Robot)
                .where(Robot.id == r.id)
                .values(credential_generation=Robot.credential_generation + 1)
                .execution_options(synchronize_session="fetch")
            )
            await self.audit.add(s, "regenerate_robot_token", actor, namespace=namespace, robot=full)
            unit_of_work(s).acl()
            return self._info(namespace, r, reveal=True)

    async def delete(self, namespace: str, shortname: str, actor: Actor) -> None:
        async with self.db.write() as s:
            r = await self._robot(s, namespace, shortname)
            await s.execute(delete(Robot).where(Robot.id == r.id))
            await self.audit.add(
                s, "delete_robot", actor, namespace=namespace, robot=f"{namespace}+{shortname}"
            )
            unit_of_work(s).acl()

    async def get_by_id(self, robot_id: int) -> RobotInfo | None:
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(Robot, Namespace.name)
                    .join(Namespace, Namespace.id == Robot.namespace_id)
                    .where(Robot.id == robot_id)
                )
            ).first()
        return None if row is None else self._info(row[1], row[0])

    async def authenticate(self, fullname: str, token: str) -> RobotInfo | None:
        """The robot when ``token`` is its current token and it has not expired."""
        parts = split_robot_name(fullname)
        if parts is None:
            return None
        namespace, shortname = parts
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(Robot)
                    .join(Namespace, Namespace.id == Robot.namespace_id)
                    .where(Namespace.name == namespace, Robot.shortname == shortname)
                )
            ).scalar()
        if row is None or not same_hash(row.token_hash, token_hash(token)):
            return None
        info = self._info(namespace, row)
        return None if info.expired else info
