"""The one permission evaluator: what may this principal do to this repository or namespace?

Every edge asks this class: /v2 (token grants and Basic callers), the REST API, the UI and the
CLI. Rules (Quay's model):

- superusers may do everything (an OAuth token still limits them to its scopes);
- a user is admin of the repositories in their own namespace;
- members of an organization team with role ``admin`` are admins of all its repositories;
  ``creator`` teams may also create repositories there;
- explicit grants (read / write / admin) to a user, a team or a robot;
- anyone may read a public repository (anonymous callers only while anonymous access is on);
- OAuth tokens are capped by their scopes; robots get only what is granted to them or their teams.

Roles map to Docker token actions: read → pull; write and admin → pull, push, delete (as in Quay);
admin also administers the repository through the REST API.
Decisions are cached per process and invalidated by the repository's generation and the ACL
generation, which every permission, team, membership, robot and account change bumps.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.authz.principal import Principal
from moorage.db.engine import Database
from moorage.db.models import Namespace, RepositoryPermission, Team, TeamMember
from moorage.domain.reference import namespace_of
from moorage.domain.roles import ROLE_ACTIONS, scope_role_cap, stronger, weaker
from moorage.registry.cache import ACL_SLOT, ReadCache
from moorage.registry.catalog import Visibility
from moorage.registry.repositories import Repositories
from moorage.registry.types import RepositoryInfo

ALL_REPO_ACTIONS = ROLE_ACTIONS["admin"]


@dataclass(frozen=True, slots=True)
class Membership:
    team_id: int
    org: str
    team: str
    role: str


@dataclass(frozen=True, slots=True)
class RepoFacts:
    exists: bool
    public: bool


class Authorizer:
    def __init__(
        self, db: Database, repositories: Repositories, cache: ReadCache, *, anonymous_access: bool
    ) -> None:
        self.db = db
        self.repositories = repositories
        self.cache = cache
        self.anonymous_access = anonymous_access

    # -- facts
    async def memberships(self, p: Principal, s: AsyncSession | None = None) -> tuple[Membership, ...]:
        """The caller's teams; with ``s``, read in that transaction (uncached)."""
        if p.is_anonymous or p.id is None:
            return ()
        key = ("memberships", p.kind, p.id)
        if s is None:
            hit = self.cache.get_multi((ACL_SLOT,), key)
            if not ReadCache.is_miss(hit):
                return hit  # type: ignore[no-any-return]
        gens = self.cache.generations_of((ACL_SLOT,))
        cond = TeamMember.robot_id == p.id if p.is_robot else TeamMember.user_id == p.id
        stmt = (
            select(Team.id, Team.name, Team.role, Namespace.name.label("org"))
            .join(TeamMember, TeamMember.team_id == Team.id)
            .join(Namespace, Namespace.id == Team.namespace_id)
            .where(cond)
        )
        if s is not None:
            rows = (await s.execute(stmt)).all()
            return tuple(Membership(r.id, r.org, r.name, r.role) for r in rows)
        async with self.db.read() as rs:
            rows = (await rs.execute(stmt)).all()
        out = tuple(Membership(r.id, r.org, r.name, r.role) for r in rows)
        self.cache.put_multi((ACL_SLOT,), key, gens, out)
        return out

    async def org_role(self, p: Principal, org: str, s: AsyncSession | None = None) -> str | None:
        """admin | creator | member of an organization (the strongest team role), or None.
        With ``s``, decided inside that transaction (uncached)."""
        if p.superuser and p.has_scope("org:admin"):
            return "admin"
        rank = {"member": 1, "creator": 2, "admin": 3}
        best: str | None = None
        for m in await self.memberships(p, s):
            if m.org == org and (best is None or rank[m.role] > rank[best]):
                best = m.role
        if best == "admin" and not p.has_scope("org:admin"):
            best = "creator" if p.has_scope("repo:create") else "member"
        return best

    async def facts(self, repository: str) -> RepoFacts:
        info = await self.repositories.get(repository)
        return RepoFacts(info is not None, info is not None and info.is_public)

    # -- repositories
    async def repository_role(self, p: Principal, repository: str) -> str | None:
        """The caller's role on an existing repository (None: no access at all)."""
        info = await self.repositories.get(repository)
        if info is None:
            return None
        return await self._role_on(p, info)

    async def repository_role_in(self, s: AsyncSession, p: Principal, repository: str) -> str | None:
        """``repository_role`` decided inside the transaction ``s`` (uncached): for a change whose
        permission check must hold until it commits."""
        info = await self.repositories.get_in(s, repository)
        if info is None:
            return None
        return await self._role_on(p, info, s)

    async def _role_on(self, p: Principal, info: RepositoryInfo, s: AsyncSession | None = None) -> str | None:
        role = await self._granted_role(p, info.name, info.id, s)
        if info.is_public and (not p.is_anonymous or self.anonymous_access):
            role = stronger(role, "read")
        return role

    async def _granted_role(
        self, p: Principal, repository: str, repo_id: int, s: AsyncSession | None = None
    ) -> str | None:
        if p.is_anonymous:
            return None
        cap = scope_role_cap(p.scopes) if p.scopes is not None else "admin"
        if p.superuser:
            return cap
        if s is not None:
            return weaker(await self._compute_role(p, repository, repo_id, s), cap)
        slots = (ACL_SLOT, repository)
        key = ("role", p.kind, p.id, p.name)
        hit = self.cache.get_multi(slots, key)
        if ReadCache.is_miss(hit):
            gens = self.cache.generations_of(slots)
            hit = await self._compute_role(p, repository, repo_id)
            self.cache.put_multi(slots, key, gens, hit)
        return weaker(hit, cap)

    async def _compute_role(
        self, p: Principal, repository: str, repo_id: int, s: AsyncSession | None = None
    ) -> str | None:
        namespace = namespace_of(repository)
        role: str | None = None
        if not p.is_robot and namespace == p.name:
            return "admin"
        memberships = await self.memberships(p, s)
        if any(m.org == namespace and m.role == "admin" for m in memberships):
            return "admin"
        team_ids = [m.team_id for m in memberships]
        conds = (
            [RepositoryPermission.robot_id == p.id] if p.is_robot else [RepositoryPermission.user_id == p.id]
        )
        if team_ids:
            conds.append(RepositoryPermission.team_id.in_(team_ids))
        stmt = select(RepositoryPermission.role).where(
            RepositoryPermission.repository_id == repo_id, or_(*conds)
        )
        if s is not None:
            roles = list((await s.execute(stmt)).scalars())
        else:
            async with self.db.read() as rs:
                roles = list((await rs.execute(stmt)).scalars())
        for r in roles:
            role = stronger(role, r)
        return role

    async def can_create_in(self, p: Principal, namespace: str | None) -> bool:
        """May the caller create repositories in ``namespace`` (by push, API or UI)?"""
        if p.is_anonymous or not p.has_scope("repo:create"):
            return False
        if p.superuser:
            return True
        if namespace is None:
            return False
        if not p.is_robot and namespace == p.name:
            return True
        return any(m.org == namespace and m.role in ("creator", "admin") for m in await self.memberships(p))

    async def allowed(self, p: Principal, repository: str) -> frozenset[str]:
        """Docker token actions on ``repository``: from the role, plus push where it may be created."""
        info = await self.repositories.get(repository)
        if info is None:
            # a push may create it; a repository that does not exist (yet) can be read by nobody
            return ALL_REPO_ACTIONS if await self.can_create_in(p, namespace_of(repository)) else frozenset()
        role = await self._role_on(p, info)
        return ROLE_ACTIONS[role] if role is not None else frozenset()

    # -- lists
    async def catalog_visibility(self, p: Principal) -> Visibility:
        if p.superuser and (p.scopes is None or "repo:read" in p.scopes or "super:user" in p.scopes):
            return Visibility(everything=True)
        public = self.anonymous_access or not p.is_anonymous
        if p.is_anonymous or (p.scopes is not None and scope_role_cap(p.scopes) is None):
            return Visibility(public=public)
        memberships = await self.memberships(p)
        namespaces = {m.org for m in memberships if m.role == "admin"}
        if not p.is_robot:
            namespaces.add(p.name)
        return Visibility(
            namespaces=frozenset(namespaces),
            public=public,
            user_id=None if p.is_robot else p.id,
            robot_id=p.id if p.is_robot else None,
            team_ids=frozenset(m.team_id for m in memberships),
        )

    def may_list_catalog(self, p: Principal) -> bool:
        return not p.is_anonymous or self.anonymous_access
