"""Partial updates keep what they do not mention: one table over every PUT/PATCH route of /api/v1.

For each route and each field it can change, a fresh resource is set up, an update is sent that
omits that field (sending every other updatable field, the route's required keys and, where a Quay
client would send them, extra keys), and every field of the resource that the update did not name
must read back unchanged. A PUT/PATCH route of the API without a row here fails the meta-test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.api.support import Env, User, api_routes

Reader = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Target:
    who: User
    path: str  # the concrete PUT/PATCH path
    read: Reader  # the resource as the API shows it, keyed like the request body
    required: dict[str, Any] = field(default_factory=dict)  # required keys known only after setup


@dataclass
class Case:
    method: str
    route: str  # the route's path template, as FastAPI lists it
    setup: Callable[[Env, str], Awaitable[Target]]
    fields: dict[str, Any] = field(default_factory=dict)  # updatable key -> a valid new value
    required: dict[str, Any] = field(default_factory=dict)  # keys every request must carry
    extra: dict[str, Any] = field(default_factory=dict)  # keys Quay clients send that Moorage ignores
    status: int = 200


async def _json(env: Env, who: User, path: str, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    r = await env.api("GET", path, who, expect=200)
    body: dict[str, Any] = r.json()
    return {k: v for k, v in body.items() if k not in drop}


async def _org(env: Env, uid: str) -> tuple[User, str]:
    owner = await env.user(uid, "own")
    org = f"org-{uid}"
    await env.api(
        "POST", "/organization/", owner, json_body={"name": org, "email": "o@example.com"}, expect=201
    )
    return owner, org


async def user_target(env: Env, uid: str) -> Target:
    owner = await env.user(uid, "own")
    return Target(owner, "/user/", lambda: _json(env, owner, "/user/"))


async def org_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    return Target(owner, f"/organization/{org}", lambda: _json(env, owner, f"/organization/{org}"))


async def team_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    path = f"/organization/{org}/team/devs"
    await env.api("PUT", path, owner, json_body={"role": "creator", "description": "developers"}, expect=200)
    return Target(owner, path, lambda: _json(env, owner, path))


async def member_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    member = await env.user(uid, "mem")
    await env.team(org, "devs", "creator", member.name, who=owner)
    return Target(
        owner,
        f"/organization/{org}/team/devs/members/{member.name}",
        lambda: _json(env, owner, f"/organization/{org}/team/devs/members"),
    )


async def app_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    r = await env.api(
        "POST",
        f"/organization/{org}/applications",
        owner,
        json_body={
            "name": "ci",
            "redirect_uri": "https://ci.example.com/cb",
            "application_uri": "https://ci.example.com",
            "description": "builds",
        },
        expect=201,
    )
    path = f"/organization/{org}/applications/{r.json()['client_id']}"
    return Target(owner, path, lambda: _json(env, owner, path, drop=("client_secret",)))


async def permission_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    reader = await env.user(uid, "rd")
    await env.repo(f"{org}/app", owner)
    path = f"/repository/{org}/app/permissions/user/{reader.name}"
    await env.api("PUT", path, owner, json_body={"role": "read"}, expect=200)
    return Target(owner, path, lambda: _json(env, owner, path))


async def prototype_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    creator = await env.user(uid, "cr")
    await env.team(org, "devs", "member", who=owner)
    r = await env.api(
        "POST",
        f"/organization/{org}/prototypes",
        owner,
        json_body={
            "role": "read",
            "delegate": {"kind": "team", "name": "devs"},
            "activating_user": {"name": creator.name},
        },
        expect=201,
    )
    proto_id = r.json()["id"]

    async def read() -> dict[str, Any]:
        listed = await _json(env, owner, f"/organization/{org}/prototypes")
        found: list[dict[str, Any]] = [p for p in listed["prototypes"] if p["id"] == proto_id]
        assert len(found) == 1, listed
        return found[0]

    return Target(owner, f"/organization/{org}/prototypes/{proto_id}", read)


EXPIRY = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()
LATER = (datetime.now(UTC) + timedelta(days=60)).replace(microsecond=0).isoformat()


async def org_robot_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    path = f"/organization/{org}/robots/builder"
    await env.api("PUT", path, owner, json_body={"description": "ci", "expiration": EXPIRY}, expect=201)
    return Target(owner, path, lambda: _json(env, owner, path, drop=("token", "docker_login")))


async def user_robot_target(env: Env, uid: str) -> Target:
    owner = await env.user(uid, "own")
    path = "/user/robots/builder"
    await env.api("PUT", path, owner, json_body={"description": "ci", "expiration": EXPIRY}, expect=201)
    return Target(owner, path, lambda: _json(env, owner, path, drop=("token", "docker_login")))


async def superuser_user_target(env: Env, uid: str) -> Target:
    user = await env.user(uid, "acct")  # e-mail acct-<uid>@example.com, enabled, not a superuser
    path = f"/superuser/users/{user.name}"

    async def read() -> dict[str, Any]:
        shown = await _json(env, env.admin, path, drop=("locked_until",))
        # the password is write-only: it kept its value when the first password still verifies
        shown["password"] = await env.services.users.authenticate(user.name, user.password) is not None
        return shown

    return Target(env.admin, path, read)


async def repository_target(env: Env, uid: str) -> Target:
    owner, org = await _org(env, uid)
    await env.api(
        "POST",
        "/repository",
        owner,
        json_body={"namespace": org, "repository": "app", "visibility": "private", "description": "keep me"},
        expect=201,
    )
    return Target(owner, f"/repository/{org}/app", lambda: _json(env, owner, f"/repository/{org}/app"))


async def tag_target(env: Env, uid: str) -> Target:
    owner = await env.user(uid, "own")
    repo = f"{owner.name}/app"
    digest = await env.push(repo, "v1", owner)
    await env.api("PUT", f"/repository/{repo}", owner, json_body={"description": "keep me"}, expect=200)
    return Target(
        owner,
        f"/repository/{repo}/tag/v2",
        # a new tag legitimately changes the count; everything else about the repository stays
        lambda: _json(env, owner, f"/repository/{repo}", drop=("tag_count",)),
        required={"manifest_digest": digest},
    )


async def _policy_target(env: Env, uid: str, kind: str, scope: str) -> Target:
    """An auto-prune policy ("autoprune") or immutability rule ("immutability") of an organization,
    the caller's user namespace or a repository, with non-default optional fields."""
    owner, org = await _org(env, uid)
    if scope == "repo":
        await env.api(
            "POST",
            "/repository",
            owner,
            json_body={"namespace": org, "repository": "app", "visibility": "private"},
            expect=201,
        )
    base = {"org": f"/organization/{org}", "user": "/user", "repo": f"/repository/{org}/app"}[scope]
    body: dict[str, Any] = {"tagPattern": "^dev-", "tagPatternMatches": False}
    if kind == "autoprune":
        body |= {"method": "number_of_tags", "value": 5}
    r = await env.api("POST", f"{base}/{kind}policy/", owner, json_body=body, expect=201)
    path = f"{base}/{kind}policy/{r.json()['uuid']}"
    return Target(owner, path, lambda: _json(env, owner, path))


def policy_target(kind: str, scope: str) -> Callable[[Env, str], Awaitable[Target]]:
    async def setup(env: Env, uid: str) -> Target:
        return await _policy_target(env, uid, kind, scope)

    return setup


async def _quota(env: Env, uid: str) -> tuple[str, int, int]:
    """An organization with a quota (1 GB) and one Warning limit at 80 %: (org, quota id, limit id)."""
    _, org = await _org(env, uid)
    r = await env.api(
        "POST", f"/organization/{org}/quota", env.admin, json_body={"limit_bytes": 10**9}, expect=201
    )
    quota_id = r.json()["id"]
    r = await env.api(
        "POST",
        f"/organization/{org}/quota/{quota_id}/limit",
        env.admin,
        json_body={"type": "Warning", "threshold_percent": 80},
        expect=201,
    )
    return org, quota_id, r.json()["id"]


async def quota_target(env: Env, uid: str) -> Target:
    org, quota_id, _ = await _quota(env, uid)
    path = f"/organization/{org}/quota/{quota_id}"
    return Target(env.admin, path, lambda: _json(env, env.admin, path))


async def quota_limit_target(env: Env, uid: str) -> Target:
    org, quota_id, limit_id = await _quota(env, uid)
    path = f"/organization/{org}/quota/{quota_id}/limit/{limit_id}"

    async def read() -> dict[str, Any]:
        shown = await _json(env, env.admin, path)
        shown["threshold_percent"] = shown.pop("limit_percent")  # Quay's name when read, not when sent
        return shown

    return Target(env.admin, path, read)


SCOPES = (("org", "/organization/{org}"), ("user", "/user"), ("repo", "/repository/{repo}"))

CASES = [
    Case(
        "PUT",
        "/organization/{org}",
        org_target,
        {"email": "new@example.com", "tag_expiration_s": 86400},
    ),
    Case("PUT", "/user/", user_target, {"tag_expiration_s": 7 * 86400}),
    Case(
        "PUT",
        "/organization/{org}/team/{team}",
        team_target,
        {"role": "admin", "description": "changed"},
        extra={"name": "devs"},
    ),
    Case("PUT", "/organization/{org}/team/{team}/members/{member}", member_target),
    Case(
        "PUT",
        "/organization/{org}/applications/{client_id}",
        app_target,
        {
            "name": "renamed",
            "redirect_uri": "https://other.example.com/cb",
            "application_uri": "https://other.example.com",
            "description": "changed",
        },
    ),
    Case(
        "PUT",
        "/repository/{repo}/permissions/{kind}/{name}",
        permission_target,
        required={"role": "write"},
    ),
    Case(
        "PUT", "/organization/{org}/prototypes/{prototype_id}", prototype_target, required={"role": "write"}
    ),
    # robots are created by PUT, never changed by it: a second PUT is refused and changes nothing
    Case(
        "PUT",
        "/organization/{org}/robots/{shortname}",
        org_robot_target,
        {"description": "changed", "expiration": LATER},
        status=409,
    ),
    Case(
        "PUT",
        "/user/robots/{shortname}",
        user_robot_target,
        {"description": "changed", "expiration": LATER},
        status=409,
    ),
    Case(
        "PUT",
        "/superuser/users/{username}",
        superuser_user_target,
        {"email": "new@example.com", "enabled": True, "super_user": False, "password": "a-new-password-1"},
    ),
    Case("PUT", "/repository/{repo}", repository_target, {"description": "changed"}),
    Case("PUT", "/repository/{repo}/tag/{tag}", tag_target),
    *(
        Case(
            "PUT",
            f"{prefix}/autoprunepolicy/{{policy_uuid}}",
            policy_target("autoprune", scope),
            {"tagPattern": "^rc-", "tagPatternMatches": True},
            required={"method": "number_of_tags", "value": 7},
            status=204,
        )
        for scope, prefix in SCOPES
    ),
    *(
        Case(
            "PUT",
            f"{prefix}/immutabilitypolicy/{{policy_uuid}}",
            policy_target("immutability", scope),
            {"tagPatternMatches": True},
            required={"tagPattern": "^rel-"},
            status=204,
        )
        for scope, prefix in SCOPES
    ),
    Case("PUT", "/organization/{org}/quota/{quota_id}", quota_target, required={"limit_bytes": 2 * 10**9}),
    Case(
        "PUT",
        "/organization/{org}/quota/{quota_id}/limit/{limit_id}",
        quota_limit_target,
        {"type": "Reject", "threshold_percent": 90},
    ),
]


def _case_id(case: Case) -> str:
    return f"{case.method} {case.route}"


def _runs() -> list[Any]:
    out = []
    for case in CASES:
        omissions: list[str | None] = [*case.fields] or [None]
        for omitted in omissions:
            out.append(
                pytest.param(case, omitted, id=f"{_case_id(case)} without {omitted or 'optional keys'}")
            )
    return out


@pytest.mark.parametrize(("case", "omitted"), _runs())
async def test_absent_keys_keep_their_value(env: Env, uid: str, case: Case, omitted: str | None) -> None:
    target = await case.setup(env, uid)
    before = await target.read()
    for key in case.fields:
        assert key in before, f"{_case_id(case)}: the resource does not show {key!r}: {before}"
    required = {**case.required, **target.required}
    body = {**case.extra, **required, **{k: v for k, v in case.fields.items() if k != omitted}}
    await env.api(case.method, target.path, target.who, json_body=body, expect=case.status)
    after = await target.read()
    sent = set(body) if case.status < 300 else set()
    changed = {k: (before[k], after.get(k)) for k in before if k not in sent and after.get(k) != before[k]}
    assert not changed, f"{_case_id(case)} with {body} changed keys it was not given: {changed}"
    if case.status < 300:
        for key, value in {**required, **case.fields}.items():
            if key in body and key in after and key != "password":
                assert after[key] == value, (key, after)


def test_every_update_route_has_a_row(env: Env) -> None:
    rows = {(c.method, c.route) for c in CASES}
    routes = set()
    for prefix, route in api_routes(env.settings):
        for method in getattr(route, "methods", None) or ():
            if method in ("PUT", "PATCH"):
                routes.add((method, (prefix + route.path).replace(":path}", "}")))
    missing = routes - rows
    assert not missing, f"update routes without a row in the partial-update table: {sorted(missing)}"
    assert not rows - routes, f"rows for routes that do not exist: {sorted(rows - routes)}"
