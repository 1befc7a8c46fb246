"""Migration 0010 gives every existing default permission (prototype) a unique uuid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from moorage.db.migrate import upgrade_async


async def test_existing_prototypes_get_unique_uuids(fresh_url: str) -> None:
    await upgrade_async(fresh_url, "0009")
    engine = create_async_engine(fresh_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as c:
            await c.execute(
                sa.text("INSERT INTO namespace (name, kind, created_at) VALUES ('acme', 'org', :t)"),
                {"t": now},
            )
            await c.execute(
                sa.text(
                    "INSERT INTO team (namespace_id, name, role, created_at)"
                    " VALUES ((SELECT id FROM namespace WHERE name = 'acme'), 'devs', 'member', :t)"
                ),
                {"t": now},
            )
            for role in ("read", "write", "admin"):
                await c.execute(
                    sa.text(
                        "INSERT INTO default_permission (namespace_id, team_id, role, created_at)"
                        " VALUES ((SELECT id FROM namespace WHERE name = 'acme'),"
                        " (SELECT id FROM team WHERE name = 'devs'), :r, :t)"
                    ),
                    {"r": role, "t": now},
                )
        await upgrade_async(fresh_url, "head")
        async with engine.connect() as c:
            rows = (await c.execute(sa.text("SELECT role, uuid FROM default_permission ORDER BY id"))).all()
        assert [r.role for r in rows] == ["read", "write", "admin"]  # nothing lost
        ids = [r.uuid for r in rows]
        assert all(str(uuid.UUID(i)) == i for i in ids), ids
        assert len(set(ids)) == 3
        # the column is unique and required from now on
        for value in (ids[0], None):
            with pytest.raises(IntegrityError):
                async with engine.begin() as c:
                    await c.execute(
                        sa.text(
                            "INSERT INTO default_permission (uuid, namespace_id, team_id, role, created_at)"
                            " VALUES (:u, (SELECT id FROM namespace WHERE name = 'acme'),"
                            " (SELECT id FROM team WHERE name = 'devs'), 'read', :t)"
                        ),
                        {"u": value, "t": now},
                    )
    finally:
        await engine.dispose()
