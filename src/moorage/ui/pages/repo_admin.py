"""Repository administration tabs (admin role): permissions and settings.

They mirror the REST API's routes (``api/routes/permissions.py``, ``api/routes/repositories.py``):
same services, same ``require_repo_role(..., "admin")`` check, run again on every POST.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moorage.authz.permissions import DELEGATE_KINDS
from moorage.domain.errors import InvalidInput, RegistryError, ServiceError, as_service_error
from moorage.domain.roles import REPO_ROLES
from moorage.registry.policies import Scope
from moorage.ui.pages.org_common import resolve_delegate_kind
from moorage.ui.pages.policy_common import policy_variables
from moorage.ui.pages.repo_common import RepoView, load_repo
from moorage.ui.web import actor, ctx, field, form, page, redirect, render


async def _permissions_page(
    request: Request,
    view: RepoView,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    c = ctx(request)
    grants = await c.permissions.grants(view.name)
    # names to suggest without JavaScript; with it, the field asks /api/v1/entities as one types
    suggestions: list[tuple[str, str]] = []
    if await c.organizations.get(view.namespace) is not None:
        suggestions += [(t.name, "team") for t in await c.organizations.teams(view.namespace)]
    with contextlib.suppress(ServiceError, RegistryError):  # a namespace without robots to list
        suggestions += [(r.name, "robot account") for r in await c.robots.list(view.namespace)]
    variables: dict[str, Any] = {
        "suggestions": suggestions,
        "repo": view,
        "tab": "permissions",
        "grants": grants,
        "kinds": DELEGATE_KINDS,
        "roles": REPO_ROLES,
        "values": values or {"kind": "user", "role": "read"},
        "error": error,
    }
    return render(request, "repo_permissions.html", status=status, **variables)


async def permissions_tab(request: Request) -> Response:
    return await _permissions_page(request, await load_repo(request, "admin", signed_in=True))


def _delegate(data: Any) -> tuple[str, str]:
    kind = field(data, "kind", max_length=16)
    name = field(data, "name", max_length=512)
    if kind not in DELEGATE_KINDS:
        raise InvalidInput(f"Grant to a {', a '.join(DELEGATE_KINDS)}")
    if not name:
        raise InvalidInput(f"Give the name of the {kind}")
    return kind, name


async def grant(request: Request) -> Response:
    """Grant a role, or change one (PUT .../permissions/{kind}/{name})."""
    view = await load_repo(request, "admin", signed_in=True)
    data = await form(request)
    values = {
        "kind": field(data, "kind", max_length=16),
        "name": field(data, "name", max_length=512),
        "role": field(data, "role", max_length=16),
    }
    try:
        kind, name = _delegate(data)
        kind = await resolve_delegate_kind(request, view.namespace, kind, name)
        g = await ctx(request).permissions.set(view.name, kind, name, values["role"], actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _permissions_page(request, view, values=values, error=err.detail, status=err.status)
    flash = f"{g.kind.capitalize()} {g.name} has {g.role} access."
    return redirect(request, view.tab_url("permissions"), flash)


async def revoke(request: Request) -> Response:
    """Revoke a grant (DELETE .../permissions/{kind}/{name})."""
    view = await load_repo(request, "admin", signed_in=True)
    data = await form(request)
    try:
        kind, name = _delegate(data)
        await ctx(request).permissions.remove(view.name, kind, name, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _permissions_page(request, view, error=err.detail, status=err.status)
    return redirect(request, view.tab_url("permissions"), f"Access of {kind} {name} revoked.")


async def settings_page(
    request: Request,
    view: RepoView,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    policy_extra: dict[str, Any] | None = None,
) -> Response:
    scope = Scope(view.namespace, view.name)
    variables: dict[str, Any] = {
        "repo": view,
        "tab": "settings",
        "values": values or {"description": view.details.description or ""},
        "error": error,
        **await policy_variables(request, scope, view.tab_url("settings"), policy_extra),
    }
    return render(request, "repo_settings.html", status=status, **variables)


async def settings_tab(request: Request) -> Response:
    return await settings_page(request, await load_repo(request, "admin", signed_in=True))


async def change_visibility(request: Request) -> Response:
    view = await load_repo(request, "admin", signed_in=True)
    data = await form(request)
    visibility = field(data, "visibility", max_length=16)
    try:
        if visibility not in ("public", "private"):
            raise InvalidInput("Visibility must be public or private")
        await ctx(request).repositories.set_visibility(view.name, visibility, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await settings_page(request, view, error=err.detail, status=err.status)
    flash = "anyone may pull it" if visibility == "public" else "only people and robots you grant may see it"
    return redirect(request, view.tab_url("settings"), f"{view.name} is now {visibility}: {flash}.")


async def change_description(request: Request) -> Response:
    view = await load_repo(request, "admin", signed_in=True)
    data = await form(request)
    raw = data.get("description")
    description = raw.strip() if isinstance(raw, str) else ""
    values = {"description": description}
    try:
        if len(description) > 4096:
            raise InvalidInput("The description is limited to 4096 characters")
        await ctx(request).repositories.set_description(view.name, description or None, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await settings_page(request, view, values=values, error=err.detail, status=err.status)
    return redirect(request, view.tab_url("settings"), "Description saved.")


async def delete_repository(request: Request) -> Response:
    """Delete the repository once its full name was typed; then go to its namespace's page."""
    view = await load_repo(request, "admin", signed_in=True)
    data = await form(request)
    typed = field(data, "confirm_name", max_length=300)
    try:
        if typed != view.name:
            raise InvalidInput(
                f"Type the full name {view.name} to delete the repository; nothing was deleted"
            )
        await ctx(request).repositories.delete(view.name, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await settings_page(request, view, error=err.detail, status=err.status)
    return redirect(request, view.namespace_url, f"Repository {view.name} deleted.")


def _tab(suffix: str) -> str:
    return "/repository/{repo:path}/-/" + suffix


routes: list[BaseRoute] = [
    page(_tab("permissions"), permissions_tab),
    page(_tab("permissions"), grant, methods=("POST",)),
    page(_tab("permissions/revoke"), revoke, methods=("POST",)),
    page(_tab("settings"), settings_tab),
    page(_tab("settings/visibility"), change_visibility, methods=("POST",)),
    page(_tab("settings/description"), change_description, methods=("POST",)),
    page(_tab("settings/delete"), delete_repository, methods=("POST",)),
]
