"""Shared test configuration: import path, hypothesis profile, PostgreSQL test databases.

The PostgreSQL helpers live here (not in tests/protocol) so that any suite can ask for a throw-away
database: ``MOORAGE_TEST_PG_URL`` names the server (default: trust auth as ``postgres`` on
127.0.0.1:5432); ``MOORAGE_TEST_SKIP_POSTGRES=1`` skips the PostgreSQL half of parametrized tests
(a failure in CI, tests/support/tools.py).
Without that variable an unreachable server is a test failure, never a silent skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `tests.*` helpers without a tests/__init__.py
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

settings.register_profile(
    "moorage",
    deadline=None,
    database=None,  # no .hypothesis/ directory in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("moorage")


def postgres_admin_url() -> str:
    return os.environ.get("MOORAGE_TEST_PG_URL") or DEFAULT_PG_URL


def skip_postgres() -> bool:
    return os.environ.get("MOORAGE_TEST_SKIP_POSTGRES", "") not in ("", "0", "false", "no")


def _with_database(url: str, database: str) -> str:
    base, _, tail = url.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{base}/{database}{query}"


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def _fresh_postgres_database() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    if skip_postgres():
        from tests.support.tools import missing

        missing("MOORAGE_TEST_SKIP_POSTGRES is set")
    admin = postgres_admin_url()
    name = f"moorage_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_create_database(admin, name))
    except (TimeoutError, OSError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {admin} ({type(exc).__name__}: {exc}). Start it, point "
            "MOORAGE_TEST_PG_URL at a server, or set MOORAGE_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL "
            "backend.",
            pytrace=False,
        )
    except Exception as exc:
        pytest.fail(f"cannot create the test database on {admin}: {type(exc).__name__}: {exc}", pytrace=False)
    try:
        yield _with_database(admin, name)
    finally:
        asyncio.run(_drop_database(admin, name))


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped at the end."""
    with _fresh_postgres_database() as url:
        yield url


@pytest.fixture
def own_postgres_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (servers started by it create their own users)."""
    with _fresh_postgres_database() as url:
        yield url
