"""GET/HEAD/DELETE /v2/<name>/blobs/<digest>, with single-range requests (206/416)."""

from __future__ import annotations

import os
import re
from typing import Any

from starlette.responses import FileResponse, Response, StreamingResponse

from moorage.domain.digest import Digest
from moorage.domain.errors import BlobUnknown, RangeInvalid
from moorage.protocol.errors import API_VERSION_HEADER, error_response
from moorage.protocol.handler import Call
from moorage.protocol.numbers import bounded_int

_RANGE_RE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")


class BlobFileResponse(FileResponse):
    """A file response with large read chunks (servers without zero-copy send read through Python).

    The ``Range`` header is parsed once, by ``parse_range`` (bounded numbers, OCI errors); Starlette's
    own parser would answer some ranges with a plain-text 400, so it is handed the parsed range.
    """

    chunk_size = 4 * 1024 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        byte_range: tuple[int, int] | None,
        stat_result: os.stat_result,
        **kw: Any,
    ) -> None:
        super().__init__(path, stat_result=stat_result, **kw)
        self.byte_range = byte_range

    def _parse_range_header(self, http_range: str, file_size: int) -> list[tuple[int, int]]:  # type: ignore[override]
        if self.byte_range is None:
            return []  # the whole blob
        return [(self.byte_range[0], self.byte_range[1] + 1)]


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` range → inclusive (start, end). None = serve everything. Raise when unsatisfiable."""
    m = _RANGE_RE.fullmatch(header.strip())
    if m is None:
        raise RangeInvalid("only a single 'bytes=start-end' range is supported")
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        raise RangeInvalid("empty range")
    if first == "":
        length = bounded_int(last)
        if length == 0:
            raise RangeInvalid("range not satisfiable")
        start, end = max(size - length, 0), size - 1
    else:
        start = bounded_int(first)
        end = bounded_int(last) if last else size - 1
        end = min(end, size - 1)
    if start >= size or start > end:
        raise RangeInvalid(f"range not satisfiable for a blob of {size} bytes")
    return start, end


async def get_blob(call: Call) -> Response:
    digest = Digest.parse(call.ref)
    info = await call.ctx.blobs.stat(call.name, digest)
    if info is None:
        raise BlobUnknown("blob unknown to registry", {"digest": call.ref[:200]})
    headers = {
        **API_VERSION_HEADER,
        "Docker-Content-Digest": info.digest,
        "Accept-Ranges": "bytes",
        "ETag": f'"{info.digest}"',
        "Cache-Control": "max-age=31536000",
    }
    range_header = call.request.headers.get("range")
    rng = None
    if range_header:
        try:
            rng = parse_range(range_header, info.size)
        except RangeInvalid as exc:
            return error_response(
                "BLOB_UNKNOWN" if info.size == 0 else "BLOB_UPLOAD_INVALID",
                exc.message,
                status=416,
                headers={"Content-Range": f"bytes */{info.size}"},
                head=call.head,
            )
    if call.head:
        headers["Content-Length"] = str(info.size if rng is None else rng[1] - rng[0] + 1)
        if rng is not None:
            headers["Content-Range"] = f"bytes {rng[0]}-{rng[1]}/{info.size}"
        return Response(
            b"", status_code=206 if rng else 200, headers=headers, media_type="application/octet-stream"
        )
    path = call.ctx.storage.local_path(digest)
    if rng is None:
        call.ctx.metrics.bytes_pulled.inc(info.size)
    else:
        call.ctx.metrics.bytes_pulled.inc(rng[1] - rng[0] + 1)
    if path is not None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise BlobUnknown("blob data missing from storage", {"digest": info.digest}) from None
        return BlobFileResponse(
            path, byte_range=rng, stat_result=st, headers=headers, media_type="application/octet-stream"
        )
    if rng is not None:
        headers["Content-Range"] = f"bytes {rng[0]}-{rng[1]}/{info.size}"
        headers["Content-Length"] = str(rng[1] - rng[0] + 1)
        return StreamingResponse(
            call.ctx.storage.read_blob(digest, rng[0], rng[1]),
            status_code=206,
            headers=headers,
            media_type="application/octet-stream",
        )
    headers["Content-Length"] = str(info.size)
    return StreamingResponse(
        call.ctx.storage.read_blob(digest), headers=headers, media_type="application/octet-stream"
    )


async def delete_blob(call: Call) -> Response:
    digest = Digest.parse(call.ref)
    await call.ctx.blobs.unlink(call.name, digest, call.actor)
    return Response(b"", status_code=202, headers={**API_VERSION_HEADER, "Content-Length": "0"})
