"""The ``Allow`` header of a 405 answer (RFC 9110 §15.5.6).

Starlette puts only the methods of the first route whose path matches into ``Allow``; a path served
by several routes (one per method, as FastAPI declares them) needs the union of all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match
from starlette.types import Scope


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> str | None:
    """The methods every route matching this request's path accepts, as an ``Allow`` value."""
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    if not methods:
        return None
    return ", ".join(sorted(methods))
