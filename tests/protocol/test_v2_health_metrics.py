"""Health endpoints and Prometheus metrics."""

from __future__ import annotations

import re

from tests.protocol.conftest import Registry
from tests.protocol.helpers import push_blob


async def test_health_instance(registry: Registry) -> None:
    r = await registry.client.get("/health/instance")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_health_endtoend(registry: Registry) -> None:
    r = await registry.client.get("/health/endtoend")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "storage": "ok"}


def _metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+([0-9.e+-]+)$", re.M)
    total = 0.0
    for m in pattern.finditer(text):
        if labels and labels not in (m.group(1) or ""):
            continue
        total += float(m.group(2))
    return total


async def test_metrics_count_requests_and_pushed_bytes(registry: Registry, uid: str) -> None:
    client = registry.client
    before = (await client.get("/metrics")).text
    data = b"m" * 4096
    await push_blob(client, f"admin/{uid}", data)
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    after = r.text
    assert "moorage_http_requests_total" in after
    assert _metric(after, "moorage_http_requests_total", 'route="upload"') > _metric(
        before, "moorage_http_requests_total", 'route="upload"'
    )
    assert _metric(after, "moorage_blob_bytes_pushed_total") - _metric(
        before, "moorage_blob_bytes_pushed_total"
    ) >= len(data)
