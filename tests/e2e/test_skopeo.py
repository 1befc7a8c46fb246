"""skopeo against a running Moorage: login, copy in both directions, multi-arch, tags, delete."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet, sha256_digest
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

PLAIN = "--tls-verify=false"
DEST_PLAIN = "--dest-tls-verify=false"
SRC_PLAIN = "--src-tls-verify=false"


@pytest.fixture
def admin(client: ClientEnv, moorage_server: RegistryServer) -> ClientEnv:
    client.skopeo_login(moorage_server.host, moorage_server.admin, moorage_server.password)
    return client


def push(client: ClientEnv, source: str, dest: str, *extra: str) -> None:
    client.skopeo("copy", "--preserve-digests", DEST_PLAIN, *extra, source, dest)


def test_login_with_good_and_bad_password(client: ClientEnv, moorage_server: RegistryServer) -> None:
    result = client.skopeo_login(moorage_server.host, moorage_server.admin, moorage_server.password)
    assert "Login Succeeded" in result.output
    assert moorage_server.host in client.auth_entries()

    bad = client.skopeo_fails(
        "login", PLAIN, "-u", moorage_server.admin, "--password-stdin", moorage_server.host,
        input_text="not-the-password",
    )  # fmt: skip
    message = bad.output.lower()
    assert "invalid username/password" in message or "unauthorized" in message, bad.describe()


def test_copy_layout_to_registry_preserves_digest(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet
) -> None:
    ref = f"docker://{moorage_server.host}/admin/skopeo-hello:v1"
    push(admin, images.ref("hello"), ref)

    raw, digest = admin.skopeo_raw_manifest(ref, PLAIN)
    assert digest == images.hello.manifest.digest
    assert raw == images.layout.blob(images.hello.manifest.digest)

    info = json.loads(admin.skopeo("inspect", PLAIN, ref).stdout)
    assert info["Digest"] == images.hello.manifest.digest
    assert info["Labels"] == {"e2e": "hello"}
    assert info["Layers"] == [layer.digest for layer in images.hello.layers]

    config = admin.skopeo("inspect", "--config", "--raw", PLAIN, ref).stdout.encode()
    assert sha256_digest(config) == images.hello.config.digest


def test_copy_registry_to_oci_layout_and_dir(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet, tmp_path: Path
) -> None:
    ref = f"docker://{moorage_server.host}/admin/skopeo-pull:v1"
    push(admin, images.ref("second"), ref)
    expected = [images.second.config, *images.second.layers]

    oci_dir = tmp_path / "pulled-oci"
    admin.skopeo("copy", "--preserve-digests", SRC_PLAIN, ref, f"oci:{oci_dir}:pulled")
    index = json.loads((oci_dir / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [images.second.manifest.digest]
    for desc in [images.second.manifest, *expected]:
        hex_digest = desc.digest.removeprefix("sha256:")
        assert (oci_dir / "blobs" / "sha256" / hex_digest).read_bytes() == images.layout.blob(desc.digest)

    dir_out = tmp_path / "pulled-dir"
    admin.skopeo("copy", "--preserve-digests", SRC_PLAIN, ref, f"dir:{dir_out}")
    assert (dir_out / "manifest.json").read_bytes() == images.layout.blob(images.second.manifest.digest)
    for desc in expected:
        assert (dir_out / desc.digest.removeprefix("sha256:")).read_bytes() == images.layout.blob(desc.digest)


def test_copy_between_repositories_mounts_blobs(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    source = f"docker://{moorage_server.host}/admin/skopeo-src:v1"
    target = f"docker://{moorage_server.host}/admin/skopeo-dst:copied"
    push(admin, images.ref("second"), source)
    admin.skopeo("copy", "--preserve-digests", SRC_PLAIN, DEST_PLAIN, source, target)

    _, digest = admin.skopeo_raw_manifest(target, PLAIN)
    assert digest == images.second.manifest.digest
    for layer in images.second.layers:
        response = http_admin.get(f"/v2/admin/skopeo-dst/blobs/{layer.digest}", follow_redirects=True)
        assert response.status_code == 200, response.text
        assert response.content == images.layout.blob(layer.digest)
    # the source repository is untouched
    _, source_digest = admin.skopeo_raw_manifest(source, PLAIN)
    assert source_digest == images.second.manifest.digest


def test_multi_arch_index_with_all(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet
) -> None:
    ref = f"docker://{moorage_server.host}/admin/skopeo-multi:v1"
    push(admin, images.ref("multi"), ref, "--all")

    raw, digest = admin.skopeo_raw_manifest(ref, PLAIN)
    assert digest == images.multi.digest
    index = json.loads(raw)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platforms = {(m["platform"]["architecture"], m["platform"].get("variant")) for m in index["manifests"]}
    assert platforms == {("amd64", None), ("arm64", "v8")}

    repo = f"docker://{moorage_server.host}/admin/skopeo-multi"
    for image in images.multi_images:
        _, child = admin.skopeo_raw_manifest(f"{repo}@{image.manifest.digest}", PLAIN)
        assert child == image.manifest.digest
    arm = json.loads(
        admin.skopeo("inspect", PLAIN, "--override-arch", "arm64", "--override-variant", "v8", ref).stdout
    )
    assert arm["Architecture"] == "arm64"
    assert arm["Layers"] == [layer.digest for layer in images.multi_images[1].layers]


def test_list_tags(admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet) -> None:
    repo = f"docker://{moorage_server.host}/admin/skopeo-tags"
    for tag in ("v1", "v2", "latest"):
        push(admin, images.ref("hello"), f"{repo}:{tag}")
    push(admin, images.ref("second"), f"{repo}:other")

    listed = json.loads(admin.skopeo("list-tags", PLAIN, repo).stdout)
    assert listed["Repository"].endswith("admin/skopeo-tags")
    assert sorted(listed["Tags"]) == ["latest", "other", "v1", "v2"]


def test_skopeo_delete(admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet) -> None:
    """skopeo resolves the tag and sends DELETE /v2/<name>/manifests/<digest>: the manifest goes away."""
    repo = f"docker://{moorage_server.host}/admin/skopeo-delete"
    push(admin, images.ref("hello"), f"{repo}:gone")
    push(admin, images.ref("second"), f"{repo}:stays")

    admin.skopeo("delete", PLAIN, f"{repo}:gone")

    gone = admin.skopeo_fails("inspect", "--raw", PLAIN, f"{repo}:gone")
    assert "manifest unknown" in gone.output.lower(), gone.describe()
    assert json.loads(admin.skopeo("list-tags", PLAIN, repo).stdout)["Tags"] == ["stays"]
    _, digest = admin.skopeo_raw_manifest(f"{repo}:stays", PLAIN)
    assert digest == images.second.manifest.digest


def test_delete_by_tag_keeps_other_tags_on_same_manifest(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    """DELETE /v2/<name>/manifests/<tag> removes only that tag (unlike CNCF Distribution)."""
    repo = f"docker://{moorage_server.host}/admin/tag-delete"
    push(admin, images.ref("hello"), f"{repo}:keep")
    push(admin, images.ref("hello"), f"{repo}:gone")

    response = http_admin.delete("/v2/admin/tag-delete/manifests/gone")
    assert response.status_code == 202, f"{response.status_code} {response.text}"

    tags = json.loads(admin.skopeo("list-tags", PLAIN, repo).stdout)["Tags"]
    assert tags == ["keep"]
    _, digest = admin.skopeo_raw_manifest(f"{repo}:keep", PLAIN)
    assert digest == images.hello.manifest.digest
    _, by_digest = admin.skopeo_raw_manifest(f"{repo}@{images.hello.manifest.digest}", PLAIN)
    assert by_digest == images.hello.manifest.digest
    gone = admin.skopeo_fails("inspect", "--raw", PLAIN, f"{repo}:gone")
    assert "manifest unknown" in gone.output.lower(), gone.describe()


def test_nested_repository_names(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    created = http_admin.post("/api/v1/organization/", json={"name": "org"})  # pushes need a namespace
    assert created.status_code in (201, 409), created.text
    repo = f"docker://{moorage_server.host}/org/team/app"
    push(admin, images.ref("hello"), f"{repo}:1.0")

    _, digest = admin.skopeo_raw_manifest(f"{repo}:1.0", PLAIN)
    assert digest == images.hello.manifest.digest
    listed = json.loads(admin.skopeo("list-tags", PLAIN, repo).stdout)
    assert listed["Tags"] == ["1.0"]
    admin.skopeo("copy", "--preserve-digests", SRC_PLAIN, DEST_PLAIN, f"{repo}:1.0", f"{repo}/sub:copy")
    _, sub_digest = admin.skopeo_raw_manifest(f"{repo}/sub:copy", PLAIN)
    assert sub_digest == images.hello.manifest.digest


def test_superuser_copy_outside_any_namespace_is_refused(
    admin: ClientEnv, moorage_server: RegistryServer, images: ImageSet, http_admin: httpx.Client
) -> None:
    """skopeo copy to an organization that does not exist, or to a bare name, fails with a message
    that says so, and leaves no repository behind (it used to create "app / app" rows)."""
    for name, says in (("nosuchorg/app", "'nosuchorg' does not exist"), ("app", "namespace")):
        failed = admin.skopeo_fails(
            "copy",
            "--preserve-digests",
            DEST_PLAIN,
            images.ref("hello"),
            f"docker://{moorage_server.host}/{name}:1",
        )
        assert "name unknown" in failed.output.lower(), failed.describe()
        assert says in failed.output, failed.describe()
        r = http_admin.get(f"/api/v1/repository/{name}")
        assert r.status_code == 404, r.text
