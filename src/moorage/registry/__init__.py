"""The registry model: repositories, blobs, uploads, manifests, tags, referrers, catalog."""
