"""Immutable tags against real clients: a real Docker daemon's push that would move an immutable
tag is refused with a message naming the rule; so are skopeo copies onto it and skopeo deletes."""

from __future__ import annotations

import httpx
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e


def _rule(http_admin: httpx.Client, repo: str, pattern: str) -> str:
    r = http_admin.post(f"/api/v1/repository/{repo}/immutabilitypolicy/", json={"tagPattern": pattern})
    assert r.status_code == 201, r.text
    uuid: str = r.json()["uuid"]
    return uuid


def test_docker_push_cannot_move_an_immutable_tag(
    docker_client: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    host = moorage_server.host
    repo = "admin/immutable-docker"
    docker = docker_client
    docker.docker(
        "login", "-u", moorage_server.admin, "--password-stdin", host, input_text=moorage_server.password
    )
    docker.skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        images.ref("hello"),
        f"docker://{host}/{repo}:v1",
    )
    docker.skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        images.ref("second"),
        f"docker://{host}/{repo}:other",
    )
    rule = _rule(http_admin, repo, "^v[0-9]+$")
    # docker: pull the other image, tag it as v1, push: the registry refuses to move v1
    docker.docker("pull", f"{host}/{repo}:other")
    docker.docker("tag", f"{host}/{repo}:other", f"{host}/{repo}:v1")
    refused = docker.docker_fails("push", f"{host}/{repo}:v1")
    assert "immutable" in refused.output, refused.describe()
    assert rule in refused.output, refused.describe()
    # v1 still points at the first image
    raw = docker.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{host}/{repo}:v1").stdout
    assert images.hello.config.digest in raw
    # a tag outside the rule takes the same push
    docker.docker("tag", f"{host}/{repo}:other", f"{host}/{repo}:dev")
    docker.docker("push", f"{host}/{repo}:dev")
    docker.docker("rmi", f"{host}/{repo}:other", f"{host}/{repo}:v1", f"{host}/{repo}:dev")


def test_skopeo_cannot_overwrite_or_delete_an_immutable_tag(
    client: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    host = moorage_server.host
    repo = "admin/immutable-skopeo"
    creds = f"{moorage_server.admin}:{moorage_server.password}"
    dest = f"docker://{host}/{repo}:release-1"
    client.skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        images.ref("hello"),
        dest,
    )
    rule = _rule(http_admin, repo, "^release-")
    # pushing the same image again is no change: allowed
    client.skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        images.ref("hello"),
        dest,
    )
    moved = client.skopeo_fails(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        images.ref("second"),
        dest,
    )
    assert "immutable" in moved.output, moved.describe()
    assert rule in moved.output, moved.describe()
    deleted = client.skopeo_fails("delete", "--tls-verify=false", "--creds", creds, dest)
    assert "immutable" in deleted.output, deleted.describe()
    assert rule in deleted.output, deleted.describe()
    raw = client.skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds, dest).stdout
    assert images.hello.config.digest in raw
    # lifted by the superuser: the delete goes through
    r = http_admin.delete(f"/api/v1/repository/{repo}/immutabilitypolicy/{rule}")
    assert r.status_code == 200, r.text
    client.skopeo("delete", "--tls-verify=false", "--creds", creds, dest)
    client.skopeo_fails("inspect", "--raw", "--tls-verify=false", "--creds", creds, dest)
