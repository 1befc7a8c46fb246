"""Leaks real registries have had: foreign robots, stale team membership, catalog, disabled accounts."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from tests.api.support import Env, User, granted, jwt_claims
from tests.protocol.helpers import basic, bearer, error_codes
from tests.security.world import World

import moorage.api.auth as api_auth
import moorage.identity.tokens as token_module
import moorage.protocol.auth as v2_auth

MANIFEST_ACCEPT = {"Accept": "application/vnd.oci.image.manifest.v1+json"}


def _v2_paths(repo: str, digest: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/v2/{repo}/manifests/latest"),
        ("HEAD", f"/v2/{repo}/manifests/latest"),
        ("GET", f"/v2/{repo}/tags/list"),
        ("GET", f"/v2/{repo}/blobs/{digest}"),
        ("GET", f"/v2/{repo}/referrers/{digest}"),
        ("POST", f"/v2/{repo}/blobs/uploads/"),
        ("PUT", f"/v2/{repo}/manifests/x"),
        ("DELETE", f"/v2/{repo}/manifests/{digest}"),
    ]


def _shape(r: httpx.Response) -> tuple[int, tuple[str, ...], str]:
    codes = tuple(error_codes(r)) if r.request.method != "HEAD" else ()
    challenge = r.headers.get("www-authenticate", "").split(",scope=")[0]
    return r.status_code, codes, challenge


async def _assert_private_looks_missing(world: World, who: dict[str, str], repo: str, missing: str) -> None:
    c = world.env.client
    for (method, path), (_, missing_path) in zip(
        _v2_paths(repo, world.digest), _v2_paths(missing, world.digest), strict=True
    ):
        a = await c.request(method, path, headers={**who, **MANIFEST_ACCEPT})
        b = await c.request(method, missing_path, headers={**who, **MANIFEST_ACCEPT})
        assert a.status_code >= 400, (method, path, a.status_code)
        assert _shape(a) == _shape(b), (method, path, a.status_code, a.text, b.status_code, b.text)
    # a registry token for the hidden repository grants exactly what one for a missing one does
    ta = await world.env.v2_token(who, f"repository:{repo}:pull,push")
    tb = await world.env.v2_token(who, f"repository:{missing}:pull,push")
    assert ta.status_code == tb.status_code
    if ta.status_code == 200:
        assert granted(ta.json()["token"], repo) == granted(tb.json()["token"], missing) == set()
    # the REST API: 404 with the same problem, whatever the route
    for suffix in ("", "/tag/", "/logs", "/permissions/user/"):
        a = await world.env.api("GET", f"/repository/{repo}{suffix}", who)
        b = await world.env.api("GET", f"/repository/{missing}{suffix}", who)
        assert a.status_code == b.status_code == (404 if who else a.status_code), (suffix, a.text, b.text)
        ja, jb = a.json(), b.json()
        assert (ja["title"], ja["type"]) == (jb["title"], jb["type"])
        assert ja["detail"].replace(repo, "X") == jb["detail"].replace(missing, "X")


async def test_foreign_robot_sees_private_repo_as_missing(world: World) -> None:
    robot_b = world.users["robot_b"].auth
    await _assert_private_looks_missing(world, robot_b, world.repo, f"{world.org_a}/does-not-exist")


async def test_stranger_sees_private_repo_as_missing(world: World) -> None:
    stranger = world.users["stranger"].auth
    await _assert_private_looks_missing(
        world, stranger, world.personal_repo, f"{world.users['owner'].name}/does-not-exist"
    )
    await _assert_private_looks_missing(world, stranger, world.repo, f"{world.org_a}/nothing-here")


async def test_anonymous_sees_private_repo_as_missing(world: World) -> None:
    await _assert_private_looks_missing(world, {}, world.repo, f"{world.org_a}/nothing-here")


async def test_foreign_robot_cannot_be_granted_or_join_teams(world: World) -> None:
    env = world.env
    r = await env.api(
        "PUT",
        f"/repository/{world.repo}/permissions/robot/{world.org_b}+bot",
        env.admin,
        json_body={"role": "read"},
    )
    assert r.status_code == 400, r.text
    r = await env.api("PUT", f"/organization/{world.org_a}/team/readers/members/{world.org_b}+bot", env.admin)
    assert r.status_code == 400, r.text


async def test_removed_team_member_loses_access(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    await env.team(org, "devs", "member", member.name, who=owner)
    await env.grant(repo, "team", "devs", "write", owner)
    scope = f"repository:{repo}:pull,push"
    r = await env.v2_token(member, scope)
    old_token = r.json()["token"]
    assert granted(old_token, repo) == {"pull", "push"}
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=member.auth)
    assert r.status_code == 200  # Basic credentials now cached by the /v2 authenticator

    await env.api("DELETE", f"/organization/{org}/team/devs/members/{member.name}", owner, expect=200)
    # a new token no longer grants anything
    r = await env.v2_token(member, scope)
    assert r.status_code == 200
    assert granted(r.json()["token"], repo) == set()
    # Basic on /v2 is re-authorized on every request: the cache holds identities, not permissions
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=member.auth)
    assert r.status_code == 403, r.text
    assert "DENIED" in error_codes(r)
    r = await env.api("GET", f"/repository/{repo}", member)
    assert r.status_code == 404
    # a token issued before the removal lives at most its lifetime (300 s)
    claims = jwt_claims(old_token)
    assert claims["exp"] - claims["iat"] <= 300


async def _catalog(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    names: list[str] = []
    url: str | None = "/v2/_catalog?n=200"
    while url:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        names += r.json()["repositories"]
        link = r.headers.get("link")
        url = link.split(";")[0].strip("<> ") if link else None
    assert len(names) == len(set(names)), "catalog pages overlap"
    return names


async def test_catalog_lists_only_what_the_caller_may_see(world: World) -> None:
    env = world.env
    public = f"{world.users['owner'].name}/public-one"
    await env.repo(public, world.users["owner"], visibility="public")
    repo, personal = world.repo, world.personal_repo
    disabled_own = f"{world.users['disabled'].name}/own"
    expect: dict[str, tuple[set[str], set[str]]] = {
        # principal: (must see, must not see)
        "admin": ({repo, personal, public}, set()),
        "owner": ({repo, personal, public}, {disabled_own}),
        "orgadmin": ({repo, public}, {personal, disabled_own}),
        "member": ({repo, public}, {personal, disabled_own}),
        "stranger": ({public}, {repo, personal, disabled_own}),
        "robot_a": ({repo}, {personal, disabled_own}),
        "robot_b": (set(), {repo, personal, disabled_own}),
        "oauth": ({repo}, {personal, disabled_own}),
    }
    for principal, (must, must_not) in expect.items():
        for headers in (world.v2_headers[principal],):
            names = set(await _catalog(env.client, headers))
            assert must <= names, (principal, must - names)
            assert not (must_not & names), (principal, must_not & names)
        # through a registry token too
        r = await env.client.get(
            "/v2/auth",
            params={"service": "moorage", "scope": "registry:catalog:*"},
            headers=world.v2_headers[principal],
        )
        names = set(await _catalog(env.client, bearer(r.json()["token"])))
        assert must <= names, principal
        assert not must_not & names, principal
        # and the REST API's repository list
        r = await env.api("GET", "/repository", world.api_headers[principal], params={"limit": 500})
        listed = {x["full_name"] for x in r.json()["repositories"]}
        assert not (must_not & listed), (principal, must_not & listed)
    # anonymous: no catalog without credentials; a token shows public repositories only
    r = await env.client.get("/v2/_catalog")
    assert r.status_code == 401
    r = await env.client.get("/v2/auth", params={"service": "moorage", "scope": "registry:catalog:*"})
    names = set(await _catalog(env.client, bearer(r.json()["token"])))
    assert public in names
    assert not {repo, personal, disabled_own} & names
    r = await env.api("GET", "/repository")
    listed = {x["full_name"] for x in r.json()["repositories"]}
    assert not ({repo, personal, disabled_own} & listed)


class _Later(datetime):
    """datetime whose now() is 301 s ahead (for PyJWT's expiry check)."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        return datetime.now(tz) + timedelta(seconds=301)


def _advance(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the clocks of the credential caches and token checks ``seconds`` ahead."""
    mono, wall = time.monotonic, time.time
    fake = SimpleNamespace(monotonic=lambda: mono() + seconds, time=lambda: wall() + seconds)
    monkeypatch.setattr(v2_auth, "time", fake)
    monkeypatch.setattr(api_auth, "time", fake)
    monkeypatch.setattr(token_module, "time", fake)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _Later)


async def _disable(env: Env, user: User) -> None:
    await env.api("PUT", f"/superuser/users/{user.name}", env.admin, json_body={"enabled": False}, expect=200)


async def test_disabled_user_existing_token_ends_at_expiry(
    env: Env, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await env.user(uid, "dis")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    token = (await env.v2_token(user, f"repository:{repo}:pull")).json()["token"]
    claims = jwt_claims(token)
    assert claims["exp"] - claims["iat"] <= 300
    await _disable(env, user)
    _advance(monkeypatch, 301)
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token))
    assert r.status_code == 401, r.text
    assert "UNAUTHORIZED" in error_codes(r)


async def test_disabled_user_gets_no_new_token(env: Env, uid: str) -> None:
    """Refused at once, even right after a successful login (the Basic cache must not outlive the account)."""
    user = await env.user(uid, "dis")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    r = await env.v2_token(user, f"repository:{repo}:pull")
    assert r.status_code == 200
    await _disable(env, user)
    r = await env.v2_token(user, f"repository:{repo}:pull")
    assert r.status_code == 401, f"a disabled account was issued a registry token: {r.text[:200]}"


async def test_disabled_user_never_logged_in_is_refused_everywhere(env: Env, uid: str) -> None:
    user = await env.user(uid, "dis")
    await _disable(env, user)
    r = await env.v2_token(user, "repository:x/y:pull")
    assert r.status_code == 401
    r = await env.client.get("/v2/", headers=user.auth)
    assert r.status_code == 401
    r = await env.api("GET", "/user/", user)
    assert r.status_code == 401
    r = await env.client.post(
        "/v2/auth",
        data={
            "grant_type": "password",
            "username": user.name,
            "password": user.password,
            "service": "moorage",
        },
    )
    assert r.status_code == 401


async def test_disabled_user_basic_access_ends_within_cache_period(
    env: Env, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Basic logins are cached 30 s (/v2 and /api/v1): a disabled account keeps working at most that long."""
    user = await env.user(uid, "dis")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    r = await env.api("GET", "/user/", user)
    assert r.status_code == 200
    await _disable(env, user)
    _advance(monkeypatch, 31)
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=user.auth)
    assert r.status_code == 401, r.text
    r = await env.api("GET", "/user/", user)
    assert r.status_code == 401, r.text


async def test_disabled_user_refresh_token_refused(env: Env, uid: str) -> None:
    user = await env.user(uid, "dis")
    r = await env.client.get(
        "/v2/auth", params={"service": "moorage", "offline_token": "true"}, headers=user.auth
    )
    refresh = r.json()["refresh_token"]
    await _disable(env, user)
    r = await env.client.post(
        "/v2/auth", data={"grant_type": "refresh_token", "refresh_token": refresh, "service": "moorage"}
    )
    assert r.status_code == 401, r.text


async def test_oauth_token_never_exceeds_the_user(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    reader = await env.user(uid, "rdr")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    await env.grant(repo, "user", reader.name, "read", owner)
    token = await env.oauth_token(org, reader, ["repo:admin", "repo:write", "repo:create"], app_owner=owner)
    who = basic("$oauthtoken", token)
    r = await env.v2_token(who, f"repository:{repo}:pull,push,delete")
    assert granted(r.json()["token"], repo) == {"pull"}
    r = await env.client.post(f"/v2/{repo}/blobs/uploads/", headers=who)
    assert r.status_code == 403
    r = await env.api("PUT", f"/repository/{repo}", bearer(token), json_body={"description": "x"})
    assert r.status_code == 403
    r = await env.api("POST", "/repository", bearer(token), json_body={"namespace": org, "repository": "new"})
    assert r.status_code == 403
