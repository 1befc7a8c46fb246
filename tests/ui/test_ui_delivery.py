"""How the web UI is delivered: compressed text (brotli, gzip) but never /v2 blobs or ranges,
static files cached for ever under a content-versioned address, one distinct <title> per tab, and
a Tags page whose 50 rows stay small."""

from __future__ import annotations

import gzip
import html
import re

import brotli
import httpx
from tests.api.support import Env
from tests.protocol.helpers import push_blob
from tests.ui.conftest import BrowserFactory
from tests.ui.repos_support import retag
from tests.ui.support import Browser, csrf_of

from moorage.ui.app import static_versions

IMMUTABLE = "public, max-age=31536000, immutable"


def _cookie_header(b: Browser) -> str:
    return "; ".join(f"{k}={v}" for k, v in b.client.cookies.items())


def _title(page: str) -> str:
    m = re.search(r"<title>(.*?)</title>", page, flags=re.S)
    assert m, "the page has no <title>"
    return html.unescape(m.group(1)).strip()


async def _raw(env: Env, path: str, encoding: str | None, **headers: str) -> httpx.Response:
    """A GET whose body is left as sent (httpx would decode it), asking for ``encoding``."""
    if encoding is not None:
        headers["accept-encoding"] = encoding
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=env.app), base_url="http://testserver"
    ) as client:
        request = client.build_request("GET", path, headers=headers)
        if encoding is None:
            request.headers.pop("accept-encoding", None)
        r = await client.send(request, stream=True)
        r._content = b"".join([chunk async for chunk in r.aiter_raw()])
        await r.aclose()
        return r


async def test_pages_styles_scripts_and_api_answers_are_compressed(env: Env, uid: str) -> None:
    alice = await env.user(uid, "alice")
    css = f"/static/moorage.css?v={static_versions()['moorage.css']}"
    for path in ("/signin", css, "/static/htmx.min.js", "/api/v1/openapi.json"):
        plain = await _raw(env, path, None)
        assert plain.status_code == 200, path
        assert "content-encoding" not in plain.headers, path
        br = await _raw(env, path, "gzip, deflate, br")
        assert br.headers["content-encoding"] == "br", path
        assert "accept-encoding" in br.headers["vary"].lower(), path
        assert int(br.headers["content-length"]) == len(br.content) < len(plain.content), path
        # the decoded body is the page itself (the sign-in page differs only in its CSRF token)
        decoded = brotli.decompress(br.content)
        gz = await _raw(env, path, "gzip")
        assert gz.headers["content-encoding"] == "gzip", path
        assert len(gz.content) < len(plain.content), path
        if path != "/signin":
            assert decoded == plain.content == gzip.decompress(gz.content), path
        else:
            assert (
                _title(decoded.decode())
                == _title(gzip.decompress(gz.content).decode())
                == "Sign in · Moorage"
            )
    # a client that refuses both gets the identity
    r = await _raw(env, css, "br;q=0, gzip;q=0")
    assert "content-encoding" not in r.headers
    # signed-in JSON of the REST API
    r = await _raw(env, "/api/v1/user/", "br", authorization=alice.auth["Authorization"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    # small answers are not worth it: sent as they are
    assert len(brotli.decompress(r.content) if "content-encoding" in r.headers else r.content) > 0


async def test_blobs_and_ranges_are_never_compressed(env: Env, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/blobs"
    await env.repo(repo, alice)
    data = b'{"json-looking": "blob"}' * 200  # compressible bytes: still sent as stored
    digest = await push_blob(env.client, repo, data, alice.auth)
    r = await _raw(env, f"/v2/{repo}/blobs/{digest}", "gzip, br", authorization=alice.auth["Authorization"])
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
    assert r.content == data
    # a byte range of a static file: the exact bytes, uncompressed
    plain = await _raw(env, "/static/moorage.css", None)
    r = await _raw(env, "/static/moorage.css", "gzip, br", range="bytes=0-99")
    assert "content-encoding" not in r.headers
    if r.status_code == 206:
        assert r.content == plain.content[:100]
    else:
        assert r.status_code == 200
        assert r.content == plain.content


async def test_versioned_static_files_are_immutable_and_others_revalidate(
    env: Env, browser: BrowserFactory
) -> None:
    b = await browser()
    page = (await b.get("/signin")).text
    versions = static_versions()
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert {link.split("?")[0] for link in links} >= {
        "/static/moorage.css",
        "/static/moorage.js",
        "/static/htmx.min.js",
        "/static/favicon.svg",
    }
    for link in links:
        name, _, query = link.removeprefix("/static/").partition("?")
        assert query == f"v={versions[name]}", link  # the address names the content
        r = await b.get(html.unescape(link))
        assert r.headers["cache-control"] == IMMUTABLE, link
    # an address without the current version (an old page, a hand-typed URL) is revalidated
    for link in ("/static/moorage.css", "/static/moorage.css?v=0.1.0", "/static/moorage.css?v=000000000000"):
        r = await b.get(link)
        assert r.headers["cache-control"] == "no-cache", link
    # pages are never cached
    r = await b.get("/signin")
    assert r.headers["cache-control"] == "no-store"


async def test_every_tab_has_its_own_title(env: Env, browser: BrowserFactory, uid: str) -> None:
    boss = await env.user(uid, "boss", superuser=True)
    org = (await env.org(uid, boss)).name
    repo = f"{org}/app"
    await env.repo(repo, boss)
    digest = await env.push(repo, "1.0", boss)
    await env.team(org, "readers", "member", boss.name, who=boss)
    b = await browser(boss)
    pages = [
        "/",
        "/explore",
        "/new/repository",
        "/new/organization",
        "/settings",
        "/settings/tokens",
        "/settings/robots",
        f"/user/{boss.name}",
        f"/organization/{org}",
        f"/organization/{org}/teams",
        f"/organization/{org}/teams/readers",
        f"/organization/{org}/robots",
        f"/organization/{org}/defaults",
        f"/organization/{org}/applications",
        f"/organization/{org}/logs",
        f"/organization/{org}/settings",
        f"/repository/{repo}",
        f"/repository/{repo}/-/history",
        f"/repository/{repo}/-/permissions",
        f"/repository/{repo}/-/logs",
        f"/repository/{repo}/-/settings",
        f"/repository/{repo}/-/manifest/{digest}",
        "/superuser/users",
        "/superuser/organizations",
        "/superuser/storage",
        "/superuser/locks",
    ]
    titles: dict[str, str] = {}
    for path in pages:
        titles[path] = _title((await b.get(path)).text)
    seen: dict[str, str] = {}
    for path, title in titles.items():
        assert title not in seen, f"{path} and {seen.get(title)} share the title {title!r}"
        assert title != "Moorage · Moorage", path
        seen[title] = path
    assert titles[f"/repository/{repo}"] == f"Tags · {repo} · Moorage"
    assert titles[f"/repository/{repo}/-/history"] == f"Tag history · {repo} · Moorage"


async def test_tags_page_of_fifty_rows_is_small(env: Env, browser: BrowserFactory, uid: str) -> None:
    """The page used to weigh 121 KiB for 50 rows (2.4 KiB a row: a form with its CSRF token per
    row, every command three times in attributes, a confirmation text per row). On this test's
    data (long generated names) the former template gave 128.4 KiB, the current one 82.1 KiB; what
    travels, compressed, is a tenth of that."""
    owner = await env.user(uid, "owner")
    repo = f"{owner.name}/many"
    digest = await env.push(repo, "base", owner)
    for i in range(60):
        await retag(env, repo, f"release-2026.{i:02d}.0", digest, owner)
    assert env.settings.ui_page_size == 50
    b = await browser(owner)
    r = await b.get(f"/repository/{repo}")
    rows = re.findall(r'class="tag-name"', r.text)
    assert len(rows) == 50
    size = len(r.content)
    assert size < 84 * 1024, f"the Tags page of 50 rows weighs {size / 1024:.1f} KiB"
    sent = await _raw(env, f"/repository/{repo}", "br", cookie=_cookie_header(b))
    assert sent.headers["content-encoding"] == "br"
    assert len(sent.content) < 12 * 1024, len(sent.content)
    # no form per row: a move link and a delete link (to the tag's confirmation page, which the
    # page opens in its dialog) and both pull commands per row
    assert r.text.count('name="csrf_token"') <= 1  # the sign-out form only
    assert r.text.count('data-open="tag-delete-dialog"') == 50
    assert r.text.count('data-open="tag-move-dialog"') == 50
    assert r.text.count('data-copy="docker pull ') == 2 * 50 + 1  # and the header's pull command


async def test_csrf_token_differs_on_every_page_and_each_works(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    """Compressed pages must not repeat a secret byte for byte (BREACH): the CSRF token is masked
    with a fresh pad on every page, and any of the masked forms is accepted."""
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    first = csrf_of((await b.get("/settings")).text)
    second = csrf_of((await b.get("/settings")).text)
    assert first != second
    for token in (first, second):
        r = await b.post("/settings/tokens", {"title": f"t-{token[-6:]}"}, csrf=token)
        assert r.status_code in (200, 303), r.status_code
    r = await b.post("/settings/tokens", {"title": "forged"}, csrf=first[:-4] + "AAAA")
    assert r.status_code == 403
    # the REST API accepts the page's token in X-CSRF-Token for the same session
    r = await b.client.post(
        "/api/v1/user/apptoken", json={"title": "from-page"}, headers={"X-CSRF-Token": second}
    )
    assert r.status_code in (200, 201), r.text
