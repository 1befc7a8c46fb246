"""The /api/v1 application: routers, problem+json errors, OpenAPI document and docs page."""

from __future__ import annotations

from fastapi import FastAPI

from moorage import __version__
from moorage.api import errors
from moorage.api.auth import _BasicCache
from moorage.api.context import ApiContext
from moorage.api.routes import (
    applications,
    logs,
    organizations,
    permissions,
    prototypes,
    repositories,
    robots,
    superuser,
    tags,
    teams,
    tokens,
    user,
)

DESCRIPTION = """
The management API of Moorage. Paths and shapes follow Red Hat Quay's `/api/v1` where practical
(see docs/api.md for the differences). Authenticate with `Authorization: Bearer <OAuth or
application token>` or HTTP Basic (user + password, user + application token, `$app` + application
token, `$oauthtoken` + OAuth token, `namespace+robot` + robot token). Errors are
`application/problem+json`. Lists take `limit` and `next_page` and answer `next_page` while more remain.
"""


def create_api(ctx: ApiContext) -> FastAPI:
    api = FastAPI(
        title="Moorage API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.ctx = ctx
    api.state.basic_cache = _BasicCache()
    errors.install(api)
    # the catch-all /repository/{repo} routes come last so /repository/{repo}/tag/... etc. match first
    for module in (
        user,
        superuser,
        organizations,
        teams,
        robots,
        prototypes,
        applications,
        tokens,
        permissions,
        tags,
        logs,
        repositories,
    ):
        api.include_router(module.router)
    api.include_router(repositories.item_router)
    return api
