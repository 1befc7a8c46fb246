"""Registry servers started for end-to-end tests: Moorage itself (and CNCF Distribution for comparison)."""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.support.ports import LOOPBACK, free_port
from tests.support.procs import Background, run
from tests.support.tlscert import TlsFiles

START_TIMEOUT = 60.0


@dataclass
class RegistryServer:
    """A running registry: ``host`` is ``127.0.0.1:PORT`` as clients write it."""

    kind: str
    host: str
    url: str
    admin: str
    password: str
    alice: str
    alice_password: str
    data_dir: Path
    process: Background
    ca_cert: Path | None = None
    database_url: str | None = None

    def logs(self) -> str:
        return self.process.logs()

    def stop(self) -> None:
        self.process.stop()


def moorage_executable() -> str:
    found = shutil.which("moorage") or shutil.which("moorage", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("the `moorage` executable is not installed (pip install -e . into the venv)")
    return found


def migrate(data_dir: Path, database_url: str | None = None) -> None:
    """Create the database (or bring it to the latest schema), as ``moorage migrate`` does."""
    args = [moorage_executable(), "migrate", "--data-dir", str(data_dir)]
    if database_url:
        args += ["--database-url", database_url]
    run(args, timeout=120)


def create_user(
    data_dir: Path, name: str, password: str, *, superuser: bool, database_url: str | None = None
) -> None:
    args = [moorage_executable(), "user", "create", name, "--password-stdin", "--data-dir", str(data_dir)]
    if superuser:
        args.append("--superuser")
    if database_url:
        args += ["--database-url", database_url]
    run(args, input_text=password + "\n", timeout=60)


def _health_ok(url: str, verify: ssl.SSLContext | bool) -> bool:
    return httpx.get(f"{url}/health/instance", verify=verify, timeout=2.0).status_code == 200


def start_moorage(
    base: Path,
    *,
    tls: TlsFiles | None = None,
    database_url: str | None = None,
    name: str = "moorage",
    beside: RegistryServer | None = None,
    join: RegistryServer | None = None,
    first_start: bool = False,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
) -> RegistryServer:
    """Create users ``admin`` (superuser) and ``alice``, start ``moorage serve``, wait until healthy.

    With ``beside``, start another server on that server's data directory and database (a second
    node sharing its storage and metadata) with the same users; ``base`` then holds only its logs.
    With ``join``, start another node on that server's database only: the same users, its own data
    directory (nothing shared through the machine, as on another host), port and processes.
    ``first_start``: create no users, as on a fresh install: the server creates ``admin`` and writes
    its password to ``<data_dir>/initial-admin-password`` (then there is no ``alice``).
    """
    if beside is not None:
        data_dir, database_url = beside.data_dir, beside.database_url
    else:
        data_dir = base / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
    if join is not None:
        database_url = join.database_url
    other = beside or join
    if other is not None:
        password, alice_password = other.password, other.alice_password
    else:
        password, alice_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    if first_start:
        alice_password = ""
    elif other is None:
        migrate(data_dir, database_url)  # administration commands never create a database
        create_user(data_dir, "admin", password, superuser=True, database_url=database_url)
        create_user(data_dir, "alice", alice_password, superuser=False, database_url=database_url)
    port = free_port()
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
    if database_url:
        args += ["--database-url", database_url]
    if workers is not None:
        args += ["--workers", str(workers)]
    scheme = "http"
    verify: ssl.SSLContext | bool = False
    if tls is not None:
        args += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
        scheme = "https"
        verify = ssl.create_default_context(cafile=str(tls.cert))
    process = Background(name, args, base / "logs", env={**os.environ, **env} if env else None)
    server = RegistryServer(
        kind="moorage",
        host=f"{LOOPBACK}:{port}",
        url=f"{scheme}://{LOOPBACK}:{port}",
        admin="admin",
        password=password,
        alice="alice",
        alice_password=alice_password,
        data_dir=data_dir,
        process=process,
        ca_cert=tls.cert if tls else None,
        database_url=database_url,
    )
    try:
        process.wait_until(lambda: _health_ok(server.url, verify), timeout=START_TIMEOUT, what="healthy")
        if first_start:
            server.password = (data_dir / "initial-admin-password").read_text(encoding="utf-8").strip()
    except BaseException:
        process.stop()
        raise
    return server


def start_distribution(base: Path, *, tls: TlsFiles | None = None) -> RegistryServer:
    """CNCF Distribution (apt ``docker-registry``), htpasswd users admin and alice: for comparison."""
    binary = shutil.which("docker-registry")
    htpasswd = shutil.which("htpasswd")
    if not binary or not htpasswd:
        raise RuntimeError(
            "docker-registry and htpasswd (apache2-utils) are needed for E2E_TARGET=distribution"
        )
    data_dir = base / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    password, alice_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    users = base / "htpasswd"
    run([htpasswd, "-Bbc", str(users), "admin", password])
    run([htpasswd, "-Bb", str(users), "alice", alice_password])
    port = free_port()
    tls_block = f"  tls: {{certificate: {tls.cert}, key: {tls.key}}}\n" if tls else ""
    config = base / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: info}\n"
        f"storage:\n  filesystem: {{rootdirectory: {data_dir}}}\n  delete: {{enabled: true}}\n"
        f"http:\n  addr: {LOOPBACK}:{port}\n  secret: {secrets.token_hex(16)}\n{tls_block}"
        f"auth:\n  htpasswd: {{realm: basic-realm, path: {users}}}\n"
    )
    process = Background("distribution", [binary, "serve", str(config)], base / "logs")
    scheme = "https" if tls else "http"
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(tls.cert)) if tls else False
    server = RegistryServer(
        kind="distribution",
        host=f"{LOOPBACK}:{port}",
        url=f"{scheme}://{LOOPBACK}:{port}",
        admin="admin",
        password=password,
        alice="alice",
        alice_password=alice_password,
        data_dir=data_dir,
        process=process,
        ca_cert=tls.cert if tls else None,
    )

    def ready() -> bool:
        return httpx.get(f"{server.url}/v2/", verify=verify, timeout=2.0).status_code == 401

    try:
        process.wait_until(ready, timeout=START_TIMEOUT, what="answering /v2/")
    except BaseException:
        process.stop()
        raise
    return server
