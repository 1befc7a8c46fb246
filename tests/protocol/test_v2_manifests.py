"""Pushing, validating and deleting manifests of every supported kind."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.protocol.helpers import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    admin_auth,
    assert_error,
    descriptor,
    error_codes,
    image_manifest,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

AUTH = admin_auth()


def _raw(m: dict[str, Any]) -> bytes:
    return json.dumps(m, separators=(",", ":")).encode()


async def _get(client: httpx.AsyncClient, name: str, ref: str) -> httpx.Response:
    return await client.get(f"/v2/{name}/manifests/{ref}", headers=AUTH)


async def test_put_oci_manifest_response(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    config = b'{"architecture":"arm64","os":"linux"}'
    layer = b"layer bytes"
    await push_blob(client, name, config)
    await push_blob(client, name, layer)
    raw = _raw(image_manifest(config, [layer]))
    r = await push_manifest(client, name, "v1", raw, OCI_MANIFEST)
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == sha256(raw)
    assert r.headers["location"].endswith(f"/v2/{name}/manifests/{sha256(raw)}")
    assert "oci-subject" not in r.headers
    got = await _get(client, name, "v1")
    assert got.content == raw
    assert got.headers["content-type"] == OCI_MANIFEST


async def test_put_manifest_by_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, None)
    r = await _get(client, name, image.digest)
    assert r.status_code == 200
    r = await client.get(f"/v2/{name}/tags/list", headers=AUTH)
    assert r.json()["tags"] == []


async def test_put_by_digest_mismatch(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    changed = image.manifest + b"\n"
    r = await push_manifest(client, name, image.digest, changed, OCI_MANIFEST)
    assert_error(r, 400, "DIGEST_INVALID")


async def test_manifest_without_media_type_field_uses_content_type(
    client: httpx.AsyncClient, uid: str
) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "base")
    m = json.loads(image.manifest)
    del m["mediaType"]
    raw = _raw(m)
    r = await push_manifest(client, name, "nomt", raw, OCI_MANIFEST)
    assert r.status_code == 201, r.text
    got = await _get(client, name, "nomt")
    assert got.headers["content-type"] == OCI_MANIFEST
    assert got.content == raw


async def test_media_type_must_match_content_type(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "base")
    r = await push_manifest(client, name, "x", image.manifest, DOCKER_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")


async def test_docker_schema2_manifest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "d1", docker=True)
    r = await _get(client, name, "d1")
    assert r.headers["content-type"] == DOCKER_MANIFEST
    assert r.content == image.manifest


async def _index(client: httpx.AsyncClient, name: str, children: list[Image], media_type: str) -> bytes:
    return _raw(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    **descriptor(c.media_type, c.manifest),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for c, arch in zip(children, ["amd64", "arm64", "s390x"], strict=False)
            ],
        }
    )


@pytest.mark.parametrize(
    ("index_type", "docker"), [(OCI_INDEX, False), (DOCKER_LIST, True)], ids=["oci", "docker"]
)
async def test_index_and_manifest_list(
    client: httpx.AsyncClient, uid: str, index_type: str, docker: bool
) -> None:
    name = f"admin/{uid}"
    children = [
        await push_image(client, name, None, docker=docker, seed="amd64"),
        await push_image(client, name, None, docker=docker, seed="arm64"),
    ]
    raw = await _index(client, name, children, index_type)
    r = await push_manifest(client, name, "multi", raw, index_type)
    assert r.status_code == 201, r.text
    got = await _get(client, name, "multi")
    assert got.status_code == 200
    assert got.headers["content-type"] == index_type
    assert got.headers["docker-content-digest"] == sha256(raw)
    assert got.content == raw
    for child in children:
        assert (await _get(client, name, child.digest)).status_code == 200


async def test_index_with_missing_child(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    present = await push_image(client, name, None, seed="present")
    ghost = Image(name, None, b'{"ghost":1}', sha256(b'{"ghost":1}'), OCI_MANIFEST, b"", "")
    raw = await _index(client, name, [present, ghost], OCI_INDEX)
    r = await push_manifest(client, name, "broken", raw, OCI_INDEX)
    assert r.status_code in (400, 404), r.text
    assert "MANIFEST_BLOB_UNKNOWN" in error_codes(r)
    assert (await _get(client, name, "broken")).status_code == 404


async def test_index_child_in_other_repository_is_missing(client: httpx.AsyncClient, uid: str) -> None:
    elsewhere = await push_image(client, f"admin/{uid}-other", None)
    name = f"admin/{uid}"
    await push_image(client, name, "x")
    raw = await _index(client, name, [elsewhere], OCI_INDEX)
    r = await push_manifest(client, name, "broken", raw, OCI_INDEX)
    assert "MANIFEST_BLOB_UNKNOWN" in error_codes(r)


async def test_manifest_with_missing_blob(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    config = b'{"config":"present"}'
    await push_blob(client, name, config)
    raw = _raw(image_manifest(config, [b"layer that was never pushed"]))
    r = await push_manifest(client, name, "v1", raw, OCI_MANIFEST)
    assert r.status_code in (400, 404), r.text
    assert "MANIFEST_BLOB_UNKNOWN" in error_codes(r)
    assert (await _get(client, name, "v1")).status_code == 404


async def test_manifest_with_missing_config(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    layer = b"the layer"
    await push_blob(client, name, layer)
    raw = _raw(image_manifest(b'{"never":"pushed"}', [layer]))
    r = await push_manifest(client, name, "v1", raw, OCI_MANIFEST)
    assert "MANIFEST_BLOB_UNKNOWN" in error_codes(r)


async def test_manifest_blob_in_other_repository_is_missing(client: httpx.AsyncClient, uid: str) -> None:
    config, layer = b'{"c":1}', b"other layer"
    await push_blob(client, f"admin/{uid}-other", config)
    await push_blob(client, f"admin/{uid}-other", layer)
    name = f"admin/{uid}"
    await push_blob(client, name, b"unrelated")
    r = await push_manifest(client, name, "v1", _raw(image_manifest(config, [layer])), OCI_MANIFEST)
    assert "MANIFEST_BLOB_UNKNOWN" in error_codes(r)


async def test_foreign_layers_need_not_exist(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    config = b'{"windows":true}'
    await push_blob(client, name, config)
    m = image_manifest(config, [], docker=True)
    m["layers"] = [
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": sha256(b"foreign"),
            "size": 7,
            "urls": ["https://example.invalid/layer"],
        }
    ]
    r = await push_manifest(client, name, "win", _raw(m), DOCKER_MANIFEST)
    assert r.status_code == 201, r.text


async def test_artifact_with_empty_config(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_blob(client, name, EMPTY_JSON)
    payload = b"an sbom"
    await push_blob(client, name, payload)
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom.v1",
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [descriptor("application/vnd.example.sbom.v1+json", payload)],
    }
    raw = _raw(m)
    r = await push_manifest(client, name, "sbom", raw, OCI_MANIFEST)
    assert r.status_code == 201, r.text
    got = await _get(client, name, "sbom")
    assert got.content == raw
    assert got.headers["content-type"] == OCI_MANIFEST


async def test_artifact_without_layers_uses_empty_descriptor(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_blob(client, name, EMPTY_JSON)
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.marker",
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [descriptor(OCI_EMPTY, EMPTY_JSON)],
    }
    r = await push_manifest(client, name, "marker", _raw(m), OCI_MANIFEST)
    assert r.status_code == 201, r.text


async def test_subject_header(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    subject = await push_image(client, name, "v1")
    await push_blob(client, name, EMPTY_JSON)
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [descriptor(OCI_EMPTY, EMPTY_JSON)],
        "subject": descriptor(OCI_MANIFEST, subject.manifest),
    }
    r = await push_manifest(client, name, sha256(_raw(m)), _raw(m), OCI_MANIFEST)
    assert r.status_code == 201, r.text
    assert r.headers["oci-subject"] == subject.digest


async def test_subject_may_not_exist_yet(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_blob(client, name, EMPTY_JSON)
    ghost = sha256(b"not pushed yet")
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [descriptor(OCI_EMPTY, EMPTY_JSON)],
        "subject": {"mediaType": OCI_MANIFEST, "digest": ghost, "size": 10},
    }
    r = await push_manifest(client, name, sha256(_raw(m)), _raw(m), OCI_MANIFEST)
    assert r.status_code == 201, r.text
    assert r.headers["oci-subject"] == ghost


async def test_manifest_too_large(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    big = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "annotations": {"pad": "x" * (4 * 1024 * 1024 + 10)},
    }
    r = await push_manifest(client, name, "big", _raw(big), OCI_MANIFEST)
    assert r.status_code == 413, r.text
    error_codes(r)


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"",
        b"[]",
        b"\xff\xfe\x00",
        b'{"schemaVersion": 1, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {}}',
        b'{"schemaVersion": "2", "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
        b'{"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",'
        b' "config": {"mediaType": "a/b", "digest": "sha256:nothex", "size": 1}}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",'
        b' "config": {"mediaType": "a/b", "digest": "sha256:' + b"a" * 64 + b'", "size": -1}}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": {}}',
        b'{"schemaVersion": 2, "mediaType": "text/plain"}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v1+json"}',
        b'{"schemaVersion": 2, "mediaType": 5}',
    ],
)
async def test_invalid_manifests(client: httpx.AsyncClient, uid: str, body: bytes) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    r = await push_manifest(client, name, "bad", body, OCI_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")


async def test_push_to_new_tag_then_move_tag(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    a = await push_image(client, name, "latest", seed="a")
    b = await push_image(client, name, "latest", seed="b")
    assert a.digest != b.digest
    r = await _get(client, name, "latest")
    assert r.headers["docker-content-digest"] == b.digest
    assert (await _get(client, name, a.digest)).status_code == 200


async def test_delete_manifest_by_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    r = await push_manifest(client, name, "v1-alias", image.manifest, OCI_MANIFEST)
    assert r.status_code == 201
    keep = await push_image(client, name, "keep", seed="keep")
    r = await client.delete(f"/v2/{name}/manifests/{image.digest}", headers=AUTH)
    assert r.status_code == 202, r.text
    assert_error(await _get(client, name, image.digest), 404, "MANIFEST_UNKNOWN")
    assert_error(await _get(client, name, "v1"), 404, "MANIFEST_UNKNOWN")
    assert_error(await _get(client, name, "v1-alias"), 404, "MANIFEST_UNKNOWN")
    tags = (await client.get(f"/v2/{name}/tags/list", headers=AUTH)).json()["tags"]
    assert tags == ["keep"]
    assert (await _get(client, name, keep.digest)).status_code == 200
    r = await client.delete(f"/v2/{name}/manifests/{image.digest}", headers=AUTH)
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    # it can be pushed again
    r = await push_manifest(client, name, "v1", image.manifest, OCI_MANIFEST)
    assert r.status_code == 201
    assert (await _get(client, name, "v1")).content == image.manifest


async def test_delete_by_tag_removes_only_that_tag(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "one")
    r = await push_manifest(client, name, "two", image.manifest, OCI_MANIFEST)
    assert r.status_code == 201
    r = await client.delete(f"/v2/{name}/manifests/one", headers=AUTH)
    assert r.status_code == 202, r.text
    assert_error(await _get(client, name, "one"), 404, "MANIFEST_UNKNOWN")
    assert (await _get(client, name, "two")).headers["docker-content-digest"] == image.digest
    assert (await _get(client, name, image.digest)).status_code == 200
    tags = (await client.get(f"/v2/{name}/tags/list", headers=AUTH)).json()["tags"]
    assert tags == ["two"]
    assert_error(await client.delete(f"/v2/{name}/manifests/one", headers=AUTH), 404, "MANIFEST_UNKNOWN")


async def test_delete_manifest_in_unknown_repository(client: httpx.AsyncClient, uid: str) -> None:
    r = await client.delete(f"/v2/admin/{uid}/manifests/{sha256(b'x')}", headers=AUTH)
    assert r.status_code == 404
    assert set(error_codes(r)) & {"NAME_UNKNOWN", "MANIFEST_UNKNOWN"}


async def test_manifest_put_with_invalid_tag(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "ok")
    for tag in ("-leading-dash", ".dot", "x" * 129):
        r = await push_manifest(client, name, tag, image.manifest, OCI_MANIFEST)
        assert_error(r, 400, "TAG_INVALID")
