"""Default permissions of an organization (Quay's prototypes; mirrors api/routes/prototypes.py).

A default permission gives a user, a team or one of the organization's robots a role on every new
repository of the organization, optionally only on those created by a given user or by a member
of a given team. Only organization admins see or change them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import InvalidInput, RegistryError, ServiceError
from moorage.domain.roles import REPO_ROLES
from moorage.ui.pages.org_common import OrgView, load_org, readable, resolve_delegate_kind, slice_page
from moorage.ui.web import actor, ctx, field, form, page, redirect, render

DELEGATE_KINDS = ("user", "team", "robot")
ACTIVATING_KINDS = ("anyone", "user", "team")


async def _page(
    request: Request,
    view: OrgView,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    c = ctx(request)
    after = request.query_params.get("after") or None
    defaults, next_after = slice_page(
        await c.permissions.defaults(view.name),
        after,
        c.settings.page_size,
        lambda d: f"{d.id:012d}",  # ids in creation order, compared as text
    )
    return render(
        request,
        "org_defaults.html",
        status=status,
        org=view,
        current="defaults",
        title=f"{view.name} · default permissions",
        defaults=defaults,
        after=after,
        next_after=next_after,
        teams=await c.organizations.teams(view.name),
        robots=await c.robots.list(view.name),
        roles=REPO_ROLES,
        delegate_kinds=DELEGATE_KINDS,
        activating_kinds=ACTIVATING_KINDS,
        error=error,
        values=values or {"delegate_kind": "team", "role": "read", "activating_kind": "anyone"},
    )


async def defaults(request: Request) -> Response:
    return await _page(request, await load_org(request, request.path_params["org"], "admin"))


def _delegate_name(org: str, kind: str, name: str) -> str:
    """Robots may be named without their organization prefix; only the organization's own count."""
    if kind != "robot":
        return name
    full = name if "+" in name else f"{org}+{name}"
    if not full.startswith(f"{org}+"):
        raise InvalidInput(f"only robot accounts of {org} can get its default permissions")
    return full


async def add_default(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    data = await form(request)
    values = {
        "delegate_kind": field(data, "delegate_kind", max_length=16),
        "delegate": field(data, "delegate", max_length=512),
        "role": field(data, "role", max_length=16),
        "activating_kind": field(data, "activating_kind", max_length=16) or "anyone",
        "activating": field(data, "activating", max_length=255),
    }
    try:
        if values["delegate_kind"] not in DELEGATE_KINDS:
            raise InvalidInput("choose whom the permission is for: a user, a team or a robot account")
        if not values["delegate"]:
            raise InvalidInput(f"enter the name of the {values['delegate_kind']} to give the permission to")
        if values["activating_kind"] not in ACTIVATING_KINDS:
            raise InvalidInput("choose when the permission applies")
        if values["activating_kind"] != "anyone" and not values["activating"]:
            raise InvalidInput(f"enter the {values['activating_kind']} whose new repositories it applies to")
        values["delegate_kind"] = await resolve_delegate_kind(
            request, view.name, values["delegate_kind"], values["delegate"]
        )
        activating = values["activating"] if values["activating_kind"] != "anyone" else ""
        await ctx(request).permissions.add_default(
            view.name,
            delegate_kind=values["delegate_kind"],
            delegate=_delegate_name(view.name, values["delegate_kind"], values["delegate"]),
            role=values["role"],
            activating_user=activating if values["activating_kind"] == "user" else None,
            activating_team=activating if values["activating_kind"] == "team" else None,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _page(request, view, error=text, status=status, values=values)
    return redirect(
        request,
        f"{view.url}/defaults",
        f"Default permission added: {values['role']} for {values['delegate_kind']} {values['delegate']}.",
    )


async def change_default(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    data = await form(request)
    try:
        role = field(data, "role", required=True, max_length=16)
        await ctx(request).permissions.update_default(
            view.name, request.path_params["default_id"], role, actor(request)
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _page(request, view, error=text, status=status)
    return redirect(request, f"{view.url}/defaults", "Default permission changed.")


async def delete_default(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    try:
        await ctx(request).permissions.delete_default(
            view.name, request.path_params["default_id"], actor(request)
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _page(request, view, error=text, status=status)
    return redirect(request, f"{view.url}/defaults", "Default permission removed.")


routes = [
    page("/organization/{org}/defaults", defaults),
    page("/organization/{org}/defaults", add_default, methods=("POST",)),
    page("/organization/{org}/defaults/{default_id}", change_default, methods=("POST",)),
    page("/organization/{org}/defaults/{default_id}/delete", delete_default, methods=("POST",)),
]
