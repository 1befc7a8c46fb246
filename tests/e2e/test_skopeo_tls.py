"""A second Moorage serving HTTPS with a self-signed certificate; skopeo trusts it through --dest-cert-dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer, start_distribution, start_moorage
from tests.support.tlscert import self_signed_loopback

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory, moorage_server: RegistryServer
) -> Iterator[RegistryServer]:
    base = tmp_path_factory.mktemp("tls-server")
    tls = self_signed_loopback(base / "tls")
    start = start_distribution if moorage_server.kind == "distribution" else start_moorage
    server = start(base, tls=tls)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cert_dir(tmp_path: Path, tls_server: RegistryServer) -> Path:
    directory = tmp_path / "certs.d" / tls_server.host
    directory.mkdir(parents=True)
    assert tls_server.ca_cert is not None
    shutil.copy(tls_server.ca_cert, directory / "ca.crt")
    return directory


def test_copy_over_tls_with_cert_dir(
    client: ClientEnv, tls_server: RegistryServer, images: ImageSet, cert_dir: Path
) -> None:
    assert tls_server.url.startswith("https://")
    creds = f"{tls_server.admin}:{tls_server.password}"
    ref = f"docker://{tls_server.host}/admin/tls-hello:v1"

    untrusted = client.skopeo_fails("copy", "--dest-creds", creds, images.ref("hello"), ref)
    assert "certificate signed by unknown authority" in untrusted.output, untrusted.describe()

    client.skopeo(
        "copy",
        "--preserve-digests",
        "--dest-cert-dir",
        str(cert_dir),
        "--dest-creds",
        creds,
        images.ref("hello"),
        ref,
    )
    _, digest = client.skopeo_raw_manifest(ref, "--cert-dir", str(cert_dir), "--creds", creds)
    assert digest == images.hello.manifest.digest

    pulled = client.workdir / "pulled"
    client.skopeo("copy", "--src-cert-dir", str(cert_dir), "--src-creds", creds, ref, f"dir:{pulled}")
    layer = images.hello.layers[0].digest
    assert (pulled / layer.removeprefix("sha256:")).read_bytes() == images.layout.blob(layer)
