"""Helpers of the web UI suite: a cookie-keeping client per person, forms posted with their CSRF token.

The app is the in-process one of tests/api/support.py (one per backend); ``Browser`` plays one
person's browser against it: it keeps cookies, reads the CSRF token from the last page it loaded
and sends it with every form, as a real browser submitting the page's form would.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from starlette.types import ASGIApp

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(page: str) -> str:
    m = _CSRF.search(page)
    assert m, "the page has no form with a CSRF token"
    return html.unescape(m.group(1))


def text_of(page: str) -> str:
    """The visible text of a page, tags removed and whitespace collapsed (for assertions)."""
    no_scripts = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", no_scripts))).strip()


class Browser:
    def __init__(self, app: ASGIApp) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", follow_redirects=False
        )
        self.last_page = ""

    async def close(self) -> None:
        await self.client.aclose()

    async def get(self, path: str, *, expect: int | None = 200, **kw: Any) -> httpx.Response:
        r = await self.client.get(path, **kw)
        if expect is not None:
            assert r.status_code == expect, (path, r.status_code, text_of(r.text)[:500])
        if r.headers.get("content-type", "").startswith("text/html"):
            self.last_page = r.text
        return r

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        form_page: str | None = None,
        expect: int | None = None,
        csrf: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Submit a form: its CSRF token comes from ``form_page`` (loaded first) or the last page."""
        if form_page is not None:
            await self.get(form_page)
        body = dict(data or {})
        body["csrf_token"] = csrf if csrf is not None else csrf_of(self.last_page)
        r = await self.client.post(path, data=body, headers=headers or {})
        if expect is not None:
            assert r.status_code == expect, (path, r.status_code, text_of(r.text)[:500])
        if r.headers.get("content-type", "").startswith("text/html"):
            self.last_page = r.text
        return r

    async def follow(self, r: httpx.Response, *, expect: int = 200) -> httpx.Response:
        """Load the page a 303 (or htmx HX-Redirect) pointed to."""
        target = r.headers.get("location") or r.headers.get("hx-redirect")
        assert target, (r.status_code, r.headers)
        return await self.get(target, expect=expect)

    async def sign_in(self, username: str, password: str) -> None:
        r = await self.post("/signin", {"username": username, "password": password}, form_page="/signin")
        assert r.status_code == 303, (r.status_code, text_of(r.text)[:300])
        assert "moorage_session" in self.client.cookies
