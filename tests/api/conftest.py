"""Fixtures of the REST API suite: one app per backend (see tests/api/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.api.support import backend_settings, env, mark_session_loop, uid

__all__ = ["backend_settings", "env", "uid"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_session_loop(items, Path(__file__).parent)
