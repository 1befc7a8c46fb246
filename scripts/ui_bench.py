#!/usr/bin/env python3
"""Render times of the web UI's big lists, in-process, on SQLite in a temporary directory.

    .venv/bin/python scripts/ui_bench.py [--tags 10000] [--repos 1000] [--runs 20]

Seeds one repository with ``--tags`` tags (over ten images, a multi-arch index and a signed image,
so the per-row facts are exercised) and ``--repos`` further repositories (half of them public),
directly through the services; then requests each page ``--runs`` times through the in-process app
(httpx's ASGI transport, signed in through the real sign-in form) and prints the median and the 90th
percentile per page. The numbers include routing, the session lookup, every query and the template.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from moorage.app import build_services, create_app
from moorage.config import load_settings
from moorage.db.migrate import upgrade_async
from moorage.domain.digest import Digest

USER, PASSWORD = "bench", "bench-password-1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _desc(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
    } | extra


async def _blob(client: httpx.AsyncClient, repo: str, data: bytes, auth: httpx.BasicAuth) -> None:
    r = await client.post(f"/v2/{repo}/blobs/uploads/", auth=auth)
    r.raise_for_status()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = await client.put(r.headers["location"], params={"digest": digest}, content=data, auth=auth)
    r.raise_for_status()


async def _manifest(
    client: httpx.AsyncClient, repo: str, ref: str, body: dict[str, Any], auth: httpx.BasicAuth
) -> str:
    raw = json.dumps(body).encode()
    r = await client.put(
        f"/v2/{repo}/manifests/{ref}", content=raw, headers={"content-type": body["mediaType"]}, auth=auth
    )
    r.raise_for_status()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


async def _push_images(client: httpx.AsyncClient, repo: str, auth: httpx.BasicAuth) -> list[str]:
    """Ten images, an index over two of them and a signature on the first; returns the digests to tag."""
    digests = []
    for i in range(10):
        config = json.dumps({"architecture": "amd64" if i % 2 else "arm64", "os": "linux", "n": i}).encode()
        layer = f"layer {i} ".encode() * 2000
        await _blob(client, repo, config, auth)
        await _blob(client, repo, layer, auth)
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _desc("application/vnd.oci.image.config.v1+json", config),
            "layers": [_desc("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
        }
        raw = json.dumps(body).encode()
        digests.append(await _manifest(client, repo, "sha256:" + hashlib.sha256(raw).hexdigest(), body, auth))
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": d,
                "size": 0,
                "platform": {"os": "linux", "architecture": a},
            }
            for d, a in ((digests[0], "arm64"), (digests[1], "amd64"))
        ],
    }
    # sizes must be the real ones: fetch each child's size from the registry
    for entry in index["manifests"]:
        r = await client.get(
            f"/v2/{repo}/manifests/{entry['digest']}", auth=auth, headers={"accept": OCI_MANIFEST}
        )
        entry["size"] = len(r.content)
    raw = json.dumps(index).encode()
    digests.append(await _manifest(client, repo, "sha256:" + hashlib.sha256(raw).hexdigest(), index, auth))
    await _blob(client, repo, b"{}", auth)
    await _blob(client, repo, b"signature", auth)
    first = await client.get(
        f"/v2/{repo}/manifests/{digests[0]}", auth=auth, headers={"accept": OCI_MANIFEST}
    )
    sig = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        "config": _desc("application/vnd.oci.empty.v1+json", b"{}"),
        "layers": [_desc("application/octet-stream", b"signature")],
        "subject": _desc(OCI_MANIFEST, first.content),
    }
    raw = json.dumps(sig).encode()
    await _manifest(client, repo, "sha256:" + hashlib.sha256(raw).hexdigest(), sig, auth)
    return digests


async def _sign_in(client: httpx.AsyncClient) -> None:
    page = (await client.get("/signin")).text
    token = re.search(r'name="csrf_token" value="([^"]*)"', page)
    assert token, "no CSRF token on the sign-in page"
    r = await client.post(
        "/signin", data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert r.status_code == 303, r.text[:300]


async def _measure(
    client: httpx.AsyncClient, path: str, runs: int, headers: dict[str, str] | None = None
) -> list[float]:
    for _ in range(2):  # warm the caches and the template compiler
        (await client.get(path, headers=headers)).raise_for_status()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        r = await client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return times


async def main(tags: int, repos: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="moorage-ui-bench-") as tmp:
        settings = load_settings(None, data_dir=Path(tmp), fsync=False)
        await upgrade_async(settings.resolved_database_url)
        services = build_services(settings)
        await services.users.create(USER, PASSWORD)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            auth = httpx.BasicAuth(USER, PASSWORD)
            big = f"{USER}/big"
            t0 = time.perf_counter()
            digests = await _push_images(client, big, auth)
            manifests = services.registry.manifests
            for i in range(tags):
                await manifests.retag(big, f"v{i:05d}", Digest.parse(digests[i % len(digests)]), None)
            t1 = time.perf_counter()
            for i in range(repos):
                visibility = "public" if i % 2 else "private"
                await services.repositories.create(
                    f"{USER}/repo-{i:04d}", visibility=visibility, description=None, actor=None
                )
            t2 = time.perf_counter()
            print(
                f"seeded {tags} tags in {t1 - t0:.1f} s and {repos} repositories in {t2 - t1:.1f} s",
                file=sys.stderr,
            )
            await _sign_in(client)
            pages = [
                ("tags page (first page)", f"/repository/{big}", None),
                ("tags page (page after v05000)", f"/repository/{big}?after=v05000", None),
                ("tags page filtered (q=v0999)", f"/repository/{big}?q=v0999", None),
                (
                    "tags list filtered, htmx (q=99)",
                    f"/repository/{big}?q=99",
                    {"HX-Request": "true", "HX-Target": "tag-list"},
                ),
                ("tag history (first page)", f"/repository/{big}/-/history", None),
                ("home (signed in)", "/", None),
                ("explore", "/explore", None),
            ]
            scale = f"{runs} requests each; {tags} tags, {repos + 1} repositories"
            print(f"{'page':<34} {'median ms':>10} {'p90 ms':>8}   ({scale})")
            for label, path, headers in pages:
                times = await _measure(client, path, runs, headers)
                p90 = statistics.quantiles(times, n=10)[-1] if len(times) >= 2 else times[0]
                print(f"{label:<34} {statistics.median(times):>10.1f} {p90:>8.1f}")
        await services.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--repos", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.tags, args.repos, args.runs))
