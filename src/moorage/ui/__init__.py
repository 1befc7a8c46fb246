"""The web UI: server-rendered pages (Jinja2 + htmx) on the same services and permission rules as the
REST API. Entry point: :func:`moorage.ui.app.create_ui`."""
