"""Happy paths with exact response shapes, validation errors, and pagination of /api/v1 lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from tests.api.support import Env, assert_problem

from moorage.api.avatar import avatar


def _aware(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert dt.tzinfo is not None, f"timestamp without a time zone: {value!r}"
    return dt


def _avatar(name: str, kind: str) -> dict[str, str]:
    return avatar(name, kind).model_dump()  # type: ignore[arg-type]


async def test_organization_team_and_member_shapes(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    r = await env.api(
        "POST",
        "/organization/",
        owner,
        json_body={"name": f"org-{uid}", "email": "o@example.com"},
        expect=201,
    )
    body = r.json()
    _aware(body.pop("created"))
    assert body == {
        "name": f"org-{uid}",
        "email": "o@example.com",
        "role": "admin",
        "is_admin": True,
        "is_member": True,
        "avatar": _avatar(f"org-{uid}", "org"),
    }
    org = f"org-{uid}"
    r = await env.api("GET", f"/organization/{org}", owner, expect=200)
    _aware(r.json()["created"])
    r = await env.api(
        "PUT",
        f"/organization/{org}/team/devs",
        owner,
        json_body={"role": "creator", "description": "developers"},
        expect=200,
    )
    assert r.json() == {"name": "devs", "role": "creator", "description": "developers", "member_count": 0}
    r = await env.api("PUT", f"/organization/{org}/team/devs/members/{member.name}", owner, expect=200)
    assert r.json() == {
        "name": member.name,
        "kind": "user",
        "is_robot": False,
        "avatar": _avatar(member.name, "user"),
    }
    r = await env.api("GET", f"/organization/{org}/team", owner, expect=200)
    assert r.json() == {
        "teams": [
            {"name": "devs", "role": "creator", "description": "developers", "member_count": 1},
            {"name": "owners", "role": "admin", "description": "Administrators", "member_count": 1},
        ],
        "next_page": None,
    }
    r = await env.api("GET", f"/organization/{org}/team/owners/members", owner, expect=200)
    assert r.json() == {
        "name": "owners",
        "members": [
            {"name": owner.name, "kind": "user", "is_robot": False, "avatar": _avatar(owner.name, "user")}
        ],
        "next_page": None,
    }
    r = await env.api("GET", "/user/", member, expect=200)
    assert r.json() == {
        "anonymous": False,
        "username": member.name,
        "kind": "user",
        "email": f"{member.name}@example.com",
        "super_user": False,
        "organizations": [{"name": org, "role": "creator", "is_org_admin": False}],
        "scopes": None,
        "tag_expiration_s": env.settings.default_tag_expiration_s,  # Quay's time machine window
    }
    # the last owner cannot leave; the owners team keeps its role
    r = await env.api("DELETE", f"/organization/{org}/team/owners/members/{owner.name}", owner)
    assert_problem(r, 403, "last member")
    r = await env.api("PUT", f"/organization/{org}/team/owners", owner, json_body={"role": "member"})
    assert_problem(r, 403)
    r = await env.api("DELETE", f"/organization/{org}/team/devs", owner, expect=200)
    assert r.json() == {"deleted": True}
    r = await env.api("DELETE", f"/organization/{org}", owner, expect=200)
    assert (await env.api("GET", f"/organization/{org}", owner)).status_code == 404


async def test_repository_robot_permission_shapes(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    r = await env.api(
        "POST",
        "/repository",
        owner,
        json_body={"namespace": org, "repository": "team/app", "visibility": "private", "description": "d"},
        expect=201,
    )
    body = r.json()
    _aware(body.pop("created"))
    assert body == {
        "namespace": org,
        "name": "team/app",
        "full_name": f"{org}/team/app",
        "description": "d",
        "is_public": False,
        "tag_count": 0,
        "role": "admin",
        "can_write": True,
        "can_admin": True,
    }
    r = await env.api(
        "PUT", f"/organization/{org}/robots/builder", owner, json_body={"description": "ci"}, expect=201
    )
    robot = r.json()
    assert robot["name"] == f"{org}+builder"
    assert robot["description"] == "ci"
    assert robot["expiration"] is None
    assert len(robot["token"]) == 64
    assert robot["token"] in robot["docker_login"]
    _aware(robot["created"])
    # as in Quay, an administrator's GET carries the token; ?token=false leaves it out
    r = await env.api("GET", f"/organization/{org}/robots/builder", owner, expect=200)
    assert r.json()["token"] == robot["token"]
    assert robot["token"] in r.json()["docker_login"]
    r = await env.api(
        "GET", f"/organization/{org}/robots/builder", owner, params={"token": "false"}, expect=200
    )
    assert r.json()["token"] is None
    assert r.json()["docker_login"] is None
    r = await env.api(
        "PUT",
        f"/repository/{org}/team/app/permissions/robot/{org}+builder",
        owner,
        json_body={"role": "write"},
        expect=200,
    )
    robot_grant = {
        "kind": "robot",
        "name": f"{org}+builder",
        "role": "write",
        "is_robot": True,
        "avatar": _avatar(f"{org}+builder", "robot"),
        "is_org_member": True,  # robots of the organization always are (Quay)
    }
    assert r.json() == robot_grant
    r = await env.api("GET", f"/organization/{org}/robots/builder/permissions", owner, expect=200)
    assert r.json() == {"permissions": [{"repository": f"{org}/team/app", "role": "write"}]}
    r = await env.api("GET", f"/repository/{org}/team/app/permissions/robot/", owner, expect=200)
    assert r.json() == {
        "permissions": {
            f"{org}+builder": robot_grant,
        }
    }
    r = await env.api(
        "GET", f"/repository/{org}/team/app/permissions/robot/", owner, params={"shape": "list"}, expect=200
    )
    assert r.json() == {
        "permissions": [robot_grant],
        "next_page": None,
    }
    r = await env.api(
        "POST",
        f"/repository/{org}/team/app/changevisibility",
        owner,
        json_body={"visibility": "public"},
        expect=200,
    )
    assert r.json()["is_public"] is True
    r = await env.api("GET", f"/repository/{org}/team/app")  # anonymous reads a public repository
    assert r.status_code == 200
    assert r.json()["role"] == "read"
    r = await env.api(
        "DELETE", f"/repository/{org}/team/app/permissions/robot/{org}+builder", owner, expect=200
    )
    r = await env.api("GET", f"/organization/{org}/robots/builder/permissions", owner, expect=200)
    assert r.json() == {"permissions": []}


async def test_tags_move_and_delete(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    repo = f"{owner.name}/app"
    digest = await env.push(repo, "v1", owner)
    r = await env.api(
        "PUT", f"/repository/{repo}/tag/stable", owner, json_body={"manifest_digest": digest}, expect=200
    )
    body = r.json()
    assert body["name"] == "stable"
    assert body["manifest_digest"] == digest
    assert isinstance(body["moved"], bool)
    r = await env.api("GET", f"/repository/{repo}/tag/", owner, expect=200)
    tags = {t["name"]: t for t in r.json()["tags"]}
    assert set(tags) == {"v1", "stable"}
    t = tags["stable"]
    assert t["manifest_digest"] == digest
    assert t["active"] is True
    assert t["end_ts"] is None
    assert t["is_manifest_list"] is False
    assert t["size"] > 0
    assert t["created_by"] == owner.name
    await env.api("DELETE", f"/repository/{repo}/tag/stable", owner, expect=200)
    r = await env.api(
        "GET", f"/repository/{repo}/tag/", owner, params={"onlyActiveTags": "false"}, expect=200
    )
    stable = [t for t in r.json()["tags"] if t["name"] == "stable"]
    assert stable
    assert stable[0]["active"] is False
    assert stable[0]["end_ts"] is not None
    r = await env.api("DELETE", f"/repository/{repo}/tag/stable", owner)
    assert_problem(r, 404)
    r = await env.api("PUT", f"/repository/{repo}/tag/bad:tag", owner, json_body={"manifest_digest": digest})
    assert_problem(r, 400)
    r = await env.api("PUT", f"/repository/{repo}/tag/x", owner, json_body={"manifest_digest": "nope"})
    assert_problem(r, 400)


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "detail"),
    [
        ("POST", "/organization/", {"name": "Bad Name!"}, None, "name"),
        ("POST", "/organization/", {}, None, "body.name"),
        ("POST", "/repository", {"namespace": "{own}"}, None, "body.repository"),
        (
            "POST",
            "/repository",
            {"namespace": "{own}", "repository": "x", "visibility": "secret"},
            None,
            "visibility",
        ),
        ("GET", "/repository", None, {"limit": "0"}, "limit"),
        ("GET", "/repository", None, {"limit": "100000"}, "limit"),
        ("GET", "/repository", None, {"next_page": "%%%"}, "next_page"),
        ("PUT", "/organization/{org}/team/devs", {"role": "boss"}, None, "role"),
        ("PUT", "/organization/{org}/team/Bad!", {"role": "member"}, None, "team"),
        ("PUT", "/organization/{org}/robots/Bad-Name", {}, None, "robot"),
        ("PUT", "/organization/{org}/robots/past", {"expiration": "2001-01-01T00:00:00Z"}, None, "future"),
        ("POST", "/user/apptoken", {"title": ""}, None, "title"),
        ("POST", "/superuser/users/", {"username": "x-{uid}", "password": "short"}, None, "password"),
        ("GET", "/organization/{org}/logs", None, {"starttime": "yesterday"}, "starttime"),
        ("GET", "/organization/{org}/logs", None, {"format": "xml"}, "format"),
    ],
)
async def test_validation_errors_are_problem_json(
    env: Env, uid: str, method: str, path: str, body: Any, params: dict[str, str] | None, detail: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    values = {"own": owner.name, "org": org, "uid": uid}

    def fill(v: Any) -> Any:
        if isinstance(v, str):
            return v.format(**values)
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    who = env.admin if path.startswith("/superuser") else owner
    r = await env.api(method, fill(path), who, json_body=fill(body), params=params)
    problem = assert_problem(r, 400, detail)
    assert problem["title"]


async def test_conflicts_and_unknown_things(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    r = await env.api("POST", "/organization/", owner, json_body={"name": org})
    assert_problem(r, 409, "taken")
    r = await env.api("POST", "/organization/", owner, json_body={"name": owner.name})
    assert_problem(r, 409)
    await env.robot(org, "bot", owner)
    r = await env.api("PUT", f"/organization/{org}/robots/bot", owner, json_body={})
    assert_problem(r, 409, "exists")
    await env.repo(f"{org}/app", owner)
    r = await env.api(
        "PUT", f"/repository/{org}/app/permissions/user/nobody-{uid}", owner, json_body={"role": "read"}
    )
    assert_problem(r, 404, "no user")
    r = await env.api(
        "PUT", f"/repository/{org}/app/permissions/user/{owner.name}", owner, json_body={"role": "owner"}
    )
    assert_problem(r, 400, "role")
    r = await env.api("GET", "/no/such/route", owner)
    assert_problem(r, 404)
    r = await env.api("PATCH", f"/organization/{org}", owner)
    assert_problem(r, 405)


async def _walk(env: Env, path: str, who: Any, key: str, name: str, limit: int, **params: str) -> list[Any]:
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):
        q = {"limit": str(limit), **params}
        if cursor:
            q["next_page"] = cursor
        r = await env.api("GET", path, who, params=q, expect=200)
        page = r.json()
        assert len(page[key]) <= limit
        seen += [item[name] for item in page[key]]
        cursor = page.get("next_page")
        if not cursor:
            return seen
    raise AssertionError("pagination did not end")


async def test_pagination_has_no_gaps_or_duplicates(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repos = {f"{org}/r{i:02d}" for i in range(7)}
    for name in repos:
        await env.repo(name, owner)
    got = await _walk(env, "/repository", owner, "repositories", "full_name", 3, namespace=org)
    assert len(got) == len(set(got))
    assert set(got) == repos
    # tags (active), including an exact multiple of the page size
    digest = await env.push(f"{org}/r00", "t0", owner)
    for i in range(1, 6):
        await env.api(
            "PUT", f"/repository/{org}/r00/tag/t{i}", owner, json_body={"manifest_digest": digest}, expect=200
        )
    got = await _walk(env, f"/repository/{org}/r00/tag/", owner, "tags", "name", 3)
    assert sorted(got) == [f"t{i}" for i in range(6)]
    # the tag history pages too
    await env.api("DELETE", f"/repository/{org}/r00/tag/t1", owner, expect=200)
    hist = await _walk(env, f"/repository/{org}/r00/tag/", owner, "tags", "name", 2, onlyActiveTags="false")
    assert sorted(hist) == [f"t{i}" for i in range(6)]  # deleting ends the tag's row; no new row
    # organizations of a user, users for a superuser, audit entries
    for i in range(4):
        await env.api("POST", "/organization/", owner, json_body={"name": f"o{i}-{uid}"}, expect=201)
    got = await _walk(env, "/organization/", owner, "organizations", "name", 2)
    assert sorted(got) == sorted([org] + [f"o{i}-{uid}" for i in range(4)])
    users = await _walk(env, "/superuser/users/", env.admin, "users", "username", 2)
    assert len(users) == len(set(users))
    assert owner.name in users
    assert env.admin.name in users
    logs = await _walk(env, f"/organization/{org}/logs", owner, "logs", "id", 4)
    assert len(logs) == len(set(logs)) >= 15
    assert logs == sorted(logs, reverse=True)


async def test_small_lists_paginate_too(env: Env, uid: str) -> None:
    owner = await env.user(uid, "pg")
    org = f"pgorg-{uid}"
    await env.api("POST", "/organization/", owner, json_body={"name": org}, expect=201)
    for i in range(5):
        await env.api("PUT", f"/organization/{org}/robots/bot{i}", owner, json_body={}, expect=201)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        path = f"/organization/{org}/robots?limit=2" + (f"&next_page={cursor}" if cursor else "")
        body = (await env.api("GET", path, owner, expect=200)).json()
        assert len(body["robots"]) <= 2
        seen += [r["name"] for r in body["robots"]]
        cursor = body["next_page"]
        if cursor is None:
            break
    assert seen == [f"{org}+bot{i}" for i in range(5)]
