"""Schema migrations with Alembic, run programmatically (``moorage migrate`` and on ``serve``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` (an async SQLAlchemy URL) to ``revision``."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.get_running_loop().run_in_executor(None, upgrade, url, revision)


def has_schema(url: str) -> bool:
    """Whether a Moorage database exists at ``url`` (an async SQLAlchemy URL): a SQLite file, or any
    database, holding the migrations table. Never creates anything (a missing SQLite file stays missing)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path == ":memory:" or not Path(path).is_file():
            return False

    async def probe() -> bool:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version"))
        finally:
            await engine.dispose()

    return asyncio.run(probe())


def current(url: str) -> None:
    command.current(alembic_config(url), verbose=True)
