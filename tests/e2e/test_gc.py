"""Online garbage collection against a real server, real skopeo and the real ``moorage gc`` command,
on SQLite and on PostgreSQL: what is freed (bytes measured on disk), what is kept (live and
restorable tags), the dry run, 100 concurrent pushes racing GC, and ``kill -9`` in the middle of GC."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.conftest import _fresh_postgres_database
from tests.support.clients import ClientEnv, ContainersConfig
from tests.support.images import ImageSet, build_image_set, canonical_json, sha256_digest
from tests.support.procs import run
from tests.support.servers import RegistryServer, moorage_executable, start_moorage

pytestmark = pytest.mark.e2e

PLAIN = "--tls-verify=false"
DEST_PLAIN = "--dest-tls-verify=false"
SRC_PLAIN = "--src-tls-verify=false"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"
# the time machine is off by default here, so a deleted tag's content is collectable at once
ENV = {"MOORAGE_DEFAULT_TAG_EXPIRATION_S": "0"}


@pytest.fixture(params=["sqlite", "postgres"], scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def gc_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    # a database of its own: GC with a short grace would collect what other modules' servers store
    stack = contextlib.ExitStack()
    database_url = stack.enter_context(_fresh_postgres_database()) if backend == "postgres" else None
    base = tmp_path_factory.mktemp(f"gc-{backend}")
    old = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)  # the `moorage migrate`/`user create` of start_moorage, and the server
    try:
        server = start_moorage(base, database_url=database_url, env=ENV)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield server
    finally:
        server.stop()
        stack.close()


@pytest.fixture(scope="module")
def gc_images(tmp_path_factory: pytest.TempPathFactory) -> ImageSet:
    return build_image_set(tmp_path_factory.mktemp("gc-layout") / "layout")


@pytest.fixture
def skopeo(tmp_path: Path, gc_server: RegistryServer) -> ClientEnv:
    env = ClientEnv(tmp_path, ContainersConfig.create(tmp_path / "containers", [gc_server.host]))
    env.skopeo_login(gc_server.host, gc_server.admin, gc_server.password)
    return env


def moorage_gc(server: RegistryServer, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    cmd = [moorage_executable(), "gc", "--json", "--data-dir", str(server.data_dir), *args]
    if server.database_url:
        cmd += ["--database-url", server.database_url]
    result = run(cmd, env={**os.environ, **ENV, **(env or {})}, timeout=300)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def stored_files(server: RegistryServer) -> dict[str, int]:
    """Every blob file on disk: digest -> size."""
    root = server.data_dir / "storage" / "blobs"
    out: dict[str, int] = {}
    for path in root.glob("*/*/*"):
        out[f"{path.parent.parent.name}:{path.name}"] = path.stat().st_size
    return out


def sql(server: RegistryServer, statement: str, **params: Any) -> list[Any]:
    url = server.database_url or f"sqlite:///{server.data_dir / 'moorage.db'}"
    url = url.replace("postgresql://", "postgresql+asyncpg://").replace("sqlite:///", "sqlite+aiosqlite:///")

    async def go() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


def blob_rows(server: RegistryServer) -> set[str]:
    return {r[0] for r in sql(server, "SELECT digest FROM blob")}


def assert_consistent(server: RegistryServer) -> None:
    """Every blob row has its file with its size (never a row whose bytes are gone)."""
    files = stored_files(server)
    for digest, size in sql(server, "SELECT digest, size FROM blob"):
        assert files.get(digest) == size, f"blob {digest} has a row but its file is missing or wrong"


def image_blobs(images: ImageSet, name: str) -> set[str]:
    img = getattr(images, name)
    return {img.config.digest, *(layer.digest for layer in img.layers)}


def test_deleted_tag_is_freed_others_still_pull(
    gc_server: RegistryServer, gc_images: ImageSet, skopeo: ClientEnv, tmp_path: Path
) -> None:
    host = gc_server.host
    for name, repo in (("hello", "gc-keep"), ("second", "gc-drop"), ("multi", "gc-index")):
        skopeo.skopeo("copy", "--all", "--preserve-digests", DEST_PLAIN, gc_images.ref(name),
                      f"docker://{host}/admin/{repo}:v1")  # fmt: skip
    dropped = image_blobs(gc_images, "second")
    before = stored_files(gc_server)
    assert dropped <= set(before)

    # nothing is garbage yet, even with no grace
    assert moorage_gc(gc_server, "--dry-run", "--grace", "0s")["blobs"] == 0

    with httpx.Client(base_url=gc_server.url, auth=(gc_server.admin, gc_server.password)) as http:
        assert http.delete("/api/v1/repository/admin/gc-drop/tag/v1").status_code == 200

        # the dry run names what would go and changes nothing
        plan = moorage_gc(gc_server, "--dry-run", "--grace", "0s")
        assert plan["dry_run"] is True
        assert plan["blobs"] == len(dropped)
        assert plan["bytes_freed"] == sum(before[d] for d in dropped)
        admin_ns = {n["namespace"]: n for n in plan["namespaces"]}["admin"]
        assert admin_ns["manifests"] == 1
        assert admin_ns["blobs"] == len(dropped)
        assert stored_files(gc_server) == before
        digest = gc_images.second.manifest.digest
        assert (
            http.get(f"/v2/admin/gc-drop/manifests/{digest}", headers={"Accept": OCI_MANIFEST}).status_code
            == 200
        )

        # the default grace (1 h) keeps the just-deleted image: it was pushed seconds ago
        kept = moorage_gc(gc_server)
        assert kept["blobs"] == 0
        assert stored_files(gc_server) == before

        report = moorage_gc(gc_server, "--grace", "0s")
        assert report["manifests"] == 1
        assert report["blobs"] == len(dropped)
        after = stored_files(gc_server)
        assert set(before) - set(after) == dropped
        assert sum(before.values()) - sum(after.values()) == report["bytes_freed"] == plan["bytes_freed"]
        assert (
            http.get(f"/v2/admin/gc-drop/manifests/{digest}", headers={"Accept": OCI_MANIFEST}).status_code
            == 404
        )

    assert_consistent(gc_server)
    # the other images still pull, every blob verified by skopeo (single image and the whole index)
    for repo in ("gc-keep", "gc-index"):
        skopeo.skopeo(
            "copy", "--all", SRC_PLAIN, f"docker://{host}/admin/{repo}:v1", f"dir:{tmp_path / repo}"
        )
    db_args = ["--database-url", gc_server.database_url] if gc_server.database_url else []
    logs_cmd = [
        moorage_executable(),
        "logs",
        "--kind",
        "gc_run",
        "--json",
        "--data-dir",
        str(gc_server.data_dir),
    ]
    audit = run([*logs_cmd, *db_args], env={**os.environ, **ENV})
    entries = json.loads(audit.stdout)
    assert any(e["metadata"].get("bytes_freed") == report["bytes_freed"] for e in entries), entries


def test_restorable_tag_keeps_its_blobs(
    gc_server: RegistryServer, gc_images: ImageSet, skopeo: ClientEnv
) -> None:
    """A namespace with a one-week time machine: its deleted tag's image survives GC with no grace."""
    host = gc_server.host
    sql(gc_server, "UPDATE namespace SET tag_expiration_s = 604800 WHERE name = 'alice'")
    alice = skopeo
    alice.skopeo_login(host, gc_server.alice, gc_server.alice_password)
    alice.skopeo(
        "copy", "--preserve-digests", DEST_PLAIN, gc_images.ref("second"), f"docker://{host}/alice/keep:v1"
    )
    with httpx.Client(base_url=gc_server.url, auth=(gc_server.alice, gc_server.alice_password)) as http:
        assert http.delete("/api/v1/repository/alice/keep/tag/v1").status_code == 200
    moorage_gc(gc_server, "--grace", "0s")
    files = stored_files(gc_server)
    assert image_blobs(gc_images, "second") <= set(files)
    digest = gc_images.second.manifest.digest
    with httpx.Client(base_url=gc_server.url, auth=(gc_server.alice, gc_server.alice_password)) as http:
        assert (
            http.get(f"/v2/alice/keep/manifests/{digest}", headers={"Accept": OCI_MANIFEST}).status_code
            == 200
        )
        for d in image_blobs(gc_images, "second"):
            body = http.get(f"/v2/alice/keep/blobs/{d}", follow_redirects=True).content
            assert sha256_digest(body) == d
    # once the window is over (0 s now), the next run frees it
    sql(gc_server, "UPDATE namespace SET tag_expiration_s = 0 WHERE name = 'alice'")
    report = moorage_gc(gc_server, "--grace", "0s")
    assert {n["namespace"]: n for n in report["namespaces"]}["alice"]["manifests"] == 1
    assert_consistent(gc_server)


def test_bad_grace_is_refused(gc_server: RegistryServer) -> None:
    cmd = [moorage_executable(), "gc", "--grace", "soon", "--data-dir", str(gc_server.data_dir)]
    if gc_server.database_url:
        cmd += ["--database-url", gc_server.database_url]
    before = stored_files(gc_server)
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ENV}, timeout=120)
    assert result.returncode == 2
    assert "--grace" in result.stderr
    assert "not a duration" in result.stderr
    assert stored_files(gc_server) == before


# ---------------------------------------------------------------- the race with 100 concurrent pushes


def _push_image(http: httpx.Client, repo: str, tag: str, layers: list[bytes], config: bytes) -> str:
    descriptors = []
    for data, media in [*((layer, LAYER) for layer in layers), (config, CONFIG)]:
        digest = sha256_digest(data)
        if http.head(f"/v2/{repo}/blobs/{digest}").status_code != 200:
            r = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data,
                          headers={"Content-Type": "application/octet-stream"})  # fmt: skip
            assert r.status_code == 201, r.text
        descriptors.append({"mediaType": media, "digest": digest, "size": len(data)})
    manifest = canonical_json(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptors[-1], "layers": descriptors[:-1]}
    )
    r = http.put(f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, r.text
    return sha256_digest(manifest)


def _pull_and_verify(http: httpx.Client, repo: str, tag: str, digest: str) -> None:
    r = http.get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    assert r.status_code == 200, f"{repo}:{tag} does not pull: {r.status_code} {r.text}"
    assert hashlib.sha256(r.content).hexdigest() == digest.split(":")[1]
    doc = json.loads(r.content)
    for desc in [doc["config"], *doc["layers"]]:
        body = http.get(f"/v2/{repo}/blobs/{desc['digest']}", follow_redirects=True)
        assert body.status_code == 200, f"{repo}: blob {desc['digest']} lost: {body.status_code}"
        assert sha256_digest(body.content) == desc["digest"]


@pytest.mark.slow
def test_gc_racing_100_concurrent_pushes_loses_nothing(gc_server: RegistryServer) -> None:
    """Each push reuses shared layers and one layer that sits, unreferenced and older than the
    grace window, in a junk repository: GC (looping) deletes that link, that blob's row and its file
    while the push uploads the same bytes again. Every pushed tag must pull and verify."""
    auth = (gc_server.admin, gc_server.password)
    shared = [secrets.token_bytes(2048) for _ in range(3)]
    contested = [secrets.token_bytes(1024 + i) for i in range(100)]
    with httpx.Client(base_url=gc_server.url, auth=auth, timeout=60.0) as http:
        for i, layer in enumerate(contested):
            digest = sha256_digest(layer)
            r = http.post(
                f"/v2/admin/gc-junk-{i % 10}/blobs/uploads/", params={"digest": digest}, content=layer
            )
            assert r.status_code == 201, r.text
    # the junk links are "old": GC with the default-like grace below may take them any time
    old = "'2000-01-01 00:00:00+00'" if gc_server.database_url else "'2000-01-01 00:00:00.000000'"
    sql(gc_server, f"UPDATE repository_blob SET created_at = {old} WHERE repository_id IN "
        "(SELECT id FROM repository WHERE name LIKE 'admin/gc-junk-%')")  # fmt: skip

    stop = threading.Event()
    runs: list[dict[str, Any]] = []

    def gc_loop() -> None:
        while not stop.is_set():
            runs.append(moorage_gc(gc_server, "--grace", "10m"))

    def push(i: int) -> tuple[str, str]:
        with httpx.Client(base_url=gc_server.url, auth=auth, timeout=120.0) as http:
            config = canonical_json({"architecture": "amd64", "os": "linux", "n": i})
            layers = [*shared, contested[i]]
            return f"admin/gc-race-{i % 20}", _push_image(
                http, f"admin/gc-race-{i % 20}", f"t{i}", layers, config
            )

    looper = threading.Thread(target=gc_loop)
    looper.start()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            pushed = list(pool.map(push, range(100)))
    finally:
        stop.set()
        looper.join()
    runs.append(moorage_gc(gc_server, "--grace", "10m"))
    assert sum(r["blobs"] for r in runs) > 0 or sum(n["blobs"] for r in runs for n in r["namespaces"]) > 0, (
        "GC never collected anything: the race was not exercised"
    )
    with httpx.Client(base_url=gc_server.url, auth=auth, timeout=60.0) as http:
        for i, (repo, digest) in enumerate(pushed):
            _pull_and_verify(http, repo, f"t{i}", digest)
    assert_consistent(gc_server)


# ---------------------------------------------------------------- kill -9 between commit and file deletion


@pytest.mark.slow
def test_kill_9_during_gc_leaves_a_consistent_store(
    gc_server: RegistryServer, gc_images: ImageSet, skopeo: ClientEnv, tmp_path: Path
) -> None:
    host = gc_server.host
    skopeo.skopeo(
        "copy", "--preserve-digests", DEST_PLAIN, gc_images.ref("second"), f"docker://{host}/admin/gc-kill:v1"
    )
    skopeo.skopeo(
        "copy", "--preserve-digests", DEST_PLAIN, gc_images.ref("hello"), f"docker://{host}/admin/gc-live:v1"
    )
    with httpx.Client(base_url=gc_server.url, auth=(gc_server.admin, gc_server.password)) as http:
        assert http.delete("/api/v1/repository/admin/gc-kill/tag/v1").status_code == 200
    doomed = image_blobs(gc_images, "second")
    marker = tmp_path / "paused"
    cmd = [moorage_executable(), "gc", "--grace", "0s", "--json", "--data-dir", str(gc_server.data_dir)]
    if gc_server.database_url:
        cmd += ["--database-url", gc_server.database_url]
    env = {**os.environ, **ENV, "MOORAGE_TEST_GC_PAUSE_AFTER_COMMIT": str(marker)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, (
                f"gc ended before the pause: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
            assert time.monotonic() < deadline, "gc never reached the pause"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    # rows are gone, files are still there (orphans); never the reverse
    assert not (doomed & blob_rows(gc_server))
    assert doomed <= set(stored_files(gc_server))
    assert_consistent(gc_server)
    skopeo.skopeo("copy", SRC_PLAIN, f"docker://{host}/admin/gc-live:v1", f"dir:{tmp_path / 'live'}")
    # a plain run does not walk storage; the storage sweep removes the orphans
    report = moorage_gc(gc_server, "--grace", "0s", "--sweep-storage")
    assert report["orphans_deleted"] >= len(doomed)
    assert not (doomed & set(stored_files(gc_server)))
    assert set(stored_files(gc_server)) == blob_rows(gc_server)
    skopeo.skopeo("copy", SRC_PLAIN, f"docker://{host}/admin/gc-live:v1", f"dir:{tmp_path / 'live2'}")
