# ruff: noqa: E501 (the matrix is a table: one row per line reads best)
"""The web UI's access matrix: every page and form of the UI (route x method) for every kind of
caller, with the status the permission evaluator calls for; a meta-test (tests/support/routes.py)
fails when a route of the live UI (mounted apps and static files included) answers a method that has
no row, so a new page cannot skip this table. HEAD rows are made from the GET rows: Starlette answers
HEAD on every GET route, with the same status.

Callers: ``anon`` (signed out), ``stranger`` (a user outside the organization), ``member`` (in a
team of the organization with read on its private repository), ``owner`` (in the owners team) and
``super`` (a superuser outside the organization). 303 on a page that needs an account is the
redirect to the sign-in page; 404 hides what the caller may not know exists. POST rows hold only
the callers that must be refused (``None`` = allowed, exercised by the area tests, not here, since
it changes state); a refused POST must change nothing: the matrix compares every table and the
storage before and after it (tests/support/state.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import pytest_asyncio
from tests.api.support import Env, User
from tests.support.routes import endpoints_of, missing_rows, probe_unlisted, stale_rows
from tests.support.state import changes, snapshot
from tests.ui.conftest import BrowserFactory
from tests.ui.support import Browser

CALLERS = ("anon", "stranger", "member", "owner", "super")
S = None  # allowed and state-changing: covered by the area tests

# (method, route path, concrete path with {placeholders} of the world, anon, stranger, member, owner, super)
Row = tuple[str, str, str, int | None, int | None, int | None, int | None, int | None]
ORG = "/organization/{org}"
REPO = "/repository/{org}/priv"
ROWS: list[Row] = [
    # sign in / up / out, home
    ("GET", "/csrf_token", "/csrf_token", 200, 200, 200, 200, 200),
    ("GET", "/signin", "/signin", 200, 303, 303, 303, 303),
    ("POST", "/signin", "/signin", 400, 400, 400, 400, 400),
    ("GET", "/signup", "/signup", 200, 200, 200, 200, 200),
    ("POST", "/signup", "/signup", 403, 403, 403, 403, 403),
    ("GET", "/", "/", 200, 200, 200, 200, 200),
    ("GET", "/explore", "/explore", 200, 200, 200, 200, 200),
    ("GET", "/new/repository", "/new/repository", 303, 200, 200, 200, 200),
    ("POST", "/new/repository", "/new/repository", 303, 400, 400, 400, 400),
    ("GET", "/new/organization", "/new/organization", 303, 200, 200, 200, 200),
    ("POST", "/new/organization", "/new/organization", 303, 400, 400, 400, 400),
    ("GET", "/user/{username}", "/user/{member}", 200, 200, 200, 200, 200),
    # organization: members see repositories and teams, admins the rest
    ("GET", "/organization/{org}", ORG, 303, 404, 200, 200, 200),
    ("GET", "/organization/{org}/teams", ORG + "/teams", 303, 404, 200, 200, 200),
    ("POST", "/organization/{org}/teams", ORG + "/teams", 303, 404, 403, S, S),
    ("GET", "/organization/{org}/teams/{team}", ORG + "/teams/readers", 303, 404, 200, 200, 200),
    ("POST", "/organization/{org}/teams/{team}", ORG + "/teams/readers", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/teams/{team}/delete", ORG + "/teams/readers/delete", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/teams/{team}/members", ORG + "/teams/readers/members", 303, 404, 403, S, S),
    (
        "POST",
        "/organization/{org}/teams/{team}/members/remove",
        ORG + "/teams/readers/members/remove",
        303, 404, 403, S, S,
    ),
    ("GET", "/organization/{org}/settings", ORG + "/settings", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/settings", ORG + "/settings", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/delete", ORG + "/delete", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/settings/autoprune", ORG + "/settings/autoprune", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/settings/autoprune/{uuid}/delete", ORG + "/settings/autoprune/{prune_org}/delete", 303, 404, 403, S, S),
    ("GET", "/organization/{org}/settings/autoprune/{uuid}/preview", ORG + "/settings/autoprune/{prune_org}/preview", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/settings/immutability", ORG + "/settings/immutability", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/settings/immutability/{uuid}/delete", ORG + "/settings/immutability/{imm_org}/delete", 303, 404, 403, S, S),
    ("GET", "/organization/{org}/robots", ORG + "/robots", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/robots", ORG + "/robots", 303, 404, 403, S, S),
    ("GET", "/organization/{org}/robots/{short}", ORG + "/robots/bot", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/robots/{short}/reveal", ORG + "/robots/bot/reveal", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/robots/{short}/regenerate", ORG + "/robots/bot/regenerate", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/robots/{short}/delete", ORG + "/robots/bot/delete", 303, 404, 403, S, S),
    (
        "POST",
        "/organization/{org}/robots/{short}/permissions",
        ORG + "/robots/bot/permissions",
        303, 404, 403, S, S,
    ),
    (
        "POST",
        "/organization/{org}/robots/{short}/permissions/revoke",
        ORG + "/robots/bot/permissions/revoke",
        303, 404, 403, S, S,
    ),
    ("GET", "/organization/{org}/defaults", ORG + "/defaults", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/defaults", ORG + "/defaults", 303, 404, 403, S, S),
    ("POST", "/organization/{org}/defaults/{default_id}", ORG + "/defaults/{default}", 303, 404, 403, S, S),
    (
        "POST",
        "/organization/{org}/defaults/{default_id}/delete",
        ORG + "/defaults/{default}/delete",
        303, 404, 403, S, S,
    ),
    ("GET", "/organization/{org}/applications", ORG + "/applications", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/applications", ORG + "/applications", 303, 404, 403, S, S),
    ("GET", "/organization/{org}/applications/{client_id}", ORG + "/applications/{client}", 303, 404, 403, 200, 200),
    ("POST", "/organization/{org}/applications/{client_id}", ORG + "/applications/{client}", 303, 404, 403, S, S),
    (
        "POST",
        "/organization/{org}/applications/{client_id}/reset",
        ORG + "/applications/{client}/reset",
        303, 404, 403, S, S,
    ),
    (
        "POST",
        "/organization/{org}/applications/{client_id}/delete",
        ORG + "/applications/{client}/delete",
        303, 404, 403, S, S,
    ),
    ("GET", "/organization/{org}/logs", ORG + "/logs", 303, 404, 403, 200, 200),
    # personal robots: only the user's own (the member owns "bot")
    ("GET", "/settings/robots", "/settings/robots", 303, 200, 200, 200, 200),
    ("POST", "/settings/robots", "/settings/robots", 303, S, S, S, S),
    ("GET", "/settings/robots/{short}", "/settings/robots/mine", 303, 404, 200, 404, 404),
    ("POST", "/settings/robots/{short}/reveal", "/settings/robots/mine/reveal", 303, 404, S, 404, 404),
    ("POST", "/settings/robots/{short}/regenerate", "/settings/robots/mine/regenerate", 303, 404, S, 404, 404),
    ("POST", "/settings/robots/{short}/delete", "/settings/robots/mine/delete", 303, 404, S, 404, 404),
    ("POST", "/settings/robots/{short}/permissions", "/settings/robots/mine/permissions", 303, 404, S, 404, 404),
    (
        "POST",
        "/settings/robots/{short}/permissions/revoke",
        "/settings/robots/mine/permissions/revoke",
        303, 404, S, 404, 404,
    ),
    # a private repository the member's team may read
    ("GET", "/repository/{repo:path}", REPO, 404, 404, 200, 200, 200),
    ("GET", "/repository/{repo:path}/-/history", REPO + "/-/history", 404, 404, 200, 200, 200),
    ("GET", "/repository/{repo:path}/-/manifest", REPO + "/-/manifest?tag=1.0", 404, 404, 303, 303, 303),
    ("GET", "/repository/{repo:path}/-/manifest/{digest}", REPO + "/-/manifest/{digest}", 404, 404, 200, 200, 200),
    ("GET", "/repository/{repo:path}/-/tags/move", REPO + "/-/tags/move?tag=1.0", 404, 404, 403, 200, 200),
    ("POST", "/repository/{repo:path}/-/tags/move", REPO + "/-/tags/move", 404, 404, 403, S, S),
    ("GET", "/repository/{repo:path}/-/tags/delete", REPO + "/-/tags/delete?tag=1.0", 404, 404, 403, 200, 200),
    ("POST", "/repository/{repo:path}/-/tags/delete", REPO + "/-/tags/delete", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/tags/expiration", REPO + "/-/tags/expiration", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/tags/restore", REPO + "/-/tags/restore", 404, 404, 403, S, S),
    ("GET", "/repository/{repo:path}/-/permissions", REPO + "/-/permissions", 404, 404, 403, 200, 200),
    ("POST", "/repository/{repo:path}/-/permissions", REPO + "/-/permissions", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/permissions/revoke", REPO + "/-/permissions/revoke", 404, 404, 403, S, S),
    ("GET", "/repository/{repo:path}/-/logs", REPO + "/-/logs", 404, 404, 403, 200, 200),
    ("GET", "/repository/{repo:path}/-/settings", REPO + "/-/settings", 404, 404, 403, 200, 200),
    ("POST", "/repository/{repo:path}/-/settings/visibility", REPO + "/-/settings/visibility", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/settings/description", REPO + "/-/settings/description", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/settings/delete", REPO + "/-/settings/delete", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/settings/autoprune", REPO + "/-/settings/autoprune", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/settings/autoprune/{uuid}/delete", REPO + "/-/settings/autoprune/{prune_repo}/delete", 404, 404, 403, S, S),
    ("GET", "/repository/{repo:path}/-/settings/autoprune/{uuid}/preview", REPO + "/-/settings/autoprune/{prune_repo}/preview", 404, 404, 403, 200, 200),
    ("POST", "/repository/{repo:path}/-/settings/immutability", REPO + "/-/settings/immutability", 404, 404, 403, S, S),
    ("POST", "/repository/{repo:path}/-/settings/immutability/{uuid}/delete", REPO + "/-/settings/immutability/{imm_repo}/delete", 404, 404, 403, S, S),
    # the caller's own account
    ("GET", "/settings", "/settings", 303, 200, 200, 200, 200),
    ("POST", "/settings/email", "/settings/email", 303, S, S, S, S),
    ("POST", "/settings/time-machine", "/settings/time-machine", 303, S, S, S, S),
    ("POST", "/settings/password", "/settings/password", 303, 400, 400, 400, 400),
    ("GET", "/settings/tokens", "/settings/tokens", 303, 200, 200, 200, 200),
    ("POST", "/settings/tokens", "/settings/tokens", 303, 400, 400, 400, 400),
    ("POST", "/settings/tokens/{token_uuid}/revoke", "/settings/tokens/{token}/revoke", 303, 404, 404, S, 404),  # the owner's token
    # superusers only; everyone else is told there is nothing here
    ("GET", "/superuser", "/superuser", 404, 404, 404, 404, 303),
    ("GET", "/superuser/users", "/superuser/users", 404, 404, 404, 404, 200),
    ("POST", "/superuser/users", "/superuser/users", 404, 404, 404, 404, S),
    ("GET", "/superuser/users/{username}", "/superuser/users/{member}", 404, 404, 404, 404, 200),
    ("POST", "/superuser/users/{username}/enabled", "/superuser/users/{member}/enabled", 404, 404, 404, 404, S),
    ("POST", "/superuser/users/{username}/superuser", "/superuser/users/{member}/superuser", 404, 404, 404, 404, S),
    ("POST", "/superuser/users/{username}/password", "/superuser/users/{member}/password", 404, 404, 404, 404, S),
    ("POST", "/superuser/users/{username}/delete", "/superuser/users/{member}/delete", 404, 404, 404, 404, S),
    ("GET", "/superuser/organizations", "/superuser/organizations", 404, 404, 404, 404, 200),
    ("GET", "/superuser/organizations/{org}/delete", "/superuser/organizations/{org}/delete", 404, 404, 404, 404, 200),
    ("POST", "/superuser/organizations/{org}/delete", "/superuser/organizations/{org}/delete", 404, 404, 404, 404, S),
    ("GET", "/superuser/invitations", "/superuser/invitations", 404, 404, 404, 404, 200),
    ("POST", "/superuser/invitations", "/superuser/invitations", 404, 404, 404, 404, S),
    (
        "POST",
        "/superuser/invitations/{invitation_id}/revoke",
        "/superuser/invitations/999999/revoke",
        404, 404, 404, 404, 404,
    ),
    ("GET", "/superuser/storage", "/superuser/storage", 404, 404, 404, 404, 200),
    ("GET", "/superuser/quotas", "/superuser/quotas", 404, 404, 404, 404, 200),
    ("POST", "/superuser/quotas", "/superuser/quotas", 404, 404, 404, 404, S),
    ("POST", "/superuser/quotas/{namespace}/clear", "/superuser/quotas/{org}/clear", 404, 404, 404, 404, S),
    ("GET", "/superuser/locks", "/superuser/locks", 404, 404, 404, 404, 200),
    ("POST", "/superuser/locks/unlock", "/superuser/locks/unlock", 404, 404, 404, 404, S),
    ("GET", "/superuser/jobs", "/superuser/jobs?state=queued", 404, 404, 404, 404, 200),
    ("GET", "/superuser/jobs/{job_id}", "/superuser/jobs/{job}", 404, 404, 404, 404, 200),
    ("POST", "/superuser/jobs/{job_id}/cancel", "/superuser/jobs/{job}/cancel", 404, 404, 404, 404, S),
    ("POST", "/superuser/jobs/{job_id}/retry", "/superuser/jobs/{job}/retry", 404, 404, 404, 404, S),
    # OAuth: the consent page needs an account; the token endpoint is for programs (no session)
    ("GET", "/oauth/authorize", "/oauth/authorize?{authorize}", 303, 200, 200, 200, 200),
    ("POST", "/oauth/authorize", "/oauth/authorize", 400, S, S, S, S),  # no client named: refused before anything
    ("POST", "/oauth/access_token", "/oauth/access_token", 401, 401, 401, 401, 401),  # RFC 6749 invalid_client
    # static files, for everyone
    ("GET", "/static/{path:path}", "/static/moorage.css", 200, 200, 200, 200, 200),
    # last: it ends the session (the matrix runs it last whatever is added below)
    ("POST", "/signout", "/signout", 303, 303, 303, 303, 303),
]  # fmt: skip
ROWS += [("HEAD", *row[1:]) for row in ROWS if row[0] == "GET"]


async def test_every_ui_route_has_a_row(env: Env) -> None:
    endpoints = endpoints_of(env.app, "ui")
    assert len(endpoints) > 80, endpoints
    rows = {(r[0], r[1]) for r in ROWS}
    missing = missing_rows(endpoints, rows)
    assert not missing, f"UI routes without a row in the access matrix: {missing}"
    stale = stale_rows(endpoints, rows)
    assert not stale, f"matrix rows for routes the UI does not have: {stale}"
    answered = await probe_unlisted(env.client, endpoints, rows)
    assert not answered, f"the UI answers methods that have no row in the access matrix: {answered}"


@dataclass
class World:
    values: dict[str, str]
    browsers: dict[str, Browser]


@pytest_asyncio.fixture(loop_scope="session")
async def world(env: Env, browser: BrowserFactory, uid: str) -> World:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    stranger = await env.user(uid, "str")
    superuser = await env.user(uid, "sup", superuser=True)
    org = (await env.org(uid, owner)).name
    await env.repo(f"{org}/priv", owner)
    digest = await env.push(f"{org}/priv", "1.0", owner)
    await env.team(org, "readers", "member", member.name, who=owner)
    await env.grant(f"{org}/priv", "team", "readers", "read", owner)
    await env.robot(org, "bot", owner)
    await env.api("PUT", "/user/robots/mine", member, json_body={}, expect=201)
    r = await env.api(
        "POST",
        f"/organization/{org}/prototypes",
        owner,
        json_body={"role": "read", "delegate": {"kind": "team", "name": "readers"}},
    )
    assert r.status_code in (200, 201), r.text
    default = str(r.json()["id"])
    r = await env.api(
        "POST",
        f"/organization/{org}/applications",
        owner,
        json_body={"name": "app", "redirect_uri": "https://app.example.com/cb"},
        expect=201,
    )
    client = r.json()["client_id"]
    r = await env.api("POST", "/user/apptoken", owner, json_body={"title": "t"}, expect=201)
    token = r.json()["token"]["uuid"]
    policies: dict[str, str] = {}
    for scope, path in (("org", f"/organization/{org}"), ("repo", f"/repository/{org}/priv")):
        body = {"method": "number_of_tags", "value": 5}
        r = await env.api("POST", f"{path}/autoprunepolicy/", owner, json_body=body, expect=201)
        policies[f"prune_{scope}"] = r.json()["uuid"]
        body = {"tagPattern": "^release-"}
        r = await env.api("POST", f"{path}/immutabilitypolicy/", owner, json_body=body, expect=201)
        policies[f"imm_{scope}"] = r.json()["uuid"]
    job = await env.services.jobs.queue.enqueue("uploads.purge", delay_seconds=3600)  # stays queued
    values = {
        **policies,
        "job": str(job.id),
        "org": org,
        "member": member.name,
        "digest": digest,
        "default": default,
        "client": client,
        "token": token,
        "authorize": f"response_type=code&client_id={client}&redirect_uri=https://app.example.com/cb&scope=repo:read",
    }
    people: dict[str, User | None] = {
        "anon": None,
        "stranger": stranger,
        "member": member,
        "owner": owner,
        "super": superuser,
    }
    return World(values, {k: await browser(u) for k, u in people.items()})


def _fill(path: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        path = path.replace("{" + k + "}", v)
    assert "{" not in path, path
    return path


@pytest.mark.parametrize("caller", CALLERS)
async def test_access_matrix(env: Env, world: World, caller: str) -> None:
    b = world.browsers[caller]
    column = CALLERS.index(caller) + 3
    wrong: list[str] = []
    for row in sorted(ROWS, key=lambda r: r[1] == "/signout"):
        expected = row[column]
        if expected is None:
            continue
        path = _fill(row[2], world.values)
        if row[0] == "GET":
            r = await b.get(path, expect=None)
        elif row[0] == "HEAD":
            r = await b.client.head(path)
        else:
            page = (await b.get("/", expect=None)).text  # any page carries the session's CSRF token
            token = page.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]
            before = await snapshot(env.services.db, env.settings.resolved_storage_root)
            r = await b.post(path, {}, csrf=token)
            changed = changes(before, await snapshot(env.services.db, env.settings.resolved_storage_root))
            if changed:
                wrong.append(f"{row[0]} {path}: refused with {r.status_code} but changed {changed}")
        if r.status_code != expected:
            wrong.append(f"{row[0]} {path}: {r.status_code}, expected {expected}")
        if r.status_code == 303 and expected == 303 and caller == "anon" and row[1] not in ("/signout",):
            assert r.headers["location"].startswith("/signin"), (path, r.headers["location"])
    assert not wrong, "\n".join(wrong)
