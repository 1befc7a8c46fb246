"""The /v2 dispatcher: match the path, authenticate, authorize, call the handler, render errors.

Repository names contain slashes, so routes are matched by regular expressions anchored on the
last ``/manifests/``, ``/blobs/``, ``/tags/list`` or ``/referrers/`` segment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from moorage.domain.errors import NameInvalid, RegistryError
from moorage.domain.reference import is_valid_name
from moorage.protocol import blobs, listing, manifests, uploads
from moorage.protocol.auth import Authenticator, BadCredentials, Caller, LockedOut, token_endpoint
from moorage.protocol.context import RegistryContext
from moorage.protocol.errors import API_VERSION_HEADER, error_response, from_exception
from moorage.protocol.handler import Call

log = structlog.get_logger("moorage.protocol")

Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    methods: dict[str, tuple[Handler, str]]  # method -> (handler, required action)


ROUTES: tuple[Route, ...] = (
    Route(
        "tags",
        re.compile(r"(?s)^/v2/(?P<name>.+)/tags/list\Z"),
        {"GET": (listing.tags_list, "pull")},
    ),
    Route(
        "manifest",
        re.compile(r"(?s)^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)\Z"),
        {
            "GET": (manifests.get_manifest, "pull"),
            "HEAD": (manifests.get_manifest, "pull"),
            "PUT": (manifests.put_manifest, "push"),
            "DELETE": (manifests.delete_manifest, "delete"),
        },
    ),
    Route(
        "upload",
        re.compile(r"(?s)^/v2/(?P<name>.+)/blobs/uploads/(?P<ref>[^/]+)\Z"),
        {
            "GET": (uploads.upload_status, "push"),
            "PATCH": (uploads.patch_upload, "push"),
            "PUT": (uploads.finish_upload, "push"),
            "DELETE": (uploads.cancel_upload, "push"),
        },
    ),
    Route(
        "upload_start",
        re.compile(r"(?s)^/v2/(?P<name>.+)/blobs/uploads/?\Z"),
        {"POST": (uploads.start_upload, "push")},
    ),
    Route(
        "blob",
        re.compile(r"(?s)^/v2/(?P<name>.+)/blobs/(?P<ref>[^/]+)\Z"),
        {
            "GET": (blobs.get_blob, "pull"),
            "HEAD": (blobs.get_blob, "pull"),
            "DELETE": (blobs.delete_blob, "delete"),
        },
    ),
    Route(
        "referrers",
        re.compile(r"(?s)^/v2/(?P<name>.+)/referrers/(?P<ref>[^/]+)\Z"),
        {"GET": (listing.referrers, "pull")},
    ),
)


def _not_allowed(request: Request, allowed: tuple[str, ...]) -> Response:
    """405 with the ``Allow`` header RFC 9110 requires."""
    return error_response(
        "UNSUPPORTED",
        f"{request.method[:20]} is not supported here",
        status=405,
        headers={"Allow": ", ".join(allowed)},
        head=request.method == "HEAD",
    )


class RegistryApp:
    """An ASGI app serving every path under /v2."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self.auth = Authenticator(ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        started = time.perf_counter()
        route_name, response = await self._handle(request)
        self.ctx.metrics.requests.labels(route_name, request.method, str(response.status_code)).inc()
        self.ctx.metrics.latency.labels(route_name, request.method).observe(time.perf_counter() - started)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> tuple[str, Response]:
        # the raw scope path: request.url would drop CR/LF/TAB (urlsplit) and choke on non-UTF-8 queries
        path: str = request.scope["path"]
        head = request.method == "HEAD"
        if path in ("/v2", "/v2/"):
            return "base", await self._base(request)
        if path == "/v2/auth":
            if request.method not in ("GET", "POST"):
                return "auth", _not_allowed(request, ("GET", "POST"))
            return "auth", await token_endpoint(request, self.auth)
        if path == "/v2/_catalog":
            return "catalog", await self._catalog(request)
        for route in ROUTES:
            m = route.pattern.match(path)
            if m is None:
                continue
            entry = route.methods.get(request.method)
            if entry is None:
                return route.name, _not_allowed(request, tuple(route.methods))
            handler, action = entry
            name = m.group("name")
            ref = m.groupdict().get("ref") or ""
            return route.name, await self._call(request, route.name, name, ref, handler, action)
        return "unknown", error_response("NAME_UNKNOWN", "no such endpoint", status=404, head=head)

    async def _authenticate(self, request: Request) -> Caller | Response:
        try:
            return await self.auth.authenticate(request)
        except BadCredentials as exc:
            log.info("auth.failed", reason=str(exc), client=request.client.host if request.client else None)
            return error_response(
                "UNAUTHORIZED", str(exc), headers=self.auth.challenge(), head=request.method == "HEAD"
            )
        except LockedOut as exc:
            return error_response("TOOMANYREQUESTS", str(exc), head=request.method == "HEAD")

    async def _base(self, request: Request) -> Response:
        caller = await self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        if not caller.credentials_given:
            return error_response(
                "UNAUTHORIZED", headers=self.auth.challenge(), head=request.method == "HEAD"
            )
        return Response(b"{}", media_type="application/json", headers=API_VERSION_HEADER)

    async def _catalog(self, request: Request) -> Response:
        if request.method != "GET":
            return _not_allowed(request, ("GET",))
        caller = await self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        principal = caller.principal
        if caller.claims is not None:
            if "*" not in caller.claims.actions_for("registry", "catalog"):
                return error_response(
                    "UNAUTHORIZED",
                    headers=self.auth.challenge("registry:catalog:*", "insufficient_scope"),
                )
            resolved = await self.ctx.credentials.resolve(caller.claims.subject)
            principal = resolved if resolved is not None else principal
        elif principal.is_anonymous:
            return error_response("UNAUTHORIZED", headers=self.auth.challenge("registry:catalog:*"))
        try:
            return await listing.catalog(request, self.ctx, principal, caller.claims is not None)
        except RegistryError as exc:
            return from_exception(exc)

    async def _call(
        self, request: Request, route: str, name: str, ref: str, handler: Handler, action: str
    ) -> Response:
        head = request.method == "HEAD"
        if not is_valid_name(name):
            return from_exception(NameInvalid(f"invalid repository name {name[:100]!r}"), head=head)
        caller = await self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        allowed = await self.auth.repository_actions(caller, name)
        if action not in allowed:
            return self._denied(request, caller, name, action)
        call = Call(request, self.ctx, self.auth, caller, name, ref, allowed)
        try:
            return await handler(call)
        except RegistryError as exc:
            return from_exception(exc, head=head)

    def _denied(self, request: Request, caller: Caller, name: str, action: str) -> Response:
        head = request.method == "HEAD"
        wanted = "pull" if action == "pull" else f"pull,{action}" if action == "push" else action
        scope = f"repository:{name}:{wanted}"
        if caller.claims is not None or caller.principal.is_anonymous:
            error = "insufficient_scope" if caller.claims is not None else None
            return error_response(
                "UNAUTHORIZED",
                "authentication required",
                [{"Type": "repository", "Name": name, "Action": action}],
                headers=self.auth.challenge(scope, error),
                head=head,
            )
        return error_response(
            "DENIED",
            "requested access to the resource is denied",
            [{"Type": "repository", "Name": name, "Action": action}],
            head=head,
        )
