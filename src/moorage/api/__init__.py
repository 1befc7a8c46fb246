"""The management REST API under /api/v1 (FastAPI, OpenAPI), one router per context."""
