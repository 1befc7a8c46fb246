"""Usage logs, one design for an organization's and a repository's: filters (kind, UTC time range),
a chart of the entries per day, and the entries newest first (mirrors api/routes/logs.py).

Filters are query parameters, so a filtered view can be bookmarked; pages go back in time with
``before_id`` (``before`` is still read, as older links wrote it). The chart counts every matching
entry of the range on the server (one grouped query) and is drawn as SVG bars: no script, nothing
from elsewhere. Without a range it covers the last :data:`DEFAULT_DAYS` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from moorage.audit import AuditQuery
from moorage.domain.errors import InvalidInput, RegistryError, ServiceError, as_service_error
from moorage.ui.web import ctx

DEFAULT_DAYS = 30
MAX_DAYS = 92

#: Every kind the logs hold, in the words the pages show (any other kind is shown by its code).
LOG_KINDS: dict[str, str] = {
    "push_repo": "Push",
    "pull_repo": "Pull",
    "create_repo": "Repository created",
    "delete_repo": "Repository deleted",
    "create_tag": "Tag created",
    "move_tag": "Tag moved",
    "delete_tag": "Tag deleted",
    "revert_tag": "Tag restored",
    "change_tag_expiration": "Tag expiration changed",
    "tag_expired": "Tag expired",
    "autoprune_tag_delete": "Tag pruned by a policy",
    "change_tag_immutability": "Tag immutability changed",
    "delete_manifest": "Manifest deleted",
    "delete_blob": "Blob deleted",
    "change_repo_visibility": "Visibility changed",
    "set_repo_description": "Description changed",
    "change_repo_permission": "Permission granted or changed",
    "delete_repo_permission": "Permission revoked",
    "org_create": "Organization created",
    "org_change_email": "E-mail changed",
    "org_create_team": "Team created",
    "org_delete_team": "Team deleted",
    "org_set_team_role": "Team role changed",
    "org_team_member_add": "Team member added",
    "org_team_member_remove": "Team member removed",
    "create_robot": "Robot created",
    "delete_robot": "Robot deleted",
    "regenerate_robot_token": "Robot token regenerated",
    "create_prototype_permission": "Default permission added",
    "modify_prototype_permission": "Default permission changed",
    "delete_prototype_permission": "Default permission removed",
    "create_application": "OAuth application created",
    "update_application": "OAuth application changed",
    "reset_application_client_secret": "OAuth client secret reset",
    "delete_application": "OAuth application deleted",
    "oauth_token_issue": "OAuth token issued",
}

#: The kinds a repository's log holds (its filter offers only these).
REPO_KINDS = (
    "push_repo",
    "pull_repo",
    "create_repo",
    "create_tag",
    "move_tag",
    "delete_tag",
    "revert_tag",
    "change_tag_expiration",
    "tag_expired",
    "autoprune_tag_delete",
    "change_tag_immutability",
    "delete_manifest",
    "delete_blob",
    "change_repo_visibility",
    "set_repo_description",
    "change_repo_permission",
    "delete_repo_permission",
)


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class Chart:
    """Entries per UTC day over a range, laid out for an SVG of ``width`` x ``height``."""

    bars: list[Bar]
    total: int
    peak: int
    first: date
    last: date
    width: int = 600
    height: int = 120
    bar_width: float = 0.0


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


def chart_of(counts: dict[date, int], first: date, last: date, width: int = 600, height: int = 120) -> Chart:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    peak = max([counts.get(d, 0) for d in days] + [1])
    slot = width / len(days)
    bars = []
    for i, d in enumerate(days):
        n = counts.get(d, 0)
        h = round((height - 4) * n / peak, 1) if n else 0.0
        bars.append(Bar(d, n, round(i * slot + slot * 0.1, 1), round(height - h, 1), h))
    total = sum(counts.get(d, 0) for d in days)
    return Chart(bars, total, peak, first, last, width, height, round(slot * 0.8, 1))


async def log_view(
    request: Request, *, namespace: str | None = None, repository: str | None = None, export_base: str
) -> tuple[dict[str, Any], int]:
    """The template variables of a usage logs page and its status (400 for bad filters)."""
    c = ctx(request)
    params = request.query_params
    kinds = _kinds(params.getlist("kind"))
    since_text, until_text = params.get("since", "")[:32], params.get("until", "")[:32]
    before = params.get("before_id", "") or params.get("before", "")
    limit = c.settings.page_size
    error: str | None = None
    status = 200
    entries = []
    chart = None
    since = until = None
    try:
        since, until = _time(since_text, "start"), _time(until_text, "end")
        if since and until and since >= until:
            raise InvalidInput("the start must be before the end")
        if before and not before.isdigit():
            raise InvalidInput("before_id must be a number")
        scope = AuditQuery(namespace=namespace, repository=repository, kinds=kinds, since=since, until=until)
        entries = await c.audit.query(
            AuditQuery(
                namespace, repository, None, kinds, since, until, int(before) if before else None, limit
            )
        )
        last = (until - timedelta(microseconds=1)).date() if until else datetime.now(UTC).date()
        first = since.date() if since else last - timedelta(days=DEFAULT_DAYS - 1)
        first = max(first, last - timedelta(days=MAX_DAYS - 1))
        if first <= last:
            chart = chart_of(await c.audit.daily_counts(scope), first, last)
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        error, status = err.detail, err.status
        since = until = None
    filters: list[tuple[str, str]] = [("kind", " ".join(kinds))] if kinds else []
    filters += [("since", since_text)] if since_text else []
    filters += [("until", until_text)] if until_text else []
    export: list[tuple[str, str]] = [("format", "jsonl"), *[("kind", k) for k in kinds]]
    export += [("starttime", since.isoformat())] if since else []
    export += [("endtime", until.isoformat())] if until else []
    path = request.url.path
    variables: dict[str, Any] = {
        "entries": entries,
        "chart": chart,
        "kinds": kinds,
        "kind_labels": LOG_KINDS,
        "offered_kinds": REPO_KINDS if repository else tuple(LOG_KINDS),
        "since": since_text,
        "until": until_text,
        "show_where": repository is None,
        "next_url": f"{path}?{urlencode([*filters, ('before_id', str(entries[-1].id))])}"
        if len(entries) >= limit
        else None,
        "first_url": f"{path}?{urlencode(filters)}" if before else None,
        "export_url": f"{export_base}?{urlencode(export)}",
        "error": error,
    }
    return variables, status
