"""The ``Allow`` header of a 405 answer (RFC 9110 §15.5.6).

Starlette puts only the methods of the first route whose path matches into ``Allow``; a path served
by several routes (one per method, as FastAPI declares them, nested in included routers) needs the
union of all of them. Asking the routes whether they fully match each method works through any
nesting without relying on the framework's internals.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The methods some route serves at this request's path, as an ``Allow`` value (None: no route)."""
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed) if allowed else None
