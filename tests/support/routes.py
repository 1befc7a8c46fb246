"""Every route of the live application, read from the dispatcher ``create_app`` returns, for the
meta-tests of the access matrices (tests/security, tests/ui).

The dispatcher routes to four apps: the registry (``/v2``, its own tables in protocol/router.py),
the REST API (FastAPI under ``/api/v1``), the control app (``/health/*``, ``/metrics``) and the web UI
(Starlette). Routers are walked recursively: included routers, mounted sub-apps with routes of their
own, and mounts or routes whose endpoint is a bare ASGI app (static files), which declare no methods.

Two checks, one for each way a (route, method) can escape a matrix:

- ``missing_rows``: every method a route declares (Starlette adds HEAD to GET) needs a row;
- ``probe_unlisted``: every other method (all of them for a bare ASGI app) is sent, anonymously,
  through the live dispatcher to a path of the route; anything but 405 is an answer, which needs
  a row. That covers OPTIONS, HEAD and whatever a middleware or a mounted app answers by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.routing import Mount, compile_path
from starlette.types import ASGIApp

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
APPS = ("registry", "api", "control", "ui")
PREFIX = {"registry": "", "api": "/api/v1", "control": "", "ui": ""}


@dataclass(frozen=True)
class Endpoint:
    app: str  # one of APPS
    key: str  # how matrix rows name the route: its path template, or the name of a /v2 route
    methods: frozenset[str] | None  # what the router declares; None: a bare ASGI app decides
    sample: str  # a concrete path (as the dispatcher sees it) that lands on this route

    def label(self) -> str:
        return f"{self.app} {self.key}"


# a sample value per path converter; any other placeholder becomes "x"
_SAMPLES = {"path": "ns/app", "int": "1"}
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


def sample_path(template: str) -> str:
    return _PLACEHOLDER.sub(lambda m: _SAMPLES.get(m.group(2) or "", "x"), template)


def _unwrap(app: Any) -> Any:
    """The router app under session and header layers (each keeps the wrapped app in ``.app``) and
    under the deferred construction of the REST API and the UI (built here if not yet built)."""
    while not hasattr(app, "routes"):
        app = app.get() if hasattr(app, "get") and not hasattr(app, "app") else app.app
    return app


def _walk(app_name: str, routes: list[Any], prefix: str = "") -> list[Endpoint]:
    out: list[Endpoint] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # FastAPI >= 0.165 keeps an included router as one entry
            context = getattr(route, "include_context", None)
            out += _walk(app_name, list(inner.routes), prefix + str(getattr(context, "prefix", "") or ""))
            continue
        path = prefix + str(route.path)
        if isinstance(route, Mount):
            sub = getattr(route.app, "routes", None)
            if sub:  # a mounted router or app with routes of its own
                out += _walk(app_name, list(sub), path)
            else:  # a mounted ASGI app (static files): it answers every path under the mount
                template = path + "/{path:path}"
                out.append(Endpoint(app_name, template, None, PREFIX[app_name] + sample_path(template)))
            continue
        methods = getattr(route, "methods", None)
        sample = PREFIX[app_name] + sample_path(path)
        out.append(Endpoint(app_name, path, frozenset(methods) if methods else None, sample))
    return out


def dispatcher_of(app: Any) -> Any:
    """The dispatcher under the request-wide layers (the body guard) ``create_app`` wraps it in."""
    while not hasattr(app, "registry"):
        app = app.app
    return app


def live_endpoints(dispatcher: ASGIApp) -> list[Endpoint]:
    """Every route of every app behind the dispatcher of ``create_app``."""
    dispatcher = dispatcher_of(dispatcher)
    apps = {k: v for k, v in vars(dispatcher).items() if callable(v)}
    assert apps.keys() == set(APPS), f"the dispatcher routes to apps these meta-tests do not walk: {apps}"
    registry = apps["registry"]
    out: list[Endpoint] = []
    for fixed in registry.fixed_routes:
        out += [Endpoint("registry", fixed.name, fixed.methods, p) for p in fixed.paths]
    for route in registry.routes:
        sample = sample_path(route.template)
        resolved = registry.resolve(sample)
        assert resolved is not None, (route.name, route.template)
        assert resolved[0] is route, (route.name, route.template, resolved[0].name)
        out.append(Endpoint("registry", route.name, frozenset(route.methods), sample))
    for name in ("api", "control", "ui"):
        out += _walk(name, list(_unwrap(apps[name]).routes))
    return out


def endpoints_of(dispatcher: ASGIApp, app: str) -> list[Endpoint]:
    found = [e for e in live_endpoints(dispatcher) if e.app == app]
    assert found, f"no routes found in the {app} app"
    return found


def missing_rows(endpoints: list[Endpoint], rows: set[tuple[str, str]]) -> list[str]:
    """Declared (method, route) pairs without a row, as ``METHOD route``."""
    return sorted({f"{m} {e.key}" for e in endpoints for m in e.methods or () if (m, e.key) not in rows})


def stale_rows(endpoints: list[Endpoint], rows: set[tuple[str, str]]) -> list[str]:
    """Rows naming a route the app does not have."""
    keys = {e.key for e in endpoints}
    return sorted(f"{m} {k}" for m, k in rows if k not in keys)


def _claimed_elsewhere(
    e: Endpoint, method: str, endpoints: list[Endpoint], rows: set[tuple[str, str]]
) -> bool:
    """Whether another route with a row for ``method`` matches ``e``'s sample path (then the answer is
    that route's, e.g. GET /repository/{repo:path} under /repository/ns/app/-/tags/delete)."""
    if e.app == "registry":
        return False  # /v2 samples resolve to their own route (checked in live_endpoints)
    relative = e.sample.removeprefix(PREFIX[e.app])
    for other in endpoints:
        if other is e or other.app != e.app or (method, other.key) not in rows:
            continue
        regex, _, _ = compile_path(other.key)
        if regex.match(relative):
            return True
    return False


async def probe_unlisted(
    client: httpx.AsyncClient, endpoints: list[Endpoint], rows: set[tuple[str, str]]
) -> list[str]:
    """Send every method without a row to each route anonymously; anything but 405 is a missing row."""
    answered: list[str] = []
    for e in endpoints:
        for method in METHODS:
            if (method, e.key) in rows or (e.methods is not None and method in e.methods):
                continue  # a row covers it, or missing_rows reports it
            r = await client.request(method, e.sample)
            if r.status_code != 405 and not _claimed_elsewhere(e, method, endpoints, rows):
                answered.append(f"{method} {e.key} (answered {r.status_code} at {e.sample})")
    return answered
