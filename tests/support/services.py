"""The composition root's services for in-process tests that drive them directly (no HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from moorage.app import Services, build_services
from moorage.config import load_settings
from moorage.db.migrate import upgrade_async


@asynccontextmanager
async def unit_services(
    tmp_path: Path, database_url: str | None, **overrides: Any
) -> AsyncIterator[Services]:
    """Services on a migrated database: ``database_url`` None is the data directory's SQLite file;
    ``overrides`` are settings."""
    (tmp_path / "data").mkdir(exist_ok=True)
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url, fsync=False, **overrides)
    await upgrade_async(settings.resolved_database_url)
    services = build_services(settings)
    try:
        yield services
    finally:
        await services.db.dispose()
