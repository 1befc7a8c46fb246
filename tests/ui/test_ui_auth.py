"""Sign in and out, sessions, CSRF, the home page: through the in-process app, as a browser would."""

from __future__ import annotations

from tests.api.support import Env
from tests.ui.conftest import BrowserFactory
from tests.ui.support import text_of


async def test_sign_in_shows_the_users_repositories_and_sign_out_ends_the_session(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    await env.repo(f"{alice.name}/app", alice)
    b = await browser(alice)
    page = text_of((await b.get("/")).text)
    assert f"{alice.name}/app" in page
    assert "private" in page
    session = b.client.cookies["moorage_session"]
    r = await b.post("/signout", {})
    assert r.status_code == 303
    # the old cookie no longer signs anyone in, even if a copy of it was kept
    other = await browser()
    other.client.cookies.set("moorage_session", session)
    assert f"{alice.name}/app" not in text_of((await other.get("/")).text)


async def test_wrong_password_is_a_readable_error(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser()
    r = await b.post("/signin", {"username": alice.name, "password": "nope-nope"}, form_page="/signin")
    assert r.status_code == 401
    assert "Wrong username or password" in text_of(r.text)
    assert "moorage_session" not in b.client.cookies


async def test_robot_tokens_do_not_sign_in_to_the_ui(env: Env, browser: BrowserFactory, uid: str) -> None:
    owner = await env.user(uid, "owner")
    org = await env.org(uid, owner)
    robot = await env.robot(org.name, "bot", owner)
    b = await browser()
    r = await b.post("/signin", {"username": robot.name, "password": robot.password}, form_page="/signin")
    assert r.status_code == 401


async def test_form_without_csrf_token_is_rejected(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    await b.get("/new/repository")
    r = await b.post("/new/repository", {"namespace": alice.name, "name": "x"}, csrf="forged")
    assert r.status_code == 403
    assert "expired" in text_of(r.text)
    assert await env.services.repositories.get(f"{alice.name}/x") is None


async def test_signin_form_needs_its_csrf_cookie(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    b = await browser()
    await b.get("/signin")
    b.client.cookies.delete("moorage_csrf")
    r = await b.post("/signin", {"username": alice.name, "password": alice.password})
    assert r.status_code == 403


async def test_api_accepts_the_session_cookie_with_csrf_header(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await b.client.get("/api/v1/user/")
    assert r.status_code == 200, r.text
    assert r.json()["username"] == alice.name
    body = {"namespace": alice.name, "repository": "viaapi", "visibility": "private"}
    r = await b.client.post("/api/v1/repository", json=body)
    assert r.status_code == 403  # cookie without the CSRF header
    page = (await b.get("/")).text
    token = page.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]
    r = await b.client.post("/api/v1/repository", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text


async def test_pages_that_need_an_account_send_to_sign_in(browser: BrowserFactory) -> None:
    b = await browser()
    r = await b.get("/new/repository", expect=303)
    assert r.headers["location"] == "/signin?next=/new/repository"


async def test_unknown_page_is_a_404_page(browser: BrowserFactory) -> None:
    b = await browser()
    r = await b.get("/no/such/page", expect=404)
    assert "Not found" in text_of(r.text)


async def test_create_repository_with_invalid_name_shows_the_error(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    b = await browser(alice)
    r = await b.post(
        "/new/repository",
        {"namespace": alice.name, "name": "Bad Name!", "visibility": "private"},
        form_page="/new/repository",
    )
    assert r.status_code == 400
    page = text_of(r.text)
    assert "invalid" in page.lower() or "repository name" in page.lower()
    assert "Bad Name!" in r.text  # the form keeps what was typed
