"""Repository tabs that read the past: tag history (from the temporal tags) and usage logs (audit log).

Both are paginated by row id, newest first (``before`` = the smallest id of the previous page), so a
page is one indexed range query however long the history is.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moorage.domain.reference import is_valid_tag
from moorage.ui.pages.repo_common import load_repo, manifest_url, with_query
from moorage.ui.pages.usage_logs import log_view
from moorage.ui.web import ctx, page, render


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    return int(raw) if raw.isdigit() else None


async def history_tab(request: Request) -> Response:
    view = await load_repo(request)
    c = ctx(request)
    tag = request.query_params.get("tag", "").strip()[:128]
    tag = tag if is_valid_tag(tag) else ""
    before = _before(request)
    events, cursor = await c.tags.changes(
        view.name, limit=c.settings.page_size, before=before, tag=tag or None
    )
    base = view.tab_url("history")
    digests = {e.digest for e in events} | {e.previous_digest for e in events if e.previous_digest}
    return render(
        request,
        "repo_history.html",
        repo=view,
        tab="history",
        events=events,
        present=await c.manifests.present(view.name, digests),
        tag=tag,
        manifest_url=lambda d: manifest_url(view.name, d),
        next_url=with_query(base, tag=tag, before=cursor) if cursor else None,
        first_url=with_query(base, tag=tag) if before else None,
    )


async def logs_tab(request: Request) -> Response:
    """The repository's audit log, as GET /api/v1/repository/{repo}/logs (admin only), in the same
    design as an organization's (ui/pages/usage_logs.py)."""
    view = await load_repo(request, "admin", signed_in=True)
    variables, status = await log_view(
        request, repository=view.name, export_base=f"/api/v1/repository/{view.name}/logs"
    )
    return render(request, "repo_logs.html", status=status, repo=view, tab="logs", **variables)


def _tab(suffix: str) -> str:
    return "/repository/{repo:path}/-/" + suffix


routes: list[BaseRoute] = [
    page(_tab("history"), history_tab),
    page(_tab("logs"), logs_tab),
]
