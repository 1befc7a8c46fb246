"""Robot accounts in the web UI: organization robots (admins only) and personal ones (/settings/robots).

Creating a robot with repository grants, revealing its token and credentials, regenerating and
deleting it; and who may see any of it."""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.api.support import Env, User, granted
from tests.ui.conftest import BrowserFactory
from tests.ui.support import Browser, text_of

HTMX = {"HX-Request": "true"}


@dataclass
class World:
    org: str
    owner: User
    member: User
    stranger: User


async def _world(env: Env, uid: str) -> World:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    stranger = await env.user(uid, "str")
    org = (await env.org(uid, owner)).name
    for repo in ("app", "web", "private"):
        await env.repo(f"{org}/{repo}", owner)
    await env.team(org, "readers", "member", member.name, who=owner)
    return World(org, owner, member, stranger)


def _host(env: Env) -> str:
    return urlsplit(env.settings.base_url).netloc


async def _reveal(b: Browser, base: str, short: str) -> str:
    """Press the reveal button (htmx): the fragment with the token; returns the token."""
    await b.get(f"{base}/{short}")
    r = await b.post(f"{base}/{short}/reveal", {}, headers=HTMX, expect=200)
    assert "<html" not in r.text
    m = re.search(r"docker login -u=&#39;[^&]+&#39; -p=&#39;([A-Za-z0-9_-]{64})&#39;", r.text)
    assert m, r.text
    return m.group(1)


async def _pull_token(env: Env, who: User, repo: str, actions: str = "pull") -> set[str]:
    r = await env.v2_token(who, f"repository:{repo}:{actions}")
    if r.status_code != 200:
        return set()
    return granted(r.json()["token"], repo)


async def test_admin_creates_a_robot_with_repository_grants_in_one_dialog(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    base = f"/organization/{w.org}/robots"
    page = (await b.get(base)).text
    assert f'name="grant:{w.org}/app"' in page  # the dialog offers the organization's repositories
    r = await b.post(
        base,
        {
            "name": "deployer",
            "description": "CD pipeline",
            "expires": "",
            f"grant:{w.org}/app": "read",
            f"grant:{w.org}/web": "write",
            f"grant:{w.org}/private": "",
        },
        expect=303,
    )
    assert r.headers["location"] == f"{base}/deployer"
    page = text_of((await b.follow(r)).text)
    assert f"Robot account {w.org}+deployer created with access to 2 repositories." in page
    robot = await env.services.robots.get(w.org, "deployer")
    assert robot.description == "CD pipeline"
    assert await env.services.permissions.robot_permissions(w.org, "deployer") == [
        (f"{w.org}/app", "read"),
        (f"{w.org}/web", "write"),
    ]
    # the detail page lists them, without the token
    assert f"{w.org}/app read" in page
    assert f"{w.org}/web write" in page
    token = await _reveal(b, base, "deployer")
    assert token not in (await b.get(f"{base}/deployer")).text
    # the token logs in as docker login would: pull on app, push on web, nothing on private
    bot = User(f"{w.org}+deployer", token)
    assert await _pull_token(env, bot, f"{w.org}/app", "pull,push") == {"pull"}
    assert await _pull_token(env, bot, f"{w.org}/web", "pull,push") == {"pull", "push"}
    assert await _pull_token(env, bot, f"{w.org}/private") == set()
    # the list shows the robot with its repositories
    page = text_of((await b.get(base)).text)
    assert f"{w.org}+deployer CD pipeline {w.org}/app read {w.org}/web write" in page


async def test_reveal_shows_token_and_ready_to_copy_credentials(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    robot = await env.robot(w.org, "puller", w.owner)
    b = await browser(w.owner)
    base = f"/organization/{w.org}/robots"
    page = (await b.get(f"{base}/puller")).text
    assert robot.password not in page
    assert "Reveal token and credentials" in page
    assert f'hx-post="{base}/puller/reveal"' in page
    r = await b.post(f"{base}/puller/reveal", {}, headers=HTMX, expect=200)
    fragment = html.unescape(r.text)
    host = _host(env)
    name = robot.name
    assert f"docker login -u='{name}' -p='{robot.password}' {host}" in fragment
    assert f"podman login --tls-verify=false -u='{name}' -p='{robot.password}' {host}" in fragment
    auth = base64.b64encode(f"{name}:{robot.password}".encode()).decode()
    # the config.json entry
    config = re.search(r"<pre[^>]*>(\{.*?\})</pre>", fragment, re.S)
    assert config, fragment
    assert json.loads(config.group(1)) == {"auths": {host: {"auth": auth}}}
    # the Kubernetes secret: kind, type and the base64 config
    assert "kind: Secret" in fragment
    assert "type: kubernetes.io/dockerconfigjson" in fragment
    data = re.search(r"\.dockerconfigjson: (\S+)", fragment)
    assert data, fragment
    assert json.loads(base64.b64decode(data.group(1))) == {"auths": {host: {"auth": auth}}}
    secret_name = re.search(r"name: (\S+)", fragment)
    assert secret_name
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", secret_name.group(1))
    # without JavaScript the same button answers the whole page with the credentials
    r = await b.post(f"{base}/puller/reveal", {}, form_page=f"{base}/puller", expect=200)
    assert "<html" in r.text
    assert f"docker login -u='{name}' -p='{robot.password}' {host}" in html.unescape(r.text)


async def test_regenerate_invalidates_the_old_token(env: Env, browser: BrowserFactory, uid: str) -> None:
    w = await _world(env, uid)
    robot = await env.robot(w.org, "rotating", w.owner)
    await env.grant(f"{w.org}/app", "robot", robot.name, "read", w.owner)
    assert await _pull_token(env, robot, f"{w.org}/app") == {"pull"}
    b = await browser(w.owner)
    base = f"/organization/{w.org}/robots"
    page = (await b.get(f"{base}/rotating")).text
    assert "data-confirm=" in page.split(f'action="{base}/rotating/regenerate"', 1)[1].split(">", 1)[0]
    r = await b.post(f"{base}/rotating/regenerate", {}, expect=303)
    assert "the old one no longer works" in text_of((await b.follow(r)).text)
    r = await env.v2_token(robot, f"repository:{w.org}/app:pull")
    assert r.status_code == 401
    new = await _reveal(b, base, "rotating")
    assert new != robot.password
    assert await _pull_token(env, User(robot.name, new), f"{w.org}/app") == {"pull"}


async def test_grant_revoke_and_delete_from_the_robot_page(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    robot = await env.robot(w.org, "helper", w.owner)
    b = await browser(w.owner)
    base = f"/organization/{w.org}/robots"
    await b.get(f"{base}/helper")
    await b.post(f"{base}/helper/permissions", {"repository": f"{w.org}/web", "role": "admin"}, expect=303)
    assert await env.services.permissions.robot_permissions(w.org, "helper") == [(f"{w.org}/web", "admin")]
    await b.get(f"{base}/helper")
    await b.post(f"{base}/helper/permissions/revoke", {"repository": f"{w.org}/web"}, expect=303)
    assert await env.services.permissions.robot_permissions(w.org, "helper") == []
    await b.get(f"{base}/helper")
    r = await b.post(f"{base}/helper/delete", {}, expect=303)
    assert r.headers["location"] == base
    assert f"{robot.name} deleted" in text_of((await b.follow(r)).text)
    assert await env.services.robots.list(w.org) == []
    assert (await env.v2_token(robot, f"repository:{w.org}/web:pull")).status_code == 401
    await b.get(f"{base}/helper", expect=404)


async def test_invalid_robots_show_errors_and_create_nothing(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    other = (await env.org(uid, w.owner, "other")).name
    await env.repo(f"{other}/elsewhere", w.owner)
    b = await browser(w.owner)
    base = f"/organization/{w.org}/robots"
    cases = [
        ({"name": "Bad-Name"}, 400, "Robot names are 2-255 characters"),
        ({"name": ""}, 400, "Give the robot account a name"),
        ({"name": "late", "expires": "2001-01-01T00:00"}, 400, "The expiry must be in the future"),
        ({"name": "when", "expires": "tomorrow"}, 400, "The expiry is not a date and time"),
        ({"name": "greedy", f"grant:{w.org}/app": "owner"}, 400, "must be one of read, write, admin"),
        (
            {"name": "roamer", f"grant:{other}/elsewhere": "read"},
            400,
            "only be granted repositories of its own",
        ),
        ({"name": "ghost", f"grant:{w.org}/nope": "read"}, 404, "No repository named"),
    ]
    for data, status, message in cases:
        r = await b.post(base, data, form_page=base)
        assert r.status_code == status, (data, r.status_code)
        page = text_of(r.text)
        assert message in page, (message, page[:600])
        if data["name"]:
            assert f'value="{data["name"]}"' in r.text  # kept for correction
    assert await env.services.robots.list(w.org) == []
    await env.robot(w.org, "taken", w.owner)
    r = await b.post(base, {"name": "taken"}, form_page=base)
    assert r.status_code == 409
    assert "already exists" in text_of(r.text)


async def test_only_admins_see_organization_robots(env: Env, browser: BrowserFactory, uid: str) -> None:
    w = await _world(env, uid)
    robot = await env.robot(w.org, "secretive", w.owner)
    base = f"/organization/{w.org}/robots"
    member = await browser(w.member)
    stranger = await browser(w.stranger)
    anonymous = await browser()
    for path in (base, f"{base}/secretive"):
        r = await member.get(path, expect=403)
        assert robot.password not in r.text
        await stranger.get(path, expect=404)
        r = await anonymous.get(path, expect=303)
        assert r.headers["location"].startswith("/signin")
    # the actions are refused as well, and nothing is revealed or changed
    await member.get(f"/organization/{w.org}")
    for action in ("reveal", "regenerate", "delete"):
        r = await member.post(f"{base}/secretive/{action}", {}, headers=HTMX if action == "reveal" else None)
        assert r.status_code == 403, action
        assert robot.password not in r.text
    r = await member.post(base, {"name": "mine"})
    assert r.status_code == 403
    assert [x.shortname for x in await env.services.robots.list(w.org)] == ["secretive"]
    assert await _pull_token(env, robot, f"{w.org}/app") == set()  # still valid, just no grant
    assert (await env.v2_token(robot, f"repository:{w.org}/app:pull")).status_code == 200
    # and the organization page does not link to them for members
    assert base not in (await member.get(f"/organization/{w.org}")).text


async def test_personal_robots_live_under_settings(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    await env.repo(f"{alice.name}/app", alice)
    a = await browser(alice)
    page = (await a.get("/settings/robots")).text
    assert "No robot accounts yet" in text_of(page)
    assert f'name="grant:{alice.name}/app"' in page
    r = await a.post("/settings/robots", {"name": "ci", f"grant:{alice.name}/app": "write"}, expect=303)
    assert r.headers["location"] == "/settings/robots/ci"
    assert await env.services.permissions.robot_permissions(alice.name, "ci") == [
        (f"{alice.name}/app", "write")
    ]
    token = await _reveal(a, "/settings/robots", "ci")
    bot = User(f"{alice.name}+ci", token)
    assert await _pull_token(env, bot, f"{alice.name}/app", "pull,push") == {"pull", "push"}
    # Bob sees his own (empty) list and cannot reach Alice's robot by its short name
    bb = await browser(bob)
    assert f"{alice.name}+ci" not in (await bb.get("/settings/robots")).text
    await bb.get("/settings/robots/ci", expect=404)
    await bb.get("/settings/robots")
    r = await bb.post("/settings/robots/ci/reveal", {}, headers=HTMX)
    assert r.status_code == 404
    assert token not in r.text
    # anonymous visitors are sent to sign in
    anon = await browser()
    r = await anon.get("/settings/robots", expect=303)
    assert r.headers["location"].startswith("/signin")
    # regenerate from the personal page works the same way
    await a.get("/settings/robots/ci")
    await a.post("/settings/robots/ci/regenerate", {}, expect=303)
    assert (await env.v2_token(bot, f"repository:{alice.name}/app:pull")).status_code == 401


async def test_robot_expiry_is_kept_and_shown(env: Env, browser: BrowserFactory, uid: str) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    base = f"/organization/{w.org}/robots"
    await b.post(base, {"name": "temporary", "expires": "2999-06-01T12:30"}, form_page=base, expect=303)
    robot = await env.services.robots.get(w.org, "temporary")
    assert robot.expires_at is not None
    assert robot.expires_at.isoformat().startswith("2999-06-01T12:30")
    assert "2999-06-01 12:30 UTC" in text_of((await b.get(base)).text)
