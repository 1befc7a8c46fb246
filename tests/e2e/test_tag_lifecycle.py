"""The time machine and tag expiration with real clients: skopeo pushes, the tag is deleted and
restored and pulls the same digest again; an image built by buildah with the label
``quay.expires-after=2s`` leaves /v2 once it expires and shows in the tag history.
Run on PostgreSQL with MOORAGE_E2E_BACKEND=postgres."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

PLAIN = "--tls-verify=false"


def _digest(client: ClientEnv, ref: str) -> str:
    digest: str = json.loads(client.skopeo("inspect", PLAIN, ref).stdout)["Digest"]
    return digest


def test_delete_then_restore_pulls_the_same_digest(
    client: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    client.skopeo_login(moorage_server.host, moorage_server.admin, moorage_server.password)
    ref = f"docker://{moorage_server.host}/admin/timemachine:v1"
    client.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", images.ref("hello"), ref)
    pushed = _digest(client, ref)
    assert pushed == images.hello.manifest.digest

    r = http_admin.delete("/api/v1/repository/admin/timemachine/tag/v1")
    assert r.status_code == 200, r.text
    gone = client.skopeo_fails("inspect", PLAIN, ref)
    assert "manifest unknown" in gone.output.lower(), gone.describe()

    r = http_admin.post(
        "/api/v1/repository/admin/timemachine/tag/v1/restore", json={"manifest_digest": pushed}
    )
    assert r.status_code == 200, r.text
    assert _digest(client, ref) == pushed
    raw, digest = client.skopeo_raw_manifest(ref, PLAIN)
    assert digest == pushed
    assert raw == images.layout.blob(pushed)
    kinds = [e["kind"] for e in http_admin.get("/api/v1/repository/admin/timemachine/logs").json()["logs"]]
    assert "revert_tag" in kinds


def test_label_expires_after_removes_the_tag_from_v2(
    client: ClientEnv, moorage_server: RegistryServer, http_admin: httpx.Client, tmp_path: Path
) -> None:
    client.buildah(
        "login", PLAIN, "-u", moorage_server.admin, "--password-stdin", moorage_server.host,
        input_text=moorage_server.password,
    )  # fmt: skip
    (tmp_path / "payload.txt").write_bytes(b"short-lived\n")
    ref = f"{moorage_server.host}/admin/shortlived:v1"
    container = client.buildah("from", "scratch").stdout.strip()
    try:
        client.buildah("copy", container, str(tmp_path / "payload.txt"), "/payload.txt")
        client.buildah("config", "--label", "quay.expires-after=2s", container)
        client.buildah("commit", "--quiet", container, ref)
    finally:
        client.buildah("rm", container)
    client.buildah("push", PLAIN, ref)
    pushed_at = time.time()

    history = "/api/v1/repository/admin/shortlived/tag/"
    (row,) = http_admin.get(history, params={"onlyActiveTags": "false", "specificTag": "v1"}).json()["tags"]
    start = _ts(row["start_ts"])
    assert abs(_ts(row["expiration"]) - (start + 2)) < 1.0

    time.sleep(max(0.0, start + 2.5 - time.time()))
    r = http_admin.get("/v2/admin/shortlived/tags/list")
    assert r.status_code == 200, r.text
    assert not r.json()["tags"]
    failed = client.skopeo_fails("inspect", PLAIN, f"docker://{ref}")
    assert "manifest unknown" in failed.output.lower(), failed.describe()
    (row,) = http_admin.get(history, params={"onlyActiveTags": "false", "specificTag": "v1"}).json()["tags"]
    assert row["active"] is False
    assert http_admin.get(history).json()["tags"] == []
    assert time.time() - pushed_at < 120


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()
