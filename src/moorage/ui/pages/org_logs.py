"""Usage logs of an organization: its audit entries, newest first (mirrors api/routes/logs.py).

Only organization admins see them. Filters (kinds, a UTC time range) are query parameters, so a
filtered view can be bookmarked; pages go back in time with ``before_id``. The export link hands
the same filters to the REST API's JSON-lines export, which the session cookie authenticates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from moorage.audit import AuditQuery
from moorage.domain.errors import InvalidInput, RegistryError, ServiceError
from moorage.ui.pages.org_common import load_org, readable
from moorage.ui.web import ctx, page, render

# the kinds an organization's log holds, offered as suggestions (any kind may be typed)
KNOWN_KINDS = (
    "push_repo",
    "pull_repo",
    "create_repo",
    "delete_repo",
    "delete_tag",
    "move_tag",
    "delete_manifest",
    "change_repo_visibility",
    "set_repo_description",
    "change_repo_permission",
    "delete_repo_permission",
    "org_create",
    "org_change_email",
    "org_create_team",
    "org_delete_team",
    "org_set_team_role",
    "org_team_member_add",
    "org_team_member_remove",
    "create_robot",
    "delete_robot",
    "regenerate_robot_token",
    "create_prototype_permission",
    "modify_prototype_permission",
    "delete_prototype_permission",
    "create_application",
    "update_application",
    "reset_application_client_secret",
    "delete_application",
    "oauth_token_issue",
)


def _time(value: str, what: str) -> datetime | None:
    """``<input type=datetime-local>`` values, read as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"the {what} time is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _kinds(raw: list[str]) -> tuple[str, ...]:
    """Kinds from repeated ``kind`` parameters or a comma/space separated list."""
    out: list[str] = []
    for value in raw:
        for k in value.replace(",", " ").split():
            if k not in out:
                out.append(k[:64])
    return tuple(out[:20])


async def logs(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    c = ctx(request)
    params = request.query_params
    kinds = _kinds(params.getlist("kind"))
    since_text, until_text = params.get("since", "")[:32], params.get("until", "")[:32]
    before = params.get("before_id", "")
    limit = c.settings.page_size
    error: str | None = None
    status = 200
    entries = []
    try:
        since, until = _time(since_text, "start"), _time(until_text, "end")
        if since and until and since >= until:
            raise InvalidInput("the start must be before the end")
        if before and not before.isdigit():
            raise InvalidInput("before_id must be a number")
        query = AuditQuery(
            namespace=view.name,
            kinds=kinds,
            since=since,
            until=until,
            before_id=int(before) if before else None,
            limit=limit,
        )
        entries = await c.audit.query(query)
    except (ServiceError, RegistryError) as exc:
        error, status = readable(exc)
        since = until = None
    filters: list[tuple[str, str]] = [("kind", " ".join(kinds))] if kinds else []
    filters += [("since", since_text)] if since_text else []
    filters += [("until", until_text)] if until_text else []
    export: list[tuple[str, str]] = [("format", "jsonl"), *[("kind", k) for k in kinds]]
    export += [("starttime", since.isoformat())] if since else []
    export += [("endtime", until.isoformat())] if until else []
    next_url = (
        f"{request.url.path}?{urlencode([*filters, ('before_id', str(entries[-1].id))])}"
        if len(entries) >= limit
        else None
    )
    first_url = f"{request.url.path}?{urlencode(filters)}" if before else None
    return render(
        request,
        "org_logs.html",
        status=status,
        org=view,
        current="logs",
        title=f"{view.name} · usage logs",
        entries=entries,
        kinds=" ".join(kinds),
        since=since_text,
        until=until_text,
        known_kinds=KNOWN_KINDS,
        next_url=next_url,
        first_url=first_url,
        export_url=f"/api/v1/organization/{view.name}/logs?{urlencode(export)}",
        error=error,
    )


routes = [page("/organization/{org}/logs", logs)]
