"""buildah against a running Moorage: from scratch, copy, commit, push, pull back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.clients import ClientEnv
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

PLAIN = "--tls-verify=false"


def test_build_commit_push_pull(client: ClientEnv, moorage_server: RegistryServer, tmp_path: Path) -> None:
    client.buildah(
        "login", PLAIN, "-u", moorage_server.admin, "--password-stdin", moorage_server.host,
        input_text=moorage_server.password,
    )  # fmt: skip
    content = b"made with buildah for moorage\n"
    (tmp_path / "payload.txt").write_bytes(content)
    ref = f"{moorage_server.host}/admin/buildah-tiny:v1"

    container = client.buildah("from", "scratch").stdout.strip()
    try:
        client.buildah("copy", container, str(tmp_path / "payload.txt"), "/payload.txt")
        client.buildah("config", "--cmd", '["/payload"]', "--label", "made-by=buildah", container)
        built_id = client.buildah("commit", "--quiet", container, ref).stdout.strip()
    finally:
        client.buildah("rm", container)
    client.buildah("push", PLAIN, ref)

    info = json.loads(client.skopeo("inspect", PLAIN, f"docker://{ref}").stdout)
    assert info["Labels"]["made-by"] == "buildah"
    config = json.loads(client.skopeo("inspect", "--raw", PLAIN, f"docker://{ref}").stdout)["config"]
    assert config["digest"] == f"sha256:{built_id}"

    client.buildah("rmi", "--force", ref)
    client.buildah("pull", "--quiet", PLAIN, ref)
    pulled = client.buildah("from", "--quiet", ref).stdout.strip()
    try:
        mount = Path(client.buildah("mount", pulled).stdout.strip())
        assert (mount / "payload.txt").read_bytes() == content
        client.buildah("umount", pulled)
    finally:
        client.buildah("rm", pulled)
    pulled_id = client.buildah(
        "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref
    ).stdout.strip()
    assert pulled_id == built_id
