"""Request helpers every page handler uses: who is asking, rendering, forms with CSRF, redirects.

Handlers are plain Starlette endpoints registered with :func:`page`; a handler that accepts POST gets
its CSRF token checked before it runs, so no form can forget it.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from jinja2 import Environment
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from moorage import __version__
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput
from moorage.domain.principal import ANONYMOUS, Principal
from moorage.identity.sessions import mask_token
from moorage.ui.context import UiContext
from moorage.ui.session import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, UNSAFE, same_token

FLASH_COOKIE = "moorage_flash"
Endpoint = Callable[[Request], Awaitable[Response]]


def content_security_policy(form_action: str = "'self'") -> str:
    """The pages' policy: no inline script or style, forms post only to us.

    A page whose form must end in a redirect to another site (the OAuth consent page sends the
    browser back to the application) widens ``form-action`` on its own response: browsers apply
    form-action to the redirects that follow a submission too."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action {form_action}"
    )


class SignInRequired(Exception):
    """The page needs a signed-in user: answered with a redirect to the sign-in page."""


class CsrfFailed(Exception):
    """A form or htmx request without the right CSRF token."""


def ctx(request: Request) -> UiContext:
    c: UiContext = request.app.state.ui
    return c


def env(request: Request) -> Environment:
    e: Environment = request.app.state.jinja
    return e


def me(request: Request) -> Principal:
    p = getattr(request.state, "principal", None)
    return p if isinstance(p, Principal) else ANONYMOUS


def require_user(request: Request) -> Principal:
    p = me(request)
    if p.is_anonymous:
        raise SignInRequired()
    return p


def csrf_token(request: Request) -> str:
    token: str = getattr(request.state, "csrf_token", "") or ""
    if not token:  # a signed-out visitor without the cookie yet: render() sets it
        token = secrets.token_urlsafe(32)
        request.state.csrf_token = token
        request.state.new_csrf_cookie = True
    return token


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def flash_of(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    return unquote(raw)[:300] if raw else None


_R = TypeVar("_R", bound=Response)


def render(request: Request, template: str, status: int = 200, **variables: Any) -> HTMLResponse:
    c = ctx(request)
    flash = flash_of(request)
    body = (
        env(request)
        .get_template(template)
        .render(
            request=request,
            me=me(request),
            csrf=mask_token(csrf_token(request)),  # a different string on every page (BREACH)
            settings=c.settings,
            registry_host=c.settings.registry_host,
            commands=c.settings.commands,
            flash=flash,
            version=__version__,
            path=request.url.path,
            **variables,
        )
    )
    response = HTMLResponse(body, status_code=status)
    if flash and not is_htmx(request):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return with_csrf_cookie(request, response)


def with_csrf_cookie(request: Request, response: _R) -> _R:
    """Set the signed-out visitor's CSRF cookie when :func:`csrf_token` made a new token (and drop
    a session cookie that no longer signs anyone in)."""
    if getattr(request.state, "new_csrf_cookie", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_token,
            httponly=True,
            samesite="lax",
            secure=ctx(request).settings.secure_cookies,
            path="/",
        )
    if getattr(request.state, "stale_session", False):
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """303 See Other after a form; for htmx requests an HX-Redirect so the whole page follows."""
    if is_htmx(request):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash[:300]), max_age=60, httponly=True, samesite="lax", path="/"
        )
    return response


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def form(request: Request) -> FormData:
    """The submitted form (its CSRF token was checked before the handler ran)."""
    return await request.form()


def field(data: FormData, name: str, *, required: bool = False, max_length: int = 4096) -> str:
    value = data.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(f"{name.replace('_', ' ')} is required")
    if len(text) > max_length:
        raise InvalidInput(f"{name.replace('_', ' ')} is longer than {max_length} characters")
    return text


async def _check_csrf(request: Request) -> None:
    expected = getattr(request.state, "csrf_token", "")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not same_token(sent, expected):
        raise CsrfFailed()


def page(path: str, endpoint: Endpoint, methods: Sequence[str] = ("GET",), name: str | None = None) -> Route:
    """A UI route; unsafe methods check the CSRF token first."""
    if not UNSAFE.intersection(methods):
        return Route(path, endpoint, methods=list(methods), name=name)

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if request.method in UNSAFE:
            await _check_csrf(request)
        return await endpoint(request)

    return Route(path, guarded, methods=list(methods), name=name)


def page_cursor(items: list[Any], limit: int, key: Callable[[Any], str]) -> str | None:
    """The ``after`` value for the next page, when this page is full."""
    return key(items[-1]) if items and len(items) >= limit else None


def actor(request: Request) -> Actor:
    """Who did it, for the audit log."""
    p = me(request)
    return Actor(p.name or None, p.kind, request.client.host if request.client else None, p.id)
