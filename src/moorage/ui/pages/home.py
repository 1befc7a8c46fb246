"""Home (repositories the caller can see), explore (public repositories) and the "new" forms."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import Forbidden, InvalidInput, RegistryError, ServiceError, as_service_error
from moorage.domain.principal import Principal
from moorage.registry.catalog import Visibility
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
    require_user,
)


async def _repository_page(
    request: Request, visible: Visibility, *, public_only: bool, title: str, explore: bool = False
) -> Response:
    c = ctx(request)
    q = request.query_params.get("q", "").strip()[:255]
    namespace = request.query_params.get("namespace", "").strip()[:255] or None
    after = request.query_params.get("after") or None
    limit = c.settings.page_size
    items = await c.repositories.list(
        visible, namespace=namespace, public_only=public_only, search=q or None, limit=limit, after=after
    )
    stats = await c.usage.repository_stats([d.name for d in items])
    variables: dict[str, Any] = {
        "repositories": items,
        "stats": stats,
        "q": q,
        "namespace": namespace,
        "after": after,
        "next_after": page_cursor(items, limit, lambda d: d.name),
        "title": title,
        "public_only": public_only,
        "explore": explore,
        "private_visible": False,
    }
    p = me(request)
    if explore and not items and not q and not namespace and not p.is_anonymous:
        # no public repository: say whether the caller has private ones to see (a superuser: all)
        mine = await c.repositories.list(
            await c.authorizer.catalog_visibility(p),
            namespace=None,
            public_only=False,
            search=None,
            limit=1,
            after=None,
        )
        variables["private_visible"] = bool(mine)
    if is_htmx(request) and request.headers.get("hx-target") == "repo-list":
        return render(request, "_repo_list.html", **variables)
    orgs = []
    if not p.is_anonymous and not p.is_robot:
        orgs = await c.organizations.find(member_user_id=p.id, limit=200, after=None)
    return render(request, "home.html", orgs=orgs, **variables)


async def home(request: Request) -> Response:
    c = ctx(request)
    p = me(request)
    if p.is_anonymous and not c.settings.anonymous_access:
        return redirect(request, "/signin")
    visible = await c.authorizer.catalog_visibility(p)
    title = "Repositories" if not p.is_anonymous else "Public repositories"
    return await _repository_page(request, visible, public_only=p.is_anonymous, title=title)


async def explore(request: Request) -> Response:
    c = ctx(request)
    p = me(request)
    if p.is_anonymous and not c.settings.anonymous_access:
        return redirect(request, "/signin?next=/explore")
    return await _repository_page(
        request, Visibility(public=True), public_only=True, title="Explore", explore=True
    )


async def creatable_namespaces(request: Request, p: Principal) -> list[str]:
    c = ctx(request)
    names = [p.name]
    orgs = await c.organizations.find(member_user_id=None if p.superuser else p.id, limit=1000, after=None)
    for o in orgs:
        if await c.authorizer.can_create_in(p, o.name):
            names.append(o.name)
    return names


async def new_repository_page(request: Request) -> Response:
    p = require_user(request)
    namespaces = await creatable_namespaces(request, p)
    chosen = request.query_params.get("namespace", p.name)
    return render(
        request,
        "new_repository.html",
        namespaces=namespaces,
        values={"namespace": chosen if chosen in namespaces else p.name, "visibility": "private"},
    )


async def new_repository(request: Request) -> Response:
    p = require_user(request)
    c = ctx(request)
    data = await form(request)
    values = {
        "namespace": field(data, "namespace", max_length=255),
        "name": field(data, "name", max_length=255),
        "visibility": field(data, "visibility", max_length=16) or "private",
        "description": field(data, "description", max_length=4096),
    }
    namespaces = await creatable_namespaces(request, p)
    try:
        if not values["name"]:
            raise InvalidInput("Give the repository a name")
        if values["visibility"] not in ("public", "private"):
            raise InvalidInput("Visibility must be public or private")
        if values["namespace"] not in namespaces or not await c.authorizer.can_create_in(
            p, values["namespace"]
        ):
            raise Forbidden(f"You cannot create repositories in {values['namespace']!r}")
        full = f"{values['namespace']}/{values['name']}"
        await c.repositories.create(
            full,
            visibility=values["visibility"],
            description=values["description"] or None,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return render(
            request,
            "new_repository.html",
            status=exc.status,
            error=exc.detail,
            namespaces=namespaces,
            values=values,
        )
    return redirect(request, f"/repository/{full}", f"Repository {full} created.")


async def new_organization_page(request: Request) -> Response:
    p = require_user(request)
    c = ctx(request)
    allowed = c.settings.allow_org_creation or p.superuser
    return render(request, "new_organization.html", allowed=allowed, values={})


async def new_organization(request: Request) -> Response:
    p = require_user(request)
    c = ctx(request)
    data = await form(request)
    values = {"name": field(data, "name", max_length=255), "email": field(data, "email", max_length=320)}
    allowed = c.settings.allow_org_creation or p.superuser
    try:
        if not allowed or p.is_robot or p.id is None:
            raise Forbidden("Creating organizations is turned off on this registry; ask an administrator")
        if not values["name"]:
            raise InvalidInput("Give the organization a name")
        await c.organizations.create(values["name"], values["email"] or None, actor(request), p.id)
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return render(
            request,
            "new_organization.html",
            status=exc.status,
            error=exc.detail,
            allowed=allowed,
            values=values,
        )
    name = values["name"]
    return redirect(
        request, f"/organization/{name}", f"Organization {name} created; you are in its owners team."
    )


routes = [
    page("/", home, name="home"),
    page("/explore", explore, name="explore"),
    page("/new/repository", new_repository_page),
    page("/new/repository", new_repository, methods=("POST",)),
    page("/new/organization", new_organization_page),
    page("/new/organization", new_organization, methods=("POST",)),
]
