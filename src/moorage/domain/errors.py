"""Domain errors. Each carries the OCI error code it maps to; the protocol layer owns the HTTP table."""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """Base class of every error that a registry client may see.

    ``code`` is one of the OCI distribution-spec error codes (``NAME_UNKNOWN``...);
    the protocol layer maps it to an HTTP status and renders the error JSON.
    """

    code = "UNSUPPORTED"

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class BlobUnknown(RegistryError):
    code = "BLOB_UNKNOWN"


class BlobUploadInvalid(RegistryError):
    code = "BLOB_UPLOAD_INVALID"


class BlobUploadUnknown(RegistryError):
    code = "BLOB_UPLOAD_UNKNOWN"


class DigestInvalid(RegistryError):
    code = "DIGEST_INVALID"


class ManifestBlobUnknown(RegistryError):
    code = "MANIFEST_BLOB_UNKNOWN"


class ManifestInvalid(RegistryError):
    code = "MANIFEST_INVALID"


class ManifestUnknown(RegistryError):
    code = "MANIFEST_UNKNOWN"


class NameInvalid(RegistryError):
    code = "NAME_INVALID"


class NameUnknown(RegistryError):
    code = "NAME_UNKNOWN"


class SizeInvalid(RegistryError):
    code = "SIZE_INVALID"


class TagInvalid(RegistryError):
    code = "TAG_INVALID"


class Unauthorized(RegistryError):
    code = "UNAUTHORIZED"


class Denied(RegistryError):
    code = "DENIED"


class TagImmutable(Denied):
    """A move, delete or expiry of an immutable tag; the message names the rule that makes it so.

    ``/v2`` answers it as ``DENIED`` (403); the REST API as 409 (a conflict with the tag's state)."""

    def __init__(self, repository: str, tag: str, rule: str, action: str) -> None:
        super().__init__(
            f"tag {tag!r} of {repository} is immutable ({rule}): it may not be {action}",
            {"tag": tag, "rule": rule},
        )
        self.tag = tag
        self.rule = rule


class Unsupported(RegistryError):
    code = "UNSUPPORTED"


class TooManyRequests(RegistryError):
    code = "TOOMANYREQUESTS"


class RangeInvalid(RegistryError):
    """A chunk that does not start where the upload ends, or an unsatisfiable Range."""

    code = "BLOB_UPLOAD_INVALID"
    status = 416


class ManifestTooLarge(RegistryError):
    code = "SIZE_INVALID"


class PaginationInvalid(RegistryError):
    code = "PAGINATION_NUMBER_INVALID"


def http_status_override(exc: RegistryError) -> int | None:
    """An explicit HTTP status some errors carry (e.g. 413 for an oversized manifest)."""
    return getattr(exc, "status", None)


class PayloadTooLarge(RegistryError):
    code = "MANIFEST_INVALID"
    status = 413


# -- control-plane errors (REST API: problem+json; CLI: a readable message) ---------------------


class ServiceError(Exception):
    """A request the control plane refuses; ``status`` is the HTTP status the REST API answers."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ServiceError):
    status = 400
    title = "Invalid input"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class Unauthenticated(ServiceError):
    status = 401
    title = "Authentication required"


class Throttled(ServiceError):
    status = 429
    title = "Too many requests"


_CONTROL_PLANE_KINDS: dict[str, type[ServiceError]] = {
    "NAME_UNKNOWN": NotFound,
    "MANIFEST_UNKNOWN": NotFound,
    "BLOB_UNKNOWN": NotFound,
    "DENIED": Forbidden,
    "UNAUTHORIZED": Unauthenticated,
    "TOOMANYREQUESTS": Throttled,
}


def as_service_error(exc: RegistryError | ServiceError) -> ServiceError:
    """A registry error raised under the control plane (REST API, UI, CLI), as its ServiceError."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, TagImmutable):
        return Conflict(exc.message)
    kind = _CONTROL_PLANE_KINDS.get(exc.code, InvalidInput)
    return kind(exc.message)
