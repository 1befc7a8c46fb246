"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import _fresh_postgres_database

from moorage.config import load_settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend (for migration tests, which bring it to a revision)."""
    if request.param == "sqlite":
        yield load_settings(None, data_dir=tmp_path).resolved_database_url
        return
    with _fresh_postgres_database() as url:
        yield load_settings(None, data_dir=tmp_path, database_url=url).resolved_database_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def services_database_url(request: pytest.FixtureRequest) -> str | None:
    """None (the data directory's SQLite database) or an own PostgreSQL database, for tests that
    build the services themselves (``unit_services``)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("own_postgres_database_url")
        return url
    return None

