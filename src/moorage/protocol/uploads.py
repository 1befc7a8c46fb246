"""Blob uploads: POST (start, monolithic with ?digest=, or ?mount=&from=), PATCH, PUT, GET status, DELETE."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from starlette.responses import Response

from moorage.domain.digest import Digest
from moorage.domain.errors import BlobUploadInvalid, DigestInvalid, RangeInvalid, SizeInvalid
from moorage.domain.reference import is_valid_name
from moorage.protocol.errors import API_VERSION_HEADER, from_exception
from moorage.protocol.handler import Call
from moorage.protocol.numbers import bounded_int
from moorage.registry.types import BlobInfo, UploadInfo

_CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?([0-9]+)-([0-9]+)(?:/(?:[0-9]+|\*))?$")


def _upload_headers(call: Call, info: UploadInfo) -> dict[str, str]:
    end = info.size - 1 if info.size > 0 else 0
    return {
        **API_VERSION_HEADER,
        "Location": f"/v2/{call.name}/blobs/uploads/{info.id}",
        "Range": f"0-{end}",
        "Docker-Upload-UUID": info.id,
        "Content-Length": "0",
    }


def _blob_created(call: Call, blob: BlobInfo) -> Response:
    return Response(
        b"",
        status_code=201,
        headers={
            **API_VERSION_HEADER,
            "Location": f"/v2/{call.name}/blobs/{blob.digest}",
            "Docker-Content-Digest": blob.digest,
            "Content-Length": "0",
        },
    )


def _content_length(call: Call) -> int | None:
    raw = call.request.headers.get("content-length")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SizeInvalid("Content-Length is not a number") from None
    if value < 0:
        raise SizeInvalid("Content-Length is negative")
    return value


async def _counted(call: Call, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    counter = call.ctx.metrics.bytes_pushed
    async for chunk in body:
        if chunk:
            counter.inc(len(chunk))
            yield chunk


def _body(call: Call) -> AsyncIterator[bytes]:
    return _counted(call, call.request.stream())


def _has_body(call: Call) -> bool:
    length = _content_length(call)
    if length is not None:
        return length > 0
    return "chunked" in call.request.headers.get("transfer-encoding", "").lower()


async def start_upload(call: Call) -> Response:
    params = call.request.query_params
    mount, source = params.get("mount"), params.get("from")
    if mount and source and is_valid_name(source):
        digest = Digest.parse(mount)
        if "pull" in await call.auth.repository_actions(call.caller, source):
            mounted = await call.ctx.blobs.mount(call.name, digest, source, call.actor)
            if mounted is not None:
                return _blob_created(call, mounted)
        # not readable or not there: fall back to an ordinary upload (202), as the spec says
    digest_param = params.get("digest")
    if digest_param:
        digest = Digest.parse(digest_param)
        info = await call.ctx.uploads.start(call.name, call.actor)
        blob = await call.ctx.uploads.complete(call.name, info.id, digest, _body(call), call.actor)
        return _blob_created(call, blob)
    info = await call.ctx.uploads.start(call.name, call.actor)
    return Response(b"", status_code=202, headers=_upload_headers(call, info))


async def upload_status(call: Call) -> Response:
    info = await call.ctx.uploads.get(call.name, call.ref)
    return Response(b"", status_code=204, headers=_upload_headers(call, info))


async def patch_upload(call: Call) -> Response:
    start: int | None = None
    length = _content_length(call)
    content_range = call.request.headers.get("content-range")
    if content_range:
        m = _CONTENT_RANGE_RE.fullmatch(content_range.strip())
        if m is None:
            raise RangeInvalid("malformed Content-Range; expected 'start-end'")
        start, end = bounded_int(m.group(1)), bounded_int(m.group(2))
        if end < start:
            raise RangeInvalid("Content-Range end is before its start")
        if length is not None and length != end - start + 1:
            raise RangeInvalid("Content-Range does not match Content-Length")
    try:
        info = await call.ctx.uploads.append(call.name, call.ref, _body(call), start=start, length=length)
    except RangeInvalid as exc:
        # out of order, or racing another request on this upload: say where the upload really is
        size = exc.detail.get("size") if isinstance(exc.detail, dict) else None
        if not isinstance(size, int):
            raise
        headers = _upload_headers(call, UploadInfo(call.ref, call.name, size))
        del headers["Content-Length"]  # the error body has its own
        return from_exception(exc, headers=headers)
    return Response(b"", status_code=202, headers=_upload_headers(call, info))


async def finish_upload(call: Call) -> Response:
    digest_param = call.request.query_params.get("digest")
    if not digest_param:
        raise DigestInvalid("the digest query parameter is required to finish an upload")
    digest = Digest.parse(digest_param)
    content_range = call.request.headers.get("content-range")
    start: int | None = None
    if content_range:
        m = _CONTENT_RANGE_RE.fullmatch(content_range.strip())
        if m is None:
            raise BlobUploadInvalid("malformed Content-Range")
        start = bounded_int(m.group(1))
    body = _body(call) if _has_body(call) else None
    blob = await call.ctx.uploads.complete(call.name, call.ref, digest, body, call.actor, start=start)
    return _blob_created(call, blob)


async def cancel_upload(call: Call) -> Response:
    await call.ctx.uploads.cancel(call.name, call.ref)
    return Response(b"", status_code=204, headers={**API_VERSION_HEADER})
