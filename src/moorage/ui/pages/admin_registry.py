"""The superuser panel, registry part: organizations, invitations, storage usage, locked accounts.

Same rule as ``admin.py``: 404 for everybody but a superuser. Deleting an organization mirrors
``DELETE /api/v1/organization/{org}``, unlocking mirrors ``DELETE /api/v1/superuser/lockedaccounts/{key}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moorage.authz.access import require_org_role
from moorage.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RegistryError,
    ServiceError,
    as_service_error,
)
from moorage.ui.pages.admin import capitalized, require_superuser
from moorage.ui.web import actor, ctx, field, form, page, page_cursor, redirect, render


# -- organizations
async def organizations_page(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    after = request.query_params.get("after") or None
    limit = c.settings.page_size
    orgs = await c.organizations.find(member_user_id=None, limit=limit, after=after)
    counts = await c.usage.repository_counts([o.name for o in orgs])
    return render(
        request,
        "admin_organizations.html",
        orgs=orgs,
        counts=counts,
        after=after,
        next_after=page_cursor(orgs, limit, lambda o: o.name),
    )


async def _org_delete_page(request: Request, status: int = 200, **variables: Any) -> Response:
    require_superuser(request)
    c = ctx(request)
    name = request.path_params["org"]
    org = await c.organizations.get(name)
    if org is None:
        raise NotFound(f"There is no organization named {name!r}.")
    counts = await c.usage.repository_counts([org.name])
    return render(
        request, "admin_org_delete.html", status=status, org=org, repositories=counts[org.name], **variables
    )


async def org_delete_page(request: Request) -> Response:
    return await _org_delete_page(request)


async def delete_organization(request: Request) -> Response:
    p = require_superuser(request)
    c = ctx(request)
    name = request.path_params["org"]
    data = await form(request)
    if field(data, "confirm", max_length=255) != name:
        return await _org_delete_page(request, 400, error=f"Type {name} to confirm the deletion.")
    try:
        await require_org_role(c.authorizer, c.organizations, p, name, "admin")
        await c.organizations.delete(name, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        if exc.status == 404:
            raise
        return await _org_delete_page(request, exc.status, error=capitalized(exc.detail))
    return redirect(
        request,
        "/superuser/organizations",
        f"Organization {name} deleted with its teams, robots and repositories.",
    )


# -- invitations
async def _invitations_page(request: Request, status: int = 200, **variables: Any) -> Response:
    require_superuser(request)
    c = ctx(request)
    before = request.query_params.get("before") or None
    before_id = int(before) if before and before.isdigit() else None
    limit = c.settings.page_size
    invitations = await c.sessions.invitations(limit=limit, before_id=before_id)
    variables.setdefault("values", {})
    return render(
        request,
        "admin_invitations.html",
        status=status,
        invitations=invitations,
        before=before_id,
        next_before=page_cursor(invitations, limit, lambda i: str(i.id)),
        invite_mode=c.settings.user_creation == "invite",
        now=datetime.now(UTC),
        **variables,
    )


async def invitations_page(request: Request) -> Response:
    return await _invitations_page(request)


async def create_invitation(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    data = await form(request)
    values = {"email": field(data, "email", max_length=320)}
    try:
        if c.settings.user_creation != "invite":
            raise Forbidden(
                f"Account creation is {c.settings.user_creation!r} on this registry, so invitations "
                "are not used; set user_creation to invite first"
            )
        invitation = await c.sessions.invite(values["email"] or None, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _invitations_page(request, exc.status, error=capitalized(exc.detail), values=values)
    # the link holds the only copy of the token: shown in this answer, never stored readable
    link = f"{c.settings.base_url}/signup?invite={invitation.token}"
    return await _invitations_page(request, created=invitation, link=link)


async def revoke_invitation(request: Request) -> Response:
    require_superuser(request)
    raw = request.path_params["invitation_id"]
    if not raw.isdigit():
        raise NotFound("There is no such invitation.")
    await ctx(request).sessions.revoke_invitation(int(raw), actor(request))
    return redirect(request, "/superuser/invitations", "Invitation revoked: its link no longer works.")


# -- storage
async def storage_page(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    q = request.query_params.get("q", "").strip()[:255]
    return render(
        request,
        "admin_storage.html",
        totals=await c.usage.totals(),
        namespaces=await c.usage.by_namespace(100, search=q or None),
        q=q,
    )


# -- locked accounts
async def _locks_page(request: Request, status: int = 200, **variables: Any) -> Response:
    require_superuser(request)
    c = ctx(request)
    after = request.query_params.get("after") or None
    locks = sorted(await c.throttle.locked(), key=lambda lock: lock.key)
    if after:
        locks = [lock for lock in locks if lock.key > after]
    limit = c.settings.page_size
    chunk = locks[:limit]
    return render(
        request,
        "admin_locks.html",
        status=status,
        locks=chunk,
        after=after,
        next_after=chunk[-1].key if len(locks) > limit else None,
        **variables,
    )


async def locks_page(request: Request) -> Response:
    return await _locks_page(request)


async def unlock(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    key = field(await form(request), "key", max_length=512)
    try:
        if not key:
            raise InvalidInput("Choose what to unlock")
        if not await c.throttle.unlock(key):
            raise NotFound(f"{key} is not locked")
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _locks_page(request, exc.status, error=capitalized(exc.detail))
    await c.audit.record("unlock_account", actor(request), key=key)
    return redirect(request, "/superuser/locks", f"{key} unlocked: it may sign in again.")


routes = [
    page("/superuser/organizations", organizations_page),
    page("/superuser/organizations/{org}/delete", org_delete_page),
    page("/superuser/organizations/{org}/delete", delete_organization, methods=("POST",)),
    page("/superuser/invitations", invitations_page),
    page("/superuser/invitations", create_invitation, methods=("POST",)),
    page("/superuser/invitations/{invitation_id}/revoke", revoke_invitation, methods=("POST",)),
    page("/superuser/storage", storage_page),
    page("/superuser/locks", locks_page),
    page("/superuser/locks/unlock", unlock, methods=("POST",)),
]
