"""Migration 0009 gives every repository pushed outside any namespace a namespace, losing nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from moorage.db.migrate import upgrade_async


async def test_orphaned_repositories_get_a_namespace(fresh_url: str) -> None:
    await upgrade_async(fresh_url, "0005")
    engine = create_async_engine(fresh_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as c:
            # a user who happens to be called "library" owns the namespace "library"
            for name, superuser in (("root", True), ("boss", True), ("library", False), ("bob", False)):
                await c.execute(
                    sa.text("INSERT INTO namespace (name, kind, created_at) VALUES (:n, 'user', :t)"),
                    {"n": name, "t": now},
                )
                await c.execute(
                    sa.text(
                        "INSERT INTO user_account"
                        " (username, namespace_id, password_hash, email, superuser, enabled, created_at)"
                        " VALUES (:n, (SELECT id FROM namespace WHERE name = :ns), 'x', NULL, :s, :e, :t)"
                    ),
                    {"n": name, "ns": name, "s": superuser, "e": True, "t": now},
                )
            await c.execute(
                sa.text("INSERT INTO namespace (name, kind, created_at) VALUES ('later', 'org', :t)"),
                {"t": now},
            )
            for name in (
                "nosuchorg/app",
                "nosuchorg/team/tool",
                "later/app",
                "app",
                "bob/fine",
                "moorage-orphans/app",
            ):
                await c.execute(
                    sa.text(
                        "INSERT INTO repository (name, namespace_id, visibility, description, created_at)"
                        " VALUES (:n, (SELECT id FROM namespace WHERE name = :ns), 'private', :d, :t)"
                    ),
                    {
                        "n": name,
                        "ns": name.partition("/")[0] if name != "bob/fine" else "bob",
                        "d": name,
                        "t": now,
                    },
                )
        # bob/fine has its namespace; every other row has none (moorage-orphans does not exist yet)
        await upgrade_async(fresh_url, "head")
        async with engine.connect() as c:
            rows = (
                await c.execute(
                    sa.text(
                        "SELECT r.name, r.description, n.name, n.kind FROM repository r"
                        " LEFT JOIN namespace n ON n.id = r.namespace_id ORDER BY r.description"
                    )
                )
            ).all()
            assert [tuple(r) for r in rows] == [
                ("moorage-orphans/app-4", "app", "moorage-orphans", "org"),
                ("bob/fine", "bob/fine", "bob", "user"),
                ("later/app", "later/app", "later", "org"),
                ("moorage-orphans/app", "moorage-orphans/app", "moorage-orphans", "org"),
                ("nosuchorg/app", "nosuchorg/app", "nosuchorg", "org"),
                ("nosuchorg/team/tool", "nosuchorg/team/tool", "nosuchorg", "org"),
            ]
            owners = (
                await c.execute(
                    sa.text(
                        "SELECT n.name, t.name, t.role, u.username FROM team t"
                        " JOIN namespace n ON n.id = t.namespace_id"
                        " JOIN team_member m ON m.team_id = t.id JOIN user_account u ON u.id = m.user_id"
                        " WHERE n.created_by = 'migration 0009' ORDER BY n.name, u.username"
                    )
                )
            ).all()
            assert [tuple(o) for o in owners] == [
                ("moorage-orphans", "owners", "admin", "boss"),
                ("moorage-orphans", "owners", "admin", "root"),
                ("nosuchorg", "owners", "admin", "boss"),
                ("nosuchorg", "owners", "admin", "root"),
            ]
    finally:
        await engine.dispose()
