"""Prometheus metrics, kept on a registry owned by the app (no global default registry).

With several server worker processes, prometheus-client's multiprocess mode is used
(``PROMETHEUS_MULTIPROC_DIR``, set by ``moorage serve``) and /metrics aggregates all workers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "moorage_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "moorage_http_request_duration_seconds",
            "Time to first response byte, by route and method",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.bytes_pushed = Counter(
            "moorage_blob_bytes_pushed", "Blob bytes received and stored", registry=self.registry
        )
        self.bytes_pulled = Counter("moorage_blob_bytes_pulled", "Blob bytes served", registry=self.registry)
        self.audit_dropped = Counter(
            "moorage_audit_dropped",
            "Queued audit entries (pulls, logins) dropped because the queue stayed full",
            registry=self.registry,
        )
        self.audit_flush_failures = Counter(
            "moorage_audit_flush_failures",
            "Failed batch writes of queued audit entries (the entries stay queued and are retried)",
            registry=self.registry,
        )

        self.gc_runs = Counter("moorage_gc_runs", "Garbage collection runs completed", registry=self.registry)
        self.gc_deleted = Counter(
            "moorage_gc_deleted",
            "Deleted by GC, by kind: manifest, blob, manifest_link, blob_link, orphan_file",
            ["kind"],
            registry=self.registry,
        )
        self.gc_bytes_freed = Counter(
            "moorage_gc_bytes_freed", "Storage bytes freed by garbage collection", registry=self.registry
        )

    def record_gc(
        self, manifests: int, blobs: int, manifest_links: int, blob_links: int, orphans: int, freed: int
    ) -> None:
        """Count one finished garbage collection run (registry/gc.py reports through this)."""
        self.gc_runs.inc()
        for kind, n in (
            ("manifest", manifests),
            ("blob", blobs),
            ("manifest_link", manifest_links),
            ("blob_link", blob_links),
            ("orphan_file", orphans),
        ):
            self.gc_deleted.labels(kind).inc(n)
        self.gc_bytes_freed.inc(freed)

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
