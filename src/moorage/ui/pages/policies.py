"""Auto-prune policies and immutability rules on the organization and repository settings pages.

The forms post here (mirroring api/routes/policies.py and api/routes/immutability.py: same
services, same checks: organization admin, repository admin). A form with a ``uuid`` edits that
policy, without one it adds a policy. Errors re-render the settings page with the message beside
the form (and the values typed); nothing changes.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import RegistryError, ServiceError
from moorage.registry.policies import Scope
from moorage.ui.pages import orgs, repo_admin
from moorage.ui.pages.org_common import load_org, readable
from moorage.ui.pages.repo_common import load_repo
from moorage.ui.web import actor, ctx, field, form, page, redirect, render


async def _scope(request: Request) -> tuple[Scope, str, Any]:
    """The scope of the request, the settings page's URL, and the loaded org or repository view."""
    if "org" in request.path_params:
        org = await load_org(request, request.path_params["org"], "admin")
        return Scope(org.name), f"{org.url}/settings", org
    repo = await load_repo(request, "admin", signed_in=True)
    return Scope(repo.namespace, repo.name), repo.tab_url("settings"), repo


async def _again(request: Request, view: Any, extra: dict[str, Any], status: int) -> Response:
    if "org" in request.path_params:
        return await orgs.settings_page(request, view, status=status, policy_extra=extra)
    return await repo_admin.settings_page(request, view, status=status, policy_extra=extra)


async def save_autoprune(request: Request) -> Response:
    scope, back, view = await _scope(request)
    data = await form(request)
    values = {
        "method": field(data, "method", max_length=32),
        "value": field(data, "value", max_length=32),
        "tag_pattern": field(data, "tag_pattern", max_length=1024),
        "matches": "false" if field(data, "matches", max_length=8) == "false" else "true",
        "uuid": field(data, "uuid", max_length=36),
    }
    value: int | str = values["value"]
    if values["method"] == "number_of_tags" and values["value"].lstrip("-").isdigit():
        value = int(values["value"])
    kwargs: dict[str, Any] = {
        "method": values["method"],
        "value": value,
        "tag_pattern": values["tag_pattern"] or None,
        "tag_pattern_matches": values["matches"] == "true",
        "actor": actor(request),
    }
    try:
        if values["uuid"]:
            await ctx(request).policies.update_autoprune(scope, values["uuid"], **kwargs)
        else:
            await ctx(request).policies.create_autoprune(scope, **kwargs)
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _again(request, view, {"prune_error": text, "prune_values": values}, status)
    done = "saved" if values["uuid"] else "added"
    return redirect(request, back + "#autoprune", f"Auto-prune policy {done}.")


async def delete_autoprune(request: Request) -> Response:
    scope, back, view = await _scope(request)
    try:
        await ctx(request).policies.delete_autoprune(scope, request.path_params["uuid"][:36], actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _again(request, view, {"prune_error": text}, status)
    return redirect(request, back + "#autoprune", "Auto-prune policy removed.")


async def preview_autoprune(request: Request) -> Response:
    scope, back, _ = await _scope(request)
    policy_uuid = request.path_params["uuid"][:36]
    c = ctx(request)
    policy = await c.policies.get_autoprune(scope, policy_uuid)  # NotFound -> the 404 page
    candidates = await c.autoprune.preview_policy(scope, policy_uuid)
    return render(
        request,
        "policy_preview.html",
        title="Auto-prune preview",
        policy=policy,
        candidates=candidates,
        scope_label=scope.label,
        back=back + "#autoprune",
        back_label="Settings",
    )


async def save_immutability(request: Request) -> Response:
    scope, back, view = await _scope(request)
    data = await form(request)
    values = {
        "tag_pattern": field(data, "tag_pattern", max_length=1024),
        "matches": "false" if field(data, "matches", max_length=8) == "false" else "true",
        "uuid": field(data, "uuid", max_length=36),
    }
    kwargs: dict[str, Any] = {
        "tag_pattern": values["tag_pattern"] or None,
        "tag_pattern_matches": values["matches"] == "true",
        "actor": actor(request),
    }
    try:
        if values["uuid"]:
            await ctx(request).policies.update_immutability(scope, values["uuid"], **kwargs)
        else:
            await ctx(request).policies.create_immutability(scope, **kwargs)
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _again(request, view, {"rule_error": text, "rule_values": values}, status)
    done = "saved" if values["uuid"] else "added"
    return redirect(request, back + "#immutability", f"Immutability rule {done}.")


async def delete_immutability(request: Request) -> Response:
    scope, back, view = await _scope(request)
    try:
        await ctx(request).policies.delete_immutability(
            scope, request.path_params["uuid"][:36], actor(request)
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _again(request, view, {"rule_error": text}, status)
    return redirect(request, back + "#immutability", "Immutability rule removed.")


def _both(suffix: str) -> list[str]:
    return ["/organization/{org}/settings/" + suffix, "/repository/{repo:path}/-/settings/" + suffix]


routes = [
    *(page(p, save_autoprune, methods=("POST",)) for p in _both("autoprune")),
    *(page(p, delete_autoprune, methods=("POST",)) for p in _both("autoprune/{uuid}/delete")),
    *(page(p, preview_autoprune) for p in _both("autoprune/{uuid}/preview")),
    *(page(p, save_immutability, methods=("POST",)) for p in _both("immutability")),
    *(page(p, delete_immutability, methods=("POST",)) for p in _both("immutability/{uuid}/delete")),
]
