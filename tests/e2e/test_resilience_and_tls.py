"""A server killed mid-upload loses nothing and the upload resumes; `serve --self-signed` works."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import ssl
from pathlib import Path

import httpx
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.ports import LOOPBACK, free_port
from tests.support.procs import Background
from tests.support.servers import create_user, migrate, moorage_executable

pytestmark = pytest.mark.e2e


def _serve(base: Path, data_dir: Path, port: int, *extra: str) -> Background:
    args = [
        moorage_executable(),
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    return Background(f"moorage-{secrets.token_hex(3)}", [*args, *extra], base / "logs")


def _wait_healthy(proc: Background, url: str, verify: ssl.SSLContext | bool = False) -> None:
    proc.wait_until(
        lambda: httpx.get(f"{url}/health/instance", verify=verify, timeout=2).status_code == 200,
        timeout=60,
        what="healthy",
    )


def _kill_hard(proc: Background) -> None:
    """SIGKILL the server and its worker processes (its own process group): no clean shutdown."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.proc.wait(10)
    proc.stop()


@pytest.fixture
def crash_server(tmp_path: Path) -> tuple[Path, int, str]:
    data_dir = tmp_path / "data"
    password = secrets.token_urlsafe(16)
    migrate(data_dir)
    create_user(data_dir, "admin", password, superuser=True)
    return data_dir, free_port(), password


def test_kill_during_chunked_upload_leaves_no_partial_blob_and_upload_resumes(
    tmp_path: Path, crash_server: tuple[Path, int, str]
) -> None:
    data_dir, port, password = crash_server
    url = f"http://{LOOPBACK}:{port}"
    auth = ("admin", password)
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    half = len(data) // 2

    first = _serve(tmp_path, data_dir, port)
    try:
        _wait_healthy(first, url)
        with httpx.Client(base_url=url, auth=auth, timeout=30) as http:
            started = http.post("/v2/admin/crash/blobs/uploads/")
            assert started.status_code == 202, started.text
            location = started.headers["location"]
            patched = http.patch(
                location,
                content=data[:half],
                headers={"Content-Range": f"0-{half - 1}", "Content-Type": "application/octet-stream"},
            )
            assert patched.status_code == 202, patched.text
            assert patched.headers["range"] == f"0-{half - 1}"
    finally:
        _kill_hard(first)

    # nothing is visible under the blob's digest, in the API or on disk
    blob_file = data_dir / "storage" / "blobs" / "sha256" / digest[7:9] / digest[7:]
    assert not blob_file.exists()

    second = _serve(tmp_path, data_dir, port)
    try:
        _wait_healthy(second, url)
        with httpx.Client(base_url=url, auth=auth, timeout=30) as http:
            assert http.head(f"/v2/admin/crash/blobs/{digest}").status_code == 404
            status = http.get(location)
            assert status.status_code == 204, status.text
            assert status.headers["range"] == f"0-{half - 1}"
            rest = http.patch(
                location,
                content=data[half:],
                headers={
                    "Content-Range": f"{half}-{len(data) - 1}",
                    "Content-Type": "application/octet-stream",
                },
            )
            assert rest.status_code == 202, rest.text
            done = http.put(f"{location}?digest={digest}")
            assert done.status_code == 201, done.text
            assert done.headers["docker-content-digest"] == digest
            pulled = http.get(f"/v2/admin/crash/blobs/{digest}")
            assert pulled.status_code == 200
            assert pulled.content == data
    finally:
        second.stop()
    assert blob_file.read_bytes() == data


def test_self_signed_tls_works_with_skopeo_and_podman(
    tmp_path: Path, client: ClientEnv, images: ImageSet
) -> None:
    data_dir = tmp_path / "data"
    password = secrets.token_urlsafe(16)
    migrate(data_dir)
    create_user(data_dir, "admin", password, superuser=True)
    port = free_port()
    host = f"{LOOPBACK}:{port}"
    proc = _serve(
        tmp_path, data_dir, port, "--self-signed", "--hostname", LOOPBACK, "--hostname", "localhost"
    )
    try:
        ca = data_dir / "tls" / "ca.crt"
        proc.wait_until(ca.exists, timeout=60, what="writing its CA")
        _wait_healthy(proc, f"https://{host}", ssl.create_default_context(cafile=str(ca)))
        printed = re.search(r"trust the CA in\s+(\S+)", proc.logs().replace("\n", " "))
        assert printed is not None, proc.logs()
        assert Path(printed.group(1)).resolve() == ca.resolve()
        # plain HTTP is not served on the TLS port
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{host}/v2/", timeout=3).raise_for_status()

        cert_dir = tmp_path / "certs.d" / host
        cert_dir.mkdir(parents=True)
        shutil.copy(ca, cert_dir / "ca.crt")
        creds = f"admin:{password}"
        client.skopeo(
            "copy",
            "--preserve-digests",
            "--dest-cert-dir",
            str(cert_dir),
            "--dest-creds",
            creds,
            images.ref("hello"),
            f"docker://{host}/admin/tls-hello:v1",
        )
        raw = client.skopeo(
            "inspect",
            "--raw",
            "--cert-dir",
            str(cert_dir),
            "--creds",
            creds,
            f"docker://{host}/admin/tls-hello:v1",
        ).stdout
        assert hashlib.sha256(raw.encode()).hexdigest() == images.hello.manifest.digest.split(":", 1)[1]
        client.podman(
            "login", "--cert-dir", str(cert_dir), "-u", "admin", "--password-stdin", host, input_text=password
        )
        client.podman("pull", "--cert-dir", str(cert_dir), f"{host}/admin/tls-hello:v1")
        # without the CA the client refuses the certificate
        failed = client.skopeo_fails("inspect", "--creds", creds, f"docker://{host}/admin/tls-hello:v1")
        assert "certificate" in failed.output.lower()
    finally:
        proc.stop()
