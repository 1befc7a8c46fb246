"""Namespace pages: an organization's repositories and settings, and a user's repositories.

Teams, robots, default permissions, OAuth applications and logs have their own modules
(org_teams, robots, org_defaults, org_apps, org_logs); they share :mod:`org_common`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import InvalidInput, NotFound, RegistryError, ServiceError
from moorage.registry.lifecycle import human_duration, window_choices
from moorage.registry.policies import Scope
from moorage.ui.pages.org_common import OrgView, load_org, readable
from moorage.ui.pages.policy_common import policy_variables
from moorage.ui.pages.quotas import namespace_bar
from moorage.ui.web import (
    actor,
    ctx,
    field,
    form,
    is_htmx,
    me,
    page,
    page_cursor,
    redirect,
    render,
)


async def _namespace_repositories(request: Request, namespace: str) -> dict[str, Any]:
    """One page of the repositories of ``namespace`` the caller may see (the home list's rules)."""
    c = ctx(request)
    p = me(request)
    q = request.query_params.get("q", "").strip()[:255]
    after = request.query_params.get("after") or None
    limit = c.settings.page_size
    visible = await c.authorizer.catalog_visibility(p)
    items = await c.repositories.list(
        visible, namespace=namespace, public_only=p.is_anonymous, search=q or None, limit=limit, after=after
    )
    return {
        "repositories": items,
        "stats": await c.usage.repository_stats([d.name for d in items]),
        "q": q,
        "after": after,
        "next_after": page_cursor(items, limit, lambda d: d.name),
        "namespace": namespace,
    }


def _wants_list_only(request: Request) -> bool:
    return is_htmx(request) and request.headers.get("hx-target") == "repo-list"


async def org_repositories(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"])
    variables = await _namespace_repositories(request, view.name)
    variables["can_create"] = view.can_create
    if _wants_list_only(request):
        return render(request, "org_repo_list.html", **variables)
    variables["quota"] = await namespace_bar(ctx(request), view.name)  # members read it (as the API)
    return render(request, "org_repositories.html", org=view, current="repositories", **variables)


async def user_namespace(request: Request) -> Response:
    c = ctx(request)
    p = me(request)
    if p.is_anonymous and not c.settings.anonymous_access:
        return redirect(request, f"/signin?next={quote(request.url.path)}")
    username = request.path_params["username"]
    user = await c.users.get(username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    variables = await _namespace_repositories(request, user.username)
    variables["can_create"] = await c.authorizer.can_create_in(p, user.username)
    if _wants_list_only(request):
        return render(request, "org_repo_list.html", **variables)
    is_me = not p.is_robot and p.name == user.username
    # a user's usage and quota are theirs (and the superusers') to see, as GET /api/v1/user/quota
    if is_me or (p.superuser and p.has_scope("super:user")):
        variables["quota"] = await namespace_bar(c, user.username)
    return render(
        request,
        "org_user.html",
        user=user,
        is_me=not p.is_robot and p.name == user.username,
        title=user.username,
        **variables,
    )


# -- settings
async def settings_page(
    request: Request,
    view: OrgView,
    *,
    error: str | None = None,
    window_error: str | None = None,
    status: int = 200,
    policy_extra: dict[str, Any] | None = None,
    **values: str,
) -> Response:
    lifecycle = ctx(request).lifecycle
    policies = await policy_variables(request, Scope(view.name), f"{view.url}/settings", policy_extra)
    return render(
        request,
        "org_settings.html",
        status=status,
        org=view,
        current="settings",
        title=f"{view.name} · settings",
        error=error,
        values=values or {"email": view.info.email or ""},
        window=await lifecycle.namespace_window(view.name),
        window_choices=window_choices(lifecycle.window_options),
        window_error=window_error,
        **policies,
    )


async def org_settings(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    return await settings_page(request, view, email=view.info.email or "")


async def org_update(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    data = await form(request)
    if "tag_expiration_s" in data:  # the time machine form (as PUT /organization/{org} {"tag_expiration_s"})
        raw = field(data, "tag_expiration_s", max_length=20)
        try:
            if not raw.isdigit():
                raise InvalidInput("Choose how long ended tags stay restorable")
            seconds = await ctx(request).lifecycle.set_namespace_window(view.name, int(raw), actor(request))
        except (ServiceError, RegistryError) as exc:
            text, status = readable(exc)
            return await settings_page(
                request, view, window_error=text, status=status, email=view.info.email or ""
            )
        return redirect(
            request, f"{view.url}/settings", f"Ended tags now stay restorable for {human_duration(seconds)}."
        )
    email = ""
    try:
        email = field(data, "email", max_length=320)
        if email and ("@" not in email or any(ch.isspace() for ch in email)):
            raise InvalidInput("that is not an e-mail address")
        await ctx(request).organizations.update(view.name, email=email or None, actor=actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await settings_page(request, view, error=text, status=status, email=email)
    return redirect(request, f"{view.url}/settings", "Contact e-mail saved.")


async def org_delete(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    data = await form(request)
    typed = field(data, "confirm", max_length=255)
    if typed != view.name:
        return await settings_page(
            request,
            view,
            error=f"Type the organization's name, {view.name}, to delete it. Nothing was deleted.",
            status=400,
            email=view.info.email or "",
        )
    try:
        await ctx(request).organizations.delete(view.name, actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await settings_page(request, view, error=text, status=status, email=view.info.email or "")
    return redirect(request, "/", f"Organization {view.name} and its repositories were deleted.")


routes = [
    page("/organization/{org}", org_repositories, name="organization"),
    page("/organization/{org}/settings", org_settings),
    page("/organization/{org}/settings", org_update, methods=("POST",)),
    page("/organization/{org}/delete", org_delete, methods=("POST",)),
    page("/user/{username}", user_namespace, name="user_namespace"),
]
