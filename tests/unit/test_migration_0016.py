"""Migration 0016 fills the quota usage of existing data: each blob once per namespace."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from moorage.db.migrate import upgrade_async


async def test_existing_links_are_counted_once_per_namespace(fresh_url: str) -> None:
    await upgrade_async(fresh_url, "0015")
    engine = create_async_engine(fresh_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as c:
            for ns in ("acme", "beta", "empty"):
                await c.execute(
                    sa.text("INSERT INTO namespace (name, kind, created_at) VALUES (:n, 'org', :t)"),
                    {"n": ns, "t": now},
                )
            for repo in ("acme/a", "acme/b", "beta/c"):
                await c.execute(
                    sa.text(
                        "INSERT INTO repository (name, namespace_id, visibility, created_at) VALUES"
                        " (:r, (SELECT id FROM namespace WHERE name = :n), 'private', :t)"
                    ),
                    {"r": repo, "n": repo.split("/")[0], "t": now},
                )
            for digest, size in (
                ("sha256:" + "1" * 64, 100),
                ("sha256:" + "2" * 64, 20),
                ("sha256:" + "3" * 64, 3),
            ):
                await c.execute(
                    sa.text("INSERT INTO blob (digest, size, created_at) VALUES (:d, :s, :t)"),
                    {"d": digest, "s": size, "t": now},
                )
            # blob 1 in both repositories of acme (counted once there) and in beta; 2 only in acme/b
            for repo, digit in (
                ("acme/a", "1"),
                ("acme/b", "1"),
                ("acme/b", "2"),
                ("beta/c", "1"),
                ("beta/c", "3"),
            ):
                await c.execute(
                    sa.text(
                        "INSERT INTO repository_blob (repository_id, blob_id, created_at) VALUES"
                        " ((SELECT id FROM repository WHERE name = :r),"
                        " (SELECT id FROM blob WHERE digest = :d), :t)"
                    ),
                    {"r": repo, "d": "sha256:" + digit * 64, "t": now},
                )
        await upgrade_async(fresh_url, "head")
        async with engine.connect() as c:
            usage: dict[str, int] = dict(
                (
                    await c.execute(
                        sa.text(
                            "SELECT namespace.name, namespace_usage.bytes FROM namespace_usage"
                            " JOIN namespace ON namespace.id = namespace_usage.namespace_id"
                        )
                    )
                ).all()
            )
            counted = (
                await c.execute(
                    sa.text(
                        "SELECT namespace.name, COUNT(*) FROM namespace_blob"
                        " JOIN namespace ON namespace.id = namespace_blob.namespace_id"
                        " GROUP BY namespace.name"
                    )
                )
            ).all()
        assert usage == {"acme": 120, "beta": 103, "empty": 0}
        assert dict(counted) == {"acme": 2, "beta": 2}
    finally:
        await engine.dispose()
