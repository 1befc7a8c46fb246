"""GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>."""

from __future__ import annotations

from starlette.responses import Response

from moorage.domain.digest import Digest, is_digest
from moorage.domain.errors import PayloadTooLarge, SizeInvalid
from moorage.protocol.errors import API_VERSION_HEADER
from moorage.protocol.handler import Call


async def get_manifest(call: Call) -> Response:
    record = await call.ctx.manifests.get(call.name, call.ref)
    headers = {
        **API_VERSION_HEADER,
        "Docker-Content-Digest": record.digest,
        "ETag": f'"{record.digest}"',
        "Content-Length": str(len(record.content)),
    }
    if call.head:
        return Response(b"", headers=headers, media_type=record.media_type)
    await call.ctx.audit.enqueue("pull_repo", call.actor, repository=call.name, reference=call.ref[:200])
    return Response(record.content, headers=headers, media_type=record.media_type)


async def _read_limited(call: Call) -> bytes:
    limit = call.ctx.max_manifest_bytes
    declared = call.request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"manifest is larger than the {limit}-byte limit")
        except ValueError:
            raise SizeInvalid("Content-Length is not a number") from None
    chunks: list[bytes] = []
    total = 0
    async for chunk in call.request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"manifest is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def put_manifest(call: Call) -> Response:
    raw = await _read_limited(call)
    result = await call.ctx.manifests.put(
        call.name, call.ref, raw, call.request.headers.get("content-type"), call.actor
    )
    headers = {
        **API_VERSION_HEADER,
        "Location": f"/v2/{call.name}/manifests/{result.digest}",
        "Docker-Content-Digest": result.digest,
        "Content-Length": "0",
    }
    if result.subject_digest:
        headers["OCI-Subject"] = result.subject_digest
    return Response(b"", status_code=201, headers=headers)


async def delete_manifest(call: Call) -> Response:
    if is_digest(call.ref):
        await call.ctx.manifests.delete(call.name, Digest.parse(call.ref), call.actor)
    else:
        await call.ctx.tags.delete(call.name, call.ref, call.actor)
    return Response(b"", status_code=202, headers={**API_VERSION_HEADER, "Content-Length": "0"})
