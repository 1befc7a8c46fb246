"""The web UI application: page routes, static files, error pages and security headers."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs, quote

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moorage.asgi.methods import allowed_methods
from moorage.domain.errors import RegistryError, ServiceError, Unauthenticated, as_service_error
from moorage.ui import pages
from moorage.ui.context import UiContext
from moorage.ui.templating import build_environment
from moorage.ui.web import CsrfFailed, SignInRequired, content_security_policy, redirect, render

STATIC = Path(__file__).with_name("static")
log = structlog.get_logger("moorage.ui")

CSP = b"content-security-policy"
IMMUTABLE = b"public, max-age=31536000, immutable"


def static_versions(directory: Path = STATIC) -> dict[str, str]:
    """Each static file's version: the start of the SHA-256 of its bytes. Pages link
    ``/static/NAME?v=VERSION`` (see :func:`moorage.ui.templating.build_environment`), so a changed
    file gets a new address and the old one may be cached for ever."""
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:12]
        for f in sorted(directory.iterdir())
        if f.is_file()
    }


def static_cache_control(scope: Scope, versions: dict[str, str]) -> bytes:
    """``immutable`` for a static file asked for by its current version, else revalidate each time."""
    name = scope["path"].removeprefix("/static/")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    wanted = versions.get(name)
    return IMMUTABLE if wanted is not None and query.get("v") == [wanted] else b"no-cache"


SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class _SecurityHeaders:
    def __init__(self, app: ASGIApp, versions: dict[str, str]) -> None:
        self.app = app
        self.versions = versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not any(name == CSP for name, _ in headers):  # a page may widen its own policy
                    headers.append((CSP, content_security_policy().encode()))
                if scope["path"].startswith("/static/"):
                    if message["status"] in (200, 304):
                        headers.append((b"cache-control", static_cache_control(scope, self.versions)))
                else:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(request, "error.html", status=status, title=title, detail=detail)


def create_ui(ui: UiContext) -> ASGIApp:
    routes: list[BaseRoute] = [r for module in pages.MODULES for r in module.routes]
    routes.append(Mount("/static", StaticFiles(directory=str(STATIC)), name="static"))
    app = Starlette(routes=routes)
    app.state.ui = ui
    versions = static_versions()
    app.state.jinja = build_environment(versions)

    async def sign_in_first(request: Request, _: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = request.headers.get("referer", "/") or "/"
            target = "/" if "://" in target else target
        return redirect(request, f"/signin?next={quote(target)}")

    async def csrf_failed(request: Request, _: Exception) -> Response:
        return _error_page(
            request,
            403,
            "This form has expired",
            "The page was open too long or came from another site. Reload the page and try again.",
        )

    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError | RegistryError)
        exc = as_service_error(exc)
        if isinstance(exc, Unauthenticated):
            return await sign_in_first(request, exc)
        if exc.status == 404:
            return _error_page(request, 404, "Not found", exc.detail)
        return _error_page(request, exc.status, exc.title, exc.detail)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return _error_page(request, 404, "Not found", "There is no page at this address.")
        if exc.status_code == 405:
            page = _error_page(request, 405, "Method not allowed", "This page cannot be used that way.")
            page.headers.update(exc.headers or {})
            allow = allowed_methods(request.app.router.routes, request.scope)
            if allow:
                page.headers["Allow"] = allow
            return page
        return _error_page(request, exc.status_code, "Error", str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("ui.error", path=request.url.path, error=type(exc).__name__)
        return _error_page(request, 500, "Something went wrong", "The error was logged. Try again later.")

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RegistryError, service_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, server_error)
    return _SecurityHeaders(app, versions)
