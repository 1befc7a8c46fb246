"""Repository administration in the UI: permissions (grant, change, revoke: checked through real
registry tokens), settings (visibility, description, deletion) and the usage logs."""

from __future__ import annotations

import re

from tests.api.support import Env, granted
from tests.ui.conftest import BrowserFactory
from tests.ui.support import text_of


async def _actions(env: Env, who: object, repo: str) -> set[str]:
    r = await env.v2_token(who, f"repository:{repo}:pull,push")  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return granted(r.json()["token"], repo)


async def test_grant_change_and_revoke_through_the_form(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    repo = f"{alice.name}/app"
    await env.push(repo, "1.0", alice)
    assert await _actions(env, bob, repo) == set()
    b = await browser(alice)
    page = text_of((await b.get(f"/repository/{repo}/-/permissions")).text)
    assert "No one else has been granted access" in page
    r = await b.post(f"/repository/{repo}/-/permissions", {"kind": "user", "name": bob.name, "role": "read"})
    assert r.status_code == 303
    page = text_of((await b.follow(r)).text)
    assert f"User {bob.name} has read access." in page
    assert f"user {bob.name}" in page
    assert await _actions(env, bob, repo) == {"pull"}
    # change the role from the row's form
    r = await b.post(f"/repository/{repo}/-/permissions", {"kind": "user", "name": bob.name, "role": "write"})
    assert r.status_code == 303
    assert await _actions(env, bob, repo) == {"pull", "push"}
    await b.follow(r)
    r = await b.post(f"/repository/{repo}/-/permissions/revoke", {"kind": "user", "name": bob.name})
    assert r.status_code == 303
    assert f"Access of user {bob.name} revoked." in text_of((await b.follow(r)).text)
    assert await _actions(env, bob, repo) == set()
    assert await env.services.permissions.grants(repo) == []


async def test_team_and_robot_grants(env: Env, browser: BrowserFactory, uid: str) -> None:
    owner = await env.user(uid, "owner")
    carol = await env.user(uid, "carol")
    org = await env.org(uid, owner)
    await env.team(org.name, "devs", "member", carol.name, who=owner)
    robot = await env.robot(org.name, "ci", owner)
    repo = f"{org.name}/app"
    await env.push(repo, "1.0", owner)
    b = await browser(owner)
    await b.get(f"/repository/{repo}/-/permissions")
    for kind, name, role in (("team", "devs", "write"), ("robot", robot.name, "read")):
        r = await b.post(f"/repository/{repo}/-/permissions", {"kind": kind, "name": name, "role": role})
        assert r.status_code == 303, text_of(r.text)[:400]
        await b.follow(r)
    page = text_of(b.last_page)
    assert "team devs" in page
    assert f"robot {robot.name}" in page
    assert await _actions(env, carol, repo) == {"pull", "push"}
    assert await _actions(env, robot, repo) == {"pull"}


async def test_invalid_grants_show_readable_errors_and_change_nothing(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    repo = f"{alice.name}/app"
    await env.push(repo, "1.0", alice)
    b = await browser(alice)
    await b.get(f"/repository/{repo}/-/permissions")
    cases = [
        ({"kind": "user", "name": "no-such-user-" + uid, "role": "read"}, 404, "no user named"),
        ({"kind": "user", "name": bob.name, "role": "owner"}, 400, "role must be one of"),
        ({"kind": "group", "name": bob.name, "role": "read"}, 400, "Grant to a user, a team, a robot"),
        ({"kind": "user", "name": "", "role": "read"}, 400, "Give the name of the user"),
        ({"kind": "team", "name": "devs", "role": "read"}, 400, "teams exist only in organizations"),
        ({"kind": "robot", "name": "nonsense", "role": "read"}, 400, "namespace+shortname"),
    ]
    for data, status, message in cases:
        r = await b.post(f"/repository/{repo}/-/permissions", data)
        assert r.status_code == status, (data, r.status_code)
        page = text_of(r.text)
        assert message in page, (data, page[:600])
        # the typed values stay in the form
        if data["name"]:
            assert f'value="{data["name"]}"' in r.text
    assert await env.services.permissions.grants(repo) == []
    r = await b.post(f"/repository/{repo}/-/permissions/revoke", {"kind": "user", "name": bob.name})
    assert r.status_code == 404
    assert "has no permission" in text_of(r.text)


async def test_non_admins_get_no_admin_tabs(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    repo = f"{alice.name}/app"
    await env.push(repo, "1.0", alice)
    await env.grant(repo, "user", bob.name, "write", alice)
    b = await browser(bob)
    page = text_of((await b.get(f"/repository/{repo}")).text)
    assert "Your role: write" in page
    assert "Permissions" not in page
    assert "Settings" not in page
    for tab in ("permissions", "logs", "settings"):
        await b.get(f"/repository/{repo}/-/{tab}", expect=403)
    await b.get("/")
    for action, data in (
        ("permissions", {"kind": "user", "name": bob.name, "role": "admin"}),
        ("settings/visibility", {"visibility": "public"}),
        ("settings/delete", {"confirm_name": repo}),
    ):
        r = await b.post(f"/repository/{repo}/-/{action}", data)
        assert r.status_code == 403, action
    assert await env.services.repositories.get(repo) is not None
    assert (await env.services.repositories.details(repo)).visibility == "private"
    assert [(g.name, g.role) for g in await env.services.permissions.grants(repo)] == [(bob.name, "write")]


async def test_settings_visibility_and_description(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    await env.push(repo, "1.0", alice)
    anon = await browser()
    await anon.get(f"/repository/{repo}", expect=404)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/settings")
    assert "data-confirm=" in r.text
    assert "Make public" in text_of(r.text)
    r = await b.post(f"/repository/{repo}/-/settings/visibility", {"visibility": "public"}, expect=303)
    assert "is now public" in text_of((await b.follow(r)).text)
    assert (await env.services.repositories.details(repo)).visibility == "public"
    await anon.get(f"/repository/{repo}")
    r = await b.post(f"/repository/{repo}/-/settings/visibility", {"visibility": "secret"})
    assert r.status_code == 400
    assert "Visibility must be public or private" in text_of(r.text)
    r = await b.post(
        f"/repository/{repo}/-/settings/visibility",
        {"visibility": "private"},
        form_page=f"/repository/{repo}/-/settings",
    )
    assert r.status_code == 303
    await anon.get(f"/repository/{repo}", expect=404)
    await b.follow(r)
    r = await b.post(
        f"/repository/{repo}/-/settings/description", {"description": "  The <b>app</b> image  "}
    )
    assert r.status_code == 303
    r = await b.get(f"/repository/{repo}")
    assert "The &lt;b&gt;app&lt;/b&gt; image" in r.text  # escaped, shown in the header
    assert (await env.services.repositories.details(repo)).description == "The <b>app</b> image"
    r = await b.post(
        f"/repository/{repo}/-/settings/description", {"description": "x" * 4097}, form_page=r.url.path
    )
    assert r.status_code == 400
    assert "limited to 4096 characters" in text_of(r.text)
    assert (await env.services.repositories.details(repo)).description == "The <b>app</b> image"


async def test_delete_repository_needs_its_name(env: Env, browser: BrowserFactory, uid: str) -> None:
    owner = await env.user(uid, "owner")
    org = await env.org(uid, owner)
    repo = f"{org.name}/team/app"
    await env.push(repo, "1.0", owner)
    b = await browser(owner)
    r = await b.get(f"/repository/{repo}/-/settings")
    assert f'data-confirm-name="{repo}"' in r.text
    for typed in ("", "app", f"{org.name}/team", repo.upper()):
        r = await b.post(f"/repository/{repo}/-/settings/delete", {"confirm_name": typed})
        assert r.status_code == 400
        assert f"Type the full name {repo}" in text_of(r.text)
        assert await env.services.repositories.get(repo) is not None
    r = await b.post(f"/repository/{repo}/-/settings/delete", {"confirm_name": repo})
    assert r.status_code == 303
    assert r.headers["location"] == f"/organization/{org.name}"
    assert await env.services.repositories.get(repo) is None
    await b.get(f"/repository/{repo}", expect=404)


async def test_usage_logs_filter_and_pages(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    repo = f"{alice.name}/app"
    digest = await env.push(repo, "1.0", alice)
    for i in range(env.settings.ui_page_size + 5):
        await env.api(
            "PUT", f"/repository/{repo}/tag/t{i}", alice, json_body={"manifest_digest": digest}, expect=200
        )
    await env.grant(repo, "user", bob.name, "read", alice)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/logs")
    page = text_of(r.text)
    assert "Permission granted or changed" in page
    assert f"delegate: {bob.name}" in page
    assert alice.name in page
    assert len(re.findall(r"Tag created", page)) >= 10
    nxt = re.search(r'href="([^"]+)" rel="next"', r.text)
    assert nxt, "more entries than a page: there is a next page"
    page2 = text_of((await b.get(nxt.group(1).replace("&amp;", "&"))).text)
    assert "Push push_repo" in page2
    assert "Repository created" in page2
    r = await b.get(f"/repository/{repo}/-/logs?kind=push_repo")
    page = text_of(r.text)
    assert "Push push_repo" in page
    assert "Tag created create_tag" not in page
    assert f"digest: {digest}" in page
    assert "tag: 1.0" in page
    r = await b.get(f"/repository/{repo}/-/logs?kind=delete_repo_permission")
    assert "No permission revoked events" in text_of(r.text)
