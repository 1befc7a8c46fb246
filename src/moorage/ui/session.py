"""Session cookies for the UI and the REST API, and the CSRF rule that goes with them.

``SessionLayer`` wraps an ASGI app: a valid ``moorage_session`` cookie puts the signed-in user into
``scope["state"]["principal"]`` (the REST API and the UI both read it there) with the session's
CSRF token. For the REST API an unsafe request authenticated by the cookie must carry that token in
``X-CSRF-Token`` (explicit ``Authorization`` credentials win over the cookie and need none). UI
forms carry it as the ``csrf_token`` field; signed-out visitors get a random ``moorage_csrf``
cookie instead (double submit), so the sign-in and sign-up forms are protected too.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from moorage.identity.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, Sessions, same_token

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "UNSAFE",
    "SessionLayer",
    "same_token",
]

CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def parse_cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header counts as no cookies
                return {}
            return {k: m.value for k, m in jar.items()}
    return {}


def header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return str(v.decode("latin-1"))
    return None


class SessionLayer:
    def __init__(self, app: ASGIApp, sessions: Sessions, *, api: bool) -> None:
        self.app = app
        self.sessions = sessions
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        cookies = parse_cookies(scope)
        token = cookies.get(SESSION_COOKIE)
        if self.api and header(scope, b"authorization"):
            token = None  # explicit credentials: the cookie plays no part
        info = await self.sessions.resolve(token) if token else None
        if info is not None:
            state["principal"] = info.principal
            state["csrf_token"] = info.csrf_token
            state["session_token"] = token
            if (
                self.api
                and scope["method"] in UNSAFE
                and not same_token(header(scope, CSRF_HEADER.encode()), info.csrf_token)
            ):
                await _csrf_problem(send)
                return
        else:
            state["csrf_token"] = cookies.get(CSRF_COOKIE) or ""
            state["stale_session"] = bool(token)  # a cookie that no longer signs anyone in
        await self.app(scope, receive, send)


async def _csrf_problem(send: Send) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": "missing or wrong X-CSRF-Token header for a request signed in by session cookie",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
