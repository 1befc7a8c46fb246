"""OAuth applications of an organization (mirrors api/routes/applications.py).

Only organization admins see them. The client secret is stored hashed: it appears once, in the
answer to creating the application or resetting its secret, and never again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import InvalidInput, RegistryError, ServiceError
from moorage.identity.oauth import ApplicationInfo
from moorage.ui.pages.org_common import OrgView, load_org, readable
from moorage.ui.web import actor, ctx, field, form, page, redirect, render


async def _read_form(request: Request) -> dict[str, str]:
    data = await form(request)
    return {
        "name": field(data, "name", max_length=255),
        "redirect_uri": field(data, "redirect_uri", max_length=2048),
        "application_uri": field(data, "application_uri", max_length=2048),
        "description": field(data, "description", max_length=4096),
    }


def _check(values: dict[str, str]) -> None:
    """A name, and web addresses that are absolute http(s) URLs (they become links and redirects)."""
    if not values["name"]:
        raise InvalidInput("give the application a name")
    for key, what in (("redirect_uri", "redirect URI"), ("application_uri", "homepage")):
        value = values[key]
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidInput(f"the {what} must be an absolute http:// or https:// address")


def _page_of(
    apps: list[ApplicationInfo], after: str | None, limit: int
) -> tuple[list[ApplicationInfo], str | None]:
    """Applications by name (several may share one); the cursor is the last client id shown."""
    ordered = sorted(apps, key=lambda a: (a.name, a.client_id))
    ids = [a.client_id for a in ordered]
    start = ids.index(after) + 1 if after in ids else 0
    page = ordered[start : start + limit]
    return page, (page[-1].client_id if start + limit < len(ordered) else None)


async def _list_page(
    request: Request,
    view: OrgView,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    c = ctx(request)
    after = request.query_params.get("after") or None
    apps, next_after = _page_of(await c.oauth.list(view.name), after, c.settings.page_size)
    # ?new=1 (the button's address without JavaScript) and a refused form show the form as a page
    creating = "new" in request.query_params or error is not None
    return render(
        request,
        "org_apps.html",
        status=status,
        org=view,
        current="applications",
        title=f"{view.name} · {'new OAuth application' if creating else 'OAuth applications'}",
        creating=creating,
        apps=apps,
        after=after,
        next_after=next_after,
        error=error,
        values=values or {},
    )


async def applications(request: Request) -> Response:
    return await _list_page(request, await load_org(request, request.path_params["org"], "admin"))


def _detail(
    request: Request,
    view: OrgView,
    app: ApplicationInfo,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "org_app.html",
        status=status,
        org=view,
        current="applications",
        title=f"{view.name} · {app.name}",
        app=app,
        error=error,
        values=values
        or {
            "name": app.name,
            "redirect_uri": app.redirect_uri or "",
            "application_uri": app.application_uri or "",
            "description": app.description or "",
        },
    )


async def create_application(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    values = await _read_form(request)
    try:
        _check(values)
        app = await ctx(request).oauth.create(
            view.name,
            values["name"],
            redirect_uri=values["redirect_uri"] or None,
            application_uri=values["application_uri"] or None,
            description=values["description"] or None,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _list_page(request, view, error=text, status=status, values=values)
    return _detail(request, view, app)  # the one time the client secret is shown


async def application(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    app = await ctx(request).oauth.get(view.name, request.path_params["client_id"])
    return _detail(request, view, app)


async def update_application(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    client_id = request.path_params["client_id"]
    c = ctx(request)
    values = await _read_form(request)
    try:
        _check(values)
        await c.oauth.update(
            view.name,
            client_id,
            name=values["name"],
            redirect_uri=values["redirect_uri"],
            application_uri=values["application_uri"],
            description=values["description"],
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        app = await c.oauth.get(view.name, client_id)
        return _detail(request, view, app, error=text, status=status, values=values)
    return redirect(request, f"{view.url}/applications/{client_id}", "Application saved.")


async def reset_secret(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    app = await ctx(request).oauth.reset_secret(view.name, request.path_params["client_id"], actor(request))
    return _detail(request, view, app)


async def delete_application(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    client_id = request.path_params["client_id"]
    c = ctx(request)
    app = await c.oauth.get(view.name, client_id)
    await c.oauth.delete(view.name, client_id, actor(request))
    return redirect(
        request, f"{view.url}/applications", f"Application {app.name} deleted; its tokens no longer work."
    )


routes = [
    page("/organization/{org}/applications", applications),
    page("/organization/{org}/applications", create_application, methods=("POST",)),
    page("/organization/{org}/applications/{client_id}", application),
    page("/organization/{org}/applications/{client_id}", update_application, methods=("POST",)),
    page("/organization/{org}/applications/{client_id}/reset", reset_secret, methods=("POST",)),
    page("/organization/{org}/applications/{client_id}/delete", delete_application, methods=("POST",)),
]
