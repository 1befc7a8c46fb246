"""In-process protocol fixtures: one Moorage app per backend (SQLite, PostgreSQL) for the session.

Every test in tests/protocol runs on the session event loop, so the app, its database pools and the
Basic-credential cache are built once per backend. Tests isolate themselves with distinct repository
names (the ``uid`` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.types import ASGIApp, Message
from tests.protocol.helpers import ADMIN, ALICE

from moorage.app import Services, build_services, create_app
from moorage.config import Settings, load_settings
from moorage.db.migrate import upgrade_async

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pytest_asyncio.is_async_test(item) and here in Path(str(item.path)).parents:
            item.add_marker(session_loop, append=False)


class Lifespan:
    """Drive an ASGI app's lifespan (ASGITransport does not), so the app disposes its pools."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lifespan:
        scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

        async def run() -> None:
            await self.app(scope, self._to_app.get, self._from_app.put)

        self._task = asyncio.create_task(run())
        await self._to_app.put({"type": "lifespan.startup"})
        msg = await self._from_app.get()
        assert msg["type"] == "lifespan.startup.complete", msg
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        msg = await self._from_app.get()
        assert msg["type"] == "lifespan.shutdown.complete", msg
        assert self._task is not None
        await self._task


@dataclass
class Registry:
    backend: str
    settings: Settings
    services: Services  # a second service set on the same database/storage, for direct setup
    app: ASGIApp
    client: httpx.AsyncClient

    @contextlib.asynccontextmanager
    async def new_client(self) -> AsyncIterator[httpx.AsyncClient]:
        """Another connection to the same server process (a client that reconnected)."""
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver"
        ) as client:
            yield client

    @contextlib.asynccontextmanager
    async def restarted(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client talking to a second, freshly built app on the same data (a restarted server)."""
        app = create_app(self.settings)
        async with (
            Lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            yield client


@pytest.fixture(scope="session", params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    backend: str = request.param
    data_dir = tmp_path_factory.mktemp(f"moorage-{backend}")
    database_url = None
    if backend == "postgres":
        database_url = request.getfixturevalue("postgres_database_url")
    # many tests send wrong credentials on purpose from the same client address: keep the login
    # throttle out of their way (tests/protocol/test_v2_throttle.py checks it with its own settings)
    return load_settings(
        None,
        data_dir=data_dir,
        database_url=database_url,
        fsync=False,
        login_delay_after=100_000,
        login_lock_after=100_000,
        login_ip_delay_after=100_000,
        login_ip_lock_after=100_000,
        jobs_in_server=False,  # the registry protocol needs no background jobs
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def registry(backend_settings: Settings) -> AsyncIterator[Registry]:
    settings = backend_settings
    backend = "sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgres"
    await upgrade_async(settings.resolved_database_url)
    services = build_services(settings)
    # the PostgreSQL database is shared by every suite of the session: create the users once
    if await services.registry.users.get(ADMIN[0]) is None:
        await services.registry.users.create(ADMIN[0], ADMIN[1], superuser=True)
    if await services.registry.users.get(ALICE[0]) is None:
        await services.registry.users.create(ALICE[0], ALICE[1])
    app = create_app(settings)
    try:
        async with (
            Lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            yield Registry(backend, settings, services, app, client)
    finally:
        await services.db.dispose()


@pytest.fixture
def uid() -> str:
    """A short unique token for repository names of one test."""
    return "t" + secrets.token_hex(5)


@pytest.fixture
def client(registry: Registry) -> httpx.AsyncClient:
    return registry.client
