"""The migrations build exactly the schema the models describe (no drift between the two)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from moorage.db.migrate import upgrade_async
from moorage.db.models import Base


def _differences(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if not _ignored(d)]


def _ignored(diff: Any) -> bool:
    # SQLite reflects no server-side collation; alembic's own table is not a model.
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"


async def test_head_schema_matches_the_models(fresh_url: str) -> None:
    await upgrade_async(fresh_url, "head")
    engine = create_async_engine(fresh_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert diffs == [], "migrations and models disagree:\n" + "\n".join(map(repr, diffs))
