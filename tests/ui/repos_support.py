"""Helpers of the repository page tests: real pushes of images, multi-arch indexes and artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.api.support import Env, User
from tests.protocol.helpers import (
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    descriptor,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX = "application/spdx+json"


@dataclass
class Pushed:
    digest: str
    manifest: bytes
    media_type: str


async def push_index(
    env: Env, repo: str, tag: str, who: User, *platforms: tuple[str, str, str | None]
) -> Pushed:
    """A multi-arch OCI index over one small image per (os, architecture, variant), tagged ``tag``."""
    entries = []
    for os_name, arch, variant in platforms:
        image = await push_image(env.client, repo, None, headers=who.auth, seed=f"{tag}-{arch}-{variant}")
        platform: dict[str, str] = {"os": os_name, "architecture": arch}
        if variant:
            platform["variant"] = variant
        entries.append({**descriptor(OCI_MANIFEST, image.manifest), "platform": platform})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    raw = json.dumps(index).encode()
    r = await push_manifest(env.client, repo, tag, raw, OCI_INDEX, who.auth)
    assert r.status_code == 201, r.text
    return Pushed(sha256(raw), raw, OCI_INDEX)


async def push_referrer(
    env: Env, repo: str, subject: Pushed, artifact_type: str, who: User, payload: bytes
) -> Pushed:
    """An OCI artifact attached to ``subject`` (pushed by digest, as cosign and oras do)."""
    await push_blob(env.client, repo, EMPTY_JSON, who.auth)
    await push_blob(env.client, repo, payload, who.auth)
    m: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [
            descriptor(
                "application/octet-stream",
                payload,
                annotations={"org.opencontainers.image.title": "payload.json"},
            )
        ],
        "subject": descriptor(subject.media_type, subject.manifest),
        "annotations": {"org.opencontainers.image.created": "2024-01-02T03:04:05Z"},
    }
    raw = json.dumps(m).encode()
    digest = sha256(raw)
    r = await push_manifest(env.client, repo, digest, raw, OCI_MANIFEST, who.auth)
    assert r.status_code == 201, r.text
    return Pushed(digest, raw, OCI_MANIFEST)


IMAGE_CONFIG: dict[str, Any] = {
    "created": "2024-05-06T07:08:09Z",
    "architecture": "arm64",
    "variant": "v8",
    "os": "linux",
    "config": {
        "Env": ["PATH=/usr/local/bin:/usr/bin", "APP_MODE=production"],
        "Entrypoint": ["/usr/bin/app"],
        "Cmd": ["--serve", "--port=8080"],
        "WorkingDir": "/srv",
        "Labels": {"org.opencontainers.image.source": "https://example.com/app.git"},
        "ExposedPorts": {"8080/tcp": {}},
    },
    "rootfs": {"type": "layers", "diff_ids": []},
    "history": [
        {"created": "2024-05-06T07:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:rootfs in /"},
        {"created": "2024-05-06T07:08:09Z", "created_by": "RUN make install-app", "empty_layer": False},
    ],
}


async def push_described_image(
    env: Env, repo: str, tag: str, who: User, image_config: dict[str, Any] | None = None
) -> tuple[Pushed, str, list[str]]:
    """An image whose config has labels, environment, entrypoint and history; returns the config digest
    and the layer digests too."""
    config = json.dumps(image_config or IMAGE_CONFIG).encode()
    layers = [b"first layer bytes " * 100, b"second layer " * 300]
    config_digest = await push_blob(env.client, repo, config, who.auth)
    layer_digests = [await push_blob(env.client, repo, layer, who.auth) for layer in layers]
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
    }
    raw = json.dumps(m).encode()
    r = await push_manifest(env.client, repo, tag, raw, OCI_MANIFEST, who.auth)
    assert r.status_code == 201, r.text
    return Pushed(sha256(raw), raw, OCI_MANIFEST), config_digest, layer_digests


async def retag(env: Env, repo: str, tag: str, digest: str, who: User) -> None:
    await env.api(
        "PUT", f"/repository/{repo}/tag/{tag}", who, json_body={"manifest_digest": digest}, expect=200
    )


async def live_tags(env: Env, repo: str) -> dict[str, str]:
    """tag → digest of the live tags, straight from the service (what really is in the registry)."""
    rows = await env.services.registry.tags.page(
        repo, only_active=True, specific=None, limit=100_000, after=None
    )
    return {r.name: r.manifest_digest for r in rows}
