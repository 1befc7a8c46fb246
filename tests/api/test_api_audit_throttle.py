"""The audit log (who, ip, kind, metadata; JSON lines export) and login throttling."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from tests.api.support import Env, Lifespan, User, assert_problem
from tests.protocol.helpers import basic, error_codes

from moorage.app import create_app


async def test_changes_are_audited_and_exported(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    org = (await env.org(uid, owner)).name
    await env.team(org, "devs", "member", member.name, who=owner)
    await env.robot(org, "bot", owner)
    await env.repo(f"{org}/app", owner)
    await env.grant(f"{org}/app", "team", "devs", "write", owner)
    await env.api(
        "POST",
        f"/repository/{org}/app/changevisibility",
        owner,
        json_body={"visibility": "public"},
        expect=200,
    )
    await env.api("PUT", f"/organization/{org}/team/devs/members/{member.name}", owner, expect=200)
    await env.api("DELETE", f"/organization/{org}/team/devs/members/{member.name}", owner, expect=200)
    r = await env.api("GET", f"/organization/{org}/logs", owner, params={"limit": 100}, expect=200)
    logs = r.json()["logs"]
    kinds = [e["kind"] for e in logs]
    for kind in (
        "org_create",
        "org_create_team",
        "org_team_member_add",
        "org_team_member_remove",
        "create_robot",
        "create_repo",
        "change_repo_permission",
        "change_repo_visibility",
    ):
        assert kind in kinds, (kind, kinds)
    for e in logs:
        assert e["performer"] == {"name": owner.name, "kind": "user"}, e
        assert e["ip"] == "127.0.0.1", e
        assert e["namespace"] == org
        datetime.fromisoformat(e["datetime"].replace("Z", "+00:00"))
    add = next(e for e in logs if e["kind"] == "org_team_member_add")
    assert add["metadata"] == {"team": "devs", "member": member.name}
    robot = next(e for e in logs if e["kind"] == "create_robot")
    assert robot["metadata"] == {"robot": f"{org}+bot"}
    # filters: kind and time window
    r = await env.api("GET", f"/organization/{org}/logs", owner, params={"kind": "create_robot"}, expect=200)
    assert [e["kind"] for e in r.json()["logs"]] == ["create_robot"]
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    r = await env.api("GET", f"/organization/{org}/logs", owner, params={"starttime": later}, expect=200)
    assert r.json()["logs"] == []
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    r = await env.api(
        "GET",
        f"/organization/{org}/logs",
        owner,
        params={"starttime": earlier, "endtime": later, "limit": 100},
        expect=200,
    )
    assert len(r.json()["logs"]) == len(logs)
    # the repository log and the user's own log
    r = await env.api("GET", f"/repository/{org}/app/logs", owner, expect=200)
    repo_kinds = {e["kind"] for e in r.json()["logs"]}
    assert {"create_repo", "change_repo_permission", "change_repo_visibility"} <= repo_kinds
    assert all(e["repository"] == f"{org}/app" for e in r.json()["logs"])
    r = await env.api("GET", "/user/logs", owner, params={"limit": 200}, expect=200)
    assert {e["id"] for e in logs} <= {e["id"] for e in r.json()["logs"]}
    # JSON lines export: every entry, same content as the pages
    r = await env.api("GET", f"/organization/{org}/logs", owner, params={"format": "jsonl"}, expect=200)
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    assert [x["id"] for x in lines] == [e["id"] for e in logs]
    first = lines[0]
    assert {
        "id",
        "datetime",
        "kind",
        "performer",
        "performer_kind",
        "ip",
        "namespace",
        "repository",
        "metadata",
    } <= first.keys()
    assert first["performer"] == owner.name
    assert first["ip"] == "127.0.0.1"


async def test_superuser_changes_and_failed_logins_are_audited(env: Env, uid: str) -> None:
    user = await env.user(uid, "usr")
    await env.api("PUT", f"/superuser/users/{user.name}", env.admin, json_body={"enabled": False}, expect=200)
    await env.api("PUT", f"/superuser/users/{user.name}", env.admin, json_body={"enabled": True}, expect=200)
    r = await env.client.get(
        "/v2/auth", params={"service": "moorage"}, headers=basic(user.name, "wrong-pass")
    )
    assert r.status_code == 401
    r = await env.api("GET", "/user/logs", env.admin, params={"kind": "user_change", "limit": 50}, expect=200)
    mine = [e for e in r.json()["logs"] if e["namespace"] == user.name]
    assert [e["metadata"]["enabled"] for e in mine] == [True, False]
    assert all(e["performer"]["name"] == env.admin.name for e in mine)
    r = await env.api("GET", f"/organization/{user.name}/logs", env.admin)
    assert r.status_code == 404  # a user namespace is not an organization


@pytest_asyncio.fixture(loop_scope="session")
async def strict(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same data, locking an account after 3 failures (no delays)."""
    settings = env.settings.model_copy(
        update={
            "login_delay_after": 1000,
            "login_lock_after": 3,
            "login_ip_delay_after": 1000,
            "login_ip_lock_after": 100_000,
        }
    )
    app = create_app(settings)
    async with (
        Lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def test_login_throttling_locks_and_unlocks(env: Env, strict: httpx.AsyncClient, uid: str) -> None:
    victim = await env.user(uid, "vic")
    wrong = basic(victim.name, "not-the-password")
    for _ in range(3):
        r = await strict.get("/v2/", headers=wrong)
        assert r.status_code == 401
    # locked: the right password is refused too, on every door
    r = await strict.get("/v2/", headers=victim.auth)
    assert r.status_code == 429
    assert "TOOMANYREQUESTS" in error_codes(r)
    r = await strict.get("/v2/auth", params={"service": "moorage"}, headers=victim.auth)
    assert r.status_code == 429
    assert "TOOMANYREQUESTS" in error_codes(r)
    r = await strict.get("/api/v1/user/", headers=victim.auth)
    assert_problem(r, 429)
    r = await strict.post(
        "/v2/auth",
        data={
            "grant_type": "password",
            "username": victim.name,
            "password": victim.password,
            "service": "moorage",
        },
    )
    assert r.status_code == 429
    # the superuser sees the lock and lifts it
    r = await env.api("GET", "/superuser/lockedaccounts", env.admin, expect=200)
    locks = {x["key"]: x["locked_until"] for x in r.json()["locked"]}
    assert f"user:{victim.name}" in locks
    assert datetime.fromisoformat(locks[f"user:{victim.name}"]) > datetime.now(UTC)
    r = await env.api("GET", f"/superuser/users/{victim.name}", env.admin, expect=200)
    assert r.json()["locked_until"] is not None
    r = await env.api("DELETE", f"/superuser/lockedaccounts/user:{victim.name}", env.admin, expect=200)
    r = await env.api("DELETE", f"/superuser/lockedaccounts/user:{victim.name}", env.admin)
    assert_problem(r, 404)
    r = await strict.get("/v2/", headers=victim.auth)
    assert r.status_code == 200
    r = await strict.get("/api/v1/user/", headers=User(victim.name, victim.password).auth)
    assert r.status_code == 200
    r = await env.api("GET", "/user/logs", env.admin, params={"kind": "unlock_account"}, expect=200)
    assert any(e["metadata"] == {"key": f"user:{victim.name}"} for e in r.json()["logs"])
