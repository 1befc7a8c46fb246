"""Revocation: credentials must not outlive what revokes them (issue 7).

Each case revokes a credential through the REST API of the running app and checks, at once, every
token that was derived from it: offline refresh tokens, registry bearer tokens (5 minutes), cached
Basic logins on /v2 (30 s), UI sessions, application and OAuth tokens.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import event
from tests.api.support import Env, User, granted, jwt_claims
from tests.protocol.helpers import basic, bearer, error_codes

import moorage.api.auth as api_auth
import moorage.identity.revocation as revocation_module
import moorage.identity.robots as robots_module
import moorage.identity.tokens as token_module
import moorage.protocol.auth as v2_auth
from moorage.registry.cache import ACL_SLOT
from moorage.ui.session import SESSION_COOKIE

SERVICE = "moorage"


async def _offline_token(env: Env, user: User) -> str:
    r = await env.client.get(
        "/v2/auth", params={"service": SERVICE, "offline_token": "true"}, headers=user.auth
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["refresh_token"]
    return token


async def _refresh(env: Env, refresh_token: str, scope: str) -> httpx.Response:
    return await env.client.post(
        "/v2/auth",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "service": SERVICE,
            "scope": scope,
        },
    )


async def _bearer_token(env: Env, who: User | dict[str, str], scope: str) -> str:
    r = await env.v2_token(who, scope)
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


async def _set_password(env: Env, user: User, password: str) -> User:
    await env.api(
        "PUT", f"/superuser/users/{user.name}", env.admin, json_body={"password": password}, expect=200
    )
    return User(user.name, password)


async def _set_enabled(env: Env, user: User, enabled: bool) -> None:
    await env.api(
        "PUT", f"/superuser/users/{user.name}", env.admin, json_body={"enabled": enabled}, expect=200
    )


def _refused(r: httpx.Response) -> None:
    assert r.status_code == 401, (r.status_code, r.text[:300])
    assert "UNAUTHORIZED" in error_codes(r)


# -- password change ----------------------------------------------------------------------------


async def test_password_change_ends_offline_refresh_token(env: Env, uid: str) -> None:
    user = await env.user(uid, "pwr")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    refresh = await _offline_token(env, user)
    r = await _refresh(env, refresh, f"repository:{repo}:pull")
    assert r.status_code == 200, r.text
    assert granted(r.json()["token"], repo) == {"pull"}

    await _set_password(env, user, "a-new-password-1")
    r = await _refresh(env, refresh, f"repository:{repo}:pull")
    assert r.status_code == 401, f"a refresh token outlived a password change: {r.text[:200]}"
    # the new password gets a new refresh token, which works
    new = await _offline_token(env, User(user.name, "a-new-password-1"))
    assert (await _refresh(env, new, f"repository:{repo}:pull")).status_code == 200


async def test_password_change_ends_outstanding_bearer_tokens(env: Env, uid: str) -> None:
    """A 5-minute registry token issued before the change is refused at once, not at expiry."""
    user = await env.user(uid, "pwb")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    token = await _bearer_token(env, user, f"repository:{repo}:pull,push")
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token))
    assert r.status_code == 200, r.text

    await _set_password(env, user, "a-new-password-2")
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    _refused(await env.client.post(f"/v2/{repo}/blobs/uploads/", headers=bearer(token)))
    # a token issued after the change works
    fresh = await _bearer_token(env, User(user.name, "a-new-password-2"), f"repository:{repo}:pull")
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(fresh))).status_code == 200


async def test_password_change_ends_sessions_and_tokens(env: Env, uid: str) -> None:
    """Sessions, application and OAuth tokens are bound to the credential generation too, so a
    password change by any route (here the REST API) ends them: the password may have leaked."""
    user = await env.user(uid, "pws")
    info = await env.services.users.get(user.name)
    assert info is not None
    session = await env.services.sessions.create(info.id, None, None)
    cookie = {"Cookie": f"{SESSION_COOKIE}={session.token}"}
    r = await env.api("POST", "/user/apptoken", user, json_body={"title": "ci"}, expect=201)
    app_token = r.json()["token"]["token_code"]
    org = (await env.org(uid, user)).name
    oauth = await env.oauth_token(org, user, ["repo:read", "user:read"], app_owner=user)
    for headers in (cookie, bearer(app_token), bearer(oauth)):
        assert (await env.client.get("/api/v1/user/", headers=headers)).status_code == 200
    assert (await env.client.get("/v2/", headers=basic("$app", app_token))).status_code == 200
    assert (await env.client.get("/v2/", headers=basic("$oauthtoken", oauth))).status_code == 200

    await _set_password(env, user, "a-new-password-3")
    for headers in (cookie, bearer(app_token), bearer(oauth)):
        r = await env.client.get("/api/v1/user/", headers=headers)
        assert r.status_code == 401, (headers, r.text)
    _refused(await env.client.get("/v2/", headers=basic("$app", app_token)))
    _refused(await env.client.get("/v2/", headers=basic("$oauthtoken", oauth)))


# -- disabling, re-enabling, deleting -------------------------------------------------------------


async def test_reenabling_an_account_does_not_revive_its_tokens(env: Env, uid: str) -> None:
    user = await env.user(uid, "ren")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    refresh = await _offline_token(env, user)
    token = await _bearer_token(env, user, f"repository:{repo}:pull")
    await _set_enabled(env, user, False)
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    await _set_enabled(env, user, True)
    assert (await _refresh(env, refresh, f"repository:{repo}:pull")).status_code == 401
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    # the account itself works again
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=user.auth)).status_code == 200


async def test_recreated_account_does_not_inherit_the_old_accounts_tokens(env: Env, uid: str) -> None:
    """Delete frank, create a new frank: the old frank's tokens must not open the new frank's
    private repositories (they were bound to the name before)."""
    frank = await env.user(uid, "frank")
    repo = f"{frank.name}/private"
    await env.push(repo, who=frank)
    refresh = await _offline_token(env, frank)
    token = await _bearer_token(env, frank, f"repository:{repo}:pull,push")
    assert granted(token, repo) == {"pull", "push"}
    catalog_token = await _bearer_token(env, frank, "registry:catalog:*")

    await env.api("DELETE", f"/superuser/users/{frank.name}", env.admin, expect=200)
    new_frank = User(frank.name, "the-new-franks-password")
    await env.api(
        "POST",
        "/superuser/users/",
        env.admin,
        json_body={"username": new_frank.name, "password": new_frank.password},
        expect=201,
    )
    await env.push(repo, "v2", who=new_frank)

    r = await _refresh(env, refresh, f"repository:{repo}:pull,push")
    assert r.status_code == 401, f"the old account's refresh token works for the new one: {r.text[:200]}"
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    _refused(await env.client.get(f"/v2/{repo}/manifests/v2", headers=bearer(token)))
    _refused(await env.client.post(f"/v2/{repo}/blobs/uploads/", headers=bearer(token)))
    _refused(await env.client.get("/v2/_catalog", headers=bearer(catalog_token)))
    # the new frank's own credentials work
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=new_frank.auth)).status_code == 200


# -- OAuth application deletion, application token revocation, robots ----------------------------


async def test_deleting_an_oauth_application_ends_its_logins_at_once(env: Env, uid: str) -> None:
    """Its ``$oauthtoken`` Basic login was cached 30 s on /v2; registry tokens obtained with it lived
    5 minutes. Both end with the application."""
    owner = await env.user(uid, "oao")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    r = await env.api(
        "POST", f"/organization/{org}/applications", owner, json_body={"name": "ci"}, expect=201
    )
    client_id = r.json()["client_id"]
    r = await env.api(
        "POST",
        f"/organization/{org}/applications/{client_id}/token",
        owner,
        json_body={"scopes": ["repo:read"]},
        expect=201,
    )
    who = basic("$oauthtoken", r.json()["access_token"])
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=who)).status_code == 200  # now cached
    token = await _bearer_token(env, who, f"repository:{repo}:pull")
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token))).status_code == 200

    await env.api("DELETE", f"/organization/{org}/applications/{client_id}", owner, expect=200)
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=who))
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    assert (await env.v2_token(who, f"repository:{repo}:pull")).status_code == 401


async def test_revoking_an_application_token_ends_registry_tokens_obtained_with_it(
    env: Env, uid: str
) -> None:
    user = await env.user(uid, "apt")
    repo = f"{user.name}/app"
    await env.push(repo, who=user)
    r = await env.api("POST", "/user/apptoken", user, json_body={"title": "ci"}, expect=201)
    who = basic("$app", r.json()["token"]["token_code"])
    token = await _bearer_token(env, who, f"repository:{repo}:pull")
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token))).status_code == 200
    await env.api("DELETE", f"/user/apptoken/{r.json()['token']['uuid']}", user, expect=200)
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=who))
    # the user's own password is untouched
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=user.auth)).status_code == 200


async def test_regenerating_a_robot_token_ends_registry_tokens_obtained_with_the_old_one(
    env: Env, uid: str
) -> None:
    owner = await env.user(uid, "rgo")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    robot = await env.robot(org, "puller", owner)
    await env.grant(repo, "robot", robot.name, "read", owner)
    token = await _bearer_token(env, robot, f"repository:{repo}:pull")
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token))).status_code == 200
    await env.api("POST", f"/organization/{org}/robots/puller/regenerate", owner, expect=200)
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))


class _Ahead:
    """Clocks moved ``seconds`` ahead for the credential caches, token checks and robot expiry."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
        mono, wall = time.monotonic, time.time
        fake = SimpleNamespace(monotonic=lambda: mono() + seconds, time=lambda: wall() + seconds)
        for module in (v2_auth, api_auth, token_module, revocation_module):
            monkeypatch.setattr(module, "time", fake)

        class Later(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> Any:
                return datetime.now(tz) + timedelta(seconds=seconds)

        monkeypatch.setattr(robots_module, "datetime", Later)
        monkeypatch.setattr(jwt.api_jwt, "datetime", Later)


async def test_robot_expiry_ends_cached_login_and_tokens(
    env: Env, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A robot kept working 22.6 s past its expiration (the Basic cache lasts 30 s). Expiry is
    checked on every use, cache hits included, and caps the lifetime of its registry tokens."""
    owner = await env.user(uid, "rxo")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.push(repo, who=owner)
    expires = datetime.now(UTC) + timedelta(seconds=20)
    robot = await env.robot(org, "shortlived", owner, expiration=expires.isoformat())
    await env.grant(repo, "robot", robot.name, "read", owner)
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=robot.auth)).status_code == 200  # cached
    token = await _bearer_token(env, robot, f"repository:{repo}:pull")
    assert (await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token))).status_code == 200

    _Ahead(monkeypatch, 25)  # past the expiry, within the Basic cache's 30 s
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=robot.auth))
    _refused(await env.client.get(f"/v2/{repo}/tags/list", headers=bearer(token)))
    r = await env.api("GET", f"/repository/{repo}", robot)
    assert r.status_code == 401, r.text
    claims = jwt_claims(token)
    assert claims["exp"] <= expires.timestamp() + 1, "a robot's registry token outlives the robot"


# -- scopes ---------------------------------------------------------------------------------------


async def _catalog(env: Env, headers: dict[str, str]) -> set[str]:
    names: list[str] = []
    url: str | None = "/v2/_catalog?n=500"
    while url:
        r = await env.client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        names += r.json()["repositories"]
        link = r.headers.get("link")
        url = link.split(";")[0].strip("<> ") if link else None
    return set(names)


async def test_scope_limited_oauth_token_lists_no_private_repositories(env: Env, uid: str) -> None:
    """A registry token for ``registry:catalog:*`` obtained with an OAuth token whose only scope is
    ``user:read`` listed the user's private repositories: the catalog resolved the token's subject
    to the full user. The token now carries the scopes and the catalog honours them."""
    user = await env.user(uid, "scp")
    org = (await env.org(uid, user)).name
    private, public = f"{user.name}/private", f"{user.name}/public"
    await env.push(private, who=user)
    await env.repo(public, user, visibility="public")
    limited = basic("$oauthtoken", await env.oauth_token(org, user, ["user:read"], app_owner=user))
    reader = basic("$oauthtoken", await env.oauth_token(org, user, ["repo:read"], app_owner=user))

    token = await _bearer_token(env, limited, "registry:catalog:*")
    names = await _catalog(env, bearer(token))
    assert private not in names, "a user:read token listed a private repository"
    assert public in names
    assert jwt_claims(token).get("scp") == ["user:read"]  # the token carries the credential's scopes
    assert private not in await _catalog(env, limited)  # Basic with the same token
    # nor may it read or write the repository by any route
    token = await _bearer_token(env, limited, f"repository:{private}:pull,push")
    assert granted(token, private) == set()
    r = await env.client.get(f"/v2/{private}/tags/list", headers=limited)
    assert r.status_code == 403, r.text
    # a repo:read token sees and pulls it, but cannot push
    token = await _bearer_token(env, reader, "registry:catalog:*")
    assert private in await _catalog(env, bearer(token))
    token = await _bearer_token(env, reader, f"repository:{private}:pull,push")
    assert granted(token, private) == {"pull"}
    assert (await env.client.get(f"/v2/{private}/tags/list", headers=bearer(token))).status_code == 200
    r = await env.client.post(f"/v2/{private}/blobs/uploads/", headers=bearer(token))
    assert r.status_code == 401, r.text


# -- the per-process check costs no query while nothing changes -----------------------------------


async def test_bearer_token_check_is_cached_until_a_revocation(env: Env, uid: str) -> None:
    """Bearer tokens are checked against the account's cached credential generation; the cache
    lives until the ACL generation moves (any revocation), then the database is asked once."""
    if not env.services.repositories.cache.enabled:
        pytest.skip("the read cache is off on this backend (no shared generation table)")
    user = await env.user(uid, "cch")
    token = await _bearer_token(env, user, "registry:catalog:*")
    claims = env.services.registry.tokens.verify(token)
    revocations = env.services.registry.revocations
    queries: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        queries.append(statement)

    engine = env.services.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert await revocations.still_valid(claims)
        first = len(queries)
        assert first >= 1
        for _ in range(20):
            assert await revocations.still_valid(claims)
        assert len(queries) == first, "a bearer token check queried the database with nothing changed"
        # the app (another set of services on the same data) changes the password: the shared
        # ACL generation moves and this process's cached state is read again, once
        before = env.services.repositories.cache.generation(ACL_SLOT)
        await _set_password(env, user, "a-new-password-4")
        assert env.services.repositories.cache.generation(ACL_SLOT) != before
        assert not await revocations.still_valid(claims)
        assert len(queries) > first
    finally:
        event.remove(engine, "before_cursor_execute", count)
