"""What one garbage collection run frees (or, dry, would free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class NamespaceFreed:
    """What one run frees (or would free) in one namespace."""

    namespace: str
    manifests: int = 0
    """repository_manifest rows removed (a manifest removed from one repository)."""
    blobs: int = 0
    """repository_blob rows removed (a blob removed from one repository)."""
    bytes: int = 0
    """Sum of the sizes of those blob links (a blob linked from two repositories counts twice)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "manifests": self.manifests,
            "blobs": self.blobs,
            "bytes": self.bytes,
        }


@dataclass
class GcReport:
    """The outcome of one run (or, with ``dry_run``, what a run would do now)."""

    dry_run: bool
    grace_seconds: int
    started_at: datetime
    namespaces: dict[str, NamespaceFreed] = field(default_factory=dict)
    manifest_rows: int = 0
    """Manifests deleted from the registry (no repository holds them any more)."""
    blob_rows: int = 0
    """Blobs deleted from the registry (and from storage)."""
    bytes_freed: int = 0
    """Storage bytes of those blobs (each blob once)."""
    files_deleted: int = 0
    files_failed: int = 0
    """Files whose deletion failed after retries (left for the storage sweep)."""
    orphans_deleted: int = 0
    orphan_bytes: int = 0
    seconds: float = 0.0
    stopped: bool = False
    """The run was asked to stop (job cancelled) and ended early; the next run goes on."""

    def ns(self, name: str | None) -> NamespaceFreed:
        key = name or "(none)"
        if key not in self.namespaces:
            self.namespaces[key] = NamespaceFreed(key)
        return self.namespaces[key]

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "grace_seconds": self.grace_seconds,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "manifests": self.manifest_rows,
            "blobs": self.blob_rows,
            "bytes_freed": self.bytes_freed,
            "files_deleted": self.files_deleted,
            "files_failed": self.files_failed,
            "orphans_deleted": self.orphans_deleted,
            "orphan_bytes": self.orphan_bytes,
            "namespaces": [n.to_json() for _, n in sorted(self.namespaces.items())],
        }


def audit_meta(report: GcReport) -> dict[str, Any]:
    return {
        "grace_seconds": report.grace_seconds,
        "manifests": report.manifest_rows,
        "blobs": report.blob_rows,
        "bytes_freed": report.bytes_freed,
        "files_deleted": report.files_deleted,
        "files_failed": report.files_failed,
        "orphans_deleted": report.orphans_deleted,
        "seconds": round(report.seconds, 3),
        "namespaces": {k: v.to_json() for k, v in sorted(report.namespaces.items())},
    }
