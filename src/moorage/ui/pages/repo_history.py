"""Repository tabs that read the past: tag history (from the temporal tags) and usage logs (audit log).

Both are paginated by row id, newest first (``before`` = the smallest id of the previous page), so a
page is one indexed range query however long the history is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moorage.domain.errors import InvalidInput, RegistryError, ServiceError, as_service_error
from moorage.domain.reference import is_valid_tag
from moorage.registry.lifecycle import human_duration
from moorage.registry.types import TagChange
from moorage.ui.pages.repo_common import RepoView, load_repo, manifest_url, with_query
from moorage.ui.pages.usage_logs import log_view
from moorage.ui.web import actor, ctx, field, form, page, redirect, render


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    return int(raw) if raw.isdigit() else None


def restore_target(event: TagChange) -> str | None:
    """The digest a Restore button on this history row brings the tag back to: what a deleted or
    expired tag pointed at, or what a moved tag pointed at before the move."""
    if event.kind in ("deleted", "expired"):
        return event.digest
    if event.kind == "moved":
        return event.previous_digest
    return None


async def history_tab(request: Request) -> Response:
    return await _history_page(request, await load_repo(request))


async def _history_page(
    request: Request, view: RepoView, *, error: str | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    tag = request.query_params.get("tag", "").strip()[:128]
    tag = tag if is_valid_tag(tag) else ""
    before = _before(request)
    window = await c.lifecycle.window_of(view.name)
    oldest = datetime.now(UTC) - timedelta(seconds=window)
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
        status=status,
        error=error,
        window=human_duration(window),
        restorable=lambda e: restore_target(e) if view.can_write and e.at >= oldest else None,
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


async def restore_tag(request: Request) -> Response:
    """Bring a tag back to a manifest it held within the window, as POST .../tag/{tag}/restore."""
    view = await load_repo(request, "write", signed_in=True)
    data = await form(request)
    tag = field(data, "tag", max_length=128)
    digest = field(data, "digest", max_length=256)
    try:
        if not digest:
            raise InvalidInput("Choose the manifest to restore the tag to")
        await ctx(request).lifecycle.restore(view.name, tag, digest, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _history_page(request, view, error=err.detail, status=err.status)
    return redirect(request, view.tab_url("history"), f"Tag {tag} restored to {digest}.")


def _tab(suffix: str) -> str:
    return "/repository/{repo:path}/-/" + suffix


routes: list[BaseRoute] = [
    page(_tab("history"), history_tab),
    page(_tab("tags/restore"), restore_tag, methods=("POST",)),
    page(_tab("logs"), logs_tab),
]
