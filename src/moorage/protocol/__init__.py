"""The OCI Distribution API (/v2): thin handlers that authenticate, authorize and stream."""
