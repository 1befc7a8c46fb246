"""The user's own settings: e-mail, password change, application tokens, command-line login."""

from __future__ import annotations

import re

from tests.api.support import Env, User
from tests.ui.conftest import BrowserFactory
from tests.ui.support import Browser, text_of


async def test_settings_page_shows_the_account_and_how_to_log_in(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    page = text_of((await b.get("/settings")).text)
    assert alice.name in page
    assert f"{alice.name}@example.com" in page
    host = env.settings.base_url.split("://", 1)[1]
    assert f"docker login {host} -u {alice.name}" in page
    assert f"podman login --tls-verify=false {host} -u {alice.name}" in page
    assert f"skopeo login --tls-verify=false {host} -u {alice.name}" in page
    assert "application token" in page
    assert 'href="/settings/robots"' in b.last_page


async def test_settings_need_a_signed_in_user(browser: BrowserFactory) -> None:
    b = await browser()
    for path in ("/settings", "/settings/tokens"):
        r = await b.get(path, expect=303)
        assert r.headers["location"].startswith("/signin?next=")


async def test_change_email(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await b.post("/settings/email", {"email": "not an address"}, form_page="/settings")
    assert r.status_code == 400
    assert "does not look like an e-mail address" in text_of(r.text)
    info = await env.services.users.get(alice.name)
    assert info is not None
    assert info.email == f"{alice.name}@example.com"

    r = await b.post("/settings/email", {"email": "new@example.org"}, form_page="/settings")
    assert r.status_code == 303
    assert "new@example.org" in text_of((await b.follow(r)).text)
    info = await env.services.users.get(alice.name)
    assert info is not None
    assert info.email == "new@example.org"


async def test_wrong_current_password_changes_nothing(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    other = await browser(alice)
    r = await b.post(
        "/settings/password",
        {"current": "not-my-password", "new": "brand-new-secret", "repeat": "brand-new-secret"},
        form_page="/settings",
    )
    assert r.status_code == 403
    assert "current password is wrong" in text_of(r.text)
    assert "brand-new-secret" not in r.text  # passwords are never echoed back
    assert await env.services.users.authenticate(alice.name, alice.password) is not None
    assert await env.services.users.authenticate(alice.name, "brand-new-secret") is None
    await other.get("/settings")  # the other session still works


async def test_password_change_form_errors_are_readable(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    cases = [
        ({"current": alice.password, "new": "long-enough-1", "repeat": "long-enough-2"}, "differ"),
        ({"current": alice.password, "new": "short", "repeat": "short"}, "at least 8 characters"),
        ({"current": alice.password, "new": "", "repeat": ""}, "Fill in"),
    ]
    for data, message in cases:
        r = await b.post("/settings/password", data, form_page="/settings")
        assert r.status_code == 400, (data, r.status_code)
        assert message in text_of(r.text), (message, text_of(r.text)[:400])
    assert await env.services.users.authenticate(alice.name, alice.password) is not None


async def test_password_change_signs_out_the_other_sessions_only(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    here = await browser(alice)
    elsewhere = await browser(alice)
    bob = await env.user(uid, "bob")
    bobs = await browser(bob)
    r = await here.post(
        "/settings/password",
        {"current": alice.password, "new": "brand-new-secret", "repeat": "brand-new-secret"},
        form_page="/settings",
    )
    assert r.status_code == 303, text_of(r.text)[:300]
    assert "Password changed" in text_of((await here.follow(r)).text)
    assert await env.services.users.authenticate(alice.name, alice.password) is None
    assert await env.services.users.authenticate(alice.name, "brand-new-secret") is not None
    # this browser stays signed in, the other one is sent to sign in; other users are untouched
    await here.get("/settings")
    r = await elsewhere.get("/settings", expect=303)
    assert r.headers["location"].startswith("/signin")
    await bobs.get("/settings")
    fresh = await browser(User(alice.name, "brand-new-secret"))
    await fresh.get("/settings")


async def _create_token(b: Browser, title: str, expires: str = "") -> str:
    r = await b.post("/settings/tokens", {"title": title, "expires": expires}, form_page="/settings/tokens")
    assert r.status_code == 200, text_of(r.text)[:400]
    page = text_of(r.text)
    assert "shown only once" in page
    m = re.search(r"docker login -u='\$app' -p='([A-Z0-9]{64})' ", page)
    assert m, page[:600]
    return m.group(1)


async def test_app_token_is_shown_once_and_works_as_docker_password(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    await env.repo(f"{alice.name}/app", alice)
    b = await browser(alice)
    token = await _create_token(b, "laptop", "2999-12-31")
    assert token in b.last_page

    again = await b.get("/settings/tokens")
    assert token not in again.text
    page = text_of(again.text)
    assert "laptop" in page
    assert token[:4] in page
    assert "2999-12-31" in page

    r = await env.v2_token(User("$app", token), f"repository:{alice.name}/app:pull")
    assert r.status_code == 200, r.text
    r = await env.v2_token(User(alice.name, token), f"repository:{alice.name}/app:pull")
    assert r.status_code == 200, r.text

    # revoking it (after the confirmation the page asks for) locks programs out
    assert 'data-confirm="Revoke the token laptop?' in again.text
    uuid = re.search(r'action="/settings/tokens/([0-9a-f-]{36})/revoke"', again.text)
    assert uuid
    r = await b.post(f"/settings/tokens/{uuid.group(1)}/revoke", {})
    assert r.status_code == 303
    assert "laptop" in text_of((await b.follow(r)).text)  # the flash names it
    assert "laptop" not in text_of((await b.get("/settings/tokens")).text)
    r = await env.v2_token(User("$app", token), f"repository:{alice.name}/app:pull")
    assert r.status_code == 401


async def test_app_token_form_errors(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await b.post("/settings/tokens", {"title": "", "expires": ""}, form_page="/settings/tokens")
    assert r.status_code == 400
    assert "Give the token a title" in text_of(r.text)
    r = await b.post(
        "/settings/tokens", {"title": "old", "expires": "2001-01-01"}, form_page="/settings/tokens"
    )
    assert r.status_code == 400
    assert "expiry date must be today or later" in text_of(r.text)
    assert 'value="old"' in r.text
    r = await b.post(
        "/settings/tokens", {"title": "odd", "expires": "tomorrow"}, form_page="/settings/tokens"
    )
    assert r.status_code == 400
    info = await env.services.users.get(alice.name)
    assert info is not None
    assert await env.services.app_tokens.list(info.id) == []


async def test_another_users_token_cannot_be_revoked(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    mallory = await env.user(uid, "mallory")
    a = await browser(alice)
    await _create_token(a, "ci")
    info = await env.services.users.get(alice.name)
    assert info is not None
    [tok] = await env.services.app_tokens.list(info.id)
    m = await browser(mallory)
    r = await m.post(f"/settings/tokens/{tok.uuid}/revoke", {}, form_page="/settings/tokens")
    assert r.status_code == 404
    assert len(await env.services.app_tokens.list(info.id)) == 1
    r = await m.post(f"/settings/tokens/{tok.uuid}/revoke", {}, csrf="forged")
    assert r.status_code == 403
