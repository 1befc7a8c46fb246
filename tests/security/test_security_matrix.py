"""Run every cell of the security matrix, and fail when a route of the app has no row."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route
from tests.api.support import Env, api_routes
from tests.protocol.helpers import error_codes
from tests.security.matrix import API_ROWS, ROWS, V2_ROWS, Row, fill, substitute
from tests.security.world import PRINCIPALS, World

from moorage.protocol.router import ROUTES

SPECIAL_V2 = {("GET", "base"), ("GET", "auth"), ("POST", "auth"), ("GET", "catalog")}


def _v2_route(path: str) -> str:
    """The name of the /v2 route a concrete path lands on (as RegistryApp._handle decides)."""
    if path in ("/v2", "/v2/"):
        return "base"
    if path == "/v2/auth":
        return "auth"
    if path == "/v2/_catalog":
        return "catalog"
    for route in ROUTES:
        if route.pattern.match(path):
            return route.name
    return "unknown"


_SAMPLE = {
    "repo": "ns/app",
    "tag": "latest",
    "digest": "sha256:" + "a" * 64,
    "blob": "sha256:" + "b" * 64,
    "upload": "u-1",
}


# -- the meta-tests: every route has a row, every row names a route
def test_every_api_route_has_a_row(env: Env) -> None:
    rows = {(r.method, r.path) for r in API_ROWS}
    missing: list[str] = []
    known: set[tuple[str, str]] = set()
    routes = api_routes(env.settings)
    assert len(routes) > 50, routes
    for prefix, route in routes:
        path = prefix + route.path
        if isinstance(route, Mount):
            if not any(p.startswith(path + "/") for _, p in rows):
                missing.append(f"* {path}/...")
            known |= {(m, p) for m, p in rows if p.startswith(path + "/")}
            continue
        assert isinstance(route, Route), route
        for method in sorted(route.methods or ()):
            known.add((method, path))
            if (method, path) not in rows:
                missing.append(f"{method} {path}")
    assert not missing, f"routes without a row in the security matrix: {missing}"
    stale = rows - known
    assert not stale, f"matrix rows for routes the API does not have: {sorted(stale)}"


def test_every_v2_route_has_a_row() -> None:
    covered = {(r.method, _v2_route(fill(r.path, _SAMPLE))) for r in V2_ROWS}
    assert ("GET", "unknown") not in covered
    wanted = {(m, route.name) for route in ROUTES for m in route.methods} | SPECIAL_V2
    missing = wanted - covered
    assert not missing, f"/v2 routes without a row in the security matrix: {sorted(missing)}"
    stale = covered - wanted
    assert not stale, f"matrix rows for /v2 routes that do not exist: {sorted(stale)}"


def test_every_row_names_every_principal() -> None:
    for row in ROWS:
        assert len(row.expected) == len(PRINCIPALS), row.id()


# -- the matrix
async def _request(world: World, row: Row, principal: str) -> httpx.Response:
    values = world.base()
    # fresh objects only where the request is expected to succeed (refused requests change nothing)
    for fresh in row.fresh:
        if fresh.__name__.startswith("new_") or min(row.expect(principal)) < 400:
            values.update(await fresh(world))
    for placeholder, key in row.alias.items():
        values[placeholder] = values[key]
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
    return await client.request(row.method, "/api/v1" + path, **kwargs)


def _problems(row: Row, principal: str, r: httpx.Response) -> str | None:
    expected = row.expect(principal)
    if r.status_code not in expected:
        return f"{principal}: expected {expected}, got {r.status_code}: {r.text[:200]}"
    if r.status_code < 400 or row.method == "HEAD":
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
    """One row: every principal, each with fresh objects where the request changes or destroys them."""
    failures = []
    for principal in PRINCIPALS:
        r = await _request(world, row, principal)
        problem = _problems(row, principal, r)
        if problem:
            failures.append(problem)
    assert not failures, f"{row.method} {row.path}:\n" + "\n".join(failures)
