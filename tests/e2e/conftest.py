"""Fixtures for end-to-end tests: a running Moorage server, a Docker daemon and real clients.

Run with ``.venv/bin/pytest tests/e2e -m e2e``. Needs apt skopeo podman buildah docker.io
docker-registry apache2-utils (the last two only for E2E_TARGET=distribution) and PyPI oras.
One server and one dockerd serve the whole session; each test uses its own repositories,
auth file and Docker config; podman and buildah share a vfs store in the session's temp dir.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.e2e.browser_fixtures import chromium, page, ui_server
from tests.support.clients import ClientEnv, ContainersConfig
from tests.support.images import ImageSet, build_image_set
from tests.support.procs import Background, run
from tests.support.servers import RegistryServer, start_distribution, start_moorage
from tests.support.tools import require_program

# E2E_TARGET=distribution runs the suite against CNCF Distribution 2.8 (apt docker-registry) for
# comparison: tests of behaviour only Moorage has (referrers, tag delete, permissions) then fail.
TARGET = os.environ.get("E2E_TARGET", "moorage")
# MOORAGE_E2E_BACKEND=postgres runs the session's server on a fresh PostgreSQL database
# (tests/conftest.py's postgres_database_url) instead of SQLite.
BACKEND = os.environ.get("MOORAGE_E2E_BACKEND", "sqlite")
LOG_TAIL_LINES = 80

__all__ = ["chromium", "page", "ui_server"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end test against a running server with real clients (slow)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the tail of the server's log to every failed test that used it."""
    report: pytest.TestReport = yield
    if report.failed and call.when == "call":
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        server = funcargs.get("moorage_server")
        if isinstance(server, RegistryServer):
            lines = server.logs().splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"{server.kind} log (last {LOG_TAIL_LINES} lines)", "\n".join(lines)))
    return report


@pytest.fixture(scope="session")
def e2e_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def moorage_server(e2e_root: Path, request: pytest.FixtureRequest) -> Iterator[RegistryServer]:
    """Moorage on a free loopback port with superuser ``admin`` and normal user ``alice``."""
    base = e2e_root / "server"
    database_url: str | None = None
    if BACKEND == "postgres" and TARGET != "distribution":
        database_url = request.getfixturevalue("postgres_database_url")
    server = (
        start_distribution(base)
        if TARGET == "distribution"
        else start_moorage(base, database_url=database_url)
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_admin(moorage_server: RegistryServer) -> Iterator[httpx.Client]:
    """An HTTP client sending the superuser's Basic credentials to the registry."""
    with httpx.Client(
        base_url=moorage_server.url, auth=(moorage_server.admin, moorage_server.password), timeout=30.0
    ) as client:
        yield client


@pytest.fixture(scope="session")
def containers_config(e2e_root: Path, moorage_server: RegistryServer) -> ContainersConfig:
    return ContainersConfig.create(e2e_root / "containers", [moorage_server.host])


@pytest.fixture
def client(tmp_path: Path, containers_config: ContainersConfig) -> ClientEnv:
    """Clients with this test's own auth file and Docker config (no daemon)."""
    return ClientEnv(tmp_path, containers_config)


@pytest.fixture(scope="session")
def images(e2e_root: Path) -> ImageSet:
    return build_image_set(e2e_root / "layout")


@pytest.fixture(scope="session")
def dockerd(e2e_root: Path, moorage_server: RegistryServer) -> Iterator[str]:
    """A real Docker daemon (apt docker.io) trusting the registry over plain HTTP; yields DOCKER_HOST."""
    binary = require_program("dockerd", "apt docker.io")
    base = e2e_root / "dockerd"
    base.mkdir()
    sock = base / "docker.sock"
    (base / "daemon.json").write_text("{}")
    args = [
        binary,
        "--config-file", str(base / "daemon.json"),
        "--bridge=none", "--iptables=false", "--ip6tables=false",
        "--data-root", str(base / "root"),
        "--exec-root", str(base / "exec"),
        "--pidfile", str(base / "dockerd.pid"),
        "-H", f"unix://{sock}",
        "--insecure-registry", moorage_server.host,
    ]  # fmt: skip
    process = Background("dockerd", args, base / "logs")
    docker_host = f"unix://{sock}"
    docker = require_program("docker", "apt docker.io")

    def ready() -> bool:
        return run([docker, "-H", docker_host, "version"], check=False, timeout=10).returncode == 0

    try:
        process.wait_until(ready, timeout=60, what="answering")
        yield docker_host
    finally:
        process.stop(timeout=30)


@pytest.fixture
def docker_client(tmp_path: Path, containers_config: ContainersConfig, dockerd: str) -> ClientEnv:
    return ClientEnv(tmp_path, containers_config, docker_host=dockerd)
