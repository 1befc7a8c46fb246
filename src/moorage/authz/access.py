"""Access checks every edge shares (REST API, web UI, CLI): one place decides 404 versus 403.

A caller who may not even read a repository, or is not in an organization, is told it does not
exist (existence stays secret); a caller who can see it but lacks the role gets "forbidden".
"""

from __future__ import annotations

from moorage.authz.evaluator import Authorizer
from moorage.authz.principal import Principal
from moorage.domain.errors import Forbidden, NotFound
from moorage.domain.reference import is_valid_name
from moorage.identity.orgs import Organizations

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
