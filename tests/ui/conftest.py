"""Fixtures of the web UI suite: the in-process app per backend (tests/api/support.py) and browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tests.api.support import Env, User, backend_settings, env, mark_session_loop, uid
from tests.ui.support import Browser

__all__ = ["backend_settings", "env", "uid"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_session_loop(items, Path(__file__).parent)


BrowserFactory = Callable[..., Coroutine[Any, Any, Browser]]


@pytest_asyncio.fixture(loop_scope="session")
async def browser(env: Env) -> AsyncIterator[BrowserFactory]:
    """``await browser()`` is an anonymous visitor; ``await browser(user)`` is signed in as ``user``."""
    opened: list[Browser] = []

    async def open_browser(user: User | None = None) -> Browser:
        b = Browser(env.app)
        opened.append(b)
        if user is not None:
            await b.sign_in(user.name, user.password)
        return b

    yield open_browser
    for b in opened:
        await b.close()
