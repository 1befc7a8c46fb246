"""The /api/v1 application: routers, problem+json errors, OpenAPI document and docs page."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from moorage import __version__
from moorage.api import errors
from moorage.api.auth import _BasicCache
from moorage.api.context import ApiContext
from moorage.api.inputs import refuse_nul
from moorage.api.routes import (
    applications,
    entities,
    immutability,
    jobs,
    logs,
    organizations,
    permissions,
    policies,
    prototypes,
    quotas,
    repositories,
    robots,
    signin,
    superuser,
    tags,
    teams,
    tokens,
    user,
)

STATIC = Path(__file__).with_name("static")

DESCRIPTION = """
The management API of Moorage. Paths and shapes follow Red Hat Quay's `/api/v1` where practical
(see docs/api.md for the differences). Authenticate with `Authorization: Bearer <OAuth or
application token>` or HTTP Basic (user + password, user + application token, `$app` + application
token, `$oauthtoken` + OAuth token, `namespace+robot` + robot token). Errors are
`application/problem+json`. No text may contain NUL (U+0000): such a request is answered 400.
Lists take `limit` and `next_page` and answer `next_page` while more remain.
"""


def create_api(ctx: ApiContext) -> FastAPI:
    api = FastAPI(
        title="Moorage API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_nul)],
    )
    api.state.ctx = ctx
    api.state.basic_cache = _BasicCache()
    errors.install(api)
    # the catch-all /repository/{repo} routes come last so /repository/{repo}/tag/... etc. match first
    for module in (
        signin,
        user,
        superuser,
        jobs,
        organizations,
        quotas,
        teams,
        robots,
        prototypes,
        policies,
        immutability,
        applications,
        tokens,
        permissions,
        tags,
        logs,
        entities,
        repositories,
    ):
        api.include_router(module.router)
    api.include_router(repositories.item_router)
    errors.document(api)
    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="Moorage API",
            swagger_js_url=f"{root}/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/swagger-ui/favicon.png",
        )

    return api
