"""Online garbage collection: delete the manifests and blobs nothing reaches, while pushes go on.

What is kept (docs/lifecycle.md, "Garbage collection"), per repository:

- the targets of its tags that are live or still restorable in the time machine (ended, by deletion,
  move or expiry, less than the namespace's window ago: ``tag_expiration_s``, else the registry's
  ``default_tag_expiration_s``);
- manifests pushed to it (by digest or tag) less than the grace window ago (``gc_grace_seconds``);
- transitively, the children of a kept index and the referrers (``subject``) of a kept manifest
  that are in the same repository (as Quay: a signature or SBOM lives as long as its subject);
- the blobs the kept manifests reference, and every blob linked to it less than the grace window
  ago (an upload whose manifest is not pushed yet).

The mark is set-based SQL (a recursive CTE over ``(repository, manifest)`` pairs); Python only
ever holds one batch of ids. The sweep deletes rows in short transactions that take the same locks
as the writers they race and re-check liveness inside the deleting statement, and deletes the files
only after the rows' deletion committed (under the digest's lock, re-checking that no row came
back). A crash between the two leaves files without rows, which the storage sweep removes.
"""

from moorage.registry.gc.collector import JOB_KIND, GarbageCollector, Progress
from moorage.registry.gc.report import GcReport, NamespaceFreed
from moorage.registry.gc.rows import DeletedBlobRows, delete_blob_rows

__all__ = [
    "JOB_KIND",
    "DeletedBlobRows",
    "GarbageCollector",
    "GcReport",
    "NamespaceFreed",
    "Progress",
    "delete_blob_rows",
]
