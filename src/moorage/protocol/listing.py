"""Lists: tags (paginated), catalog (paginated, filtered), referrers (filterable by artifactType)."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from moorage.authz import Principal
from moorage.domain import mediatypes as mt
from moorage.domain.digest import Digest
from moorage.domain.errors import NameUnknown, PaginationInvalid
from moorage.protocol.context import RegistryContext
from moorage.protocol.errors import API_VERSION_HEADER
from moorage.protocol.handler import Call


def _page_params(request: Request, max_page: int) -> tuple[int | None, str | None]:
    raw_n = request.query_params.get("n")
    n: int | None = None
    if raw_n is not None and raw_n != "":
        try:
            n = int(raw_n)
        except ValueError:
            raise PaginationInvalid("n must be a non-negative integer") from None
        if n < 0:
            raise PaginationInvalid("n must be a non-negative integer")
        n = min(n, max_page)
    last = request.query_params.get("last") or None
    return n, last


def _link(path: str, n: int, last: str) -> str:
    return f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'


async def tags_list(call: Call) -> Response:
    n, last = _page_params(call.request, call.ctx.max_page_size)
    limit = call.ctx.max_page_size if n is None else n
    tags = await call.ctx.tags.list(call.name, limit + 1 if limit else 0, last)
    if tags is None:
        raise NameUnknown("repository name not known to registry", {"name": call.name})
    headers = dict(API_VERSION_HEADER)
    if limit and len(tags) > limit:
        tags = tags[:limit]
        headers["Link"] = _link(f"/v2/{quote(call.name)}/tags/list", limit, tags[-1])
    body = json.dumps({"name": call.name, "tags": tags}).encode()
    return Response(body, headers=headers, media_type="application/json")


async def catalog(request: Request, ctx: RegistryContext, principal: Principal, via_token: bool) -> Response:
    n, last = _page_params(request, ctx.max_page_size)
    limit = ctx.max_page_size if n is None else n
    if via_token and principal.name and principal.id is None:
        return Response(  # the token's subject no longer exists: nothing to list
            json.dumps({"repositories": []}).encode(),
            headers=dict(API_VERSION_HEADER),
            media_type="application/json",
        )
    visible = await ctx.authorizer.catalog_visibility(principal)
    names = await ctx.catalog.list(limit + 1, last, visible) if limit else []
    headers = dict(API_VERSION_HEADER)
    if limit and len(names) > limit:
        names = names[:limit]
        headers["Link"] = _link("/v2/_catalog", limit, names[-1])
    return Response(
        json.dumps({"repositories": names}).encode(), headers=headers, media_type="application/json"
    )


async def referrers(call: Call) -> Response:
    subject = Digest.parse(call.ref)
    artifact_type = call.request.query_params.get("artifactType") or None
    found = await call.ctx.referrers.list(call.name, subject, artifact_type)
    manifests = []
    for r in found:
        desc: dict[str, object] = {"mediaType": r.media_type, "digest": r.digest, "size": r.size}
        if r.artifact_type:
            desc["artifactType"] = r.artifact_type
        if r.annotations:
            desc["annotations"] = r.annotations
        manifests.append(desc)
    body = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}).encode()
    headers = dict(API_VERSION_HEADER)
    if artifact_type is not None:
        headers["OCI-Filters-Applied"] = "artifactType"
    return Response(body, headers=headers, media_type=mt.OCI_INDEX)
