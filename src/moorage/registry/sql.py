"""Small SQL helpers shared by the registry services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """INSERT that does nothing when the row (by any unique constraint) already exists."""
    dialect = session.bind.dialect.name
    if dialect == "postgresql":
        await session.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing())
    else:
        await session.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing())
