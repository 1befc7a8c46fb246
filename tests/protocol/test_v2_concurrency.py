"""Concurrent requests on the same repository, tag or blob must all succeed (never a 500)."""

from __future__ import annotations

import asyncio
import json

import httpx
from tests.protocol.helpers import (
    OCI_MANIFEST,
    admin_auth,
    image_manifest,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

AUTH = admin_auth()


async def test_concurrent_first_pushes_create_one_repository(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    digests = await asyncio.gather(*(push_blob(client, name, f"blob {i}".encode()) for i in range(6)))
    assert len(set(digests)) == 6
    for d in digests:
        assert (await client.head(f"/v2/{name}/blobs/{d}", headers=AUTH)).status_code == 200


async def test_concurrent_push_of_same_blob(client: httpx.AsyncClient, uid: str) -> None:
    data = b"shared blob" * 100
    names = [f"admin/{uid}-{i % 2}" for i in range(6)]
    digests = await asyncio.gather(*(push_blob(client, n, data) for n in names))
    assert set(digests) == {sha256(data)}


async def test_concurrent_push_of_same_manifest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, None)
    responses = await asyncio.gather(
        *(push_manifest(client, name, f"t{i}", image.manifest, OCI_MANIFEST) for i in range(5)),
        *(push_manifest(client, name, "same", image.manifest, OCI_MANIFEST) for _ in range(3)),
    )
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    tags = (await client.get(f"/v2/{name}/tags/list", headers=AUTH)).json()["tags"]
    assert tags == ["same", "t0", "t1", "t2", "t3", "t4"]


async def test_concurrent_moves_of_one_tag(client: httpx.AsyncClient, uid: str) -> None:
    """Every PUT succeeds, each move is in the tag's history once, and the live tag is the last row.

    (tests/e2e/test_concurrent_processes.py does the same from several OS processes.)"""
    name = f"admin/{uid}"
    config = b'{"os":"linux"}'
    await push_blob(client, name, config)
    layers = [f"layer {i}".encode() for i in range(5)]
    for layer in layers:
        await push_blob(client, name, layer)
    raws = [json.dumps(image_manifest(config, [layer])).encode() for layer in layers]
    responses = await asyncio.gather(
        *(push_manifest(client, name, "latest", raw, OCI_MANIFEST) for raw in raws)
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    tags = (await client.get(f"/v2/{name}/tags/list", headers=AUTH)).json()["tags"]
    assert tags == ["latest"]
    r = await client.get(f"/v2/{name}/manifests/latest", headers=AUTH)
    history = await client.get(
        f"/api/v1/repository/{name}/tag/",
        params={"onlyActiveTags": "false", "specificTag": "latest"},
        headers=AUTH,
    )
    rows = history.json()["tags"]  # newest first
    assert sorted(row["manifest_digest"] for row in rows) == sorted(sha256(raw) for raw in raws)
    assert [row["active"] for row in rows] == [True] + [False] * (len(raws) - 1)
    assert r.headers["docker-content-digest"] == rows[0]["manifest_digest"]


async def test_concurrent_chunks_to_one_upload(client: httpx.AsyncClient, uid: str) -> None:
    """Racing PATCHes with the same Content-Range: one wins, the other gets 416; no corruption."""
    name = f"admin/{uid}"
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    location = r.headers["location"]
    results = await asyncio.gather(
        *(
            client.patch(location, content=bytes([65 + i]) * 100, headers={**AUTH, "Content-Range": "0-99"})
            for i in range(4)
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [202, 416, 416, 416], statuses
    status = await client.get(location, headers=AUTH)
    assert status.headers["range"] == "0-99"
