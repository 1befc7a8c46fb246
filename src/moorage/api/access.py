"""Permission checks of the REST API, all through the one Authorizer."""

from __future__ import annotations

from moorage.api.auth import ApiCaller
from moorage.api.context import ApiContext
from moorage.domain.errors import Forbidden, NotFound
from moorage.domain.reference import is_valid_name

_RANK = {"read": 1, "write": 2, "admin": 3}
_ORG_RANK = {"member": 1, "creator": 2, "admin": 3}


async def require_repo_role(ctx: ApiContext, caller: ApiCaller, repository: str, needed: str) -> str:
    """The caller's role on ``repository``; 404 when they cannot even read it (existence stays secret)."""
    role = (
        await ctx.authorizer.repository_role(caller.principal, repository)
        if is_valid_name(repository)
        else None
    )
    if role is None:
        raise NotFound(f"no repository named {repository!r}")
    if _RANK[role] < _RANK[needed]:
        raise Forbidden(f"this needs {needed} permission on {repository}")
    return role


async def require_org_role(ctx: ApiContext, caller: ApiCaller, org: str, needed: str) -> str:
    """The caller's role in ``org``: 404 for non-members (teams and robots stay private), 403 if too low."""
    info = await ctx.organizations.get(org)
    role = await ctx.authorizer.org_role(caller.principal, org) if info is not None else None
    if info is None or role is None:
        raise NotFound(f"no organization named {org!r}")
    if _ORG_RANK[role] < _ORG_RANK[needed]:
        raise Forbidden(f"this needs the {needed} role in organization {org}")
    return role


async def require_namespace_admin(ctx: ApiContext, caller: ApiCaller, namespace: str) -> None:
    """Robots and default settings of a namespace: the user themself, or an organization admin."""
    p = caller.principal
    if not p.is_robot and p.name == namespace:
        return
    if p.superuser and p.has_scope("super:user"):
        return
    await require_org_role(ctx, caller, namespace, "admin")
