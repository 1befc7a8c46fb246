"""The referrers API (distribution-spec v1.1)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from tests.protocol.helpers import (
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    admin_auth,
    descriptor,
    error_codes,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

AUTH = admin_auth()
SBOM = "application/vnd.example.sbom.v1"
SIG = "application/vnd.example.signature.v1"


async def _push_referrer(
    client: httpx.AsyncClient, name: str, subject: Image, artifact_type: str, note: str
) -> tuple[str, int]:
    await push_blob(client, name, EMPTY_JSON)
    payload = note.encode()
    await push_blob(client, name, payload)
    m: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [descriptor("application/octet-stream", payload)],
        "subject": descriptor(subject.media_type, subject.manifest),
        "annotations": {"org.example.note": note},
    }
    raw = json.dumps(m).encode()
    r = await push_manifest(client, name, sha256(raw), raw, OCI_MANIFEST)
    assert r.status_code == 201, r.text
    assert r.headers["oci-subject"] == subject.digest
    return sha256(raw), len(raw)


async def test_referrers_list(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    subject = await push_image(client, name, "v1")
    sbom, sbom_size = await _push_referrer(client, name, subject, SBOM, "sbom")
    sig, _ = await _push_referrer(client, name, subject, SIG, "sig")
    r = await client.get(f"/v2/{name}/referrers/{subject.digest}", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == OCI_INDEX
    body = r.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in body["manifests"]}
    assert set(by_digest) == {sbom, sig}
    assert by_digest[sbom] == {
        "mediaType": OCI_MANIFEST,
        "digest": sbom,
        "size": sbom_size,
        "artifactType": SBOM,
        "annotations": {"org.example.note": "sbom"},
    }
    assert "oci-filters-applied" not in r.headers


async def test_referrers_artifact_type_filter(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    subject = await push_image(client, name, "v1")
    sbom, _ = await _push_referrer(client, name, subject, SBOM, "sbom")
    await _push_referrer(client, name, subject, SIG, "sig")
    r = await client.get(
        f"/v2/{name}/referrers/{subject.digest}", params={"artifactType": SBOM}, headers=AUTH
    )
    assert r.status_code == 200
    assert r.headers["oci-filters-applied"] == "artifactType"
    assert [d["digest"] for d in r.json()["manifests"]] == [sbom]
    r = await client.get(
        f"/v2/{name}/referrers/{subject.digest}", params={"artifactType": "application/none"}, headers=AUTH
    )
    assert r.status_code == 200
    assert r.json()["manifests"] == []


async def test_referrers_image_manifest_uses_config_media_type(client: httpx.AsyncClient, uid: str) -> None:
    """Without artifactType, a referrer's artifactType is its config media type."""
    name = f"admin/{uid}"
    subject = await push_image(client, name, "v1")
    config = b'{"kind":"attestation"}'
    await push_blob(client, name, config)
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.example.config.v1+json", config),
        "layers": [],
        "subject": descriptor(OCI_MANIFEST, subject.manifest),
    }
    raw = json.dumps(m).encode()
    r = await push_manifest(client, name, "att", raw, OCI_MANIFEST)
    assert r.status_code == 201
    r = await client.get(f"/v2/{name}/referrers/{subject.digest}", headers=AUTH)
    [entry] = r.json()["manifests"]
    assert entry["artifactType"] == "application/vnd.example.config.v1+json"


async def test_referrers_unknown_subject_is_empty_index(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    r = await client.get(f"/v2/{name}/referrers/{sha256(b'nothing refers to me')}", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["content-type"] == OCI_INDEX
    assert r.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


async def test_referrers_are_per_repository(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    subject = await push_image(client, name, "v1")
    await _push_referrer(client, name, subject, SBOM, "sbom")
    other = f"admin/{uid}-other"
    await push_image(client, other, "v1")
    r = await client.get(f"/v2/{other}/referrers/{subject.digest}", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["manifests"] == []


async def test_referrers_after_referrer_deleted(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    subject = await push_image(client, name, "v1")
    sbom, _ = await _push_referrer(client, name, subject, SBOM, "sbom")
    r = await client.delete(f"/v2/{name}/manifests/{sbom}", headers=AUTH)
    assert r.status_code == 202
    r = await client.get(f"/v2/{name}/referrers/{subject.digest}", headers=AUTH)
    assert r.json()["manifests"] == []


async def test_referrers_invalid_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    for ref in ("latest", "sha256:abc", "md5:" + "a" * 32):
        r = await client.get(f"/v2/{name}/referrers/{ref}", headers=AUTH)
        assert 400 <= r.status_code < 500, (ref, r.status_code)
        error_codes(r)
