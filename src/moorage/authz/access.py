"""Access checks every edge shares (REST API, web UI, CLI): one place decides 404 versus 403.

A caller who may not even read a repository, or is not in an organization, is told it does not
exist (existence stays secret); a caller who can see it but lacks the role gets "forbidden".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from moorage.authz.evaluator import Authorizer
from moorage.authz.permissions import Permissions
from moorage.authz.principal import Principal
from moorage.domain.actor import Actor
from moorage.domain.errors import Forbidden, InvalidInput, NotFound
from moorage.domain.reference import is_valid_name
from moorage.identity.orgs import Organizations
from moorage.identity.robots import RobotInfo, Robots

REPO_RANK = {"read": 1, "write": 2, "admin": 3}
ORG_RANK = {"member": 1, "creator": 2, "admin": 3}


def repo_role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and REPO_RANK[role] >= REPO_RANK[needed]


def org_role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and ORG_RANK[role] >= ORG_RANK[needed]


async def require_repo_role(authorizer: Authorizer, p: Principal, repository: str, needed: str) -> str:
    """The caller's role on ``repository``; NotFound when they cannot even read it."""
    role = await authorizer.repository_role(p, repository) if is_valid_name(repository) else None
    if role is None:
        raise NotFound(f"no repository named {repository!r}")
    if not repo_role_at_least(role, needed):
        raise Forbidden(f"this needs {needed} permission on {repository}")
    return role


async def require_org_role(
    authorizer: Authorizer, organizations: Organizations, p: Principal, org: str, needed: str
) -> str:
    """The caller's role in ``org``: NotFound for non-members (teams and robots stay private)."""
    info = await organizations.get(org)
    role = await authorizer.org_role(p, org) if info is not None else None
    if info is None or role is None:
        raise NotFound(f"no organization named {org!r}")
    if not org_role_at_least(role, needed):
        raise Forbidden(f"this needs the {needed} role in organization {org}")
    return role


async def require_namespace_admin(
    authorizer: Authorizer, organizations: Organizations, p: Principal, namespace: str
) -> None:
    """Robots and default settings of a namespace: the user themself, or an organization admin."""
    if not p.is_robot and p.name == namespace:
        return
    if p.superuser and p.has_scope("super:user"):
        return
    await require_org_role(authorizer, organizations, p, namespace, "admin")


async def create_robot_with_grants(
    authorizer: Authorizer,
    organizations: Organizations,
    robots: Robots,
    permissions: Permissions,
    p: Principal,
    namespace: str,
    shortname: str,
    *,
    description: str | None,
    expires_at: datetime | None,
    grants: Mapping[str, str],
    actor: Actor,
) -> RobotInfo:
    """Create a robot account and its repository grants as one unit of work.

    The caller's rights (namespace admin, admin on each repository) are decided inside the same
    transaction as the writes, uncached, so a right revoked before the commit cannot be used, and
    either the robot and every grant exist afterwards or none of them."""
    await require_namespace_admin(authorizer, organizations, p, namespace)  # 404 versus 403, early
    for repo, role in grants.items():
        if role not in REPO_RANK:
            raise InvalidInput(f"the role for {repo} must be one of {', '.join(REPO_RANK)}")
        if not repo.startswith(f"{namespace}/"):
            raise InvalidInput("a robot account can only be granted repositories of its own namespace")

    async def inside(s: AsyncSession, robot: RobotInfo) -> None:
        own = not p.is_robot and p.name == namespace
        if not own and not (p.superuser and p.has_scope("super:user")):  # decided again, in the transaction
            role = await authorizer.org_role(p, namespace, s)
            if not org_role_at_least(role, "admin"):
                raise Forbidden(f"this needs the admin role in organization {namespace}")
        for repo, role in sorted(grants.items()):
            have = await authorizer.repository_role_in(s, p, repo) if is_valid_name(repo) else None
            if have is None:
                raise NotFound(f"no repository named {repo!r}")
            if not repo_role_at_least(have, "admin"):
                raise Forbidden(f"this needs admin permission on {repo}")
            await permissions.set_in(s, repo, "robot", robot.name, role, actor)

    return await robots.create(
        namespace, shortname, description=description, expires_at=expires_at, actor=actor, inside=inside
    )
