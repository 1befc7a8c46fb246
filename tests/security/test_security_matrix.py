"""Run every cell of the security matrix, and fail when a route of the app has no row."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.api.support import Env
from tests.protocol.helpers import error_codes
from tests.security.matrix import API_ROWS, CONTROL_ROWS, ROWS, V2_ROWS, Row, fill, substitute
from tests.security.world import PRINCIPALS, World
from tests.support.routes import dispatcher_of, endpoints_of, missing_rows, probe_unlisted, stale_rows
from tests.support.state import changes, snapshot

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_SAMPLE = {
    "repo": "ns/app",
    "tag": "latest",
    "digest": "sha256:" + "a" * 64,
    "blob": "sha256:" + "b" * 64,
    "upload": "u-1",
}


# -- the meta-tests: every (route, method) the live app answers has a row, every row names a route
async def _coverage(env: Env, app: str, rows: set[tuple[str, str]]) -> None:
    endpoints = endpoints_of(env.app, app)
    missing = missing_rows(endpoints, rows)
    assert not missing, f"{app} routes without a row in tests/security/matrix.py: {missing}"
    stale = stale_rows(endpoints, rows)
    assert not stale, f"matrix rows for {app} routes that do not exist: {stale}"
    answered = await probe_unlisted(env.client, endpoints, rows)
    assert not answered, f"{app} answers methods that have no row in the security matrix: {answered}"


async def test_every_api_route_has_a_row(env: Env) -> None:
    assert len(endpoints_of(env.app, "api")) > 50
    await _coverage(env, "api", {(r.method, r.path) for r in API_ROWS})


async def test_every_control_route_has_a_row(env: Env) -> None:
    await _coverage(env, "control", {(r.method, r.path) for r in CONTROL_ROWS})


async def test_every_v2_route_has_a_row(env: Env) -> None:
    """/v2 rows name a route by the path they send: the live dispatcher says which route that is."""
    registry: Any = dispatcher_of(env.app).registry
    rows: set[tuple[str, str]] = set()
    for row in V2_ROWS:
        resolved = registry.resolve(fill(row.path, _SAMPLE))
        assert resolved is not None, f"{row.id()} lands on no /v2 route"
        rows.add((row.method, resolved[0].name))
    await _coverage(env, "registry", rows)


def test_every_row_names_every_principal() -> None:
    for row in ROWS:
        assert len(row.expected) == len(PRINCIPALS), row.id()


# -- the matrix
async def _values(world: World, row: Row, principal: str) -> dict[str, str]:
    values = world.base()
    # fresh objects only where the request is expected to succeed (refused requests change nothing)
    for fresh in row.fresh:
        if fresh.__name__.startswith("new_") or min(row.expect(principal)) < 400:
            values.update(await fresh(world))
    for placeholder, key in row.alias.items():
        values[placeholder] = values[key]
    return values


async def _request(world: World, row: Row, principal: str, values: dict[str, str]) -> httpx.Response:
    path = fill(row.path, values)
    params = substitute(row.params, values)
    headers = dict(row.headers)
    client = world.env.client
    if row.is_v2:
        if row.form is not None:  # the OAuth2 password grant carries the credentials in the form
            form = substitute(row.form, values)
            if principal == "oauth":
                form |= {"username": "$oauthtoken", "password": world.oauth_token}
            elif principal != "anon":
                who = world.users[principal]
                form |= {"username": who.name, "password": who.password}
            return await client.post(path, data=form)
        headers |= world.v2_headers[principal]
        content = world.manifest if row.content == b"{manifest}" else row.content
        return await client.request(row.method, path, headers=headers, params=params, content=content)
    headers |= world.api_headers[principal]
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if row.json is not None:
        kwargs["json"] = substitute(row.json, values)
    return await client.request(row.method, ("/api/v1" if row.app == "api" else "") + path, **kwargs)


def _problems(row: Row, principal: str, r: httpx.Response) -> str | None:
    expected = row.expect(principal)
    if r.status_code not in expected:
        return f"{principal}: expected {expected}, got {r.status_code}: {r.text[:200]}"
    if r.status_code < 400 or row.method == "HEAD" or row.app == "control":
        return None
    if row.is_v2:
        codes = error_codes(r)
        want = {401: "UNAUTHORIZED", 403: "DENIED"}.get(r.status_code)
        if want is not None and want not in codes:
            return f"{principal}: {r.status_code} without the {want} error code: {r.text[:200]}"
        challenge = r.headers.get("www-authenticate", "")
        if (
            r.status_code == 401
            and not row.path.startswith("/v2/auth")
            and not challenge.startswith("Bearer ")
        ):
            return f"{principal}: 401 without a Bearer challenge"
        return None
    if not r.headers["content-type"].startswith("application/problem+json"):
        return f"{principal}: error is not problem+json: {r.headers['content-type']}"
    body = r.json()
    if body.get("status") != r.status_code or not body.get("detail"):
        return f"{principal}: malformed problem {body}"
    return None


@pytest.mark.parametrize("row", ROWS, ids=Row.id)
async def test_matrix(world: World, row: Row) -> None:
    """One row: every principal, each with fresh objects where the request changes or destroys them;
    a refused write must leave every table and the storage as they were."""
    failures = []
    env = world.env
    for principal in PRINCIPALS:
        values = await _values(world, row, principal)
        unsafe = row.method in UNSAFE
        before = await snapshot(env.services.db, env.settings.resolved_storage_root) if unsafe else {}
        r = await _request(world, row, principal, values)
        problem = _problems(row, principal, r)
        if problem:
            failures.append(problem)
        if unsafe and r.status_code >= 400:
            changed = changes(before, await snapshot(env.services.db, env.settings.resolved_storage_root))
            if changed:
                failures.append(f"{principal}: refused with {r.status_code} but changed {changed}")
    assert not failures, f"{row.method} {row.path}:\n" + "\n".join(failures)
