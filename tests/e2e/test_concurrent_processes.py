"""Concurrency across OS processes against real servers (``moorage serve`` with two workers, and two
servers on one data directory and database), on SQLite and PostgreSQL.

The in-process tests in tests/protocol run coroutines of one event loop; these start separate client
processes, so requests really run at the same time in different server processes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.support.concurrent_clients import OCI_MANIFEST, Push, push_tag_moves, run_processes
from tests.support.servers import RegistryServer, start_moorage

pytestmark = pytest.mark.e2e

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "postgres":
        url: str = request.getfixturevalue("own_postgres_database_url")
        return url
    return None


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[RegistryServer]:
    """One ``moorage serve`` (two worker processes) on a fresh data directory and database."""
    srv = start_moorage(tmp_path / "a", database_url=database_url, name="moorage-a")
    try:
        yield srv
    finally:
        srv.stop()


def _client(server: RegistryServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=(server.admin, server.password), timeout=60.0)


def _push_blob(client: httpx.Client, name: str, data: bytes) -> str:
    digest = _sha256(data)
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 202, r.text
    r = client.put(r.headers["location"], params={"digest": digest}, content=data)
    assert r.status_code == 201, r.text
    return digest


def _tag_history(client: httpx.Client, name: str, tag: str) -> list[dict[str, object]]:
    """Every row of ``tag`` from the REST API's tag history, oldest first."""
    rows: list[dict[str, object]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"onlyActiveTags": "false", "specificTag": tag, "limit": 500}
        if cursor:
            params["next_page"] = cursor
        r = client.get(f"/api/v1/repository/{name}/tag/", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        rows.extend(body["tags"])
        cursor = body.get("next_page")
        if not cursor:
            break
    rows.reverse()  # the API lists newest first
    return rows


PROCESSES = 4
PUSHES_EACH = 12


def test_concurrent_tag_moves_from_many_processes_lose_nothing(server: RegistryServer) -> None:
    """Processes push different manifests to one tag at once. Every push is acknowledged (201); the
    tag's history then holds exactly the acknowledged pushes, one row each, chained (each row ends
    at the instant the next starts), in an order that respects real time (a push answered before
    another was sent comes first) and each process's own order; the live tag is the last row.

    Before the per-repository lock, PostgreSQL (READ COMMITTED) lost moves: a second writer's UPDATE
    skipped the row the first had just ended and its INSERT ... ON CONFLICT DO NOTHING did nothing,
    yet the client got 201 while the tag pointed at the other digest."""
    name = f"admin/moves-{secrets.token_hex(4)}"
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"one layer for every manifest"
    with _client(server) as client:
        _push_blob(client, name, config)
        _push_blob(client, name, layer)
    plans: list[list[tuple[str, bytes]]] = []
    for p in range(PROCESSES):
        plan = []
        for i in range(PUSHES_EACH):
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": _sha256(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": _sha256(layer),
                        "size": len(layer),
                    }
                ],
                "annotations": {"push": f"{p}-{i}"},
            }
            raw = json.dumps(manifest).encode()
            plan.append((_sha256(raw), raw))
        plans.append(plan)

    auth = (server.admin, server.password)
    results = run_processes(
        PROCESSES, push_tag_moves, [(server.url, auth, name, "latest", plans[p]) for p in range(PROCESSES)]
    )
    pushes: list[Push] = [push for records in results for push in records]
    assert len(pushes) == PROCESSES * PUSHES_EACH, "a client process died"
    failed = [(p.digest, p.status, p.body) for p in pushes if p.status != 201]
    assert failed == [], failed

    with _client(server) as client:
        history = _tag_history(client, name, "latest")
        live = client.get(f"/v2/{name}/manifests/latest", headers={"Accept": OCI_MANIFEST})
    order = [str(row["manifest_digest"]) for row in history]
    acknowledged = sorted(p.digest for p in pushes)
    assert sorted(order) == acknowledged, (
        f"the history holds {len(order)} rows for {len(acknowledged)} acknowledged pushes; missing: "
        f"{sorted(set(acknowledged) - set(order))}"
    )
    for earlier, later in itertools.pairwise(history):
        assert earlier["end_ts"] == later["start_ts"], (earlier, later)
    assert [row["active"] for row in history] == [False] * (len(history) - 1) + [True]
    position = {digest: i for i, digest in enumerate(order)}
    for plan in plans:
        assert [position[d] for d, _ in plan] == sorted(position[d] for d, _ in plan)
    for a in pushes:
        for b in pushes:
            if a.answered_ns < b.sent_ns:
                assert position[a.digest] < position[b.digest], (a.digest, b.digest)
    assert live.status_code == 200
    assert live.headers["docker-content-digest"] == order[-1]


def _flock_held(path: Path) -> bool:
    """Whether some process holds a flock on ``path`` (read from /proc/locks: probing with a lock
    of our own could itself make the server's claim fail)."""
    inode = os.stat(path).st_ino
    with open("/proc/locks") as f:
        return any(
            line.split()[1] == "FLOCK" and line.split()[5].endswith(f":{inode}") for line in f if line.strip()
        )


def _wait_for_claim(path: Path, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _flock_held(path):
            return True
        time.sleep(0.01)
    return False


CHUNK = 1024 * 1024 + 4099  # odd sizes: chunk edges fall inside hash blocks and write blocks
CHUNKS = 6
RACED = 2  # the chunk whose PATCH is retried while the original is still sending


@pytest.mark.parametrize("topology", ["two-workers", "two-servers"])
def test_chunked_upload_across_processes_with_a_racing_retry(
    tmp_path: Path, server: RegistryServer, topology: str
) -> None:
    """A chunked upload whose PATCHes go to different server processes: every request on a new
    connection to one ``serve`` with two workers (the kernel picks the worker), or alternating
    between two servers on one data directory and database. One PATCH is retried while its
    original is still sending its body: the original holds the upload, so the retry gets 416 with
    the upload's real Range and changes nothing, the original gets 202, and the finished blob has
    exactly the bytes sent. Before upload state was shared and appends locked, both got 202 and the
    upload held the chunk twice."""
    servers = [server]
    if topology == "two-servers":
        servers.append(start_moorage(tmp_path / "b", name="moorage-b", beside=server))
    try:
        data = os.urandom(CHUNK * CHUNKS - 1234)
        chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
        name = f"admin/upload-{secrets.token_hex(4)}"
        auth = (server.admin, server.password)

        def request(i: int, method: str, path: str, **kwargs: object) -> httpx.Response:
            # a new client (and connection) per request: nothing ties two requests to one process
            with httpx.Client(base_url=servers[i % len(servers)].url, auth=auth, timeout=60.0) as c:
                return c.request(method, path, **kwargs)  # type: ignore[arg-type]

        started = request(0, "POST", f"/v2/{name}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        upload_file = server.data_dir / "storage" / "uploads" / location.rsplit("/", 1)[1]
        offset = 0
        for i, chunk in enumerate(chunks):
            headers = {
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                "Content-Length": str(len(chunk)),
                "Content-Type": "application/octet-stream",
            }
            if i != RACED:
                r = request(i, "PATCH", location, content=chunk, headers=headers)
                assert r.status_code == 202, r.text
            else:
                release = threading.Event()

                def slow(chunk: bytes = chunk, release: threading.Event = release) -> Iterator[bytes]:
                    yield chunk[:65536]
                    release.wait(60)
                    yield chunk[65536:]

                with ThreadPoolExecutor(1) as pool:
                    original = pool.submit(request, i, "PATCH", location, content=slow(), headers=headers)
                    _wait_for_claim(upload_file)  # the original's handler holds the upload
                    try:
                        retry = request(i + 1, "PATCH", location, content=chunk, headers=headers)
                    finally:
                        release.set()
                    first = original.result(timeout=120)
                assert (first.status_code, retry.status_code) == (202, 416), (first.text, retry.text)
                assert retry.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
                assert retry.headers["range"] == f"0-{offset - 1}"
                assert retry.headers["location"] == location
                r = first
            offset += len(chunk)
            assert r.headers["range"] == f"0-{offset - 1}"
        digest = _sha256(data)
        done = request(CHUNKS, "PUT", location, params={"digest": digest})
        assert done.status_code == 201, done.text
        for i in range(len(servers)):
            pulled = request(i, "GET", f"/v2/{name}/blobs/{digest}")
            assert pulled.status_code == 200
            assert pulled.content == data
    finally:
        for extra in servers[1:]:
            extra.stop()
