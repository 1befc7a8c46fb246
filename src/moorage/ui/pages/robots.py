"""Robot accounts of organizations (/organization/{org}/robots) and of the signed-in user (/settings/robots).

One set of handlers serves both: :func:`_scope` decides whose robots a request is about and applies
the REST API's rule (organization admins; the user themself for personal robots). A robot's token
never appears in a page until the admin asks for it (the reveal button), and then comes with
ready-to-paste credentials: docker and podman login, a Kubernetes pull secret, a config.json entry.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moorage.authz.access import create_robot_with_grants, require_namespace_admin, require_repo_role
from moorage.domain.clientcommands import ClientCommands
from moorage.domain.errors import Forbidden, InvalidInput, RegistryError, ServiceError
from moorage.domain.principal import Principal
from moorage.domain.roles import REPO_ROLES
from moorage.identity.robots import RobotInfo
from moorage.registry.catalog import Visibility
from moorage.ui.pages.org_common import OrgView, load_org, readable, slice_page
from moorage.ui.web import actor, ctx, field, form, is_htmx, page, redirect, render, require_user

GRANTABLE_LIMIT = 500  # repositories offered in the create dialog and the grant form
GRANT_PREFIX = "grant:"


@dataclass(frozen=True, slots=True)
class RobotScope:
    """Whose robots: an organization's (``org`` set) or the signed-in user's own."""

    namespace: str
    base: str  # the URL of the robot list
    org: OrgView | None
    principal: Principal

    @property
    def layout(self) -> str:
        return "org_base.html" if self.org is not None else "robot_personal_base.html"


async def _scope(request: Request) -> RobotScope:
    org = request.path_params.get("org")
    if org is not None:
        view = await load_org(request, org, "admin")
        return RobotScope(view.name, f"{view.url}/robots", view, view.principal)
    p = require_user(request)
    if p.is_robot:
        raise Forbidden("robot accounts cannot manage robot accounts")
    c = ctx(request)
    await require_namespace_admin(c.authorizer, c.organizations, p, p.name)
    return RobotScope(p.name, "/settings/robots", None, p)


def _common(scope: RobotScope) -> dict[str, object]:
    return {"scope": scope, "org": scope.org, "current": "robots", "layout": scope.layout}


async def _grantable(request: Request, scope: RobotScope) -> list[str]:
    """Repositories of the namespace a robot may be granted (the namespace admin administers all)."""
    items = await ctx(request).repositories.list(
        Visibility(everything=True), namespace=scope.namespace, limit=GRANTABLE_LIMIT
    )
    return [r.name for r in items]


# -- the list and the create dialog
async def _list_page(
    request: Request,
    scope: RobotScope,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
    grants: dict[str, str] | None = None,
) -> Response:
    c = ctx(request)
    after = request.query_params.get("after") or None
    robots, next_after = slice_page(
        await c.robots.list(scope.namespace), after, c.settings.page_size, lambda r: r.shortname
    )
    permissions = {
        r.name: await c.permissions.robot_permissions(scope.namespace, r.shortname) for r in robots
    }
    repositories = await _grantable(request, scope)
    # ?new=1 (the button's address without JavaScript) and a refused form show the form as a page
    creating = "new" in request.query_params or error is not None
    return render(
        request,
        "robot_list.html",
        status=status,
        title=f"{scope.namespace} · {'new robot account' if creating else 'robot accounts'}",
        creating=creating,
        robots=robots,
        permissions=permissions,
        after=after,
        next_after=next_after,
        repositories=repositories,
        truncated=len(repositories) >= GRANTABLE_LIMIT,
        roles=REPO_ROLES,
        error=error,
        values=values or {},
        grants=grants or {},
        now=datetime.now(UTC),
        **_common(scope),
    )


async def robot_list(request: Request) -> Response:
    return await _list_page(request, await _scope(request))


def _parse_expiry(text: str) -> datetime | None:
    """``<input type=datetime-local>`` (read as UTC) or an ISO 8601 time."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("the expiry is not a date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _submitted_grants(data: FormData) -> dict[str, str]:
    """{repository: role} chosen in the form (``grant:<repository>`` = read|write|admin|"")."""
    out: dict[str, str] = {}
    for key, value in data.multi_items():
        if key.startswith(GRANT_PREFIX) and isinstance(value, str) and value.strip():
            out[key[len(GRANT_PREFIX) :]] = value.strip()
    return out


async def _check_grants(request: Request, scope: RobotScope, grants: dict[str, str]) -> None:
    """The same checks as PUT /repository/{repo}/permissions/robot/...: admin on each repository."""
    c = ctx(request)
    for repo, role in grants.items():
        if role not in REPO_ROLES:
            raise InvalidInput(f"the role for {repo} must be one of {', '.join(REPO_ROLES)}")
        if not repo.startswith(f"{scope.namespace}/"):
            raise InvalidInput("a robot account can only be granted repositories of its own namespace")
        await require_repo_role(c.authorizer, scope.principal, repo, "admin")


async def create_robot(request: Request) -> Response:
    scope = await _scope(request)
    c = ctx(request)
    data = await form(request)
    values = {
        "name": field(data, "name", max_length=255),
        "description": field(data, "description", max_length=4096),
        "expires": field(data, "expires", max_length=64),
    }
    grants = _submitted_grants(data)
    try:
        if not values["name"]:
            raise InvalidInput("give the robot account a name")
        expires = _parse_expiry(values["expires"])
        # one service call, one transaction: the robot, its grants and the permission checks
        robot = await create_robot_with_grants(
            c.authorizer,
            c.organizations,
            c.robots,
            c.permissions,
            scope.principal,
            scope.namespace,
            values["name"],
            description=values["description"] or None,
            expires_at=expires,
            grants=grants,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _list_page(request, scope, error=text, status=status, values=values, grants=grants)
    count = len(grants)
    access = f" with access to {count} repositor{'y' if count == 1 else 'ies'}" if count else ""
    return redirect(
        request, f"{scope.base}/{robot.shortname}", f"Robot account {robot.name} created{access}."
    )


# -- one robot
def credentials(robot: str, token: str, commands: ClientCommands) -> dict[str, str]:
    """Ready-to-paste ways to log in as the robot, as Quay shows them."""
    host = commands.host
    auth = base64.b64encode(f"{robot}:{token}".encode()).decode()
    config = {"auths": {host: {"auth": auth}}}
    dockerconfig = base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()
    secret = (re.sub(r"[^a-z0-9-]+", "-", robot.lower()).strip("-")[:200] or "robot") + "-pull-secret"
    return {
        "docker": commands.login("docker", robot, token),
        "podman": commands.login("podman", robot, token),
        "kubernetes": (
            "apiVersion: v1\n"
            "kind: Secret\n"
            "metadata:\n"
            f"  name: {secret}\n"
            "type: kubernetes.io/dockerconfigjson\n"
            "data:\n"
            f"  .dockerconfigjson: {dockerconfig}\n"
        ),
        "secret_name": secret,
        "config": json.dumps(config, indent=2),
    }


async def _detail_page(
    request: Request,
    scope: RobotScope,
    short: str,
    *,
    reveal: bool = False,
    error: str | None = None,
    status: int = 200,
) -> Response:
    c = ctx(request)
    robot = await c.robots.get(scope.namespace, short, reveal=reveal)
    permissions = await c.permissions.robot_permissions(scope.namespace, short)
    held = {repo for repo, _ in permissions}
    return render(
        request,
        "robot_detail.html",
        status=status,
        title=robot.name,
        robot=robot,
        permissions=permissions,
        repositories=[r for r in await _grantable(request, scope) if r not in held],
        roles=REPO_ROLES,
        creds=credentials(robot.name, robot.token, c.settings.commands) if robot.token else None,
        error=error,
        now=datetime.now(UTC),
        **_common(scope),
    )


async def robot_detail(request: Request) -> Response:
    return await _detail_page(request, await _scope(request), request.path_params["short"])


async def reveal(request: Request) -> Response:
    """The token and credentials: an htmx fragment for the button, or the whole page without script."""
    scope = await _scope(request)
    short = request.path_params["short"]
    if not is_htmx(request):
        return await _detail_page(request, scope, short, reveal=True)
    c = ctx(request)
    robot: RobotInfo = await c.robots.get(scope.namespace, short, reveal=True)
    assert robot.token is not None
    return render(
        request,
        "robot_credentials.html",
        robot=robot,
        creds=credentials(robot.name, robot.token, c.settings.commands),
    )


async def regenerate(request: Request) -> Response:
    scope = await _scope(request)
    short = request.path_params["short"]
    robot = await ctx(request).robots.regenerate(scope.namespace, short, actor(request))
    return redirect(
        request,
        f"{scope.base}/{short}",
        f"New token for {robot.name}: the old one no longer works. Reveal the new one to copy it.",
    )


async def delete_robot(request: Request) -> Response:
    scope = await _scope(request)
    short = request.path_params["short"]
    await ctx(request).robots.delete(scope.namespace, short, actor(request))
    return redirect(request, scope.base, f"Robot account {scope.namespace}+{short} deleted.")


async def grant(request: Request) -> Response:
    scope = await _scope(request)
    short = request.path_params["short"]
    c = ctx(request)
    data = await form(request)
    try:
        robot = await c.robots.get(scope.namespace, short)
        repo = field(data, "repository", required=True, max_length=512)
        role = field(data, "role", required=True, max_length=16)
        await _check_grants(request, scope, {repo: role})
        await c.permissions.set(repo, "robot", robot.name, role, actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _detail_page(request, scope, short, error=text, status=status)
    return redirect(request, f"{scope.base}/{short}", f"{robot.name} may now {role} {repo}.")


async def revoke(request: Request) -> Response:
    scope = await _scope(request)
    short = request.path_params["short"]
    c = ctx(request)
    data = await form(request)
    try:
        robot = await c.robots.get(scope.namespace, short)
        repo = field(data, "repository", required=True, max_length=512)
        await require_repo_role(c.authorizer, scope.principal, repo, "admin")
        await c.permissions.remove(repo, "robot", robot.name, actor(request))
    except (ServiceError, RegistryError) as exc:
        text, status = readable(exc)
        return await _detail_page(request, scope, short, error=text, status=status)
    return redirect(request, f"{scope.base}/{short}", f"{robot.name} no longer has access to {repo}.")


def _routes(base: str) -> list[BaseRoute]:
    return [
        page(base, robot_list),
        page(base, create_robot, methods=("POST",)),
        page(f"{base}/{{short}}", robot_detail),
        page(f"{base}/{{short}}/reveal", reveal, methods=("POST",)),
        page(f"{base}/{{short}}/regenerate", regenerate, methods=("POST",)),
        page(f"{base}/{{short}}/delete", delete_robot, methods=("POST",)),
        page(f"{base}/{{short}}/permissions", grant, methods=("POST",)),
        page(f"{base}/{{short}}/permissions/revoke", revoke, methods=("POST",)),
    ]


routes = [*_routes("/organization/{org}/robots"), *_routes("/settings/robots")]
