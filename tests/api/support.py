"""Shared fixtures and helpers of the REST API (tests/api) and security (tests/security) suites.

One Moorage app per backend (SQLite, PostgreSQL) per suite directory, built once for the session
and reached in-process through httpx's ASGI transport. Tests create their own users, organizations
and repositories with unique names (``uid``), so they never depend on each other. Both conftest
files import the fixtures defined here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.types import ASGIApp
from tests.protocol.conftest import BACKENDS, Lifespan
from tests.protocol.helpers import ADMIN, basic, push_image

from moorage.api.app import create_api
from moorage.app import Services, api_context, build_services, create_app
from moorage.config import Settings, load_settings
from moorage.db.migrate import upgrade_async
from moorage.domain.errors import Conflict
from moorage.jobs.queue import JobQueue, JobRecord

PROBLEM = "application/problem+json"

__all__ = [
    "BACKENDS",
    "PROBLEM",
    "Env",
    "Lifespan",
    "Org",
    "User",
    "api_routes",
    "backend_settings",
    "build_env",
    "env",
    "mark_session_loop",
    "uid",
]


def mark_session_loop(items: list[pytest.Item], here: Path) -> None:
    """Run every async test under ``here`` on the session event loop (the app lives there)."""
    import pytest_asyncio as pa

    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pa.is_async_test(item) and here in Path(str(item.path)).parents:
            item.add_marker(session_loop, append=False)


def settings_for(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "login_delay_after": 100_000,
        "login_lock_after": 100_000,
        "login_ip_delay_after": 100_000,
        "login_ip_lock_after": 100_000,
        # no embedded job worker: a job a test queues stays as the test left it (the security matrix
        # checks that refused requests change nothing); job tests run a worker themselves
        "jobs_in_server": False,
    }
    values.update(overrides)
    return load_settings(None, data_dir=data_dir, database_url=database_url, fsync=False, **values)


@pytest.fixture(scope="session", params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    backend: str = request.param
    database_url = request.getfixturevalue("postgres_database_url") if backend == "postgres" else None
    return settings_for(tmp_path_factory.mktemp(f"moorage-api-{backend}"), database_url)


@dataclass
class User:
    name: str
    password: str

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.name, self.password)


@dataclass
class Org:
    name: str
    owner: User


@dataclass
class Env:
    backend: str
    settings: Settings
    services: Services  # a second service set on the same database, for direct setup
    app: ASGIApp
    client: httpx.AsyncClient
    admin: User = field(default_factory=lambda: User(*ADMIN))

    # -- requests
    async def api(
        self,
        method: str,
        path: str,
        who: User | Mapping[str, str] | None = None,
        *,
        json_body: Any = None,
        params: Any = None,
        expect: int | None = None,
    ) -> httpx.Response:
        headers = who.auth if isinstance(who, User) else dict(who or {})
        r = await self.client.request(
            method, f"/api/v1{path}", headers=headers, json=json_body, params=params
        )
        if expect is not None:
            assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r

    # -- setup through the API
    async def user(self, uid: str, label: str = "u", *, superuser: bool = False) -> User:
        name = f"{label}-{uid}"
        u = User(name, f"pw-{name}-secret")
        await self.api(
            "POST",
            "/superuser/users/",
            self.admin,
            json_body={
                "username": u.name,
                "password": u.password,
                "email": f"{name}@example.com",
                "super_user": superuser,
            },
            expect=201,
        )
        return u

    async def org(self, uid: str, owner: User, label: str = "org") -> Org:
        name = f"{label}-{uid}"
        await self.api("POST", "/organization/", owner, json_body={"name": name, "email": None}, expect=201)
        return Org(name, owner)

    async def team(self, org: str, team: str, role: str, *members: str, who: User | None = None) -> None:
        who = who or self.admin
        await self.api("PUT", f"/organization/{org}/team/{team}", who, json_body={"role": role}, expect=200)
        for m in members:
            await self.api("PUT", f"/organization/{org}/team/{team}/members/{m}", who, expect=200)

    async def robot(self, namespace: str, short: str, who: User | None = None, **body: Any) -> User:
        who = who or self.admin
        r = await self.api(
            "PUT", f"/organization/{namespace}/robots/{short}", who, json_body=body, expect=201
        )
        return User(f"{namespace}+{short}", r.json()["token"])

    async def repo(self, name: str, who: User | None = None, visibility: str = "private") -> None:
        ns, _, short = name.partition("/")
        await self.api(
            "POST",
            "/repository",
            who or self.admin,
            json_body={"namespace": ns, "repository": short, "visibility": visibility},
            expect=201,
        )

    async def grant(self, repo: str, kind: str, name: str, role: str, who: User | None = None) -> None:
        await self.api(
            "PUT",
            f"/repository/{repo}/permissions/{kind}/{name}",
            who or self.admin,
            json_body={"role": role},
            expect=200,
        )

    async def oauth_token(self, org: str, who: User, scopes: list[str], app_owner: User | None = None) -> str:
        r = await self.api(
            "POST",
            f"/organization/{org}/applications",
            app_owner or self.admin,
            json_body={"name": "app"},
            expect=201,
        )
        client_id = r.json()["client_id"]
        r = await self.api(
            "POST",
            f"/organization/{org}/applications/{client_id}/token",
            who,
            json_body={"scopes": scopes},
            expect=201,
        )
        token: str = r.json()["access_token"]
        return token

    async def push(self, name: str, tag: str = "latest", who: User | None = None) -> str:
        image = await push_image(self.client, name, tag, headers=(who or self.admin).auth)
        return image.digest

    async def v2_token(self, who: User | Mapping[str, str] | None, *scopes: str) -> httpx.Response:
        headers = who.auth if isinstance(who, User) else dict(who or {})
        params: list[tuple[str, str | int | float | bool | None]] = [("service", "moorage")]
        params += [("scope", s) for s in scopes]
        return await self.client.get("/v2/auth", params=params, headers=headers)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return claims


def granted(token: str, repo: str) -> set[str]:
    out: set[str] = set()
    for entry in jwt_claims(token).get("access", []):
        if entry.get("type") == "repository" and entry.get("name") == repo:
            out.update(entry.get("actions", []))
    return out


def assert_problem(r: httpx.Response, status: int, detail_contains: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
    if detail_contains is not None:
        assert detail_contains.lower() in body["detail"].lower(), body
    return body


async def build_env(settings: Settings) -> AsyncIterator[Env]:
    backend = "sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgres"
    await upgrade_async(settings.resolved_database_url)
    services = build_services(settings)
    # another suite of this session may have created it on the shared PostgreSQL database
    with contextlib.suppress(Conflict):
        await services.users.create(ADMIN[0], ADMIN[1], superuser=True)
    app = create_app(settings)
    try:
        async with (
            Lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            yield Env(backend, settings, services, app, client)
    finally:
        await services.db.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env(backend_settings: Settings) -> AsyncIterator[Env]:
    async for e in build_env(backend_settings):
        yield e


@pytest.fixture
def uid() -> str:
    return "t" + secrets.token_hex(5)


def _flatten(routes: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(path prefix, route) for every route, descending into included routers (FastAPI >= 0.165
    keeps an included router as one ``_IncludedRouter`` entry instead of copying its routes)."""
    out: list[tuple[str, Any]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            out += _flatten(list(inner.routes), prefix + str(getattr(context, "prefix", "") or ""))
        else:
            out.append((prefix, route))
    return out


def api_routes(settings: Settings) -> list[tuple[str, Any]]:
    """(prefix, route) of every route the REST API app has (for the security matrix meta-test)."""
    services = build_services(settings)
    return _flatten(list(create_api(api_context(services)).routes))


async def claim_job(queue: JobQueue, owner: str, job_id: int, kind: str) -> JobRecord:
    """Claim job ``job_id`` as ``owner``, as a worker would. The suite shares one database: due jobs
    that earlier tests left (a retried job is due at once) are claimed first by age, so they are
    put back (released: queued as before, the attempt not counted) once ours is held."""
    others: list[int] = []
    try:
        for _ in range(1000):
            claimed = await queue.claim(owner, [kind])
            assert claimed is not None, f"job {job_id} is not claimable"
            if claimed.id == job_id:
                return claimed
            others.append(claimed.id)
        raise AssertionError(f"job {job_id} was not claimed among 1000 due {kind} jobs")
    finally:
        for other in others:
            await queue.release(other, owner)
