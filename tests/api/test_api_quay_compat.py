"""Quay's request and response shapes, replayed against Moorage (quay/quay endpoints/api/*.py).

Each test sends what a Quay client sends and checks the keys and values such a client reads.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from starlette.types import ASGIApp
from tests.api.support import Env, Lifespan, User, assert_problem
from tests.protocol.helpers import bearer

from moorage.api.avatar import PALETTE as AVATAR_PALETTE
from moorage.app import create_app

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _doc_section(heading: str) -> str:
    return API_DOC.read_text(encoding="utf-8").split(heading, 1)[1].split("###", 1)[0]


async def test_robots_are_users_in_permission_paths(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    reader = await env.user(uid, "rd")
    org = (await env.org(uid, owner)).name
    await env.repo(f"{org}/app", owner)
    await env.robot(org, "ci", owner)
    robot = f"{org}+ci"
    base = f"/repository/{org}/app/permissions"
    # Quay: PUT /permissions/user/{ns+robot} (answered 404 "no user named" before)
    r = await env.api("PUT", f"{base}/user/{robot}", owner, json_body={"role": "write"}, expect=200)
    assert r.json()["name"] == robot
    assert r.json()["role"] == "write"
    assert r.json()["is_robot"] is True
    await env.api("PUT", f"{base}/user/{reader.name}", owner, json_body={"role": "read"}, expect=200)
    # Quay lists users and robots together, as an object keyed by name
    r = await env.api("GET", f"{base}/user/", owner, expect=200)
    perms = r.json()["permissions"]
    assert isinstance(perms, dict)
    assert all(p["name"] == name for name, p in perms.items()), perms
    assert (perms[reader.name]["role"], perms[reader.name]["is_robot"]) == ("read", False)
    assert (perms[robot]["role"], perms[robot]["is_robot"]) == ("write", True)
    # Quay's avatar object, and whether each is in the organization (robots always are)
    assert perms[reader.name]["avatar"] == avatar_of(reader.name, "user")
    assert perms[robot]["avatar"] == avatar_of(robot, "robot")
    assert (perms[reader.name]["is_org_member"], perms[robot]["is_org_member"]) == (False, True)
    if owner.name in perms:
        assert perms[owner.name]["is_org_member"] is True
    r = await env.api("GET", f"{base}/user/{robot}", owner, expect=200)
    assert (r.json()["role"], r.json()["is_robot"]) == ("write", True)
    # Moorage's /robot/ path stays an alias for the same grant
    r = await env.api("GET", f"{base}/robot/{robot}", owner, expect=200)
    assert r.json()["role"] == "write"
    # ?shape=list: Moorage's paginated array
    r = await env.api("GET", f"{base}/user/", owner, params={"shape": "list", "limit": 2}, expect=200)
    page = r.json()
    assert [p["name"] for p in page["permissions"]] == sorted(perms)[:2]
    if len(perms) > 2:
        assert page["next_page"]
    await env.api("DELETE", f"{base}/user/{robot}", owner, expect=200)
    r = await env.api("GET", f"{base}/robot/", owner, expect=200)
    assert r.json() == {"permissions": {}}
    # teams: keyed by name as well
    await env.team(org, "devs", "member", who=owner)
    await env.api("PUT", f"{base}/team/devs", owner, json_body={"role": "read"}, expect=200)
    r = await env.api("GET", f"{base}/team/", owner, expect=200)
    assert r.json()["permissions"]["devs"]["role"] == "read"
    assert r.json()["permissions"]["devs"]["avatar"] == avatar_of("devs", "team")
    # a user's own repository: no organization to be a member of
    await env.repo(f"{owner.name}/mine", owner)
    r = await env.api(
        "PUT",
        f"/repository/{owner.name}/mine/permissions/user/{reader.name}",
        owner,
        json_body={"role": "read"},
    )
    assert r.status_code == 200
    assert r.json()["is_org_member"] is None
    # organizations and team members carry their avatar too
    r = await env.api("GET", f"/organization/{org}", owner, expect=200)
    assert r.json()["avatar"] == avatar_of(org, "org")
    await env.team(org, "crew", "member", reader.name, who=owner)
    r = await env.api("GET", f"/organization/{org}/team/crew/members", owner, expect=200)
    assert [m["avatar"] for m in r.json()["members"]] == [avatar_of(reader.name, "user")]


async def test_prototype_delegate_robot_named_as_user(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    await env.robot(org, "deployer", owner)
    robot = f"{org}+deployer"
    r = await env.api(
        "POST",
        f"/organization/{org}/prototypes",
        owner,
        json_body={"role": "read", "delegate": {"kind": "user", "name": robot}},
        expect=201,
    )
    assert r.json()["delegate"] == {"name": robot, "kind": "user", "is_robot": True}
    assert r.json()["role"] == "read"
    # a repository created in the organization now grants the robot read
    await env.repo(f"{org}/fresh", owner)
    r = await env.api("GET", f"/repository/{org}/fresh/permissions/user/{robot}", owner, expect=200)
    assert r.json()["role"] == "read"
    # Moorage's kind "robot" stays accepted, and is shown the Quay way
    await env.robot(org, "other", owner)
    r = await env.api(
        "POST",
        f"/organization/{org}/prototypes",
        owner,
        json_body={"role": "write", "delegate": {"kind": "robot", "name": f"{org}+other"}},
        expect=201,
    )
    assert r.json()["delegate"] == {"name": f"{org}+other", "kind": "user", "is_robot": True}


def avatar_of(name: str, kind: str) -> dict[str, str]:
    """Quay's avatar object: name, an md5 hash (of the name in Moorage), a colour, the kind."""
    digest = hashlib.md5(name.lower().encode(), usedforsecurity=False).hexdigest()
    return {"name": name, "hash": digest, "color": AVATAR_PALETTE[int(digest[0], 16)], "kind": kind}


async def test_entities_lookup(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    outsider = await env.user(uid, "own2")  # shares the prefix, not the organization
    org = (await env.org(uid, owner)).name
    await env.team(org, "owls", "member", who=owner)
    await env.robot(org, "owlbot", owner)
    # anonymous callers may ask, as in Quay, but find exact user names only (no listing by prefix)
    r = await env.api("GET", "/entities/own", expect=200)
    assert r.json() == {"results": []}
    r = await env.api("GET", f"/entities/{owner.name}", params={"namespace": org, "includeTeams": "1"})
    assert r.status_code == 200
    assert [(e["name"], e["kind"]) for e in r.json()["results"]] == [(owner.name, "user")]

    # plain lookup: users by prefix, no robots, no teams; each with Quay's avatar object
    r = await env.api("GET", f"/entities/own-{uid}", owner, expect=200)
    assert r.json() == {
        "results": [
            {"name": owner.name, "kind": "user", "is_robot": False, "avatar": avatar_of(owner.name, "user")}
        ]
    }

    # inside an organization the caller belongs to: teams, robots, membership, the org itself
    r = await env.api(
        "GET",
        "/entities/ow",
        owner,
        params={"namespace": org, "includeTeams": "true", "includeOrgs": "true"},
        expect=200,
    )
    results = [{k: v for k, v in e.items() if k != "avatar"} for e in r.json()["results"]]
    assert {"name": "owls", "kind": "team", "is_org_member": True} in results
    assert {"name": "owners", "kind": "team", "is_org_member": True} in results
    assert {"name": f"{org}+owlbot", "kind": "user", "is_robot": True, "is_org_member": True} in results
    avatars = {e["name"]: e["avatar"] for e in r.json()["results"]}
    assert avatars["owls"] == avatar_of("owls", "team")
    assert avatars[f"{org}+owlbot"] == avatar_of(f"{org}+owlbot", "robot")
    # users are matched across the registry (at most 10): look this test's ones up by full prefix
    for who, is_member in ((owner, True), (outsider, False)):
        r = await env.api("GET", f"/entities/{who.name}", owner, params={"namespace": org}, expect=200)
        assert r.json()["results"] == [
            {
                "name": who.name,
                "kind": "user",
                "is_robot": False,
                "is_org_member": is_member,
                "avatar": avatar_of(who.name, "user"),
            }
        ]
    assert all(e["kind"] != "org" for e in results)  # "org-..." does not start with "ow"
    r = await env.api(
        "GET", "/entities/org", owner, params={"namespace": org, "includeOrgs": "true"}, expect=200
    )
    assert {"name": org, "kind": "org", "is_org_member": True, "avatar": avatar_of(org, "org")} in r.json()[
        "results"
    ]

    # an outsider sees no teams or robots of the organization, only users
    r = await env.api(
        "GET", "/entities/ow", outsider, params={"namespace": org, "includeTeams": "true"}, expect=200
    )
    assert {e["kind"] for e in r.json()["results"]} == {"user"}
    assert not any(e.get("is_robot") for e in r.json()["results"])


async def test_organization_includes_teams(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    org = (await env.org(uid, owner)).name
    await env.team(org, "devs", "creator", member.name, who=owner)
    await env.api(
        "PUT", f"/organization/{org}/team/devs", owner, json_body={"description": "developers"}, expect=200
    )
    await env.team(org, "ops", "member", who=owner)
    r = await env.api("GET", f"/organization/{org}", owner, expect=200)
    body = r.json()
    assert body["is_admin"] is True
    assert body["ordered_teams"] == ["owners", "devs", "ops"]
    assert body["teams"] == {
        "owners": {
            "name": "owners",
            "description": "Administrators",
            "role": "admin",
            "member_count": 1,
            "can_view": True,
        },
        "devs": {
            "name": "devs",
            "description": "developers",
            "role": "creator",
            "member_count": 1,
            "can_view": True,
        },
        "ops": {"name": "ops", "description": None, "role": "member", "member_count": 0, "can_view": True},
    }
    r = await env.api("GET", f"/organization/{org}", member, expect=200)
    teams = r.json()["teams"]
    assert {name: t["can_view"] for name, t in teams.items()} == {"owners": False, "devs": True, "ops": False}
    assert r.json()["is_admin"] is False


async def test_superuser_user_creation_and_quay_superuser_field(env: Env, uid: str) -> None:
    name = f"gen-{uid}"
    r = await env.api(
        "POST", "/superuser/users/", env.admin, json_body={"username": name, "email": f"{name}@example.com"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["username"], body["email"]) == (name, f"{name}@example.com")
    password = body["password"]
    assert isinstance(password, str)
    assert len(password) >= 32
    # the generated password signs in
    r = await env.api("GET", "/user/", User(name, password), expect=200)
    assert r.json()["username"] == name
    # a given password is never echoed
    r = await env.api(
        "POST",
        "/superuser/users/",
        env.admin,
        json_body={"username": f"set-{uid}", "password": "chosen-password-1"},
        expect=201,
    )
    assert r.json()["password"] is None
    # Quay's PUT field is "superuser"
    r = await env.api("PUT", f"/superuser/users/{name}", env.admin, json_body={"superuser": True}, expect=200)
    assert r.json()["super_user"] is True
    r = await env.api("GET", f"/superuser/users/{name}", env.admin, expect=200)
    assert (r.json()["super_user"], r.json()["email"]) == (True, f"{name}@example.com")
    r = await env.api(
        "PUT", f"/superuser/users/{name}", env.admin, json_body={"superuser": False}, expect=200
    )
    assert r.json()["super_user"] is False


async def test_tag_list_numbered_pages(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    repo = f"{owner.name}/app"
    digest = await env.push(repo, "t0", owner)
    for i in range(1, 5):
        await env.api(
            "PUT", f"/repository/{repo}/tag/t{i}", owner, json_body={"manifest_digest": digest}, expect=200
        )
    seen: list[str] = []
    for number, more in ((1, True), (2, True), (3, False)):
        r = await env.api(
            "GET", f"/repository/{repo}/tag/", owner, params={"page": number, "limit": 2}, expect=200
        )
        body = r.json()
        assert (body["page"], body["has_additional"]) == (number, more), body
        assert "next_page" not in body
        seen += [t["name"] for t in body["tags"]]
    assert seen == ["t0", "t1", "t2", "t3", "t4"]
    r = await env.api("GET", f"/repository/{repo}/tag/", owner, params={"page": 4, "limit": 2}, expect=200)
    assert r.json() == {"tags": [], "page": 4, "has_additional": False}
    # without page: Moorage's cursor pages, unchanged
    r = await env.api("GET", f"/repository/{repo}/tag/", owner, params={"limit": 2}, expect=200)
    assert r.json()["next_page"]
    assert "has_additional" not in r.json()
    r = await env.api("GET", f"/repository/{repo}/tag/", owner, params={"page": 0})
    assert r.status_code == 400


async def test_unknown_repository_sub_path_is_no_such_endpoint(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    repo = f"{owner.name}/app"
    await env.push(repo, "1", owner)
    # Quay's builds: an endpoint Moorage does not have (this used autoprunepolicy/, which now exists)
    for method in ("GET", "PUT", "DELETE"):
        r = await env.api(method, f"/repository/{repo}/build/", owner, json_body={})
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == f"no such endpoint: /api/v1/repository/{repo}/build/"
    # the repository itself is untouched and still answers
    await env.api("GET", f"/repository/{repo}", owner, expect=200)


async def test_app_tokens_in_quay_shapes(env: Env, uid: str) -> None:
    user = await env.user(uid, "own")
    org = (await env.org(uid, user)).name
    # Quay (endpoints/api/appspecifictokens.py): POST answers {"token": {..., "token_code"}}
    r = await env.api("POST", "/user/apptoken", user, json_body={"title": "laptop"}, expect=201)
    assert set(r.json()) == {"token"}
    tok = r.json()["token"]
    assert {"uuid", "title", "last_accessed", "created", "expiration", "token_code"} <= set(tok)
    assert tok["title"] == "laptop"
    assert len(tok["token_code"]) == 64
    # the list is {"tokens": [...]}, without the secret: no token_code key at all, as in Quay
    r = await env.api("GET", "/user/apptoken", user, expect=200)
    assert [t["uuid"] for t in r.json()["tokens"]] == [tok["uuid"]]
    assert all("token_code" not in t for t in r.json()["tokens"])
    # one token by uuid: {"token": {...}}; Quay shows its secret again, Moorage stores only a hash
    r = await env.api("GET", f"/user/apptoken/{tok['uuid']}", user, expect=200)
    assert r.json()["token"]["uuid"] == tok["uuid"]
    assert r.json()["token"]["title"] == "laptop"
    assert "token_code" not in r.json()["token"]
    # OAuth tokens with Quay's user:admin scope may manage application tokens; others may not
    admin_scope = await env.oauth_token(org, user, ["user:admin"], app_owner=user)
    r = await env.api("POST", "/user/apptoken", bearer(admin_scope), json_body={"title": "ci"}, expect=201)
    made = r.json()["token"]["uuid"]
    r = await env.api("GET", "/user/apptoken", bearer(admin_scope), expect=200)
    assert {t["uuid"] for t in r.json()["tokens"]} == {tok["uuid"], made}
    await env.api("DELETE", f"/user/apptoken/{made}", bearer(admin_scope), expect=200)
    reader = await env.oauth_token(org, user, ["repo:read", "user:read"], app_owner=user)
    for method, path in (("GET", "/user/apptoken"), ("GET", f"/user/apptoken/{tok['uuid']}")):
        assert_problem(await env.api(method, path, bearer(reader)), 403, "user:admin")


async def test_anonymous_user_endpoint_is_401(env: Env, uid: str) -> None:
    # Quay answers 401 to an anonymous GET /api/v1/user/; docs/api.md says the same (it said
    # "anyone, also anonymous" while the code answered 401)
    assert_problem(await env.api("GET", "/user/", None), 401)
    user = await env.user(uid, "me")
    r = await env.api("GET", "/user/", user, expect=200)
    assert (r.json()["anonymous"], r.json()["username"]) == (False, user.name)
    section = _doc_section("### `GET /api/v1/user/`")
    assert "**Who:** any signed-in account" in section, section


@pytest_asyncio.fixture(loop_scope="session")
async def strict(env: Env) -> AsyncIterator[ASGIApp]:
    """A second app on the same data that locks an account after 3 failed logins."""
    settings = env.settings.model_copy(update={"login_delay_after": 1000, "login_lock_after": 3})
    app = create_app(settings)
    async with Lifespan(app):
        yield app


def _client(app: ASGIApp) -> httpx.AsyncClient:
    """A client with its own cookie jar (a browser-less API tool)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _csrf(client: httpx.AsyncClient) -> str:
    r = await client.get("/csrf_token")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"csrf_token"}
    token: str = r.json()["csrf_token"]
    assert len(token) >= 32
    return token


async def test_password_signin_with_csrf_token(env: Env, uid: str) -> None:
    user = await env.user(uid, "sgn")
    creds = {"username": user.name, "password": user.password}
    async with _client(env.app) as client:
        # Quay: POST /api/v1/signin needs the X-CSRF-Token that GET /csrf_token answers
        r = await client.post("/api/v1/signin", json=creds)
        assert_problem(r, 403, "X-CSRF-Token")
        token = await _csrf(client)
        assert await _csrf(client) == token  # the same token while the visitor's cookie lasts
        r = await client.post("/api/v1/signin", json=creds, headers={"X-CSRF-Token": "x" + token})
        assert_problem(r, 403, "X-CSRF-Token")
        assert "moorage_session" not in client.cookies
        # a wrong password: Quay's 403 with invalidCredentials
        wrong = {"username": user.name, "password": "not-the-password"}
        r = await client.post("/api/v1/signin", json=wrong, headers={"X-CSRF-Token": token})
        body = assert_problem(r, 403)
        assert (body["invalidCredentials"], body["needsEmailVerification"]) == (True, False)
        assert "moorage_session" not in client.cookies
        r = await client.post("/api/v1/signin", json=creds, headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text
        assert r.json() == {"success": True}
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("moorage_session="), cookie
        assert "HttpOnly" in cookie, cookie
        # the session cookie signs the tool in on the API (the UI's session: one mechanism)
        r = await client.get("/api/v1/user/")
        assert r.status_code == 200, r.text
        assert r.json()["username"] == user.name
        # unsafe requests need the session's CSRF token, which GET /csrf_token now answers
        made = {"title": "from-signin"}
        assert (await client.post("/api/v1/user/apptoken", json=made)).status_code == 403
        session_csrf = await _csrf(client)
        assert session_csrf != token
        r = await client.post("/api/v1/user/apptoken", json=made, headers={"X-CSRF-Token": session_csrf})
        assert r.status_code == 201, r.text
        # and the same cookie is a web UI session
        r = await client.get("/signin")
        assert r.status_code == 303
    # robots and tokens do not sign in with a password
    org = (await env.org(uid, user)).name
    robot = await env.robot(org, "bot", user)
    async with _client(env.app) as client:
        token = await _csrf(client)
        r = await client.post(
            "/api/v1/signin",
            json={"username": robot.name, "password": robot.password},
            headers={"X-CSRF-Token": token},
        )
        assert assert_problem(r, 403)["invalidCredentials"] is True


async def test_password_signin_is_throttled(env: Env, strict: ASGIApp, uid: str) -> None:
    victim = await env.user(uid, "thr")
    async with _client(strict) as client:
        token = await _csrf(client)
        wrong = {"username": victim.name, "password": "not-the-password"}
        for _ in range(3):
            r = await client.post("/api/v1/signin", json=wrong, headers={"X-CSRF-Token": token})
            assert_problem(r, 403)
        right = {"username": victim.name, "password": victim.password}
        r = await client.post("/api/v1/signin", json=right, headers={"X-CSRF-Token": token})
        assert_problem(r, 429)
        assert "moorage_session" not in client.cookies
        # the lock is the one every login shares: Basic on the API is refused as well
        assert_problem(await client.get("/api/v1/user/", headers=victim.auth), 429)


async def test_prototype_ids_are_uuids(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    await env.team(org, "readers", "member", who=owner)
    base = f"/organization/{org}/prototypes"
    made = []
    for team_role in ("read", "write"):
        r = await env.api(
            "POST",
            base,
            owner,
            json_body={"role": team_role, "delegate": {"kind": "team", "name": "readers"}},
            expect=201,
        )
        made.append(r.json()["id"])
    # Quay: "id" is a uuid string, and the paths take it
    assert all(isinstance(i, str) and str(uuid.UUID(i)) == i for i in made), made
    r = await env.api("GET", base, owner, expect=200)
    assert [p["id"] for p in r.json()["prototypes"]] == made  # creation order
    r = await env.api("PUT", f"{base}/{made[0]}", owner, json_body={"role": "admin"}, expect=200)
    assert (r.json()["id"], r.json()["role"]) == (made[0], "admin")
    await env.api("DELETE", f"{base}/{made[1]}", owner, expect=200)
    r = await env.api("GET", base, owner, expect=200)
    assert [(p["id"], p["role"]) for p in r.json()["prototypes"]] == [(made[0], "admin")]
    # an unknown uuid, or the integer ids Moorage used to answer, name nothing
    for unknown in (str(uuid.uuid4()), "1"):
        assert_problem(await env.api("PUT", f"{base}/{unknown}", owner, json_body={"role": "read"}), 404)
        assert_problem(await env.api("DELETE", f"{base}/{unknown}", owner), 404)
    # another organization's uuid is not found here
    other = (await env.org(uid, owner, "org2")).name
    assert_problem(await env.api("DELETE", f"/organization/{other}/prototypes/{made[0]}", owner), 404)
