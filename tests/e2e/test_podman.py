"""podman against a running Moorage: login, push, pull, multi-arch manifest lists, build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

PLAIN = "--tls-verify=false"


@pytest.fixture
def podman(client: ClientEnv, moorage_server: RegistryServer) -> ClientEnv:
    client.podman(
        "login", PLAIN, "-u", moorage_server.admin, "--password-stdin", moorage_server.host,
        input_text=moorage_server.password,
    )  # fmt: skip
    return client


def image_id(client: ClientEnv, ref: str) -> str:
    return client.podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def read_file_in_image(client: ClientEnv, ref: str, path: str) -> bytes:
    mount = Path(client.podman("image", "mount", ref).stdout.strip())
    try:
        return (mount / path.lstrip("/")).read_bytes()
    finally:
        client.podman("image", "unmount", ref)


def test_login_with_good_and_bad_password(client: ClientEnv, moorage_server: RegistryServer) -> None:
    good = client.podman(
        "login", PLAIN, "-u", moorage_server.admin, "--password-stdin", moorage_server.host,
        input_text=moorage_server.password,
    )  # fmt: skip
    assert "Login Succeeded" in good.output
    bad = client.podman_fails(
        "login",
        PLAIN,
        "-u",
        moorage_server.admin,
        "--password-stdin",
        moorage_server.host,
        input_text="wrong",
    )
    message = bad.output.lower()
    assert "invalid username/password" in message or "unauthorized" in message, bad.describe()


def test_push_and_pull(podman: ClientEnv, moorage_server: RegistryServer, images: ImageSet) -> None:
    ref = f"{moorage_server.host}/admin/podman-hello:v1"
    local_id = podman.podman("pull", "--quiet", images.ref("hello")).stdout.strip().splitlines()[-1]
    assert local_id == images.hello.config.digest.removeprefix("sha256:")
    podman.podman("tag", local_id, ref)
    podman.podman("push", PLAIN, ref)

    manifest = json.loads(podman.skopeo("inspect", "--raw", PLAIN, f"docker://{ref}").stdout)
    assert manifest["config"]["digest"] == images.hello.config.digest

    podman.podman("rmi", "--force", ref)
    podman.podman("pull", PLAIN, ref)
    assert image_id(podman, ref) == images.hello.config.digest.removeprefix("sha256:")
    assert read_file_in_image(podman, ref, "/hello.txt") == images.hello.files["hello.txt"]


def test_manifest_list_push_all(podman: ClientEnv, moorage_server: RegistryServer, images: ImageSet) -> None:
    source = f"{moorage_server.host}/admin/podman-arch"
    for tag in ("amd64", "arm64"):
        podman.skopeo(
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            images.ref(f"multi-{tag}"),
            f"docker://{source}:{tag}",
        )

    local = "localhost/moorage-e2e-list:v1"
    podman.podman("manifest", "create", local)
    try:
        for tag in ("amd64", "arm64"):
            podman.podman("manifest", "add", PLAIN, local, f"docker://{source}:{tag}")
        target = f"{moorage_server.host}/admin/podman-list:v1"
        podman.podman("manifest", "push", "--all", "--format", "oci", PLAIN, local, f"docker://{target}")
    finally:
        podman.podman("manifest", "rm", local)

    index = json.loads(podman.skopeo("inspect", "--raw", PLAIN, f"docker://{target}").stdout)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    by_arch = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    assert by_arch == {
        "amd64": images.multi_images[0].manifest.digest,
        "arm64": images.multi_images[1].manifest.digest,
    }
    for digest in by_arch.values():
        child = json.loads(
            podman.skopeo(
                "inspect", "--raw", PLAIN, f"docker://{moorage_server.host}/admin/podman-list@{digest}"
            ).stdout
        )
        assert child["mediaType"] == "application/vnd.oci.image.manifest.v1+json"


def test_build_from_scratch_push_and_pull(
    podman: ClientEnv, moorage_server: RegistryServer, tmp_path: Path
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    content = b"built by podman for moorage\n"
    (context / "hello.txt").write_bytes(content)
    (context / "Containerfile").write_text(
        "FROM scratch\n"
        "COPY hello.txt /hello.txt\n"
        "LABEL org.opencontainers.image.title=podman-built\n"
        'CMD ["/hello"]\n'
    )
    ref = f"{moorage_server.host}/admin/podman-built:v1"
    podman.podman("build", "--isolation=chroot", "-t", ref, str(context))
    built_id = image_id(podman, ref)
    podman.podman("push", PLAIN, ref)

    podman.podman("rmi", "--force", ref)
    podman.podman("pull", PLAIN, ref)
    assert image_id(podman, ref) == built_id
    assert read_file_in_image(podman, ref, "/hello.txt") == content
    info = json.loads(podman.skopeo("inspect", PLAIN, f"docker://{ref}").stdout)
    assert info["Labels"]["org.opencontainers.image.title"] == "podman-built"
