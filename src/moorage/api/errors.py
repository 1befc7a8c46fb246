"""Errors as RFC 9457 problem+json, for every /api/v1 failure (validation included), and their
description in the OpenAPI document (:func:`document`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from moorage.asgi.methods import allowed_methods
from moorage.domain.errors import RegistryError, ServiceError, as_service_error

PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    location: str = Field(description="where: body.name, query.limit, path.org ...")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document: the body of every /api/v1 failure."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(None, description="each failed check of an invalid request")


# What each error status means, for every route that can answer it (see document()).
WHEN: dict[int, str] = {
    400: "invalid input (`errors` lists each failed check)",
    401: "no or wrong credentials",
    403: "the role or token scope does not allow it",
    404: "not found (or not visible to the caller)",
    429: "too many failed logins",
}


def also(*answers: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route that answers more than document() infers: (status, when)."""
    return {status: {"description": when} for status, when in answers}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Basic realm="moorage", Bearer'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail)

    @app.exception_handler(RegistryError)
    async def registry_error(_: Request, exc: RegistryError) -> JSONResponse:
        e = as_service_error(exc)  # e.g. an invalid repository name given to a REST endpoint
        return problem(e.status, e.title, e.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
        return problem(400, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            404: "Not found",
            405: "Method not allowed",
            401: "Authentication required",
            403: "Forbidden",
        }
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            allow = allowed_methods(request.app.router.routes, request.scope)
            if allow:
                response.headers["Allow"] = allow
        return response


def document(app: FastAPI) -> None:
    """Declare in the OpenAPI document every error status each route can answer, as problem+json.

    One rule for all routes, applied to the generated document: every route authenticates its
    caller (moorage.api.auth.current_caller), so any may answer 401 (wrong credentials), 403 (a
    role or scope check) and 429 (throttled logins); any may answer 400 (invalid parameters or
    body, or a NUL character anywhere: moorage.api.inputs; FastAPI's 422 is never sent); a route
    with path parameters may answer 404. A route declares other statuses itself
    (``responses=also((409, ...))``); each 4xx then gets the Problem schema under
    application/problem+json.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = generate()
            _describe_errors(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe_errors(doc: dict[str, Any]) -> None:
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, model in (("FieldError", FieldError), ("Problem", Problem)):
        schemas[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas[name].pop("$defs", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            params = op.get("parameters", [])
            statuses = {400, 401, 403, 429}
            if any(p.get("in") == "path" for p in params):
                statuses.add(404)
            responses: dict[str, Any] = op["responses"]
            responses.pop("422", None)
            for status in sorted(statuses):
                responses.setdefault(str(status), {"description": WHEN[status]})
            for code, response in responses.items():
                if code.startswith("4"):
                    response["content"] = {PROBLEM: {"schema": ref}}
            op["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
