"""Repository permission grants and organization default permissions ("prototypes").

Grants give one role (read | write | admin) on one repository to a user, a team or a robot.
Default permissions are applied when a repository is created in an organization, optionally only
for repositories created by a given user or by a member of a given team. The user who creates a
repository in an organization without being one of its admins gets admin on it (as in Quay).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import (
    DefaultPermission,
    Namespace,
    Repository,
    RepositoryPermission,
    Robot,
    Team,
    TeamMember,
    User,
)
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound
from moorage.domain.reference import namespace_of, split_robot_name
from moorage.domain.roles import REPO_ROLES
from moorage.registry.cache import ReadCache
from moorage.registry.types import RepositoryInfo

DELEGATE_KINDS = ("user", "team", "robot")


@dataclass(frozen=True, slots=True)
class Grant:
    kind: str  # user | team | robot
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class DefaultPermissionInfo:
    id: int  # creation order
    uuid: str  # what callers name it by (Quay's prototype id)
    delegate_kind: str
    delegate: str
    role: str
    activating_user: str | None
    activating_team: str | None


def _check_role(role: str) -> str:
    if role not in REPO_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(REPO_ROLES)}")
    return role


def _delegate_kind(kind: str, name: str) -> str:
    """The kind of a delegate as stored. Quay's API names robots as users (``ns+short``): a "user"
    whose name has a ``+`` is that robot (user names cannot contain ``+``)."""
    return "robot" if kind == "user" and "+" in name else kind


class Permissions:
    def __init__(self, db: Database, audit: AuditLog, cache: ReadCache) -> None:
        self.db = db
        self.audit = audit
        self.cache = cache

    # -- delegates
    async def _delegate(self, s: AsyncSession, kind: str, name: str, org_id: int | None) -> dict[str, int]:
        if kind == "user":
            uid = (await s.execute(select(User.id).where(User.username == name))).scalar()
            if uid is None:
                raise NotFound(f"no user named {name!r}")
            return {"user_id": int(uid)}
        if kind == "team":
            if org_id is None:
                raise InvalidInput("teams exist only in organizations")
            tid = (
                await s.execute(select(Team.id).where(Team.namespace_id == org_id, Team.name == name))
            ).scalar()
            if tid is None:
                raise NotFound(f"no team named {name!r} in this organization")
            return {"team_id": int(tid)}
        if kind == "robot":
            parts = split_robot_name(name)
            if parts is None:
                raise InvalidInput("robot accounts are named namespace+shortname")
            rid = (
                await s.execute(
                    select(Robot.id)
                    .join(Namespace, Namespace.id == Robot.namespace_id)
                    .where(Namespace.name == parts[0], Robot.shortname == parts[1])
                )
            ).scalar()
            if rid is None:
                raise NotFound(f"no robot account {name!r}")
            return {"robot_id": int(rid)}
        raise InvalidInput(f"delegate kind must be one of {', '.join(DELEGATE_KINDS)}")

    async def _repo(self, s: AsyncSession, repository: str) -> tuple[int, int | None, str | None]:
        row = (
            await s.execute(
                select(Repository.id, Repository.namespace_id, Namespace.kind)
                .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
                .where(Repository.name == repository)
            )
        ).first()
        if row is None:
            raise NotFound(f"no repository named {repository!r}")
        return int(row.id), row.namespace_id, row.kind

    # -- grants
    async def grants(self, repository: str) -> list[Grant]:
        async with self.db.read() as s:
            repo_id, _, _ = await self._repo(s, repository)
            users = (
                await s.execute(
                    select(User.username, RepositoryPermission.role)
                    .join(RepositoryPermission, RepositoryPermission.user_id == User.id)
                    .where(RepositoryPermission.repository_id == repo_id)
                )
            ).all()
            teams = (
                await s.execute(
                    select(Team.name, RepositoryPermission.role)
                    .join(RepositoryPermission, RepositoryPermission.team_id == Team.id)
                    .where(RepositoryPermission.repository_id == repo_id)
                )
            ).all()
            robots = (
                await s.execute(
                    select(Namespace.name, Robot.shortname, RepositoryPermission.role)
                    .join(Robot, Robot.namespace_id == Namespace.id)
                    .join(RepositoryPermission, RepositoryPermission.robot_id == Robot.id)
                    .where(RepositoryPermission.repository_id == repo_id)
                )
            ).all()
        out = [Grant("user", u, r) for u, r in users]
        out += [Grant("team", t, r) for t, r in teams]
        out += [Grant("robot", f"{n}+{sn}", r) for n, sn, r in robots]
        return sorted(out, key=lambda g: (g.kind, g.name))

    async def set(self, repository: str, kind: str, name: str, role: str, actor: Actor) -> Grant:
        _check_role(role)
        kind = _delegate_kind(kind, name)
        async with self.db.write() as s:
            return await self.set_in(s, repository, kind, name, role, actor)

    async def set_in(
        self, s: AsyncSession, repository: str, kind: str, name: str, role: str, actor: Actor
    ) -> Grant:
        """Grant ``role`` inside the unit of work whose session is ``s``."""
        _check_role(role)
        repo_id, ns_id, ns_kind = await self._repo(s, repository)
        ids = await self._delegate(s, kind, name, ns_id if ns_kind == "org" else None)
        if kind == "robot":
            owner = split_robot_name(name)
            if owner is not None and owner[0] != namespace_of(repository):
                raise InvalidInput("a robot account can only be granted repositories of its own namespace")
        column, value = next(iter(ids.items()))
        existing = (
            await s.execute(
                select(RepositoryPermission).where(
                    RepositoryPermission.repository_id == repo_id,
                    getattr(RepositoryPermission, column) == value,
                )
            )
        ).scalar()
        if existing is None:
            s.add(RepositoryPermission(repository_id=repo_id, role=role, **ids))
        else:
            existing.role = role
        await self.audit.add(
            s,
            "change_repo_permission",
            actor,
            repository=repository,
            delegate_kind=kind,
            delegate=name,
            role=role,
        )
        unit_of_work(s).invalidate(repository)
        return Grant(kind, name, role)

    async def get(self, repository: str, kind: str, name: str) -> Grant:
        kind = _delegate_kind(kind, name)
        for g in await self.grants(repository):
            if g.kind == kind and g.name == name:
                return g
        raise NotFound(f"{kind} {name!r} has no permission on {repository}")

    async def remove(self, repository: str, kind: str, name: str, actor: Actor) -> None:
        kind = _delegate_kind(kind, name)
        async with self.db.write() as s:
            repo_id, ns_id, ns_kind = await self._repo(s, repository)
            ids = await self._delegate(s, kind, name, ns_id if ns_kind == "org" else None)
            column, value = next(iter(ids.items()))
            res = await s.execute(
                delete(RepositoryPermission).where(
                    RepositoryPermission.repository_id == repo_id,
                    getattr(RepositoryPermission, column) == value,
                )
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"{kind} {name!r} has no permission on {repository}")
            await self.audit.add(
                s, "delete_repo_permission", actor, repository=repository, delegate_kind=kind, delegate=name
            )
            unit_of_work(s).invalidate(repository)

    async def robot_permissions(self, namespace: str, shortname: str) -> list[tuple[str, str]]:
        """(repository, role) pairs granted directly to a robot."""
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(Repository.name, RepositoryPermission.role)
                    .join(RepositoryPermission, RepositoryPermission.repository_id == Repository.id)
                    .join(Robot, Robot.id == RepositoryPermission.robot_id)
                    .join(Namespace, Namespace.id == Robot.namespace_id)
                    .where(Namespace.name == namespace, Robot.shortname == shortname)
                    .order_by(Repository.name)
                )
            ).all()
        return [(r.name, r.role) for r in rows]

    # -- default permissions
    async def _org(self, s: AsyncSession, org: str) -> int:
        ns_id = (
            await s.execute(select(Namespace.id).where(Namespace.name == org, Namespace.kind == "org"))
        ).scalar()
        if ns_id is None:
            raise NotFound(f"no organization named {org!r}")
        return int(ns_id)

    async def defaults(self, org: str) -> list[DefaultPermissionInfo]:
        async with self.db.read() as s:
            org_id = await self._org(s, org)
            rows = (
                (
                    await s.execute(
                        select(DefaultPermission)
                        .where(DefaultPermission.namespace_id == org_id)
                        .order_by(DefaultPermission.id)
                    )
                )
                .scalars()
                .all()
            )
            return [await self._default_info(s, d) for d in rows]

    async def _default_info(self, s: AsyncSession, d: DefaultPermission) -> DefaultPermissionInfo:
        async def user(uid: int | None) -> str | None:
            return (
                None
                if uid is None
                else (await s.execute(select(User.username).where(User.id == uid))).scalar()
            )

        async def team(tid: int | None) -> str | None:
            return (
                None if tid is None else (await s.execute(select(Team.name).where(Team.id == tid))).scalar()
            )

        if d.user_id is not None:
            kind, name = "user", await user(d.user_id)
        elif d.team_id is not None:
            kind, name = "team", await team(d.team_id)
        else:
            row = (
                await s.execute(
                    select(Namespace.name, Robot.shortname)
                    .join(Robot, Robot.namespace_id == Namespace.id)
                    .where(Robot.id == d.robot_id)
                )
            ).first()
            kind, name = "robot", f"{row.name}+{row.shortname}" if row else None
        return DefaultPermissionInfo(
            d.id,
            d.uuid,
            kind,
            name or "?",
            d.role,
            await user(d.activating_user_id),
            await team(d.activating_team_id),
        )

    async def add_default(
        self,
        org: str,
        *,
        delegate_kind: str,
        delegate: str,
        role: str,
        activating_user: str | None,
        activating_team: str | None,
        actor: Actor,
    ) -> DefaultPermissionInfo:
        _check_role(role)
        delegate_kind = _delegate_kind(delegate_kind, delegate)
        owner = split_robot_name(delegate) if delegate_kind == "robot" else None
        if owner is not None and owner[0] != org:
            # the rule of set(): a robot is only ever granted repositories of its own namespace
            raise InvalidInput("a robot account can only get default permissions of its own organization")
        async with self.db.write() as s:
            org_id = await self._org(s, org)
            ids = await self._delegate(s, delegate_kind, delegate, org_id)
            act_user = (
                (await self._delegate(s, "user", activating_user, org_id))["user_id"]
                if activating_user
                else None
            )
            act_team = (
                (await self._delegate(s, "team", activating_team, org_id))["team_id"]
                if activating_team
                else None
            )
            d = DefaultPermission(
                uuid=str(uuid.uuid4()),
                namespace_id=org_id,
                role=role,
                activating_user_id=act_user,
                activating_team_id=act_team,
                **ids,
            )
            s.add(d)
            await s.flush()
            await self.audit.add(
                s,
                "create_prototype_permission",
                actor,
                namespace=org,
                id=d.uuid,
                delegate=delegate,
                role=role,
            )
            return await self._default_info(s, d)

    async def update_default(
        self, org: str, default_uuid: str, role: str, actor: Actor
    ) -> DefaultPermissionInfo:
        _check_role(role)
        async with self.db.write() as s:
            org_id = await self._org(s, org)
            d = (
                await s.execute(
                    select(DefaultPermission).where(
                        DefaultPermission.uuid == default_uuid, DefaultPermission.namespace_id == org_id
                    )
                )
            ).scalar()
            if d is None:
                raise NotFound("no such default permission")
            d.role = role
            await self.audit.add(
                s, "modify_prototype_permission", actor, namespace=org, id=default_uuid, role=role
            )
            return await self._default_info(s, d)

    async def delete_default(self, org: str, default_uuid: str, actor: Actor) -> None:
        async with self.db.write() as s:
            org_id = await self._org(s, org)
            res = await s.execute(
                delete(DefaultPermission).where(
                    DefaultPermission.uuid == default_uuid, DefaultPermission.namespace_id == org_id
                )
            )
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("no such default permission")
            await self.audit.add(s, "delete_prototype_permission", actor, namespace=org, id=default_uuid)

    @staticmethod
    async def _with_id(s: AsyncSession, actor: Actor) -> Actor:
        """Callers with a registry token are known by name only: find the account's id."""
        if actor.id is not None or not actor.name or actor.kind not in ("user", "robot"):
            return actor
        if actor.kind == "robot":
            parts = split_robot_name(actor.name)
            if parts is None:
                return actor
            found = (
                await s.execute(
                    select(Robot.id)
                    .join(Namespace, Namespace.id == Robot.namespace_id)
                    .where(Namespace.name == parts[0], Robot.shortname == parts[1])
                )
            ).scalar()
        else:
            found = (await s.execute(select(User.id).where(User.username == actor.name))).scalar()
        return actor if found is None else replace(actor, id=int(found))

    # -- the repository-creation hook (called inside the creating transaction)
    async def on_repository_created(
        self, s: AsyncSession, repo: RepositoryInfo, creator: Actor | None
    ) -> None:
        if creator is None:
            return
        ns = namespace_of(repo.name)
        if ns is None:
            return
        org_id = (
            await s.execute(select(Namespace.id).where(Namespace.name == ns, Namespace.kind == "org"))
        ).scalar()
        if org_id is None:
            return
        creator = await self._with_id(s, creator)
        creator_teams: set[int] = set()
        if creator.id is not None:
            col = TeamMember.robot_id if creator.kind == "robot" else TeamMember.user_id
            creator_teams = set(
                (await s.execute(select(TeamMember.team_id).where(col == creator.id))).scalars()
            )
            admin_teams = set(
                (
                    await s.execute(select(Team.id).where(Team.namespace_id == org_id, Team.role == "admin"))
                ).scalars()
            )
            if not creator_teams & admin_teams:
                key = "robot_id" if creator.kind == "robot" else "user_id"
                s.add(RepositoryPermission(repository_id=repo.id, role="admin", **{key: creator.id}))
        defaults = (
            await s.execute(select(DefaultPermission).where(DefaultPermission.namespace_id == org_id))
        ).scalars()
        granted: set[tuple[str, int]] = set()
        for d in defaults:
            if d.activating_user_id is not None and not (
                creator.kind == "user" and creator.id == d.activating_user_id
            ):
                continue
            if d.activating_team_id is not None and d.activating_team_id not in creator_teams:
                continue
            if d.user_id is not None:
                target = ("user_id", d.user_id)
            elif d.team_id is not None:
                target = ("team_id", d.team_id)
            else:
                assert d.robot_id is not None
                target = ("robot_id", d.robot_id)
            if creator.id is not None and target == (
                "robot_id" if creator.kind == "robot" else "user_id",
                creator.id,
            ):
                continue
            if target in granted:
                continue
            granted.add(target)
            s.add(RepositoryPermission(repository_id=repo.id, role=d.role, **{target[0]: target[1]}))
