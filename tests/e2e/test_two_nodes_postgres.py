"""Two Moorage nodes (two `moorage serve`) on one PostgreSQL database,
with their caches on (the default): a change made through node A is seen by node B at once.

Each node has its own data directory, so nothing reaches B through the machine (the shared-memory
generation table of one machine plays no part). Node B's read cache, permission cache and
Basic-login cache are warmed first; each change then reaches B's worker processes by the NOTIFY
its transaction sent (db/engine.py), which PostgreSQL delivers to B's listeners when A commits,
before A even answers.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import postgres_admin_url, skip_postgres
from tests.protocol.helpers import basic, push_image
from tests.support.servers import RegistryServer, create_user, start_moorage

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


async def _admin(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, RegistryServer, str]]:
    if skip_postgres():
        pytest.skip("MOORAGE_TEST_SKIP_POSTGRES is set")
    admin = postgres_admin_url()
    name = f"moorage_nodes_{secrets.token_hex(6)}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    base, _, _ = admin.rpartition("/")
    url = f"{base}/{name}"
    root = tmp_path_factory.mktemp("nodes")
    a = b = None
    try:
        # one worker process per node: the supervisor of several kills workers that start slowly on
        # a loaded host (issue 7); processes of one node are kept coherent the same way as nodes
        a = start_moorage(root / "a", database_url=url, name="node-a", workers=1)
        b = start_moorage(root / "b", database_url=url, name="node-b", join=a, workers=1)
        bob_password = secrets.token_urlsafe(16)
        create_user(a.data_dir, "bob", bob_password, superuser=False, database_url=url)
        yield a, b, bob_password
    finally:
        for node in (b, a):
            if node is not None:
                node.stop()
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _get_manifest(
    client: httpx.AsyncClient, repo: str, ref: str, auth: dict[str, str]
) -> httpx.Response:
    return await client.get(f"/v2/{repo}/manifests/{ref}", headers={**auth, "Accept": MANIFEST_ACCEPT})


async def test_permission_revocation_on_node_a_is_seen_by_node_b_at_once(
    nodes: tuple[RegistryServer, RegistryServer, str],
) -> None:
    a, b, bob_password = nodes
    alice = basic(a.alice, a.alice_password)
    bob = basic("bob", bob_password)
    repo = f"alice/rev{secrets.token_hex(3)}"
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as ca,
        httpx.AsyncClient(base_url=b.url, timeout=30) as cb,
    ):
        image = await push_image(ca, repo, "v1", headers=alice)
        grant = f"/api/v1/repository/{repo}/permissions/user/bob"
        r = await ca.put(grant, json={"role": "read"}, headers=alice)
        assert r.status_code == 200, r.text
        # warm node B: login, permission decision, manifest
        for _ in range(8):
            r = await _get_manifest(cb, repo, "v1", bob)
            assert r.status_code == 200, r.text
            assert r.headers["docker-content-digest"] == image.digest

        r = await ca.delete(grant, headers=alice)
        assert r.status_code in (200, 204), r.text

        statuses = [(await _get_manifest(cb, repo, "v1", bob)).status_code for _ in range(8)]
        assert statuses == [403] * 8  # DENIED: bob's read right is gone


async def test_tag_move_on_node_a_is_seen_by_node_b_at_once(
    nodes: tuple[RegistryServer, RegistryServer, str],
) -> None:
    a, b, _ = nodes
    alice = basic(a.alice, a.alice_password)
    repo = f"alice/tag{secrets.token_hex(3)}"
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as ca,
        httpx.AsyncClient(base_url=b.url, timeout=30) as cb,
    ):
        first = await push_image(ca, repo, "latest", headers=alice, seed="one")
        for _ in range(8):
            r = await _get_manifest(cb, repo, "latest", alice)
            assert r.headers["docker-content-digest"] == first.digest
        second = await push_image(ca, repo, "latest", headers=alice, seed="two")
        assert second.digest != first.digest
        digests = [
            (await _get_manifest(cb, repo, "latest", alice)).headers["docker-content-digest"]
            for _ in range(8)
        ]
        assert digests == [second.digest] * 8


async def test_password_change_on_node_a_ends_cached_logins_on_node_b_at_once(
    nodes: tuple[RegistryServer, RegistryServer, str],
    tmp_path: Path,
) -> None:
    a, b, _ = nodes
    name = f"u{secrets.token_hex(4)}"
    old, new = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    admin = basic(a.admin, a.password)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as ca,
        httpx.AsyncClient(base_url=b.url, timeout=30) as cb,
    ):
        r = await ca.post("/api/v1/superuser/users/", json={"username": name, "password": old}, headers=admin)
        assert r.status_code in (200, 201), r.text
        for _ in range(8):
            r = await cb.get("/v2/", headers=basic(name, old))
            assert r.status_code == 200, r.text
        r = await ca.put(f"/api/v1/superuser/users/{name}", json={"password": new}, headers=admin)
        assert r.status_code == 200, r.text
        statuses = [(await cb.get("/v2/", headers=basic(name, old))).status_code for _ in range(8)]
        assert statuses == [401] * 8
