"""A real Docker daemon (dockerd 20.10) against a running Moorage: login, pull, tag, push, pull back."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def docker(docker_client: ClientEnv, moorage_server: RegistryServer) -> ClientEnv:
    docker_client.docker(
        "login",
        "-u",
        moorage_server.admin,
        "--password-stdin",
        moorage_server.host,
        input_text=moorage_server.password,
    )
    return docker_client


def image_inspect(client: ClientEnv, ref: str) -> dict[str, object]:
    loaded: list[dict[str, object]] = json.loads(client.docker("image", "inspect", ref).stdout)
    return loaded[0]


def file_from_image(client: ClientEnv, ref: str, path: str) -> bytes:
    container = client.docker("create", "--network", "none", ref, "/hello").stdout.strip()
    try:
        tar_bytes = client.run_bytes("docker", "cp", f"{container}:{path}", "-")
    finally:
        client.docker("rm", container)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        member = tar.next()
        assert member is not None
        extracted = tar.extractfile(member)
        assert extracted is not None
        return extracted.read()


def test_login_with_good_and_bad_password(docker_client: ClientEnv, moorage_server: RegistryServer) -> None:
    good = docker_client.docker(
        "login",
        "-u",
        moorage_server.admin,
        "--password-stdin",
        moorage_server.host,
        input_text=moorage_server.password,
    )
    assert "Login Succeeded" in good.output
    config = json.loads((docker_client.docker_config / "config.json").read_text())
    assert moorage_server.host in config["auths"]

    bad = docker_client.docker_fails(
        "login",
        "-u",
        moorage_server.admin,
        "--password-stdin",
        moorage_server.host,
        input_text="wrong-password",
    )
    message = bad.output.lower()
    assert any(s in message for s in ("unauthorized", "invalid username/password", "401")), bad.describe()


def test_pull_tag_push_and_pull_back(
    docker: ClientEnv, moorage_server: RegistryServer, images: ImageSet
) -> None:
    source = f"{moorage_server.host}/admin/docker-src:v1"
    docker.skopeo(
        "copy", "--preserve-digests", "--dest-tls-verify=false", images.ref("hello"), f"docker://{source}"
    )

    docker.docker("pull", source)
    pulled = image_inspect(docker, source)
    assert pulled["Id"] == images.hello.config.digest
    config = json.loads(images.layout.blob(images.hello.config.digest))
    assert pulled["RootFS"] == {"Type": "layers", "Layers": config["rootfs"]["diff_ids"]}
    repo_digests = pulled["RepoDigests"]
    assert isinstance(repo_digests, list)
    assert f"{moorage_server.host}/admin/docker-src@{images.hello.manifest.digest}" in repo_digests

    target = f"{moorage_server.host}/admin/docker-pushed:v1"
    docker.docker("tag", source, target)
    pushed = docker.docker("push", target)
    manifest_raw = docker.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{target}").stdout
    manifest = json.loads(manifest_raw)
    assert manifest["config"]["digest"] == images.hello.config.digest
    assert "digest: sha256:" in pushed.stdout

    docker.docker("rmi", source, target)
    docker.docker("pull", target)
    assert image_inspect(docker, target)["Id"] == images.hello.config.digest
    assert file_from_image(docker, target, "/hello.txt") == images.hello.files["hello.txt"]
    docker.docker("rmi", target)


def test_pull_multi_arch_picks_amd64(
    docker: ClientEnv, moorage_server: RegistryServer, images: ImageSet
) -> None:
    ref = f"{moorage_server.host}/admin/docker-multi:v1"
    docker.skopeo(
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        images.ref("multi"),
        f"docker://{ref}",
    )
    docker.docker("pull", "--platform", "linux/amd64", ref)
    assert image_inspect(docker, ref)["Id"] == images.multi_images[0].config.digest
    docker.docker("rmi", ref)
