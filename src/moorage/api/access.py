"""Permission checks of the REST API: the shared rules of moorage.authz.access, bound to the caller."""

from __future__ import annotations

from moorage.api.auth import ApiCaller
from moorage.api.context import ApiContext
from moorage.authz import access


async def require_repo_role(ctx: ApiContext, caller: ApiCaller, repository: str, needed: str) -> str:
    return await access.require_repo_role(ctx.authorizer, caller.principal, repository, needed)


async def require_org_role(ctx: ApiContext, caller: ApiCaller, org: str, needed: str) -> str:
    return await access.require_org_role(ctx.authorizer, ctx.organizations, caller.principal, org, needed)


async def require_namespace_admin(ctx: ApiContext, caller: ApiCaller, namespace: str) -> None:
    await access.require_namespace_admin(ctx.authorizer, ctx.organizations, caller.principal, namespace)
