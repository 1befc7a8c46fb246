"""Small SQL helpers shared by the registry services."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.models import Base


async def insert_ignore(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> None:
    """INSERT that does nothing when the row (by any unique constraint) already exists."""
    table = cast(Table, model.__table__)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing())
    else:
        await session.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing())
