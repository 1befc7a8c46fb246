"""A real podman push refused cleanly by a reject quota, and a push under the limit that still works."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.e2e.conftest import TARGET
from tests.support.clients import ClientEnv
from tests.support.servers import RegistryServer

from moorage.app import build_services
from moorage.config import load_settings
from moorage.db.models import Blob

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(TARGET != "moorage", reason="quotas are Moorage's (not in CNCF Distribution)"),
]

PLAIN = "--tls-verify=false"
BIG = 600_000  # random bytes: gzip cannot shrink the layer below the quota
LIMIT = 200_000


def _stored_files(root: Path, at_least: int) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.stat().st_size >= at_least]


def _database_state(server: RegistryServer, org: str, at_least: int) -> tuple[int, int, list[str]]:
    """Straight from the database: blob rows of at least ``at_least`` bytes, the organization's
    usage, and the namespaces whose usage counters drift from the rows."""

    async def go() -> tuple[int, int, list[str]]:
        settings = load_settings(None, data_dir=server.data_dir, database_url=server.database_url)
        services = build_services(settings)
        try:
            async with services.db.read() as s:
                big = int((await s.execute(select(func.count()).where(Blob.size >= at_least))).scalar_one())
            report = await services.quotas.report(org)
            assert report is not None
            drift = [d.namespace for d in await services.quotas.verify()]
            return big, report.usage_bytes, drift
        finally:
            await services.db.dispose()

    return asyncio.run(go())


def _build(podman: ClientEnv, context: Path, ref: str, payload: bytes) -> None:
    context.mkdir()
    (context / "data.bin").write_bytes(payload)
    (context / "Containerfile").write_text("FROM scratch\nCOPY data.bin /data.bin\n")
    podman.podman("build", "--isolation=chroot", "-t", ref, str(context))


def test_podman_push_over_the_reject_quota_is_refused_cleanly(
    client: ClientEnv, moorage_server: RegistryServer, http_admin: httpx.Client, tmp_path: Path
) -> None:
    org = "quota" + secrets.token_hex(4)
    r = http_admin.post("/api/v1/organization/", json={"name": org})
    assert r.status_code == 201, r.text
    r = http_admin.post(f"/api/v1/organization/{org}/quota", json={"limit_bytes": LIMIT})
    assert r.status_code == 201, r.text
    quota_id = r.json()["id"]
    r = http_admin.post(
        f"/api/v1/organization/{org}/quota/{quota_id}/limit",
        json={"type": "Reject", "threshold_percent": 100},
    )
    assert r.status_code == 201, r.text
    client.podman(
        "login", PLAIN, "-u", moorage_server.admin, "--password-stdin", moorage_server.host,
        input_text=moorage_server.password,
    )  # fmt: skip

    # under the limit: pushed and pulled back
    small = f"{moorage_server.host}/{org}/app:small"
    _build(client, tmp_path / "small", small, b"a small file\n" * 100)
    client.podman("push", PLAIN, small)
    client.podman("rmi", "--force", small)
    client.podman("pull", PLAIN, small)

    # over the limit: podman fails and shows the registry's DENIED message naming the quota
    big = f"{moorage_server.host}/{org}/app:big"
    _build(client, tmp_path / "big", big, os.urandom(BIG))
    refused = client.podman_fails("push", PLAIN, big)
    output = refused.output
    assert f"quota of organization {org} exceeded" in output, refused.describe()
    assert "denied" in output.lower(), refused.describe()
    # nothing of the refused layer is stored: no blob row, no file (blob or upload) of its size
    big_rows, usage, drift = _database_state(moorage_server, org, BIG // 2)
    assert big_rows == 0
    storage_root = load_settings(None, data_dir=moorage_server.data_dir).resolved_storage_root
    assert storage_root.is_dir()
    assert _stored_files(storage_root, BIG // 2) == []
    r = http_admin.get(f"/v2/{org}/app/manifests/big")
    assert r.status_code == 404
    # the usage stayed under the limit and the counters agree with the rows
    assert 0 < usage <= LIMIT
    assert org not in drift

    # another push under the limit still works after the refusal
    again = f"{moorage_server.host}/{org}/app:again"
    _build(client, tmp_path / "again", again, b"another small file\n" * 100)
    client.podman("push", PLAIN, again)
    client.podman("rmi", "--force", again)
    client.podman("pull", PLAIN, again)
