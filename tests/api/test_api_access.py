"""What grants do on /v2: teams, default permissions, repository creators, OAuth scopes, app tokens,
robot tokens (regenerate, expiry), disabled users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.api.support import Env, User, assert_problem, granted
from tests.protocol.helpers import basic, bearer, error_codes, push_image

import moorage.identity.robots as robots_module


async def test_team_membership_grants_repository_access(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    dev = await env.user(uid, "dev")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    scope = f"repository:{repo}:pull,push"
    assert granted((await env.v2_token(dev, scope)).json()["token"], repo) == set()
    await env.team(org, "devs", "member", dev.name, who=owner)
    assert granted((await env.v2_token(dev, scope)).json()["token"], repo) == set()  # no grant yet
    await env.grant(repo, "team", "devs", "read", owner)
    assert granted((await env.v2_token(dev, scope)).json()["token"], repo) == {"pull"}
    await env.grant(repo, "team", "devs", "write", owner)
    token = (await env.v2_token(dev, scope)).json()["token"]
    assert granted(token, repo) == {"pull", "push"}
    await push_image(env.client, repo, "by-dev", headers=bearer(token), seed=uid)
    # an admin-role team administers every repository of the organization
    boss = await env.user(uid, "boss")
    await env.team(org, "admins", "admin", boss.name, who=owner)
    assert granted((await env.v2_token(boss, scope)).json()["token"], repo) == {"pull", "push"}
    r = await env.api("GET", f"/repository/{repo}/permissions/team/", boss, expect=200)
    assert set(r.json()["permissions"]) == {"devs"}


async def test_default_permissions_apply_to_new_repositories(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    reader = await env.user(uid, "rdr")
    creator = await env.user(uid, "crt")
    org = (await env.org(uid, owner)).name
    await env.team(org, "watchers", "member", reader.name, who=owner)
    await env.team(org, "builders", "creator", creator.name, who=owner)
    r = await env.api(
        "POST",
        f"/organization/{org}/prototypes",
        owner,
        json_body={"role": "read", "delegate": {"name": "watchers", "kind": "team"}},
        expect=201,
    )
    proto = r.json()
    assert proto == {
        "id": proto["id"],
        "role": "read",
        "delegate": {"name": "watchers", "kind": "team"},
        "activating_user": None,
        "activating_team": None,
    }
    r = await env.api(
        "POST",
        f"/organization/{org}/prototypes",
        owner,
        json_body={
            "role": "write",
            "delegate": {"name": owner.name, "kind": "user"},
            "activating_user": {"name": creator.name},
        },
        expect=201,
    )
    r = await env.api("GET", f"/organization/{org}/prototypes", owner, expect=200)
    assert len(r.json()["prototypes"]) == 2
    # created through the API by an organization admin
    await env.repo(f"{org}/by-api", owner)
    # created by a push of a creator-team member (not an admin)
    await env.push(f"{org}/by-push", who=creator)
    for repo in (f"{org}/by-api", f"{org}/by-push"):
        token = (await env.v2_token(reader, f"repository:{repo}:pull,push")).json()["token"]
        assert granted(token, repo) == {"pull"}, repo
        r = await env.api("GET", f"/repository/{repo}/permissions/team/watchers", owner, expect=200)
        assert r.json()["role"] == "read"
    # the activating-user prototype fired only for the creator's repository
    r = await env.api("GET", f"/repository/{org}/by-push/permissions/user/", owner, expect=200)
    users = {name: p["role"] for name, p in r.json()["permissions"].items()}
    assert users.get(owner.name) == "write"
    # ... and the creator (not an admin) got admin on what they created
    assert users.get(creator.name) == "admin"
    r = await env.api("GET", f"/repository/{org}/by-api/permissions/user/", owner, expect=200)
    assert owner.name not in r.json()["permissions"]


async def test_creator_of_repository_in_org_gets_admin(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    creator = await env.user(uid, "crt")
    org = (await env.org(uid, owner)).name
    await env.team(org, "builders", "creator", creator.name, who=owner)
    r = await env.api(
        "POST", "/repository", creator, json_body={"namespace": org, "repository": "mine"}, expect=201
    )
    assert r.json()["role"] == "admin"
    r = await env.api("GET", f"/repository/{org}/mine/permissions/user/{creator.name}", creator, expect=200)
    assert r.json()["role"] == "admin"
    await env.push(f"{org}/pushed", who=creator)
    r = await env.api("GET", f"/repository/{org}/pushed", creator, expect=200)
    assert r.json()["can_admin"] is True
    # a plain member cannot create at all
    member = await env.user(uid, "mem")
    await env.team(org, "readers", "member", member.name, who=owner)
    r = await env.api("POST", "/repository", member, json_body={"namespace": org, "repository": "nope"})
    assert_problem(r, 403)
    r = await env.client.post(f"/v2/{org}/nope/blobs/uploads/", headers=member.auth)
    assert r.status_code == 403


async def test_oauth_scope_caps(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    read = await env.oauth_token(org, owner, ["repo:read"], app_owner=owner)
    r = await env.v2_token(basic("$oauthtoken", read), f"repository:{repo}:pull,push")
    assert granted(r.json()["token"], repo) == {"pull"}
    r = await env.client.post(f"/v2/{repo}/blobs/uploads/", headers=basic("$oauthtoken", read))
    assert r.status_code == 403
    assert "DENIED" in error_codes(r)
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=basic("$oauthtoken", read))
    assert r.status_code == 200
    r = await env.api("GET", f"/repository/{repo}", bearer(read), expect=200)
    assert r.json()["role"] == "read"
    assert r.json()["can_write"] is False
    assert_problem(await env.api("DELETE", f"/repository/{repo}", bearer(read)), 403)
    assert_problem(await env.api("GET", "/user/", bearer(read)), 403, "user:read")
    assert_problem(await env.api("POST", "/user/apptoken", bearer(read), json_body={"title": "x"}), 403)
    write = await env.oauth_token(org, owner, ["repo:write", "user:read"], app_owner=owner)
    r = await env.v2_token(basic("$oauthtoken", write), f"repository:{repo}:pull,push")
    assert granted(r.json()["token"], repo) == {"pull", "push"}
    r = await env.api("GET", "/user/", bearer(write), expect=200)
    assert r.json()["scopes"] == ["repo:write", "user:read"]
    r = await env.api(
        "POST",
        f"/organization/{org}/applications/x/token",
        bearer(write),
        json_body={"scopes": ["repo:read"]},
    )
    assert_problem(r, 403)
    r = await env.api("POST", f"/organization/{org}/applications", owner, json_body={"name": "a"}, expect=201)
    cid = r.json()["client_id"]
    r = await env.api(
        "POST", f"/organization/{org}/applications/{cid}/token", owner, json_body={"scopes": ["repo:fly"]}
    )
    assert_problem(r, 400, "unknown scopes")
    r = await env.api(
        "POST", f"/organization/{org}/applications/{cid}/token", owner, json_body={"scopes": ["super:user"]}
    )
    assert_problem(r, 403)


async def test_app_token_login_and_revocation(env: Env, uid: str) -> None:
    user = await env.user(uid, "own")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    r = await env.api("POST", "/user/apptoken", user, json_body={"title": "laptop"}, expect=201)
    tok = r.json()["token"]
    assert len(tok["token_code"]) == 64
    assert tok["token_prefix"] == tok["token_code"][:4]
    assert tok["title"] == "laptop"
    assert tok["expiration"] is None
    assert tok["last_accessed"] is None
    code = tok["token_code"]
    for who in (basic("$app", code), basic(user.name, code)):
        r = await env.v2_token(who, f"repository:{repo}:pull,push")
        assert r.status_code == 200
        assert granted(r.json()["token"], repo) == {"pull", "push"}
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=basic("$app", code))
    assert r.status_code == 200
    r = await env.api("GET", "/user/", bearer(code), expect=200)
    assert r.json()["username"] == user.name
    r = await env.api("GET", "/user/apptoken", user, expect=200)
    listed = r.json()["tokens"]
    assert [t["uuid"] for t in listed] == [tok["uuid"]]
    assert "token_code" not in listed[0]  # shown once, in the answer that created it
    assert listed[0]["last_accessed"] is not None
    # someone else's name with this token is no login
    other = await env.user(uid, "oth")
    assert (await env.v2_token(basic(other.name, code), f"repository:{repo}:pull")).status_code == 401
    await env.api("DELETE", f"/user/apptoken/{tok['uuid']}", user, expect=200)
    assert (await env.api("GET", "/user/", bearer(code))).status_code == 401
    r = await env.api("GET", f"/user/apptoken/{tok['uuid']}", user)
    assert_problem(r, 404)
    # a revoked token is refused at once, also where it was used (and cached) seconds ago
    r = await env.v2_token(basic(user.name, code), f"repository:{repo}:pull")
    assert r.status_code == 401, f"revoked application token still logs in: {r.status_code}"
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=basic("$app", code))
    assert r.status_code == 401, f"revoked application token still pulls: {r.status_code}"


async def test_robot_token_regenerate_invalidates_old(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    robot = await env.robot(org, "ci", owner)
    await env.grant(repo, "robot", robot.name, "write", owner)
    r = await env.v2_token(robot, f"repository:{repo}:pull,push")
    assert granted(r.json()["token"], repo) == {"pull", "push"}
    r = await env.api("POST", f"/organization/{org}/robots/ci/regenerate", owner, expect=200)
    new = r.json()["token"]
    assert len(new) == 64
    assert new != robot.password
    r = await env.v2_token(User(robot.name, new), f"repository:{repo}:pull")
    assert r.status_code == 200
    assert granted(r.json()["token"], repo) == {"pull"}
    r = await env.api("GET", f"/organization/{org}/robots/ci", owner, params={"token": "true"}, expect=200)
    assert r.json()["token"] == new
    # the old token is refused at once, even though it logged in a moment ago
    r = await env.v2_token(robot, f"repository:{repo}:pull")
    assert r.status_code == 401, f"old robot token still logs in after regenerate: {r.status_code}"


class _Future(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + timedelta(hours=2)


async def test_robot_expiry(env: Env, uid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    expires = datetime.now(UTC) + timedelta(hours=1)
    robot = await env.robot(org, "temp", owner, expiration=expires.isoformat())
    r = await env.api("GET", f"/organization/{org}/robots/temp", owner, expect=200)
    got = datetime.fromisoformat(r.json()["expiration"].replace("Z", "+00:00"))
    assert abs((got - expires).total_seconds()) < 1
    await env.grant(repo, "robot", robot.name, "read", owner)
    monkeypatch.setattr(robots_module, "datetime", _Future)
    r = await env.v2_token(robot, f"repository:{repo}:pull")
    assert r.status_code == 401, r.text


async def test_disabled_user_cannot_log_in(env: Env, uid: str) -> None:
    user = await env.user(uid, "dis")
    r = await env.client.get(
        "/v2/auth", params={"service": "moorage", "offline_token": "true"}, headers=user.auth
    )
    refresh = r.json()["refresh_token"]
    await env.api("PUT", f"/superuser/users/{user.name}", env.admin, json_body={"enabled": False}, expect=200)
    r = await env.api("GET", f"/superuser/users/{user.name}", env.admin, expect=200)
    assert r.json() == {
        "username": user.name,
        "email": f"{user.name}@example.com",
        "super_user": False,
        "enabled": False,
        "locked_until": None,
    }
    # the REST API (where this account never logged in, so no cached login) and the refresh grant
    # refuse it; the Basic-cache window on /v2 is covered in tests/security
    assert_problem(await env.api("GET", "/user/", user), 401)
    r = await env.client.post(
        "/v2/auth", data={"grant_type": "refresh_token", "refresh_token": refresh, "service": "moorage"}
    )
    assert r.status_code == 401
    # enabling the account again restores the login
    await env.api("PUT", f"/superuser/users/{user.name}", env.admin, json_body={"enabled": True}, expect=200)
    r = await env.v2_token(user, "repository:x/y:pull")
    assert r.status_code == 200
