#!/usr/bin/env python3
"""Measure garbage collection on a large synthetic registry (time and peak memory).

    python scripts/gc_bench.py                                   # SQLite in a temp directory
    python scripts/gc_bench.py --postgres postgresql://user@127.0.0.1:5432/postgres

Fills a fresh database with --manifests manifests (one repository each, spread over --repos
repositories in 10 namespaces) and twice as many blobs (two per manifest, linked to the manifest's
repository). 60 % of the manifests have a live tag, 20 % a tag deleted long ago (outside the
time-machine window), 20 % were pushed by digest long ago and never tagged: 40 % is garbage. All
rows are two days old. Then, in a fresh child process (so its peak RSS is GC's own), it runs the
dry run and the collection and prints their times and the process's peak resident memory. Storage
is an empty directory: the file deletions are real unlink calls on missing files, so the figures
are those of the database work. A PostgreSQL database is created for the run and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine


def _async_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
        "sqlite:///", "sqlite+aiosqlite:///", 1
    )


async def _fill(url: str, manifests: int, repos: int) -> None:
    from moorage.db.models import (
        Blob,
        Manifest,
        ManifestBlob,
        Namespace,
        Repository,
        RepositoryBlob,
        RepositoryManifest,
        Tag,
    )

    old = datetime.now(UTC) - timedelta(days=2)
    long_ago = datetime.now(UTC) - timedelta(days=60)
    engine = create_async_engine(_async_url(url))
    chunk = 5000

    async def put(model: Any, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), chunk):
            async with engine.begin() as conn:
                await conn.execute(insert(model), rows[i : i + chunk])

    await put(
        Namespace, [{"id": n + 1, "name": f"ns{n}", "kind": "org", "created_at": old} for n in range(10)]
    )
    await put(
        Repository,
        [
            {"id": r + 1, "name": f"ns{r % 10}/repo{r}", "namespace_id": r % 10 + 1, "created_at": old}
            for r in range(repos)
        ],
    )
    for start in range(0, manifests, 20000):
        ids = range(start + 1, min(start + 20000, manifests) + 1)
        await put(
            Blob,
            [
                {
                    "id": 2 * m - k,
                    "digest": f"sha256:{secrets.token_hex(32)}",
                    "size": 1000 + m,
                    "created_at": old,
                }
                for m in ids
                for k in (0, 1)
            ],
        )
        await put(
            Manifest,
            [
                {
                    "id": m,
                    "digest": f"sha256:{secrets.token_hex(32)}",
                    "media_type": "application/vnd.oci.image.manifest.v1+json",
                    "size": 2,
                    "content": b"{}",
                    "created_at": old,
                }
                for m in ids
            ],
        )
        await put(
            RepositoryManifest,
            [{"repository_id": m % repos + 1, "manifest_id": m, "created_at": old} for m in ids],
        )
        await put(ManifestBlob, [{"manifest_id": m, "blob_id": 2 * m - k} for m in ids for k in (0, 1)])
        await put(
            RepositoryBlob,
            [
                {"repository_id": m % repos + 1, "blob_id": 2 * m - k, "created_at": old}
                for m in ids
                for k in (0, 1)
            ],
        )
        tags = []
        for m in ids:
            kind = m % 5
            if kind <= 2:  # live
                tags.append(
                    {
                        "repository_id": m % repos + 1,
                        "name": f"t{m}",
                        "manifest_id": m,
                        "lifetime_start": old,
                        "lifetime_end": None,
                    }
                )
            elif kind == 3:  # deleted long ago
                tags.append(
                    {
                        "repository_id": m % repos + 1,
                        "name": f"t{m}",
                        "manifest_id": m,
                        "lifetime_start": long_ago,
                        "lifetime_end": long_ago + timedelta(days=1),
                    }
                )
        await put(Tag, tags)
    if url.startswith("postgresql"):
        # a registry that grew to this size has planner statistics (autovacuum); a bulk load has not yet
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _measure(url: str, data_dir: Path) -> dict[str, Any]:
    from moorage.app import build_services
    from moorage.config import load_settings

    settings = load_settings(None, data_dir=data_dir, database_url=url)
    services = build_services(settings)
    out: dict[str, Any] = {"rss_before_mib": round(_maxrss_mib(), 1)}
    t = time.perf_counter()
    plan = await services.gc.plan()
    out["dry_run_s"] = round(time.perf_counter() - t, 2)
    out["rss_after_dry_run_mib"] = round(_maxrss_mib(), 1)
    t = time.perf_counter()
    report = await services.gc.run()
    out["run_s"] = round(time.perf_counter() - t, 2)
    out["peak_rss_mib"] = round(_maxrss_mib(), 1)
    out["planned"] = {"manifests": plan.manifest_rows, "blobs": plan.blob_rows}
    out["deleted"] = {
        "manifests": report.manifest_rows,
        "blobs": report.blob_rows,
        "manifest_links": sum(n.manifests for n in report.namespaces.values()),
        "blob_links": sum(n.blobs for n in report.namespaces.values()),
        "bytes": report.bytes_freed,
    }
    t = time.perf_counter()
    again = await services.gc.run()
    out["second_run_s"] = round(time.perf_counter() - t, 2)
    out["second_run_deleted"] = again.blob_rows + again.manifest_rows
    await services.db.dispose()
    return out


async def _admin(admin_url: str, sql: str) -> None:
    engine = create_async_engine(_async_url(admin_url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--manifests", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument(
        "--postgres", metavar="ADMIN_URL", help="create a database through this URL and use it"
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure, Path(args.data_dir)))))
        return

    from moorage.config import load_settings
    from moorage.db.migrate import upgrade

    work = Path(tempfile.mkdtemp(prefix="gc-bench-"))
    name = f"gcbench_{secrets.token_hex(4)}"
    if args.postgres:
        base, _, _ = args.postgres.rpartition("/")
        url = f"{base}/{name}"
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
    else:
        url = f"sqlite:///{work / 'moorage.db'}"
    try:
        upgrade(load_settings(None, data_dir=work, database_url=url).resolved_database_url)
        t = time.perf_counter()
        asyncio.run(_fill(url, args.manifests, args.repos))
        fill_s = round(time.perf_counter() - t, 1)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url, "--data-dir", str(work)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result = {
            "backend": "postgresql" if args.postgres else "sqlite",
            "manifests": args.manifests,
            "blobs": 2 * args.manifests,
            "repositories": args.repos,
            "fill_s": fill_s,
            **result,
        }
        print(json.dumps(result, indent=2))
    finally:
        if args.postgres:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
