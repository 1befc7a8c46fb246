"""Organizations and their teams (Quay's model).

An organization is a namespace owned by no single user. Its creator joins the ``owners`` team,
whose role is ``admin``. Team roles: ``member`` (gets the team's repository permissions),
``creator`` (may also create repositories), ``admin`` (administers the organization).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Namespace, Repository, Robot, Team, TeamMember, User
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from moorage.domain.reference import TEAM_NAME_RE, split_robot_name, validate_namespace_name
from moorage.domain.roles import TEAM_ROLES
from moorage.domain.unset import UNSET, Unset
from moorage.registry.cache import ReadCache

OWNERS_TEAM = "owners"


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: int
    name: str
    email: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TeamInfo:
    id: int
    name: str
    role: str
    description: str | None
    member_count: int


@dataclass(frozen=True, slots=True)
class MemberInfo:
    kind: str  # user | robot
    name: str


async def repositories_of(s: AsyncSession, namespace_id: int) -> list[str]:
    """Names of the repositories of a namespace (to invalidate their cached reads when it goes)."""
    rows = await s.execute(select(Repository.name).where(Repository.namespace_id == namespace_id))
    return list(rows.scalars())


class Organizations:
    def __init__(self, db: Database, audit: AuditLog, cache: ReadCache) -> None:
        self.db = db
        self.audit = audit
        self.cache = cache

    def _acl_changed(self, s: AsyncSession) -> None:
        unit_of_work(s).acl()

    async def _org(self, s: AsyncSession, name: str) -> Namespace:
        ns = (
            await s.execute(select(Namespace).where(Namespace.name == name, Namespace.kind == "org"))
        ).scalar()
        if ns is None:
            raise NotFound(f"no organization named {name!r}")
        return ns

    @staticmethod
    def _info(ns: Namespace) -> OrgInfo:
        created = ns.created_at if ns.created_at.tzinfo else ns.created_at.replace(tzinfo=UTC)
        return OrgInfo(ns.id, ns.name, ns.email, created)

    # -- organizations
    async def create(self, name: str, email: str | None, creator: Actor, creator_user_id: int) -> OrgInfo:
        validate_namespace_name(name, "organization name")
        async with self.db.write() as s:
            if (await s.execute(select(Namespace.id).where(Namespace.name == name))).scalar() is not None:
                raise Conflict(f"the name {name!r} is already taken by a user or an organization")
            ns = Namespace(name=name, kind="org", email=email or None, created_by=creator.name)
            s.add(ns)
            await s.flush()
            team = Team(namespace_id=ns.id, name=OWNERS_TEAM, role="admin", description="Administrators")
            s.add(team)
            await s.flush()
            s.add(TeamMember(team_id=team.id, user_id=creator_user_id))
            await self.audit.add(s, "org_create", creator, namespace=name, email=email)
            self._acl_changed(s)
            return self._info(ns)

    async def get(self, name: str) -> OrgInfo | None:
        async with self.db.read() as s:
            ns = (
                await s.execute(select(Namespace).where(Namespace.name == name, Namespace.kind == "org"))
            ).scalar()
        return None if ns is None else self._info(ns)

    async def find(self, *, member_user_id: int | None, limit: int, after: str | None) -> list[OrgInfo]:
        """Organizations in name order; only those the user belongs to unless member_user_id is None."""
        stmt = select(Namespace).where(Namespace.kind == "org").order_by(Namespace.name).limit(limit)
        if after:
            stmt = stmt.where(Namespace.name > after)
        if member_user_id is not None:
            stmt = stmt.where(
                Namespace.id.in_(
                    select(Team.namespace_id)
                    .join(TeamMember, TeamMember.team_id == Team.id)
                    .where(TeamMember.user_id == member_user_id)
                )
            )
        async with self.db.read() as s:
            return [self._info(ns) for ns in (await s.execute(stmt)).scalars()]

    async def update(self, name: str, *, email: str | Unset | None = UNSET, actor: Actor) -> OrgInfo:
        """Change the fields given; UNSET leaves a field as it is, None clears it."""
        async with self.db.write() as s:
            ns = await self._org(s, name)
            if not isinstance(email, Unset) and (email or None) != ns.email:
                ns.email = email or None
                await self.audit.add(s, "org_change_email", actor, namespace=name, email=email)
            return self._info(ns)

    async def delete(self, name: str, actor: Actor) -> None:
        """Delete the organization with its teams, robots and repositories (their blobs become garbage)."""
        async with self.db.write() as s:
            ns = await self._org(s, name)
            repositories = await repositories_of(s, ns.id)
            await s.execute(delete(Namespace).where(Namespace.id == ns.id))
            await self.audit.add(s, "org_delete", actor, namespace=name)
            self._acl_changed(s)
            # cached reads of its repositories (manifests, tags, facts) must end with them
            unit_of_work(s).invalidate(*repositories)

    # -- teams
    async def teams(self, org: str) -> list[TeamInfo]:
        async with self.db.read() as s:
            ns = await self._org(s, org)
            count = select(func.count(TeamMember.id)).where(TeamMember.team_id == Team.id).scalar_subquery()
            rows = (
                await s.execute(
                    select(Team, count.label("n")).where(Team.namespace_id == ns.id).order_by(Team.name)
                )
            ).all()
        return [TeamInfo(t.id, t.name, t.role, t.description, int(n)) for t, n in rows]

    async def team(self, org: str, name: str) -> TeamInfo:
        for t in await self.teams(org):
            if t.name == name:
                return t
        raise NotFound(f"no team {name!r} in organization {org!r}")

    async def put_team(
        self,
        org: str,
        name: str,
        *,
        role: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        actor: Actor,
    ) -> TeamInfo:
        """Create a team (role ``member`` unless given), or change the role and description given;
        UNSET leaves an existing team's field as it is."""
        if TEAM_NAME_RE.fullmatch(name) is None:
            raise InvalidInput(
                "team names are 2-255 characters: a lower-case letter, then letters, digits, _ or -"
            )
        if not isinstance(role, Unset) and role not in TEAM_ROLES:
            raise InvalidInput(f"team role must be one of {', '.join(TEAM_ROLES)}")
        async with self.db.write() as s:
            ns = await self._org(s, org)
            team = (
                await s.execute(select(Team).where(Team.namespace_id == ns.id, Team.name == name))
            ).scalar()
            if team is None:
                role = "member" if isinstance(role, Unset) else role
                team = Team(
                    namespace_id=ns.id,
                    name=name,
                    role=role,
                    description=None if isinstance(description, Unset) else description,
                )
                s.add(team)
                await s.flush()
                await self.audit.add(s, "org_create_team", actor, namespace=org, team=name, role=role)
            else:
                if not isinstance(role, Unset):
                    if team.name == OWNERS_TEAM and role != "admin":
                        raise Forbidden("the owners team must keep the admin role")
                    if team.role != role:
                        await self.audit.add(
                            s,
                            "org_set_team_role",
                            actor,
                            namespace=org,
                            team=name,
                            role=role,
                            previous=team.role,
                        )
                    team.role = role
                if not isinstance(description, Unset):
                    team.description = description
            self._acl_changed(s)
            return TeamInfo(team.id, team.name, team.role, team.description, 0)

    async def delete_team(self, org: str, name: str, actor: Actor) -> None:
        if name == OWNERS_TEAM:
            raise Forbidden("the owners team cannot be deleted")
        async with self.db.write() as s:
            ns = await self._org(s, org)
            res = await s.execute(delete(Team).where(Team.namespace_id == ns.id, Team.name == name))
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no team {name!r} in organization {org!r}")
            await self.audit.add(s, "org_delete_team", actor, namespace=org, team=name)
            self._acl_changed(s)

    async def members(self, org: str, team: str) -> list[MemberInfo]:
        async with self.db.read() as s:
            t = await self._team(s, org, team)
            users = (
                await s.execute(
                    select(User.username)
                    .join(TeamMember, TeamMember.user_id == User.id)
                    .where(TeamMember.team_id == t.id)
                    .order_by(User.username)
                )
            ).scalars()
            robots = (
                await s.execute(
                    select(Namespace.name, Robot.shortname)
                    .join(Robot, Robot.namespace_id == Namespace.id)
                    .join(TeamMember, TeamMember.robot_id == Robot.id)
                    .where(TeamMember.team_id == t.id)
                    .order_by(Robot.shortname)
                )
            ).all()
            return [MemberInfo("user", u) for u in users] + [
                MemberInfo("robot", f"{n}+{r}") for n, r in robots
            ]

    async def _team(self, s: AsyncSession, org: str, team: str) -> Team:
        ns = await self._org(s, org)
        t = (await s.execute(select(Team).where(Team.namespace_id == ns.id, Team.name == team))).scalar()
        if t is None:
            raise NotFound(f"no team {team!r} in organization {org!r}")
        return t

    async def _member_ids(self, s: AsyncSession, org_id: int, member: str) -> tuple[int | None, int | None]:
        robot = split_robot_name(member)
        if robot is not None:
            ns_name, short = robot
            row = (
                await s.execute(
                    select(Robot.id, Robot.namespace_id)
                    .join(Namespace, Namespace.id == Robot.namespace_id)
                    .where(Namespace.name == ns_name, Robot.shortname == short)
                )
            ).first()
            if row is None:
                raise NotFound(f"no robot account {member!r}")
            if row.namespace_id != org_id:
                raise InvalidInput("only the organization's own robot accounts can join its teams")
            return None, int(row.id)
        user_id = (await s.execute(select(User.id).where(User.username == member))).scalar()
        if user_id is None:
            raise NotFound(f"no user named {member!r}")
        return int(user_id), None

    async def add_member(self, org: str, team: str, member: str, actor: Actor) -> MemberInfo:
        async with self.db.write() as s:
            t = await self._team(s, org, team)
            user_id, robot_id = await self._member_ids(s, t.namespace_id, member)
            existing = (
                await s.execute(
                    select(TeamMember.id).where(
                        TeamMember.team_id == t.id,
                        TeamMember.user_id == user_id
                        if user_id is not None
                        else TeamMember.robot_id == robot_id,
                    )
                )
            ).scalar()
            if existing is None:
                s.add(TeamMember(team_id=t.id, user_id=user_id, robot_id=robot_id))
                await self.audit.add(s, "org_team_member_add", actor, namespace=org, team=team, member=member)
                self._acl_changed(s)
            return MemberInfo("robot" if robot_id else "user", member)

    async def remove_member(self, org: str, team: str, member: str, actor: Actor) -> None:
        async with self.db.write() as s:
            t = await self._team(s, org, team)
            user_id, robot_id = await self._member_ids(s, t.namespace_id, member)
            cond = TeamMember.user_id == user_id if user_id is not None else TeamMember.robot_id == robot_id
            if t.name == OWNERS_TEAM and user_id is not None:
                owners = (
                    await s.execute(
                        select(func.count(TeamMember.id)).where(
                            TeamMember.team_id == t.id, TeamMember.user_id.is_not(None)
                        )
                    )
                ).scalar_one()
                if owners <= 1:
                    raise Forbidden("the last member of the owners team cannot be removed")
            res = await s.execute(delete(TeamMember).where(TeamMember.team_id == t.id, cond))
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"{member!r} is not a member of team {team!r}")
            await self.audit.add(s, "org_team_member_remove", actor, namespace=org, team=team, member=member)
            self._acl_changed(s)
