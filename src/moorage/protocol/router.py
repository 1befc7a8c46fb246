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
from moorage.domain.principal import Principal
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
    template: str  # the path as documentation and the route-coverage tests write it
    pattern: re.Pattern[str]
    methods: dict[str, tuple[Handler, str]]  # method -> (handler, required action)


@dataclass(frozen=True, slots=True)
class FixedRoute:
    """A path of /v2 that names no repository: the base check, the token endpoint, the catalog."""

    name: str
    paths: tuple[str, ...]
    methods: frozenset[str]


FIXED_ROUTES: tuple[FixedRoute, ...] = (
    FixedRoute("base", ("/v2", "/v2/"), frozenset({"GET", "HEAD"})),
    FixedRoute("auth", ("/v2/auth",), frozenset({"GET", "POST"})),
    FixedRoute("catalog", ("/v2/_catalog",), frozenset({"GET"})),
)
_FIXED_BY_PATH = {path: route for route in FIXED_ROUTES for path in route.paths}

ROUTES: tuple[Route, ...] = (
    Route(
        "tags",
        "/v2/{name}/tags/list",
        re.compile(r"(?s)^/v2/(?P<name>.+)/tags/list\Z"),
        {"GET": (listing.tags_list, "pull")},
    ),
    Route(
        "manifest",
        "/v2/{name}/manifests/{reference}",
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
        "/v2/{name}/blobs/uploads/{uuid}",
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
        "/v2/{name}/blobs/uploads/",
        re.compile(r"(?s)^/v2/(?P<name>.+)/blobs/uploads/?\Z"),
        {"POST": (uploads.start_upload, "push")},
    ),
    Route(
        "blob",
        "/v2/{name}/blobs/{digest}",
        re.compile(r"(?s)^/v2/(?P<name>.+)/blobs/(?P<ref>[^/]+)\Z"),
        {
            "GET": (blobs.get_blob, "pull"),
            "HEAD": (blobs.get_blob, "pull"),
            "DELETE": (blobs.delete_blob, "delete"),
        },
    ),
    Route(
        "referrers",
        "/v2/{name}/referrers/{digest}",
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
    """An ASGI app serving every path under /v2.

    ``fixed_routes`` and ``routes`` are the tables it dispatches on (the route-coverage tests read
    them from the live app), ``resolve`` the decision which of them a path lands on."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self.auth = Authenticator(ctx)
        self.fixed_routes = FIXED_ROUTES
        self.routes = ROUTES
        self._fixed_handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "base": self._base,
            "auth": self._token,
            "catalog": self._catalog,
        }
        assert self._fixed_handlers.keys() == {r.name for r in FIXED_ROUTES}

    def resolve(self, path: str) -> tuple[FixedRoute | Route, re.Match[str] | None] | None:
        """The route a path lands on (with the match of a repository route), or None."""
        fixed = _FIXED_BY_PATH.get(path)
        if fixed is not None:
            return fixed, None
        for route in self.routes:
            m = route.pattern.match(path)
            if m is not None:
                return route, m
        return None

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
        resolved = self.resolve(path)
        if resolved is None:
            return "unknown", error_response("NAME_UNKNOWN", "no such endpoint", status=404, head=head)
        route, m = resolved
        if request.method not in route.methods:
            return route.name, _not_allowed(request, tuple(sorted(route.methods)))
        if isinstance(route, FixedRoute):
            return route.name, await self._fixed_handlers[route.name](request)
        assert m is not None
        handler, action = route.methods[request.method]
        name = m.group("name")
        ref = m.groupdict().get("ref") or ""
        return route.name, await self._call(request, route.name, name, ref, handler, action)

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

    async def _token(self, request: Request) -> Response:
        return await token_endpoint(request, self.auth)

    async def _catalog(self, request: Request) -> Response:
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
            if caller.claims.account is not None:
                # the account by id and generation, limited to the scopes of the credential the
                # token was obtained with (an OAuth token with user:read lists public names only)
                resolved = await self.ctx.credentials.resolve(caller.claims.account, caller.claims.scopes)
                principal = resolved if resolved is not None else Principal(principal.kind, principal.name)
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
