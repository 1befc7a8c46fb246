"""Pulling: manifests by tag and digest, blobs with ranges, and the 404 error codes."""

from __future__ import annotations

import httpx
import pytest
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    ADMIN,
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    admin_auth,
    assert_error,
    push_blob,
    push_image,
    sha256,
)

from moorage.domain.actor import Actor

AUTH = admin_auth()


@pytest.mark.parametrize("docker", [False, True], ids=["oci", "docker"])
async def test_get_manifest_by_tag_and_digest(client: httpx.AsyncClient, uid: str, docker: bool) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1", docker=docker)
    expected_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    for ref in ("v1", image.digest):
        r = await client.get(f"/v2/{name}/manifests/{ref}", headers={**AUTH, "Accept": expected_type})
        assert r.status_code == 200, r.text
        assert r.content == image.manifest
        assert r.headers["docker-content-digest"] == image.digest
        assert r.headers["content-type"] == expected_type
        assert int(r.headers["content-length"]) == len(image.manifest)


async def test_head_manifest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    for ref in ("v1", image.digest):
        r = await client.head(f"/v2/{name}/manifests/{ref}", headers=AUTH)
        assert r.status_code == 200
        assert r.content == b""
        assert r.headers["docker-content-digest"] == image.digest
        assert r.headers["content-type"] == OCI_MANIFEST
        assert int(r.headers["content-length"]) == len(image.manifest)


async def test_head_manifest_unknown(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    r = await client.head(f"/v2/{name}/manifests/nope", headers=AUTH)
    assert r.status_code == 404
    assert r.content == b""


async def test_manifest_unknown(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    assert_error(await client.get(f"/v2/{name}/manifests/v2", headers=AUTH), 404, "MANIFEST_UNKNOWN")
    missing = sha256(b"no such manifest")
    assert_error(await client.get(f"/v2/{name}/manifests/{missing}", headers=AUTH), 404, "MANIFEST_UNKNOWN")


async def test_manifest_of_unknown_repository(client: httpx.AsyncClient, uid: str) -> None:
    r = await client.get(f"/v2/admin/{uid}/manifests/latest", headers=AUTH)
    assert r.status_code == 404
    from tests.protocol.helpers import error_codes

    assert set(error_codes(r)) & {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}


async def test_manifest_from_other_repository_is_unknown(client: httpx.AsyncClient, uid: str) -> None:
    image = await push_image(client, f"admin/{uid}-a", "v1")
    await push_image(client, f"admin/{uid}-b", "v1", seed="other")
    r = await client.get(f"/v2/admin/{uid}-b/manifests/{image.digest}", headers=AUTH)
    assert_error(r, 404, "MANIFEST_UNKNOWN")


async def test_get_and_head_blob(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    data = bytes(range(256)) * 40
    digest = await push_blob(client, name, data)
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers=AUTH)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["docker-content-digest"] == digest
    assert int(r.headers["content-length"]) == len(data)
    r = await client.head(f"/v2/{name}/blobs/{digest}", headers=AUTH)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["docker-content-digest"] == digest
    assert int(r.headers["content-length"]) == len(data)


async def test_blob_unknown(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_blob(client, name, b"something")
    missing = sha256(b"missing")
    assert_error(await client.get(f"/v2/{name}/blobs/{missing}", headers=AUTH), 404, "BLOB_UNKNOWN")
    r = await client.head(f"/v2/{name}/blobs/{missing}", headers=AUTH)
    assert r.status_code == 404
    assert r.content == b""


async def test_blob_of_other_repository_is_unknown(client: httpx.AsyncClient, uid: str) -> None:
    digest = await push_blob(client, f"admin/{uid}-a", b"only in a")
    await push_blob(client, f"admin/{uid}-b", b"only in b")
    assert_error(await client.get(f"/v2/admin/{uid}-b/blobs/{digest}", headers=AUTH), 404, "BLOB_UNKNOWN")


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-19", 10, 19),
        ("bytes=100-", 100, 999),
        ("bytes=-10", 990, 999),
        ("bytes=990-5000", 990, 999),
        ("bytes=0-0", 0, 0),
        ("bytes=-5000", 0, 999),
    ],
)
async def test_blob_range(
    client: httpx.AsyncClient, uid: str, range_header: str, start: int, end: int
) -> None:
    name = f"admin/{uid}"
    data = bytes(i % 251 for i in range(1000))
    digest = await push_blob(client, name, data)
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": range_header})
    assert r.status_code == 206, r.text
    assert r.content == data[start : end + 1]
    assert r.headers["content-range"] == f"bytes {start}-{end}/1000"
    assert int(r.headers["content-length"]) == end - start + 1
    r = await client.head(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": range_header})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end}/1000"
    assert int(r.headers["content-length"]) == end - start + 1


@pytest.mark.parametrize("range_header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=20-10"])
async def test_blob_range_unsatisfiable(client: httpx.AsyncClient, uid: str, range_header: str) -> None:
    name = f"admin/{uid}"
    data = bytes(1000)
    digest = await push_blob(client, name, data)
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": range_header})
    assert r.status_code == 416, r.text
    assert r.headers["content-range"] == "bytes */1000"
    from tests.protocol.helpers import error_codes

    error_codes(r)


async def test_empty_blob(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    digest = await push_blob(client, name, b"")
    assert digest == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers=AUTH)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == "0"
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": "bytes=0-"})
    assert r.status_code == 416


async def test_tags_list_unknown_repository(client: httpx.AsyncClient, uid: str) -> None:
    assert_error(await client.get(f"/v2/admin/{uid}/tags/list", headers=AUTH), 404, "NAME_UNKNOWN")


async def test_nested_names(registry: Registry, client: httpx.AsyncClient, uid: str) -> None:
    # a push needs an existing namespace (tests/protocol/test_v2_push.py checks the refusals)
    admin = await registry.services.users.get(ADMIN[0])
    assert admin is not None
    await registry.services.organizations.create(f"org{uid}", None, Actor(ADMIN[0]), admin.id)
    for name in (f"org{uid}/team/app", f"admin/{uid}/a/b/c"):
        image = await push_image(client, name, "1.0")
        r = await client.get(f"/v2/{name}/manifests/1.0", headers=AUTH)
        assert r.status_code == 200
        assert r.headers["docker-content-digest"] == image.digest
        r = await client.get(f"/v2/{name}/tags/list", headers=AUTH)
        assert r.json() == {"name": name, "tags": ["1.0"]}
        r = await client.get(f"/v2/{name}/blobs/{image.layer_digests[0]}", headers=AUTH)
        assert r.content == image.layers[0]


async def test_route_like_name_components(client: httpx.AsyncClient, uid: str) -> None:
    """Names may contain path components that look like API segments."""
    name = f"admin/{uid}/manifests/blobs/tags"
    image = await push_image(client, name, "v1")
    r = await client.get(f"/v2/{name}/manifests/v1", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["docker-content-digest"] == image.digest
    r = await client.get(f"/v2/{name}/tags/list", headers=AUTH)
    assert r.json() == {"name": name, "tags": ["v1"]}
