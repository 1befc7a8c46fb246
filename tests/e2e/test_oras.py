"""oras-py against a running Moorage: custom artifacts, artifactType + subject, the referrers API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import oras.client
import oras.oci
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import (
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageSet,
    build_artifact_manifest,
)
from tests.support.images import sha256_digest as digest_of
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

SIGNATURE_TYPE = "application/vnd.example.signature.v1"
SBOM_CONFIG_TYPE = "application/vnd.example.sbom.config.v1+json"


@pytest.fixture
def oras_client(moorage_server: RegistryServer) -> oras.client.OrasClient:
    # Basic credentials on /v2. oras-py's token backend keeps its first (pull-scoped) token and asks for a
    # new one only after a 403, so its pushes fail against token servers answering 401 insufficient_scope.
    client = oras.client.OrasClient(hostname=moorage_server.host, insecure=True, auth_backend="basic")
    client.auth.set_basic_auth(moorage_server.admin, moorage_server.password)
    return client


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """oras refuses files outside the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def push_subject(client: ClientEnv, server: RegistryServer, images: ImageSet, repo: str) -> Descriptor:
    client.skopeo(
        "copy", "--preserve-digests", "--dest-tls-verify=false",
        "--dest-creds", f"{server.admin}:{server.password}", images.ref("hello"), f"docker://{server.host}/{repo}:v1",
    )  # fmt: skip
    return images.hello.manifest


def test_push_and_pull_custom_config_media_type(
    oras_client: oras.client.OrasClient, moorage_server: RegistryServer, workdir: Path
) -> None:
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": "moorage-e2e"}).encode()
    config = json.dumps({"generator": "moorage-e2e"}).encode()
    (workdir / "sbom.spdx.json").write_bytes(sbom)
    (workdir / "config.json").write_bytes(config)
    target = f"{moorage_server.host}/admin/oras-sbom:v1"

    response = oras_client.push(
        target=target,
        files=["sbom.spdx.json:application/spdx+json"],
        manifest_config=f"config.json:{SBOM_CONFIG_TYPE}",
    )
    assert response.status_code == 201, response.text

    manifest = oras_client.get_manifest(target)
    assert manifest["config"]["mediaType"] == SBOM_CONFIG_TYPE
    assert manifest["config"]["digest"] == digest_of(config)
    assert [(layer["mediaType"], layer["digest"]) for layer in manifest["layers"]] == [
        ("application/spdx+json", digest_of(sbom))
    ]
    assert oras_client.get_tags(f"{moorage_server.host}/admin/oras-sbom") == ["v1"]

    pulled = oras_client.pull(target=target, outdir=str(workdir / "pulled"))
    assert [Path(p).name for p in pulled] == ["sbom.spdx.json"]
    assert Path(pulled[0]).read_bytes() == sbom


def test_artifact_with_subject_is_listed_by_referrers(
    oras_client: oras.client.OrasClient,
    client: ClientEnv,
    moorage_server: RegistryServer,
    images: ImageSet,
    http_admin: httpx.Client,
    workdir: Path,
) -> None:
    repo = "admin/oras-referrers"
    subject = push_subject(client, moorage_server, images, repo)
    container = oras_client.get_container(f"{moorage_server.host}/{repo}:signature")

    # 1. an OCI 1.1 artifact (artifactType + empty config + subject), uploaded by hand
    signature = b"not-a-real-signature"
    (workdir / "sig.bin").write_bytes(signature)
    (workdir / "empty.json").write_bytes(b"{}")
    layer = Descriptor("application/octet-stream", digest_of(signature), len(signature),
                       annotations={"org.opencontainers.image.title": "sig.bin"})  # fmt: skip
    empty = Descriptor(OCI_EMPTY, digest_of(b"{}"), 2)
    for path, desc in (("sig.bin", layer), ("empty.json", empty)):
        uploaded = oras_client.upload_blob(path, container, desc.to_json())
        assert uploaded.status_code in (200, 201), uploaded.text
    manifest = build_artifact_manifest(
        artifact_type=SIGNATURE_TYPE, config=empty, layers=[layer], subject=subject
    )
    put = oras_client.upload_manifest(manifest, container)
    assert put.status_code == 201, put.text
    body = put.request.body
    assert isinstance(body, bytes)
    artifact_digest = digest_of(body)
    assert put.headers["Docker-Content-Digest"] == artifact_digest
    assert put.headers.get("OCI-Subject") == subject.digest, dict(put.headers)

    # 2. an artifact without artifactType: its config media type is its type (oras push with subject)
    (workdir / "sbom.json").write_bytes(b'{"sbom": true}')
    (workdir / "config.json").write_bytes(b'{"kind": "sbom"}')
    sbom_push = oras_client.push(
        target=f"{moorage_server.host}/{repo}:sbom",
        files=["sbom.json:application/spdx+json"],
        manifest_config=f"config.json:{SBOM_CONFIG_TYPE}",
        subject=oras.oci.Subject(mediaType=subject.media_type, digest=subject.digest, size=subject.size),
    )
    assert sbom_push.status_code == 201, sbom_push.text
    sbom_digest = sbom_push.headers["Docker-Content-Digest"]

    # the referrers API lists both
    listed = http_admin.get(f"/v2/{repo}/referrers/{subject.digest}")
    assert listed.status_code == 200, f"{listed.status_code} {listed.headers} {listed.text}"
    assert listed.headers["content-type"].startswith(OCI_INDEX)
    index = listed.json()
    assert index["mediaType"] == OCI_INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert set(by_digest) == {artifact_digest, sbom_digest}
    assert by_digest[artifact_digest]["artifactType"] == SIGNATURE_TYPE
    assert by_digest[artifact_digest]["mediaType"] == OCI_MANIFEST
    assert by_digest[artifact_digest]["size"] == len(body)
    assert by_digest[sbom_digest]["artifactType"] == SBOM_CONFIG_TYPE

    filtered = http_admin.get(
        f"/v2/{repo}/referrers/{subject.digest}", params={"artifactType": SIGNATURE_TYPE}
    )
    assert filtered.status_code == 200, filtered.text
    assert filtered.headers.get("OCI-Filters-Applied") == "artifactType", dict(filtered.headers)
    assert [m["digest"] for m in filtered.json()["manifests"]] == [artifact_digest]

    # a digest nobody refers to: an empty index, never 404
    unknown = http_admin.get(f"/v2/{repo}/referrers/{digest_of(b'nothing refers to this')}")
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["manifests"] == []

    # oras pulls the artifact's files back byte for byte
    pulled = oras_client.pull(
        target=f"{moorage_server.host}/{repo}:signature", outdir=str(workdir / "pulled")
    )
    assert [Path(p).read_bytes() for p in pulled] == [signature]
