"""HTTP plumbing shared by the edges (registry, REST API, web UI): no services, no models."""
