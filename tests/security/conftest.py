"""Fixtures of the security suite: one app per backend (see tests/api/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from tests.api.support import Env, backend_settings, env, mark_session_loop, uid
from tests.security.world import World, build_world

__all__ = ["backend_settings", "env", "uid", "world"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_session_loop(items, Path(__file__).parent)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def world(env: Env) -> World:
    """The principals and objects of the security matrix, built once per backend."""
    return await build_world(env)
