"""The superuser panel: users, organizations, invitations, storage, locked accounts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from starlette.types import ASGIApp
from tests.api.support import Env, Lifespan, User, build_env, settings_for
from tests.protocol.helpers import push_image
from tests.ui.conftest import BrowserFactory
from tests.ui.support import Browser, text_of

from moorage.app import create_app
from moorage.ui.templating import filesize

GET_PAGES = [
    "/superuser",
    "/superuser/users",
    "/superuser/users/admin",
    "/superuser/organizations",
    "/superuser/invitations",
    "/superuser/storage",
    "/superuser/locks",
]


async def test_panel_is_404_for_everybody_but_superusers(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    org = await env.org(uid, alice)
    victim = await env.user(uid, "victim")
    member = await browser(alice)
    assert 'href="/superuser"' not in (await member.get("/")).text  # no link in the top bar
    anonymous = await browser()
    for path in GET_PAGES:
        r = await member.get(path, expect=404)
        assert "Not found" in text_of(r.text)
        await anonymous.get(path, expect=404)

    await member.get("/")  # a page with a valid CSRF token of alice's session
    posts: list[tuple[str, dict[str, str]]] = [
        ("/superuser/users", {"username": f"x-{uid}", "password": "long-enough", "repeat": "long-enough"}),
        (f"/superuser/users/{victim.name}/enabled", {"enabled": "0"}),
        (f"/superuser/users/{alice.name}/superuser", {"superuser": "1"}),
        (f"/superuser/users/{victim.name}/password", {"password": "taken-over", "repeat": "taken-over"}),
        (f"/superuser/users/{victim.name}/delete", {"confirm": victim.name}),
        (f"/superuser/organizations/{org.name}/delete", {"confirm": org.name}),
        ("/superuser/invitations", {"email": ""}),
        ("/superuser/invitations/1/revoke", {}),
        ("/superuser/locks/unlock", {"key": f"user:{victim.name}"}),
    ]
    for path, data in posts:
        r = await member.post(path, data)  # with alice's valid CSRF token
        assert r.status_code == 404, (path, r.status_code)
        r = await anonymous.post(path, data, csrf="")
        assert r.status_code in (403, 404), (path, r.status_code)
    # nothing happened
    assert await env.services.users.get(f"x-{uid}") is None
    info = await env.services.users.get(victim.name)
    assert info is not None
    assert info.enabled
    assert await env.services.users.authenticate(victim.name, victim.password) is not None
    alice_info = await env.services.users.get(alice.name)
    assert alice_info is not None
    assert not alice_info.superuser
    assert await env.services.organizations.get(org.name) is not None


async def test_superuser_sees_the_panel(env: Env, browser: BrowserFactory) -> None:
    b = await browser(env.admin)
    assert 'href="/superuser"' in (await b.get("/")).text
    r = await b.get("/superuser", expect=303)
    assert r.headers["location"] == "/superuser/users"
    for path in GET_PAGES[1:]:
        await b.get(path)


@pytest_asyncio.fixture(loop_scope="session")
async def small_pages(env: Env) -> AsyncIterator[ASGIApp]:
    """A second app on the same data, with 5 rows per page."""
    app = create_app(env.settings.model_copy(update={"ui_page_size": 5}))
    async with Lifespan(app):
        yield app


async def test_user_list_search_and_pages(
    env: Env, browser: BrowserFactory, small_pages: ASGIApp, uid: str
) -> None:
    names = [(await env.user(uid, f"srch{i}")).name for i in range(7)]
    b = await browser(env.admin)
    page = text_of((await b.get(f"/superuser/users?q={uid}")).text)
    for n in names:
        assert n in page
        assert f"{n}@example.com" in page
    # by e-mail, case-insensitively
    page = text_of((await b.get(f"/superuser/users?q=SRCH1-{uid.upper()}@EXAMPLE")).text)
    assert names[1] in page
    assert names[0] not in page
    # the list is paginated after page_size rows: follow the links until every name was seen
    small = Browser(small_pages)
    try:
        await small.sign_in(env.admin.name, env.admin.password)
        seen: list[str] = []
        pages = 0
        url: str | None = f"/superuser/users?q={uid}"
        while url:
            r = await small.get(url)
            pages += 1
            seen += re.findall(r'<a class="repo-link" href="/superuser/users/([^"]+)"', r.text)
            m = re.search(r'href="(/superuser/users\?[^"]*after=[^"]*)" rel="next"', r.text)
            url = m.group(1).replace("&amp;", "&") if m else None
        assert seen == sorted(names)
        assert pages == 2
    finally:
        await small.close()


async def test_create_user_then_disable_enable_promote_and_delete(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    b = await browser(env.admin)
    name = f"new-{uid}"
    r = await b.post(
        "/superuser/users",
        {
            "username": name,
            "email": f"{name}@example.org",
            "password": "first-secret",
            "repeat": "first-secret",
        },
        form_page="/superuser/users",
    )
    assert r.status_code == 303, text_of(r.text)[:400]
    assert r.headers["location"] == f"/superuser/users/{name}"
    page = text_of((await b.follow(r)).text)
    assert f"User {name} created" in page
    assert f"{name}@example.org" in page
    info = await env.services.users.get(name)
    assert info is not None
    assert info.enabled
    assert not info.superuser

    # the person signs in; disabling the account ends that session at once
    person = await browser(User(name, "first-secret"))
    await person.get("/settings")
    r = await b.post(
        f"/superuser/users/{name}/enabled", {"enabled": "0"}, form_page=f"/superuser/users/{name}"
    )
    assert r.status_code == 303
    assert "disabled" in text_of((await b.follow(r)).text)
    r = await person.get("/settings", expect=303)
    assert r.headers["location"].startswith("/signin")
    assert await env.services.users.authenticate(name, "first-secret") is None
    r = await env.v2_token(User(name, "first-secret"))
    assert r.status_code == 401

    r = await b.post(
        f"/superuser/users/{name}/enabled", {"enabled": "1"}, form_page=f"/superuser/users/{name}"
    )
    assert r.status_code == 303
    assert await env.services.users.authenticate(name, "first-secret") is not None

    r = await b.post(
        f"/superuser/users/{name}/superuser", {"superuser": "1"}, form_page=f"/superuser/users/{name}"
    )
    assert r.status_code == 303
    assert "now a superuser" in text_of((await b.follow(r)).text)
    info = await env.services.users.get(name)
    assert info is not None
    assert info.superuser
    promoted = await browser(User(name, "first-secret"))
    await promoted.get("/superuser/users")

    # a new password ends their sessions and replaces the old one
    r = await b.post(
        f"/superuser/users/{name}/password",
        {"password": "second-secret", "repeat": "second-secret"},
        form_page=f"/superuser/users/{name}",
    )
    assert r.status_code == 303
    await promoted.get("/superuser/users", expect=404)  # signed out: the panel is not there for them
    assert await env.services.users.authenticate(name, "first-secret") is None
    assert await env.services.users.authenticate(name, "second-secret") is not None

    # deleting needs the typed name
    r = await b.post(
        f"/superuser/users/{name}/delete", {"confirm": "wrong"}, form_page=f"/superuser/users/{name}"
    )
    assert r.status_code == 400
    assert f"Type {name} to confirm" in text_of(r.text)
    assert await env.services.users.get(name) is not None
    r = await b.post(
        f"/superuser/users/{name}/delete", {"confirm": name}, form_page=f"/superuser/users/{name}"
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/superuser/users"
    assert await env.services.users.get(name) is None
    await b.get(f"/superuser/users/{name}", expect=404)


async def test_create_user_errors_keep_the_form(env: Env, browser: BrowserFactory, uid: str) -> None:
    taken = await env.user(uid, "taken")
    b = await browser(env.admin)
    cases = [
        (
            {"username": "Bad Name", "password": "long-enough", "repeat": "long-enough"},
            400,
            "must be 2-255 characters",
        ),
        ({"username": taken.name, "password": "long-enough", "repeat": "long-enough"}, 409, "already taken"),
        ({"username": f"n-{uid}", "password": "short", "repeat": "short"}, 400, "at least 8 characters"),
        ({"username": f"n-{uid}", "password": "long-enough", "repeat": "other-one"}, 400, "differ"),
    ]
    for data, status, message in cases:
        r = await b.post("/superuser/users", data, form_page="/superuser/users")
        assert r.status_code == status, (data, r.status_code, text_of(r.text)[:300])
        assert message in text_of(r.text), (message, text_of(r.text)[:500])
        assert f'value="{data["username"]}"' in r.text
        assert data["password"] not in r.text
    assert await env.services.users.get(f"n-{uid}") is None


async def test_an_organization_owner_cannot_be_deleted_before_the_organization(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "owner")
    org = await env.org(uid, owner)
    b = await browser(env.admin)
    r = await b.post(
        f"/superuser/users/{owner.name}/delete",
        {"confirm": owner.name},
        form_page=f"/superuser/users/{owner.name}",
    )
    assert r.status_code == 403
    assert org.name in text_of(r.text)
    assert await env.services.users.get(owner.name) is not None


async def test_the_last_superuser_cannot_be_removed(tmp_path: Path, browser: BrowserFactory) -> None:
    """On a registry of its own, where ``admin`` is the only superuser."""
    async for lone in build_env(settings_for(tmp_path, None)):
        first = Browser(lone.app)
        try:
            await first.sign_in(lone.admin.name, lone.admin.password)
            page = f"/superuser/users/{lone.admin.name}"
            for path, data in (
                (f"{page}/superuser", {"superuser": "0"}),
                (f"{page}/enabled", {"enabled": "0"}),
                (f"{page}/delete", {"confirm": lone.admin.name}),
            ):
                r = await first.post(path, data, form_page=page)
                assert r.status_code == 403, (path, r.status_code)
                assert "last enabled superuser" in text_of(r.text)
            info = await lone.services.users.get(lone.admin.name)
            assert info is not None
            assert info.superuser
            assert info.enabled
            await first.get("/superuser/users")  # still signed in, still a superuser

            # with a second superuser, the first may step down
            r = await first.post(
                "/superuser/users",
                {"username": "second", "password": "second-pw", "repeat": "second-pw", "superuser": "1"},
                form_page="/superuser/users",
            )
            assert r.status_code == 303
            r = await first.post(f"{page}/superuser", {"superuser": "0"}, form_page=page)
            assert r.status_code == 303
            await first.get("/superuser/users", expect=404)
            second = Browser(lone.app)
            await second.sign_in("second", "second-pw")
            r = await second.post(
                "/superuser/users/second/superuser", {"superuser": "0"}, form_page="/superuser/users/second"
            )
            assert r.status_code == 403
            assert "last enabled superuser" in text_of(r.text)
            await second.close()
        finally:
            await first.close()


async def test_organizations_tab_lists_counts_and_deletes_with_confirmation(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "owner")
    org = await env.org(uid, owner)
    await env.repo(f"{org.name}/one", owner)
    await env.repo(f"{org.name}/two", owner)
    b = await browser(env.admin)
    # walk the pages until the organization shows up (the list is shared by every test)
    url: str | None = "/superuser/organizations"
    row = None
    while url and row is None:
        r = await b.get(url)
        row = re.search(rf'href="/organization/{org.name}">{org.name}</a>.*?</tr>', r.text, re.S)
        m = re.search(r'href="(/superuser/organizations\?after=[^"]*)" rel="next"', r.text)
        url = m.group(1) if m else None
    assert row, "the organization is not listed"
    assert '<td class="num">2</td>' in row.group(0)

    delete_page = f"/superuser/organizations/{org.name}/delete"
    page = text_of((await b.get(delete_page)).text)
    assert "2 repositories" in page
    assert 'data-confirm-name="' + org.name + '"' in b.last_page
    r = await b.post(delete_page, {"confirm": "nope"})
    assert r.status_code == 400
    assert await env.services.organizations.get(org.name) is not None
    r = await b.post(delete_page, {"confirm": org.name}, form_page=delete_page)
    assert r.status_code == 303
    assert f"Organization {org.name} deleted" in text_of((await b.follow(r)).text)
    assert await env.services.organizations.get(org.name) is None
    assert await env.services.repositories.get(f"{org.name}/one") is None
    await b.get(delete_page, expect=404)


async def _invite(b: Browser, email: str = "") -> str:
    r = await b.post("/superuser/invitations", {"email": email}, form_page="/superuser/invitations")
    assert r.status_code == 200, text_of(r.text)[:400]
    page = text_of(r.text)
    assert "shown only once" in page
    m = re.search(r"(http://\S+/signup\?invite=(\S+))", page)
    assert m, page[:500]
    return m.group(2)


async def _sign_up(b: Browser, token: str, username: str) -> httpx.Response:
    """Post the sign-up form; when the link no longer shows one, as a forged post would (with the
    CSRF cookie and token a visitor gets from the sign-in page)."""
    page = (await b.get(f"/signup?invite={token}")).text
    shows_form = 'action="/signup"' in page
    return await b.post(
        "/signup",
        {
            "invite": token,
            "username": username,
            "email": "",
            "password": "signup-secret",
            "confirm": "signup-secret",
        },
        form_page=None if shows_form else "/signin",
    )


async def test_invitation_link_works_once(env: Env, browser: BrowserFactory, uid: str) -> None:
    assert env.settings.user_creation == "invite"
    admin = await browser(env.admin)
    token = await _invite(admin, f"guest-{uid}@example.com")
    assert env.settings.base_url + "/signup?invite=" + token in admin.last_page
    listed = (await admin.get("/superuser/invitations")).text
    assert f"guest-{uid}@example.com" in listed
    assert token not in listed  # the link is shown once only

    guest = await browser()
    form = text_of((await guest.get(f"/signup?invite={token}")).text)
    assert "Create account" in form
    r = await _sign_up(guest, token, f"guest-{uid}")
    assert r.status_code == 303, text_of(r.text)[:300]
    assert await env.services.users.get(f"guest-{uid}") is not None
    assert f"guest-{uid}@example.com" not in text_of((await admin.get("/superuser/invitations")).text)

    again = await browser()
    r = await _sign_up(again, token, f"second-{uid}")
    assert r.status_code == 403
    assert "valid invitation" in text_of(r.text)
    assert await env.services.users.get(f"second-{uid}") is None


async def test_revoked_invitation_is_refused(env: Env, browser: BrowserFactory, uid: str) -> None:
    admin = await browser(env.admin)
    token = await _invite(admin, f"revoked-{uid}@example.com")
    listed = (await admin.get("/superuser/invitations")).text
    row = re.search(
        rf"revoked-{uid}@example.com.*?action=\"(/superuser/invitations/\d+/revoke)\"", listed, re.S
    )
    assert row
    r = await admin.post(row.group(1), {})
    assert r.status_code == 303
    assert f"revoked-{uid}@example.com" not in (await admin.get("/superuser/invitations")).text
    r = await admin.post(row.group(1), {})
    assert r.status_code == 404  # already gone

    guest = await browser()
    page = text_of((await guest.get(f"/signup?invite={token}")).text)
    assert "created by invitation" in page
    r = await _sign_up(guest, token, f"late-{uid}")
    assert r.status_code == 403
    assert await env.services.users.get(f"late-{uid}") is None


async def test_storage_figures_match_the_pushed_data(env: Env, browser: BrowserFactory, uid: str) -> None:
    owner = await env.user(uid, "owner")
    org = await env.org(uid, owner)
    one = await push_image(env.client, f"{org.name}/one", "1", headers=owner.auth, layers=[b"a" * 3000])
    two = await push_image(env.client, f"{org.name}/two", "1", headers=owner.auth, layers=[b"b" * 5000])
    # the same layer pushed again in another repository counts once for the namespace
    await push_image(env.client, f"{org.name}/three", "1", headers=owner.auth, layers=[b"a" * 3000], seed="x")
    expected = len(one.config) + 3000 + len(two.config) + 5000
    b = await browser(env.admin)
    r = await b.get(f"/superuser/storage?q={org.name}")
    row = re.search(
        rf"{org.name}</a></td>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">([^<]+)</td>", r.text
    )
    assert row, text_of(r.text)[:800]
    assert row.group(1) == "3"
    sizes = await env.services.usage.by_namespace(10, search=org.name)
    assert [(u.namespace, u.repositories) for u in sizes] == [(org.name, 3)]
    third_config = sizes[0].blob_bytes - expected  # the third image's own config blob
    assert 0 < third_config < 300
    assert row.group(2) == filesize(sizes[0].blob_bytes)
    totals = await env.services.usage.totals()
    page = text_of(r.text)
    assert filesize(totals.blob_bytes) in page
    assert f"{totals.repositories} repositories" in page


@pytest_asyncio.fixture(loop_scope="session")
async def strict(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same data, locking an account after 3 failures (no delays)."""
    settings = env.settings.model_copy(
        update={"login_delay_after": 1000, "login_lock_after": 3, "login_ip_delay_after": 1000}
    )
    app = create_app(settings)
    async with (
        Lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def test_locked_account_is_listed_and_unlocked(
    env: Env, browser: BrowserFactory, strict: httpx.AsyncClient, uid: str
) -> None:
    victim = await env.user(uid, "vic")
    for _ in range(3):
        r = await strict.get("/v2/", headers=User(victim.name, "wrong-password").auth)
        assert r.status_code == 401
    r = await strict.get("/v2/", headers=victim.auth)
    assert r.status_code == 429
    b = await browser(env.admin)
    page = text_of((await b.get(f"/superuser/users?q={victim.name}")).text)
    assert "locked" in page
    page = text_of((await b.get("/superuser/locks")).text)
    assert victim.name in page
    assert "account" in page
    r = await b.post("/superuser/locks/unlock", {"key": f"user:{victim.name}"})
    assert r.status_code == 303
    assert f"user:{victim.name} unlocked" in text_of((await b.follow(r)).text)
    r = await strict.get("/v2/", headers=victim.auth)
    assert r.status_code == 200
    r = await b.post("/superuser/locks/unlock", {"key": f"user:{victim.name}"})
    assert r.status_code == 404
    assert "is not locked" in text_of(r.text)
    r = await env.api("GET", "/user/logs", env.admin, params={"kind": "unlock_account"}, expect=200)
    assert any(e["metadata"] == {"key": f"user:{victim.name}"} for e in r.json()["logs"])
