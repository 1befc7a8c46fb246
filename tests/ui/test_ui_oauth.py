"""OAuth 2 for applications: the consent page, the code and implicit flows, the token endpoint."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from tests.api.support import Env, Lifespan, User, granted
from tests.ui.conftest import BrowserFactory
from tests.ui.support import Browser, text_of

from moorage.app import create_app

CALLBACK = "https://app.example.com/callback"


@dataclass
class App:
    org: str
    owner: User
    name: str
    client_id: str
    client_secret: str


async def register(env: Env, uid: str, redirect_uri: str | None = CALLBACK, label: str = "org") -> App:
    owner = await env.user(uid, f"{label}owner")
    org = await env.org(uid, owner, label)
    name = f"Deploy Bot {uid}"
    r = await env.api(
        "POST",
        f"/organization/{org.name}/applications",
        owner,
        json_body={
            "name": name,
            "redirect_uri": redirect_uri,
            "application_uri": "https://app.example.com/about",
            "description": "Deploys your images.",
        },
        expect=201,
    )
    body = r.json()
    return App(org.name, owner, name, body["client_id"], body["client_secret"])


def authorize_url(
    app: App, response_type: str = "code", scope: str = "repo:read user:read", **extra: str | None
) -> str:
    params: dict[str, str | None] = {
        "response_type": response_type,
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "st-123",
    }
    params.update(extra)
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


async def consent(b: Browser, url: str, decision: str = "allow") -> httpx.Response:
    """Load the consent page and press one of its buttons (the form's hidden fields included)."""
    page = (await b.get(url)).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    fields = {
        k: v.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'") for k, v in fields.items()
    }
    fields.pop("csrf_token", None)
    fields["decision"] = decision
    return await b.post("/oauth/authorize", fields)


async def exchange(env: Env, app: App, code: str, **overrides: str | None) -> httpx.Response:
    data: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": CALLBACK,
    }
    data.update(overrides)
    return await env.client.post("/oauth/access_token", data={k: v for k, v in data.items() if v is not None})


async def whoami(env: Env, token: str) -> httpx.Response:
    return await env.client.get("/api/v1/user/", headers={"Authorization": f"Bearer {token}"})


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def fragment_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


async def test_code_flow_end_to_end(env: Env, browser: BrowserFactory, uid: str) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await b.get(authorize_url(app))
    page = text_of(r.text)
    assert f"Authorize {app.name}?" in page
    assert app.org in page
    assert "https://app.example.com/about" in page
    assert "Deploys your images." in page
    assert "See and pull the repositories you can read." in page
    assert "Read your user name, e-mail address and organization memberships." in page
    assert "Push images" not in page  # only what was asked for
    assert alice.name in page
    # the form may end at the application's origin, and nowhere else
    csp = r.headers["content-security-policy"]
    assert "form-action 'self' https://app.example.com;" in csp + ";"
    assert r.headers.get_list("content-security-policy") == [csp]

    r = await consent(b, authorize_url(app))
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?")
    q = query_of(location)
    assert q["state"] == "st-123"
    code = q["code"]

    r = await exchange(env, app, code)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "repo:read user:read"
    assert body["expires_in"] == 30 * 86400
    assert r.headers["cache-control"] == "no-store"
    token = body["access_token"]
    r = await whoami(env, token)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == alice.name
    assert sorted(r.json()["scopes"]) == ["repo:read", "user:read"]

    # a code works once; presenting it again also revokes the token it bought (it has leaked)
    r = await exchange(env, app, code)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    assert (await whoami(env, token)).status_code == 401


async def test_sign_in_comes_first_and_returns_to_the_consent_page(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser()
    url = authorize_url(app)
    r = await b.get(url, expect=303)
    assert r.headers["location"] == "/signin?next=" + quote(url)
    await b.get(r.headers["location"])
    r = await b.post("/signin", {"username": alice.name, "password": alice.password, "next": url})
    assert r.status_code == 303
    assert r.headers["location"] == url
    assert f"Authorize {app.name}?" in text_of((await b.follow(r)).text)


async def test_implicit_flow_puts_the_token_in_the_fragment(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await consent(b, authorize_url(app, "token"))
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "#")
    assert not urlsplit(location).query
    f = fragment_of(location)
    assert f["token_type"] == "Bearer"
    assert f["state"] == "st-123"
    assert f["scope"] == "repo:read user:read"
    assert int(f["expires_in"]) == 8 * 3600
    r = await whoami(env, f["access_token"])
    assert r.status_code == 200
    assert r.json()["username"] == alice.name


async def test_deny_sends_access_denied_back(env: Env, browser: BrowserFactory, uid: str) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await consent(b, authorize_url(app), decision="deny")
    assert r.status_code == 303
    q = query_of(r.headers["location"])
    assert q["error"] == "access_denied"
    assert q["state"] == "st-123"
    assert "code" not in q
    r = await consent(b, authorize_url(app, "token"), decision="deny")
    f = fragment_of(r.headers["location"])
    assert f["error"] == "access_denied"
    assert "access_token" not in f


@pytest.mark.parametrize(
    "change",
    [
        {"redirect_uri": "https://evil.example.com/callback"},
        {"redirect_uri": CALLBACK + ".evil.example.com"},
        {"redirect_uri": CALLBACK + "/../../steal"},
        {"client_id": "no-such-client"},
    ],
)
async def test_wrong_client_or_redirect_uri_shows_an_error_page_and_never_redirects(
    env: Env, browser: BrowserFactory, uid: str, change: dict[str, str]
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    url = authorize_url(app, **change)
    r = await b.get(url, expect=400)
    assert "location" not in r.headers
    assert "evil" not in r.headers["content-security-policy"]
    assert "Cannot authorize this application" in text_of(r.text)
    # the consent POST is checked the same way
    fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} | {"decision": "allow"}
    r = await b.post("/oauth/authorize", fields)
    assert r.status_code == 400
    assert "location" not in r.headers


async def test_application_without_redirect_uri_cannot_be_authorized(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    app = await register(env, uid, redirect_uri=None)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await b.get(authorize_url(app, redirect_uri=None), expect=400)
    assert "no redirect URI registered" in text_of(r.text)
    assert "location" not in r.headers


async def test_omitted_redirect_uri_means_the_registered_one(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await consent(b, authorize_url(app, redirect_uri=None))
    code = query_of(r.headers["location"])["code"]
    assert r.headers["location"].startswith(CALLBACK + "?")
    r = await exchange(env, app, code, redirect_uri=None)
    assert r.status_code == 200, r.text


async def test_bad_scopes_and_response_types_go_back_as_errors(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    for url, error in (
        (authorize_url(app, scope="repo:read teleport"), "invalid_scope"),
        (authorize_url(app, scope="super:user"), "invalid_scope"),  # alice is no superuser
        (authorize_url(app, scope=""), "invalid_scope"),
        (authorize_url(app, "id_token"), "unsupported_response_type"),
    ):
        r = await b.get(url, expect=303)
        q = query_of(r.headers["location"])
        assert r.headers["location"].startswith(CALLBACK + "?")
        assert q["error"] == error, (url, q)
        assert q["state"] == "st-123"
    # a superuser may grant super:user, and is told so on the consent page
    admin = await browser(env.admin)
    page = text_of((await admin.get(authorize_url(app, scope="super:user"))).text)
    assert "Act as a superuser of this registry" in page


async def test_consent_post_without_csrf_token_is_refused(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    await b.get(authorize_url(app))
    fields = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url(app)).query).items()} | {
        "decision": "allow"
    }
    r = await b.post("/oauth/authorize", fields, csrf="forged")
    assert r.status_code == 403
    assert "location" not in r.headers
    r = await b.client.post("/oauth/authorize", data=fields)  # no token at all
    assert r.status_code == 403
    assert "location" not in r.headers


async def test_token_endpoint_checks_the_client(env: Env, browser: BrowserFactory, uid: str) -> None:
    app = await register(env, uid)
    other = await register(env, uid, label="other")
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    code = query_of((await consent(b, authorize_url(app))).headers["location"])["code"]

    r = await exchange(env, app, code, client_secret="W" * 40)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = await exchange(env, app, code, client_secret=None)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    # another application's valid credentials do not redeem this code
    r = await exchange(env, app, code, client_id=other.client_id, client_secret=other.client_secret)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    # nor another redirect_uri, nor another grant type
    r = await exchange(env, app, code, redirect_uri="https://app.example.com/other")
    assert r.json()["error"] == "invalid_grant"
    r = await exchange(env, app, code, grant_type="password")
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"
    r = await env.client.post("/oauth/access_token", json={"code": code})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    # none of that used the code up; HTTP Basic client authentication works too (RFC 6749 2.3.1)
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    r = await env.client.post(
        "/oauth/access_token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text
    assert (await whoami(env, r.json()["access_token"])).status_code == 200


async def test_expired_code_is_refused(
    env: Env, browser: BrowserFactory, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moorage.identity.oauth as oauth_service

    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    monkeypatch.setattr(oauth_service, "CODE_LIFETIME", timedelta(seconds=-1))
    code = query_of((await consent(b, authorize_url(app))).headers["location"])["code"]
    r = await exchange(env, app, code)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_token_never_exceeds_the_user(env: Env, browser: BrowserFactory, uid: str) -> None:
    app = await register(env, uid)
    owner = app.owner
    await env.repo(f"{owner.name}/secret", owner)
    alice = await env.user(uid, "alice")
    await env.repo(f"{alice.name}/mine", alice)
    b = await browser(alice)
    url = authorize_url(app, scope="repo:read repo:write repo:admin user:read")
    code = query_of((await consent(b, url)).headers["location"])["code"]
    token = (await exchange(env, app, code)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    r = await env.client.get(f"/api/v1/repository/{alice.name}/mine", headers=bearer)
    assert r.status_code == 200, r.text
    r = await env.client.get(f"/api/v1/repository/{owner.name}/secret", headers=bearer)
    assert r.status_code == 404
    # and a read-only token cannot push, even to the user's own repository
    code = query_of((await consent(b, authorize_url(app, scope="repo:read"))).headers["location"])["code"]
    token = (await exchange(env, app, code)).json()["access_token"]
    r = await env.v2_token(User("$oauthtoken", token), f"repository:{alice.name}/mine:pull,push")
    assert r.status_code == 200
    assert granted(r.json()["token"], f"{alice.name}/mine") == {"pull"}


@pytest_asyncio.fixture(loop_scope="session")
async def strict(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same data, locking after 3 failures (no delays)."""
    settings = env.settings.model_copy(
        update={"login_delay_after": 1000, "login_lock_after": 3, "login_ip_delay_after": 1000}
    )
    app = create_app(settings)
    async with (
        Lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def test_guessing_the_client_secret_is_throttled(
    env: Env, browser: BrowserFactory, strict: httpx.AsyncClient, uid: str
) -> None:
    app = await register(env, uid)
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    code = query_of((await consent(b, authorize_url(app))).headers["location"])["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
    }
    for _ in range(3):
        r = await strict.post("/oauth/access_token", data=form | {"client_secret": "GUESS" * 8})
        assert r.status_code == 401
    r = await strict.post("/oauth/access_token", data=form | {"client_secret": app.client_secret})
    assert r.status_code == 429
    assert r.json()["error"] == "invalid_client"
    admin = await browser(env.admin)
    page = text_of((await admin.get("/superuser/locks")).text)
    assert app.client_id in page
    assert "OAuth application" in page
    r = await admin.post("/superuser/locks/unlock", {"key": f"client:{app.client_id}"})
    assert r.status_code == 303
    r = await strict.post("/oauth/access_token", data=form | {"client_secret": app.client_secret})
    assert r.status_code == 200, r.text
