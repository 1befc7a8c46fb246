"""Prometheus metrics, kept on a registry owned by the app (no global default registry).

With several server worker processes, prometheus-client's multiprocess mode is used
(``PROMETHEUS_MULTIPROC_DIR``, set by ``moorage serve``) and /metrics aggregates all workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

_JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)
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

        self.job_duration = Histogram(
            "moorage_job_duration_seconds",
            "Time a job attempt ran, by kind and outcome (done, cancelled, retry, failed, released)",
            ["kind", "outcome"],
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        self.job_failures = Counter(
            "moorage_job_failures",
            "Job attempts that raised, by kind (retried or failed for good)",
            ["kind"],
            registry=self.registry,
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

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """A job attempt ended (moorage.jobs.worker.JobObserver)."""
        self.job_duration.labels(kind, outcome).observe(seconds)
        if outcome in ("retry", "failed"):
            self.job_failures.labels(kind).inc()

    def render(self, job_depth: Mapping[tuple[str, str], int] | None = None) -> bytes:
        """The exposition text; ``job_depth`` (jobs per kind and state, read from the database when
        /metrics is scraped) is the same on every process and so is added here, not aggregated."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            text = generate_latest(registry)
        else:
            text = generate_latest(self.registry)
        if job_depth is None:
            return text
        depth = CollectorRegistry()
        depth.register(_Depth(job_depth))
        return text + generate_latest(depth)


class _Depth:
    def __init__(self, depth: Mapping[tuple[str, str], int]) -> None:
        self.depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "moorage_jobs", "Jobs in the queue by kind and state (the queue depth)", labels=["kind", "state"]
        )
        for (kind, state), n in sorted(self.depth.items()):
            family.add_metric([kind, state], n)
        yield family
