"""The one table of OCI error codes and their HTTP statuses, and the error JSON every /v2 handler sends."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from moorage.domain.errors import RegistryError, http_status_override

API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}

# code: (HTTP status, default message) — distribution-spec "Error Codes"
ERROR_TABLE: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "manifest references a manifest or blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown to registry"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "TAG_INVALID": (400, "manifest tag did not match URI"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "the operation is unsupported"),
    "TOOMANYREQUESTS": (429, "too many requests"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
}


def error_body(code: str, message: str | None = None, detail: Any = None) -> bytes:
    status_message = ERROR_TABLE.get(code, (500, "error"))[1]
    err: dict[str, Any] = {"code": code, "message": message or status_message}
    if detail is not None:
        err["detail"] = detail
    return json.dumps({"errors": [err]}).encode()


def error_response(
    code: str,
    message: str | None = None,
    detail: Any = None,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    head: bool = False,
) -> Response:
    http_status = status or ERROR_TABLE.get(code, (500, ""))[0]
    body = error_body(code, message, detail)
    all_headers = {**API_VERSION_HEADER, **(headers or {})}
    if head:
        all_headers["Content-Length"] = str(len(body))
        return Response(b"", status_code=http_status, headers=all_headers, media_type="application/json")
    return Response(body, status_code=http_status, headers=all_headers, media_type="application/json")


def from_exception(
    exc: RegistryError, *, head: bool = False, headers: dict[str, str] | None = None
) -> Response:
    return error_response(
        exc.code, exc.message, exc.detail, status=http_status_override(exc), headers=headers, head=head
    )
