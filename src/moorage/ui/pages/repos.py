"""Repository pages: the Tags tab (filter, pages, move and delete a tag) and the routes of every tab.

URLs: ``/repository/{name}`` is the Tags tab; every other tab and action lives under
``/repository/{name}/-/...``: ``-`` can never be a component of a repository name, so the split is
unambiguous for nested names (``org/team/app``). The catch-all Tags route comes last in ``routes``.

The Tags tab stays fast on repositories with thousands of tags: one page of live tags in name order
(``ctx.settings.page_size`` rows, cursor ``after`` = last name), and the per-row facts (architectures
of an index, attached referrers) are fetched for the rows of that page only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moorage.domain import mediatypes as mt
from moorage.domain.digest import Digest
from moorage.domain.errors import (
    InvalidInput,
    ManifestUnknown,
    NotFound,
    RegistryError,
    ServiceError,
    as_service_error,
)
from moorage.domain.labels import DurationError, parse_duration
from moorage.domain.reference import is_valid_tag
from moorage.registry.types import ReferrerDescriptor, TagRow
from moorage.ui.pages import repo_admin, repo_history, repo_manifest
from moorage.ui.pages.quotas import repository_bar
from moorage.ui.pages.repo_common import (
    RepoView,
    load_repo,
    manifest_kind,
    manifest_url,
    platforms_of,
    referrer_kind,
    with_query,
)
from moorage.ui.web import actor, ctx, field, form, is_htmx, me, page, page_cursor, redirect, render


@dataclass(frozen=True, slots=True)
class TagItem:
    """One row of the Tags tab: the tag and what the page shows beside it."""

    row: TagRow
    kind: str
    platforms: list[str]
    attached: list[tuple[str, int, list[str]]]  # (kind, count, artifact types)
    detail_url: str


def _attached(referrers: list[ReferrerDescriptor]) -> list[tuple[str, int, list[str]]]:
    """Referrers grouped by kind (signature, SBOM...), with their distinct artifact types."""
    groups: dict[str, list[str]] = {}
    for r in referrers:
        groups.setdefault(referrer_kind(r.artifact_type), []).append(r.artifact_type or r.media_type)
    return [(k, len(types), sorted(set(types))) for k, types in sorted(groups.items())]


async def _items(request: Request, repo: str, rows: list[TagRow]) -> list[TagItem]:
    """The page's rows with their extra facts: one manifest read per index row, one referrer query."""
    c = ctx(request)
    referrers = await c.referrers.for_subjects(repo, [r.manifest_digest for r in rows])
    items = []
    for r in rows:
        platforms: list[str] = []
        if r.media_type in mt.INDEXES:
            try:
                platforms = platforms_of((await c.manifests.get(repo, r.manifest_digest)).content)
            except RegistryError:
                platforms = []
        items.append(
            TagItem(
                r,
                manifest_kind(r.media_type, r.artifact_type),
                platforms,
                _attached(referrers.get(r.manifest_digest, [])),
                manifest_url(repo, r.manifest_digest),
            )
        )
    return items


def _filters(request: Request) -> tuple[str, str | None]:
    q = request.query_params.get("q", "").strip()[:128]
    return q, request.query_params.get("after") or None


def _sort(request: Request) -> str:
    """``newest`` (last modified first, the default) or ``name``."""
    return "name" if request.query_params.get("sort") == "name" else "newest"


async def _tags_page(
    request: Request, view: RepoView, *, error: str | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    q, after = _filters(request)
    sort = _sort(request)
    limit = c.settings.page_size
    rows = await c.tags.page(
        view.name, only_active=True, specific=None, limit=limit, after=after, search=q or None, order=sort
    )
    next_after = page_cursor(rows, limit, (lambda r: str(r.id)) if sort == "newest" else (lambda r: r.name))
    named = None if sort == "newest" else sort  # the default stays out of the addresses
    variables: dict[str, Any] = {
        "repo": view,
        "tab": "tags",
        "items": await _items(request, view.name, rows),
        "q": q,
        "after": after,
        "sort": sort,
        "sort_urls": {
            "newest": with_query(view.url, q=q),
            "name": with_query(view.url, q=q, sort="name"),
        },
        "next_url": with_query(view.url, q=q, sort=named, after=next_after) if next_after else None,
        "first_url": with_query(view.url, q=q, sort=named) if after else None,
        "move_query": {"q": q, "after": after},
        "error": error,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "tag-list":
        return render(request, "repo_tags_list.html", status=status, **variables)
    variables["quota"] = await repository_bar(c, view.name, me(request))
    return render(request, "repo_tags.html", status=status, **variables)


async def tags_tab(request: Request) -> Response:
    return await _tags_page(request, await load_repo(request))


async def _move_page(
    request: Request,
    view: RepoView,
    tag: str,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The move dialog's form: as a fragment for htmx (into the page's <dialog>), else a whole page."""
    c = ctx(request)
    current = await c.tags.page(view.name, only_active=True, specific=tag, limit=1, after=None)
    if not current:
        raise NotFound(f"no tag {tag!r} in {view.name}")
    rows = await c.tags.page(
        view.name,
        only_active=True,
        specific=None,
        limit=c.settings.page_size,
        after=values.get("after") or None,
        search=values.get("q") or None,
    )
    variables: dict[str, Any] = {
        "repo": view,
        "tab": "tags",
        "tag": current[0],
        "kind": manifest_kind(current[0].media_type, current[0].artifact_type),
        "choices": [r for r in rows if r.name != tag and r.manifest_digest != current[0].manifest_digest],
        "values": values,
        "error": error,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "tag-move-body":
        return render(request, "repo_tag_move_form.html", status=status, in_dialog=True, **variables)
    return render(request, "repo_tag_move.html", status=status, in_dialog=False, **variables)


async def move_form(request: Request) -> Response:
    view = await load_repo(request, "write", signed_in=True)
    q, after = _filters(request)
    tag = request.query_params.get("tag", "")[:128]
    return await _move_page(request, view, tag, {"q": q, "after": after or ""})


async def move_tag(request: Request) -> Response:
    """Point a tag at another manifest of the repository (same checks as PUT .../tag/{tag})."""
    view = await load_repo(request, "write", signed_in=True)
    data = await form(request)
    tag = field(data, "tag", max_length=128)
    values = {
        "target": field(data, "target", max_length=256),
        "digest": field(data, "digest", max_length=256),
        "q": field(data, "q", max_length=128),
        "after": field(data, "after", max_length=128),
    }
    wanted = values["digest"] or values["target"]
    try:
        if not is_valid_tag(tag):
            raise InvalidInput(f"invalid tag {tag[:140]!r}")
        if not wanted:
            raise InvalidInput("Choose a tag or paste a digest to move the tag to")
        digest = Digest.parse(wanted)
        try:
            moved = await ctx(request).manifests.retag(view.name, tag, digest, actor(request))
        except ManifestUnknown:
            raise InvalidInput(
                f"There is no manifest {wanted} in {view.name}; a tag can only point at a manifest "
                "pushed to this repository"
            ) from None
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        if isinstance(err, NotFound):
            raise err from None
        return await _move_page(request, view, tag, values, error=err.detail, status=err.status)
    what = "now points to" if moved else "already pointed to"
    back = with_query(view.url, q=values["q"], after=values["after"])
    return redirect(request, back, f"Tag {tag} {what} {digest}.")


async def delete_form(request: Request) -> Response:
    """Asks before deleting a tag: a fragment for the tags page's dialog (htmx), else a whole page."""
    view = await load_repo(request, "write", signed_in=True)
    q, _ = _filters(request)
    tag = request.query_params.get("tag", "")[:128]
    found = await ctx(request).tags.page(view.name, only_active=True, specific=tag, limit=1, after=None)
    if not found:
        raise NotFound(f"no tag {tag!r} in {view.name}")
    variables: dict[str, Any] = {
        "repo": view,
        "tab": "tags",
        "tag": found[0],
        "kind": manifest_kind(found[0].media_type, found[0].artifact_type),
        "q": q,
        "back": with_query(view.url, q=q),
    }
    if is_htmx(request) and request.headers.get("hx-target") == "tag-delete-body":
        return render(request, "repo_tag_delete_form.html", in_dialog=True, **variables)
    return render(request, "repo_tag_delete.html", in_dialog=False, **variables)


async def delete_tag(request: Request) -> Response:
    """End one tag (the manifest and the other tags stay), as DELETE .../tag/{tag}."""
    view = await load_repo(request, "write", signed_in=True)
    data = await form(request)
    tag = field(data, "tag", max_length=128)
    q = field(data, "q", max_length=128)
    try:
        if not is_valid_tag(tag):
            raise InvalidInput(f"invalid tag {tag[:140]!r}")
        try:
            await ctx(request).tags.delete(view.name, tag, actor(request))
        except ManifestUnknown:
            raise NotFound(f"There is no tag {tag!r} in {view.name}; it may be deleted already") from None
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _tags_page(request, view, error=err.detail, status=err.status)
    return redirect(request, with_query(view.url, q=q), f"Tag {tag} deleted.")


async def tag_expiration(request: Request) -> Response:
    """Set (``expires_in`` = a duration) or clear (``never``) a tag's expiration, as PUT
    .../tag/{tag} {"expiration"}."""
    view = await load_repo(request, "write", signed_in=True)
    data = await form(request)
    tag = field(data, "tag", max_length=128)
    wanted = field(data, "expires_in", max_length=20)
    q = field(data, "q", max_length=128)
    try:
        if not is_valid_tag(tag):
            raise InvalidInput(f"invalid tag {tag[:140]!r}")
        if not wanted:
            raise InvalidInput(f"Choose when tag {tag} should expire, or never")
        when = None
        if wanted != "never":
            try:
                when = datetime.now(UTC) + timedelta(seconds=parse_duration(wanted))
            except DurationError as exc:
                raise InvalidInput(str(exc)) from None
        change = await ctx(request).lifecycle.set_expiration(view.name, tag, when, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _tags_page(request, view, error=err.detail, status=err.status)
    text = (
        f"Tag {tag} expires at {change.new:%Y-%m-%d %H:%M} UTC."
        if change.new
        else f"Tag {tag} never expires."
    )
    return redirect(request, with_query(view.url, q=q), text)


def _tab(suffix: str) -> str:
    return "/repository/{repo:path}/-/" + suffix


routes: list[BaseRoute] = [
    page(_tab("tags/move"), move_form),
    page(_tab("tags/move"), move_tag, methods=("POST",)),
    page(_tab("tags/delete"), delete_form),
    page(_tab("tags/delete"), delete_tag, methods=("POST",)),
    page(_tab("tags/expiration"), tag_expiration, methods=("POST",)),
    *repo_history.routes,
    *repo_manifest.routes,
    *repo_admin.routes,
    # the catch-all last: it would match every /-/ path above
    page("/repository/{repo:path}", tags_tab, name="repository"),
]
