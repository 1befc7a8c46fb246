"""`moorage serve` as a process: a port in use, workers that start slowly, two nodes on one data dir.

Issue 7/8: a port in use printed "listening" before failing; under load the server's supervisor killed
workers that did not answer its 5 s start-up ping, in a loop; a second node on the same data
directory deleted the first one's Prometheus multiprocess files.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import httpx
import pytest
from tests.support.ports import LOOPBACK, free_port
from tests.support.procs import Background, run
from tests.support.servers import create_user, migrate, moorage_executable

pytestmark = pytest.mark.e2e

SLOW_START = 8  # seconds a spawned worker sleeps before it can answer the supervisor


def _serve(
    base: Path, data_dir: Path, port: int, *extra: str, env: dict[str, str] | None = None
) -> Background:
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
    return Background(
        f"moorage-{secrets.token_hex(3)}",
        [*args, *extra],
        base / "logs",
        env={**os.environ, **(env or {})},
    )


def _healthy(url: str) -> bool:
    return httpx.get(f"{url}/health/instance", timeout=2).status_code == 200


def test_port_in_use_fails_before_saying_listening(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run(
            [
                moorage_executable(),
                "serve",
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            check=False,
            timeout=120,
        )
    assert result.returncode != 0, result.describe()
    assert "cannot listen" in result.output, result.describe()
    assert "Address already in use" in result.output, result.describe()
    assert "listening" not in result.output.replace("cannot listen", ""), result.describe()


def _slow_site(base: Path) -> Path:
    """A sitecustomize that delays every spawned multiprocessing child (a worker) by SLOW_START s."""
    site = base / "slow-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys, time\nif '--multiprocessing-fork' in sys.argv:\n    time.sleep({SLOW_START})\n"
    )
    return site


def test_slow_worker_start_is_tolerated_and_a_kill_is_explained(tmp_path: Path) -> None:
    site = _slow_site(tmp_path)
    env = {"PYTHONPATH": str(site)}
    data_dir = tmp_path / "data"
    migrate(data_dir)
    create_user(data_dir, "admin", secrets.token_urlsafe(12), superuser=True)

    # the default start-up allowance rides out workers that need SLOW_START seconds
    port = free_port()
    proc = _serve(tmp_path, data_dir, port, env=env)
    try:
        proc.wait_until(lambda: _healthy(f"http://{LOOPBACK}:{port}"), timeout=120, what="healthy")
        assert "did not answer" not in proc.logs(), proc.logs()
    finally:
        proc.stop()

    # with an allowance shorter than the start, the supervisor kills the worker and says why
    port = free_port()
    env["MOORAGE_WORKER_START_TIMEOUT_SECONDS"] = "5"
    proc = _serve(tmp_path, data_dir, port, env=env)
    try:
        proc.wait_until(
            lambda: "did not answer the supervisor's health check within 5 s" in proc.logs(),
            timeout=120,
            what="explaining the kill of a slow worker",
        )
        assert "worker_start_timeout_seconds" in proc.logs()
    finally:
        proc.stop()


def _count(metrics: str, route: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("moorage_http_requests_total{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_nodes_on_one_data_dir_keep_their_own_metrics(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    migrate(data_dir)
    create_user(data_dir, "admin", secrets.token_urlsafe(12), superuser=True)
    port_a, port_b = free_port(), free_port()
    url_a, url_b = f"http://{LOOPBACK}:{port_a}", f"http://{LOOPBACK}:{port_b}"
    node_a = _serve(tmp_path, data_dir, port_a)
    node_b: Background | None = None
    try:
        node_a.wait_until(lambda: _healthy(url_a), timeout=120, what="healthy")
        for _ in range(7):
            assert httpx.get(f"{url_a}/v2/", timeout=10).status_code == 401
        assert _count(httpx.get(f"{url_a}/metrics", timeout=10).text, "base") == 7

        node_b = _serve(tmp_path, data_dir, port_b)
        node_b.wait_until(lambda: _healthy(url_b), timeout=120, what="healthy")
        for _ in range(3):
            assert httpx.get(f"{url_b}/v2/", timeout=10).status_code == 401

        assert _count(httpx.get(f"{url_a}/metrics", timeout=10).text, "base") == 7
        assert _count(httpx.get(f"{url_b}/metrics", timeout=10).text, "base") == 3
        dirs = sorted(p.name for p in (data_dir / "run" / "metrics").iterdir())
        assert len(dirs) == 2, dirs
        assert {d.rsplit("-", 1)[1] for d in dirs} == {str(port_a), str(port_b)}, dirs
    finally:
        node_a.stop()
        if node_b is not None:
            node_b.stop()
