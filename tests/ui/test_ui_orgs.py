"""Organization pages: repositories, teams, default permissions, OAuth applications, logs, settings,
and a user's namespace page; each for an admin, a plain member, a stranger and an anonymous visitor."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from tests.api.support import Env, User
from tests.ui.conftest import BrowserFactory
from tests.ui.support import Browser, text_of

from moorage.audit import AuditQuery
from moorage.domain.actor import Actor
from moorage.domain.principal import Principal

ADMIN_PAGES = ("robots", "defaults", "applications", "logs", "settings")


@dataclass
class World:
    org: str
    owner: User
    member: User
    stranger: User


async def _world(env: Env, uid: str) -> World:
    """An organization with a public pushed repository, a private one the member's team may read and
    a private one the member may not see."""
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    stranger = await env.user(uid, "str")
    org = (await env.org(uid, owner)).name
    await env.repo(f"{org}/app", owner, visibility="public")
    await env.push(f"{org}/app", "1.0", owner)
    await env.repo(f"{org}/shared", owner)
    await env.repo(f"{org}/secret", owner)
    await env.team(org, "readers", "member", member.name, who=owner)
    await env.grant(f"{org}/shared", "team", "readers", "read", owner)
    return World(org, owner, member, stranger)


def _host(env: Env) -> str:
    return urlsplit(env.settings.base_url).netloc


# -- the organization page
async def test_admin_sees_every_repository_with_stats_and_all_tabs(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    r = await b.get(f"/organization/{w.org}")
    page = text_of(r.text)
    for repo in ("app", "shared", "secret"):
        assert f"{w.org}/{repo}" in page
    assert re.search(rf"{w.org}/app public 1 [\d.]+ (B|KiB|MiB) (just now|\d+ min ago)", page), page
    assert f"{w.org}/secret private 0" in page
    for label in ("Repositories", "Teams", "Robot accounts", "Default permissions", "OAuth applications"):
        assert label in page
    assert "Usage logs" in page
    assert "Settings" in page
    assert f'href="/new/repository?namespace={w.org}"' in r.text
    for sub in ADMIN_PAGES:
        assert f'href="/organization/{w.org}/{sub}"' in r.text


async def test_member_sees_only_granted_repositories_and_no_admin_tabs(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.member)
    r = await b.get(f"/organization/{w.org}")
    page = text_of(r.text)
    assert f"{w.org}/app" in page
    assert f"{w.org}/shared" in page
    assert f"{w.org}/secret" not in page
    assert "Teams" in page
    for sub in ADMIN_PAGES:
        assert f"/organization/{w.org}/{sub}" not in r.text
    assert "New repository" not in page
    # the admin pages answer 403 as the REST API does for members
    for sub in ADMIN_PAGES:
        await b.get(f"/organization/{w.org}/{sub}", expect=403)
    for endpoint in ("robots", "prototypes", "applications", "logs"):
        await env.api("GET", f"/organization/{w.org}/{endpoint}", w.member, expect=403)


async def test_creator_team_member_gets_the_new_repository_button(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    builder = await env.user(uid, "bld")
    await env.team(w.org, "builders", "creator", builder.name, who=w.owner)
    b = await browser(builder)
    r = await b.get(f"/organization/{w.org}")
    assert f'href="/new/repository?namespace={w.org}"' in r.text
    assert f"/organization/{w.org}/settings" not in r.text


async def test_strangers_get_404_and_anonymous_visitors_are_sent_to_sign_in(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    stranger = await browser(w.stranger)
    anonymous = await browser()
    paths = [f"/organization/{w.org}", f"/organization/{w.org}/teams", f"/organization/{w.org}/teams/owners"]
    paths += [f"/organization/{w.org}/{sub}" for sub in ADMIN_PAGES]
    missing = f"nope-{uid}"
    for path in paths:
        r = await stranger.get(path, expect=404)
        # the same answer as for an organization that does not exist
        other = await stranger.get(path.replace(w.org, missing), expect=404)
        assert text_of(r.text) == text_of(other.text).replace(missing, w.org)
        r = await anonymous.get(path, expect=303)
        assert r.headers["location"].startswith("/signin?next=")
    # forms of the organization are refused to a stranger too
    await stranger.get("/")
    await stranger.post(f"/organization/{w.org}/teams", {"name": "intruders", "role": "admin"}, expect=404)
    assert all(t.name != "intruders" for t in await env.services.organizations.teams(w.org))


async def test_filter_by_name_and_htmx_partial(env: Env, browser: BrowserFactory, uid: str) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    page = text_of((await b.get(f"/organization/{w.org}?q=secr")).text)
    assert f"{w.org}/secret" in page
    assert f"{w.org}/shared" not in page
    r = await b.get(f"/organization/{w.org}?q=shar", headers={"HX-Request": "true", "HX-Target": "repo-list"})
    assert "<html" not in r.text
    assert f"{w.org}/shared" in text_of(r.text)
    assert f"{w.org}/app" not in text_of(r.text)
    page = text_of((await b.get(f"/organization/{w.org}?q=nothing-like-this")).text)
    assert "No repository matches" in page


async def test_empty_organization_shows_push_commands_for_this_host(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    b = await browser(owner)
    page = text_of((await b.get(f"/organization/{org}")).text)
    host = _host(env)
    assert f"docker push {host}/{org}/app:1.0" in page
    assert (
        f"skopeo copy --dest-tls-verify=false docker-archive:image.tar docker://{host}/{org}/app:1.0" in page
    )
    assert f"podman push --tls-verify=false IMAGE {host}/{org}/app:1.0" in page


# -- teams
async def test_member_sees_teams_and_members_without_controls(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.member)
    r = await b.get(f"/organization/{w.org}/teams")
    page = text_of(r.text)
    assert "owners admin 1" in page
    assert "readers member 1" in page
    assert "New team" not in page
    assert "/delete" not in r.text
    r = await b.get(f"/organization/{w.org}/teams/readers")
    page = text_of(r.text)
    assert w.member.name in page
    assert "Add a member" not in page
    assert "Remove" not in page
    assert "Save team" not in page
    # and the server refuses the actions anyway
    await b.post(f"/organization/{w.org}/teams/readers/members", {"member": w.stranger.name}, expect=403)
    await b.post(f"/organization/{w.org}/teams/readers/delete", {}, expect=403)
    await b.post(f"/organization/{w.org}/teams", {"name": "mine", "role": "admin"}, expect=403)
    members = await env.services.organizations.members(w.org, "readers")
    assert [m.name for m in members] == [w.member.name]
    assert await env.services.organizations.team(w.org, "readers")


async def test_admin_creates_a_team_adds_members_changes_role_and_deletes_it(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    robot = await env.robot(w.org, "deployer", w.owner)
    b = await browser(w.owner)
    r = await b.post(
        f"/organization/{w.org}/teams",
        {"name": "builders", "role": "creator", "description": "Build crew"},
        form_page=f"/organization/{w.org}/teams",
        expect=303,
    )
    assert r.headers["location"] == f"/organization/{w.org}/teams/builders"
    team = await env.services.organizations.team(w.org, "builders")
    assert (team.role, team.description) == ("creator", "Build crew")
    page = text_of((await b.follow(r)).text)
    assert "Team builders created." in page
    await b.post(f"/organization/{w.org}/teams/builders/members", {"member": w.stranger.name}, expect=303)
    await b.post(f"/organization/{w.org}/teams/builders/members", {"member": robot.name}, expect=303)
    members = {(m.kind, m.name) for m in await env.services.organizations.members(w.org, "builders")}
    assert members == {("user", w.stranger.name), ("robot", robot.name)}
    assert await env.services.authorizer.org_role(await _principal(env, w.stranger), w.org) == "creator"
    page = text_of((await b.get(f"/organization/{w.org}/teams")).text)
    assert "builders creator 2" in page
    # change the role
    await b.get(f"/organization/{w.org}/teams/builders")
    await b.post(
        f"/organization/{w.org}/teams/builders", {"role": "member", "description": "Readers now"}, expect=303
    )
    team = await env.services.organizations.team(w.org, "builders")
    assert (team.role, team.description) == ("member", "Readers now")
    # remove a member
    await b.get(f"/organization/{w.org}/teams/builders")
    await b.post(f"/organization/{w.org}/teams/builders/members/remove", {"member": robot.name}, expect=303)
    names = {m.name for m in await env.services.organizations.members(w.org, "builders")}
    assert names == {w.stranger.name}
    # delete the team
    await b.post(f"/organization/{w.org}/teams/builders/delete", {}, expect=303)
    assert all(t.name != "builders" for t in await env.services.organizations.teams(w.org))
    r = await env.api("GET", f"/organization/{w.org}/team/builders", w.owner)
    assert r.status_code == 404


async def _principal(env: Env, user: User) -> Principal:
    p = await env.services.credentials.verify(user.name, user.password, None, where="ui")
    assert p is not None
    return p


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Bad Name", "role": "member"}, "team names are 2-255 characters"),
        ({"name": "ok-team", "role": "emperor"}, "team role must be one of"),
        ({"name": "owners", "role": "member"}, "a team named owners already exists"),
        ({"name": "", "role": "member"}, "give the team a name"),
    ],
)
async def test_invalid_team_shows_an_error_and_changes_nothing(
    env: Env, browser: BrowserFactory, uid: str, data: dict[str, str], message: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    b = await browser(owner)
    r = await b.post(f"/organization/{org}/teams", data, form_page=f"/organization/{org}/teams")
    assert r.status_code in (400, 409), r.status_code
    assert message.lower() in text_of(r.text).lower()
    assert f'value="{data["name"]}"' in r.text  # the typed name is kept
    teams = await env.services.organizations.teams(org)
    assert [(t.name, t.role) for t in teams] == [("owners", "admin")]


async def test_team_member_errors_are_readable(env: Env, browser: BrowserFactory, uid: str) -> None:
    w = await _world(env, uid)
    other = await env.user(uid, "oth")
    other_org = (await env.org(uid, other, "elsewhere")).name
    foreign = await env.robot(other_org, "bot", other)
    b = await browser(w.owner)
    await b.get(f"/organization/{w.org}/teams/readers")
    r = await b.post(f"/organization/{w.org}/teams/readers/members", {"member": "nobody-" + uid})
    assert r.status_code == 404
    assert "No user named" in text_of(r.text)
    r = await b.post(f"/organization/{w.org}/teams/readers/members", {"member": foreign.name})
    assert r.status_code == 400
    assert "Only the organization's own robot accounts" in text_of(r.text)
    r = await b.post(f"/organization/{w.org}/teams/owners/members/remove", {"member": w.owner.name})
    assert r.status_code == 403
    assert "The last member of the owners team" in text_of(r.text)
    assert [m.name for m in await env.services.organizations.members(w.org, "owners")] == [w.owner.name]


# -- default permissions
async def test_admin_adds_changes_and_removes_default_permissions(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    await env.robot(w.org, "ci", w.owner)
    await env.team(w.org, "builders", "creator", w.stranger.name, who=w.owner)
    b = await browser(w.owner)
    await b.get(f"/organization/{w.org}/defaults")
    r = await b.post(
        f"/organization/{w.org}/defaults",
        {"delegate_kind": "team", "delegate": "readers", "role": "read", "activating_kind": "anyone"},
        expect=303,
    )
    page = text_of((await b.follow(r)).text)
    assert "Default permission added" in page
    assert "anyone team readers" in page
    await b.post(
        f"/organization/{w.org}/defaults",
        {
            "delegate_kind": "robot",
            "delegate": "ci",  # the organization prefix may be left out
            "role": "write",
            "activating_kind": "team",
            "activating": "builders",
        },
        expect=303,
    )
    defaults = await env.services.permissions.defaults(w.org)
    assert [(d.delegate_kind, d.delegate, d.role, d.activating_team) for d in defaults] == [
        ("team", "readers", "read", None),
        ("robot", f"{w.org}+ci", "write", "builders"),
    ]
    # a repository created by a builders member gets both
    await env.push(f"{w.org}/built", "1", w.stranger)
    grants = {(g.kind, g.name, g.role) for g in await env.services.permissions.grants(f"{w.org}/built")}
    assert {("team", "readers", "read"), ("robot", f"{w.org}+ci", "write")} <= grants
    # change and remove
    first = defaults[0].uuid
    await b.get(f"/organization/{w.org}/defaults")
    await b.post(f"/organization/{w.org}/defaults/{first}", {"role": "admin"}, expect=303)
    assert (await env.services.permissions.defaults(w.org))[0].role == "admin"
    await b.get(f"/organization/{w.org}/defaults")
    await b.post(f"/organization/{w.org}/defaults/{first}/delete", {}, expect=303)
    r = await env.api("GET", f"/organization/{w.org}/prototypes", w.owner, expect=200)
    assert [p["delegate"]["name"] for p in r.json()["prototypes"]] == [f"{w.org}+ci"]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"delegate_kind": "user", "delegate": "ghost-x", "role": "read"}, 404, "no user named"),
        ({"delegate_kind": "team", "delegate": "readers", "role": "owner"}, 400, "role must be one of"),
        ({"delegate_kind": "team", "delegate": "", "role": "read"}, 400, "enter the name of the team"),
        (
            {"delegate_kind": "team", "delegate": "readers", "role": "read", "activating_kind": "user"},
            400,
            "enter the user whose new repositories",
        ),
        (
            {"delegate_kind": "robot", "delegate": "someone+bot", "role": "read"},
            400,
            "only robot accounts of",
        ),
    ],
)
async def test_invalid_default_permission_shows_an_error(
    env: Env, browser: BrowserFactory, uid: str, data: dict[str, str], status: int, message: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    r = await b.post(f"/organization/{w.org}/defaults", data, form_page=f"/organization/{w.org}/defaults")
    assert r.status_code == status, text_of(r.text)[:400]
    assert message.lower() in text_of(r.text).lower()
    assert await env.services.permissions.defaults(w.org) == []


async def test_api_refuses_default_permissions_for_another_namespaces_robot(env: Env, uid: str) -> None:
    w = await _world(env, uid)
    other = (await env.org(uid, w.stranger, "other")).name
    robot = await env.robot(other, "bot", w.stranger)
    r = await env.api(
        "POST",
        f"/organization/{w.org}/prototypes",
        w.owner,
        json_body={"role": "read", "delegate": {"name": robot.name, "kind": "robot"}},
    )
    assert r.status_code == 400, r.text
    assert await env.services.permissions.defaults(w.org) == []


# -- OAuth applications
async def test_admin_creates_an_application_sees_the_secret_once_edits_resets_and_deletes(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    r = await b.post(
        f"/organization/{w.org}/applications",
        {
            "name": "Dashboard",
            "redirect_uri": "https://dash.example.com/cb",
            "application_uri": "https://dash.example.com/",
            "description": "Shows builds",
        },
        form_page=f"/organization/{w.org}/applications",
        expect=200,
    )
    page = text_of(r.text)
    apps = await env.services.oauth.list(w.org)
    assert [(a.name, a.redirect_uri, a.description) for a in apps] == [
        ("Dashboard", "https://dash.example.com/cb", "Shows builds")
    ]
    client_id = apps[0].client_id
    secret = re.search(r"only time the client secret is shown\. Copy it now\. (\S+)", page)
    assert secret, page
    assert client_id in page
    # the detail page never shows it again
    r = await b.get(f"/organization/{w.org}/applications/{client_id}")
    assert secret.group(1) not in r.text
    assert "hidden (stored hashed)" in text_of(r.text)
    # edit
    await b.post(
        f"/organization/{w.org}/applications/{client_id}",
        {"name": "Dashboard 2", "redirect_uri": "", "application_uri": "", "description": "New"},
        expect=303,
    )
    app = await env.services.oauth.get(w.org, client_id)
    assert (app.name, app.description) == ("Dashboard 2", "New")
    # reset the secret: a new one, shown once
    await b.get(f"/organization/{w.org}/applications/{client_id}")
    r = await b.post(f"/organization/{w.org}/applications/{client_id}/reset", {}, expect=200)
    new_secret = re.search(r"Copy it now\. (\S+)", text_of(r.text))
    assert new_secret
    assert new_secret.group(1) != secret.group(1)
    # delete
    await b.post(f"/organization/{w.org}/applications/{client_id}/delete", {}, expect=303)
    assert await env.services.oauth.list(w.org) == []


async def test_invalid_application_shows_an_error(env: Env, browser: BrowserFactory, uid: str) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    r = await b.post(
        f"/organization/{w.org}/applications",
        {"name": "Evil", "application_uri": "javascript:alert(1)"},
        form_page=f"/organization/{w.org}/applications",
    )
    assert r.status_code == 400
    assert "homepage must be an absolute http" in text_of(r.text)
    r = await b.post(f"/organization/{w.org}/applications", {"name": " "})
    assert r.status_code == 400
    assert "Give the application a name" in text_of(r.text)
    assert await env.services.oauth.list(w.org) == []


# -- usage logs
async def test_logs_show_entries_newest_first_filter_page_and_export(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    page = text_of((await b.get(f"/organization/{w.org}/logs")).text)
    assert page.index("change_repo_permission") < page.index("org_create_team") < page.index("org_create ")
    assert w.owner.name in page
    assert "team: readers" in page
    page = text_of((await b.get(f"/organization/{w.org}/logs?kind=org_create_team")).text)
    assert "org_create_team" in page
    assert "change_repo_permission" not in page
    # cursor: entries older than the newest one
    newest = (await env.services.audit.query(_query(w.org)))[0]
    page = text_of((await b.get(f"/organization/{w.org}/logs?before_id={newest.id}")).text)
    assert "First page" in page
    # a time range in the future has nothing
    page = text_of((await b.get(f"/organization/{w.org}/logs?since=2999-01-01T00:00")).text)
    assert "No log entries match" in page
    r = await b.get(f"/organization/{w.org}/logs?since=2024-01-02T00:00&until=2024-01-01T00:00", expect=400)
    assert "start must be before the end" in text_of(r.text)
    # the export link asks the REST API for JSON lines with the same filters (the session suffices)
    r = await b.get(f"/organization/{w.org}/logs?kind=org_create_team")
    href = re.search(r'href="(/api/v1/organization/[^"]+)"[^>]*download', r.text)
    assert href, r.text
    export = await b.client.get(href.group(1).replace("&amp;", "&"))
    assert export.status_code == 200, export.text
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [entry["kind"] for entry in lines] == ["org_create_team"]


def _query(org: str) -> AuditQuery:
    return AuditQuery(namespace=org, limit=1)


# -- settings
async def test_settings_change_email_and_delete_needs_the_exact_name(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    w = await _world(env, uid)
    b = await browser(w.owner)
    r = await b.get(f"/organization/{w.org}/settings")
    assert f'data-confirm-name="{w.org}"' in r.text
    await b.post(f"/organization/{w.org}/settings", {"email": "ops@example.com"}, expect=303)
    info = await env.services.organizations.get(w.org)
    assert info is not None
    assert info.email == "ops@example.com"
    await b.get(f"/organization/{w.org}/settings")
    r = await b.post(f"/organization/{w.org}/settings", {"email": "not an address"}, expect=400)
    assert "not an e-mail address" in text_of(r.text)
    # a wrong confirmation deletes nothing
    r = await b.post(f"/organization/{w.org}/delete", {"confirm": w.org + "x"}, expect=400)
    assert "Nothing was deleted" in text_of(r.text)
    assert await env.services.organizations.get(w.org) is not None
    assert await env.services.repositories.get(f"{w.org}/app") is not None
    # a member cannot delete it, whatever they type
    m = await browser(w.member)
    await m.get(f"/organization/{w.org}")
    await m.post(f"/organization/{w.org}/delete", {"confirm": w.org}, expect=403)
    assert await env.services.organizations.get(w.org) is not None
    # the right name deletes it and its repositories
    r = await b.post(f"/organization/{w.org}/delete", {"confirm": w.org}, expect=303)
    assert r.headers["location"] == "/"
    assert await env.services.organizations.get(w.org) is None
    assert await env.services.repositories.get(f"{w.org}/app") is None
    await b.get(f"/organization/{w.org}", expect=404)


# -- the user namespace page
async def test_user_page_lists_what_the_caller_may_see(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    await env.repo(f"{alice.name}/open", alice, visibility="public")
    await env.repo(f"{alice.name}/closed", alice)
    a = await browser(alice)
    r = await a.get(f"/user/{alice.name}")
    page = text_of(r.text)
    assert f"{alice.name}/open" in page
    assert f"{alice.name}/closed" in page
    assert f'href="/new/repository?namespace={alice.name}"' in r.text
    assert "/settings/robots" in r.text
    bb = await browser(bob)
    r = await bb.get(f"/user/{alice.name}")
    page = text_of(r.text)
    assert f"{alice.name}/open" in page
    assert f"{alice.name}/closed" not in page
    assert "New repository" not in page
    await env.grant(f"{alice.name}/closed", "user", bob.name, "read", alice)
    assert f"{alice.name}/closed" in text_of((await bb.get(f"/user/{alice.name}")).text)
    await bb.get(f"/user/nobody-{uid}", expect=404)
    # an organization is not a user
    org = (await env.org(uid, alice)).name
    await bb.get(f"/user/{org}", expect=404)


async def test_user_page_for_anonymous_visitors(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    await env.repo(f"{alice.name}/open", alice, visibility="public")
    await env.repo(f"{alice.name}/closed", alice)
    anon: Browser = await browser()
    r = await anon.get(f"/user/{alice.name}", expect=None)
    if env.settings.anonymous_access:
        assert r.status_code == 200
        assert f"{alice.name}/open" in text_of(r.text)
        assert f"{alice.name}/closed" not in text_of(r.text)
    else:
        assert r.status_code == 303
        assert r.headers["location"].startswith("/signin")


async def _pull_status(env: Env, repo: str, tag: str) -> int:
    r = await env.client.get(
        f"/v2/{repo}/manifests/{tag}",
        headers={**env.admin.auth, "Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    return r.status_code


async def test_images_of_a_deleted_organization_are_gone_at_once(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    """Deleting the namespace deletes its repositories: cached reads of them must end too."""
    w = await _world(env, uid)
    assert await _pull_status(env, f"{w.org}/app", "1.0") == 200  # now in the read cache
    b = await browser(w.owner)
    await b.get(f"/organization/{w.org}/settings")
    await b.post(f"/organization/{w.org}/delete", {"confirm": w.org}, expect=303)
    assert await _pull_status(env, f"{w.org}/app", "1.0") == 404


async def test_images_of_a_deleted_user_are_gone_at_once(env: Env, uid: str) -> None:
    alice = await env.user(uid, "alice")
    await env.push(f"{alice.name}/app", "1.0", alice)
    assert await _pull_status(env, f"{alice.name}/app", "1.0") == 200
    await env.api("DELETE", f"/superuser/users/{alice.name}", env.admin, expect=200)
    assert await _pull_status(env, f"{alice.name}/app", "1.0") == 404


async def test_long_team_lists_and_logs_are_paginated(env: Env, browser: BrowserFactory, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    size = env.settings.ui_page_size
    for i in range(size + 3):
        await env.services.organizations.put_team(
            org, f"team-{i:03d}", role="member", description=None, actor=Actor(owner.name)
        )
    b = await browser(owner)
    r = await b.get(f"/organization/{org}/teams")
    page = text_of(r.text)
    assert "owners admin 1" in page  # sorted by name: owners, then team-000 ...
    assert f"team-{size - 2:03d}" in page
    assert f"team-{size - 1:03d}" not in page
    nxt = re.search(r'href="([^"]+)" rel="next"', r.text)
    assert nxt
    page = text_of((await b.get(nxt.group(1).replace("&amp;", "&"))).text)
    assert f"team-{size - 1:03d}" in page
    assert f"team-{size + 2:03d}" in page
    assert "owners" not in page
    assert "team-000" not in page
    # the log: newest first, the next page goes further back in time
    r = await b.get(f"/organization/{org}/logs")
    page = text_of(r.text)
    assert f"team: team-{size + 2:03d}" in page
    assert "org_create " not in page
    nxt = re.search(r'href="([^"]+)" rel="next"', r.text)
    assert nxt
    assert "before_id=" in nxt.group(1)
    page = text_of((await b.get(nxt.group(1).replace("&amp;", "&"))).text)
    assert "org_create " in page
    assert f"team: team-{size + 2:03d}" not in page
