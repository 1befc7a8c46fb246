"""The OpenAPI document of /api/v1 tells the truth: schemathesis against the whole app.

Every operation of the document gets generated requests, valid and invalid (schemathesis' coverage
and fuzzing phases), sent in-process through schemathesis' ASGI transport to the app exactly as
``moorage serve`` builds it: as a superuser on SQLite (coverage, fuzzing and stateful phases) and on
PostgreSQL (fuzzing and stateful), and anonymously on SQLite.
Each answer must be no server error, a status the document declares for the operation, with the
declared content type and body schema; schema-valid requests must be accepted and schema-invalid
ones refused. A failure names the request that shows it (``curl``) and schemathesis' explanation.

Bounded and repeatable: a fixed seed, derandomized generation and a few examples per operation
(the coverage phase adds its boundary cases, the stateful phase its chains of linked calls); each
run starts from a fresh data directory and a fresh database, so nothing is carried between runs.
Inside a run the generated requests create, change and delete what they like, except the account
and token the run signs in with: PUT and DELETE /superuser/users/{username} with the superuser's
name, and DELETE /user/apptoken/{token_uuid} with the token's id, are sent to another name instead
(see _spare_the_signed_in_account), so later requests stay authenticated.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.python import asgi
from starlette.types import ASGIApp
from tests.api.support import PROBLEM, settings_for
from tests.conftest import _create_database, _drop_database, _with_database, postgres_admin_url, skip_postgres
from tests.protocol.conftest import BACKENDS

from moorage.app import build_services, create_app
from moorage.db.migrate import upgrade_async
from moorage.domain.actor import Actor
from moorage.identity.apptokens import AppTokenInfo

pytestmark = pytest.mark.slow

SUPERUSER = ("st-admin", "st-admin-password-1")
UNTOUCHABLE = "st-someone-else"  # what requests aimed at the signed-in account are sent to instead
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
)
# JSON Schema cannot say "in the future": an expiry in the past is valid by the schema and refused
# with 400 (documented). These operations may answer 400 to schema-valid data; nothing else may.
PAST_EXPIRY_REFUSED = (
    ("PUT", "/organization/{org}/robots/{shortname}"),
    ("PUT", "/user/robots/{shortname}"),
    ("POST", "/user/apptoken"),
    # a tag's expiration must be in the future; a time machine window one of the configured
    # tag_expiration_options (a setting, so not in the document); restore needs a manifest_digest
    # (Quay's 400 "Missing manifest_digest")
    ("PUT", "/repository/{repo}/tag/{tag}"),
    ("PUT", "/organization/{org}"),
    ("PUT", "/user/"),
    ("POST", "/repository/{repo}/tag/{tag}/restore"),
    # nor "a regular expression that cannot backtrack catastrophically", "a duration of at most ten
    # years" or "not a duplicate of another policy of the scope": refused with 400 (docs/lifecycle.md)
    *(
        (method, f"{prefix}/{kind}policy/{suffix}")
        for kind in ("autoprune", "immutability")
        for prefix in ("/organization/{org}", "/user", "/repository/{repo}")
        for method, suffix in (("POST", ""), ("PUT", "{policy_uuid}"))
    ),
)
ACCEPTED = ["2xx", "401", "403", "404", "409", "429"]


def config(headers: dict[str, str], examples: int, coverage: bool = True) -> dict[str, Any]:
    return {
        "seed": 20261203,
        "headers": headers,
        # text with NUL is refused (400) on every route, as the document's description says
        # (moorage.api.inputs); JSON Schema has no way to say it for every string, so none is sent
        "generation": {
            "max-examples": examples,
            "deterministic": True,
            "database": "none",
            "allow-x00": False,
        },
        # the document has no examples; requests with methods it does not list serve only the
        # unsupported_method check (405 with Allow), which is not among CHECKS
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": coverage, "unexpected-methods": []},
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "operations": [
            {
                "include-method": method,
                "include-path": path,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
            }
            for method, path in PAST_EXPIRY_REFUSED
        ],
    }


@dataclass(frozen=True)
class Target:
    backend: str
    app: ASGIApp
    token: str  # an application token of SUPERUSER (a bearer token: no password hash per request)
    token_uuid: str


@pytest.fixture(scope="module", params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The app over a fresh data directory and database, with one superuser and an application token
    of theirs; its lifespan runs in schemathesis' event loop thread and ends with the module."""
    backend: str = request.param
    database_url = None
    admin = name = ""
    if backend == "postgres":
        if skip_postgres():
            pytest.skip("MOORAGE_TEST_SKIP_POSTGRES is set")
        admin, name = postgres_admin_url(), f"moorage_st_{secrets.token_hex(6)}"
        asyncio.run(_create_database(admin, name))
        database_url = _with_database(admin, name)
    settings = settings_for(tmp_path_factory.mktemp(f"moorage-st-{backend}"), database_url)

    async def seed() -> AppTokenInfo:
        await upgrade_async(settings.resolved_database_url)
        services = build_services(settings)
        try:
            user = await services.users.create(SUPERUSER[0], SUPERUSER[1], superuser=True)
            return await services.app_tokens.create(
                user.id, "schemathesis", expires_at=None, actor=Actor(user.username, id=user.id)
            )
        finally:
            await services.db.dispose()

    token = asyncio.run(seed())
    assert token.token is not None
    try:
        yield Target(backend, create_app(settings), token.token, token.uuid)
    finally:
        asgi.shutdown_lifespans()
        if backend == "postgres":
            asyncio.run(_drop_database(admin, name))


def _spare_the_signed_in_account(case: Any, target: Target) -> Any:
    """Requests that would change or delete the account (or the token) this run signs in with go to
    another name instead: disabling, demoting, deleting the superuser or changing their password, or
    revoking the token, would turn every later request into a 401."""
    params = case.path_parameters or {}
    if case.path == "/superuser/users/{username}" and params.get("username") == SUPERUSER[0]:
        params["username"] = UNTOUCHABLE
    if case.path == "/user/apptoken/{token_uuid}" and params.get("token_uuid") == target.token_uuid:
        params["token_uuid"] = UNTOUCHABLE
    return case


def run_schemathesis(
    target: Target, headers: dict[str, str], examples: int, coverage: bool = True
) -> tuple[int, list[str]]:
    """Every phase but the examples (the document has none): coverage, fuzzing and stateful.
    Returns the number of requests sent and a description of each failure."""
    schema = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json",
        target.app,
        config=SchemathesisConfig.from_dict(config(headers, examples, coverage)),
    )

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        return _spare_the_signed_in_account(case, target)

    failures: list[str] = []
    requests = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            requests += sum(1 for i in event.recorder.interactions.values() if i.response is not None)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        f = check.failure_info.failure
                        failures.append(
                            f"{check.name}: {f.title}\n{f.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            failures.append(f"error: {event}")
    return requests, failures


def test_api_answers_a_superuser_as_its_openapi_document_says(target: Target) -> None:
    # the coverage phase (boundary values of every parameter, most of the requests) tests the
    # document and request validation, which do not depend on the database: SQLite only
    coverage = target.backend == "sqlite"
    headers = {"Authorization": f"Bearer {target.token}"}
    sent, failures = run_schemathesis(target, headers, examples=5, coverage=coverage)
    assert sent > (500 if coverage else 200), sent
    assert not failures, f"{len(failures)} failures in {sent} requests:\n\n" + "\n\n".join(failures)


def test_api_answers_anonymous_callers_as_its_openapi_document_says(target: Target) -> None:
    if target.backend == "postgres":
        pytest.skip("anonymous callers are answered alike on both backends; SQLite is enough")
    sent, failures = run_schemathesis(target, {}, examples=3)  # answered 401 before any work
    assert sent > 200, sent
    assert not failures, f"{len(failures)} failures in {sent} requests:\n\n" + "\n\n".join(failures)


def test_schema_declares_problem_documents_and_no_422(target: Target) -> None:
    """The document itself: every operation lists its errors as problem+json, never FastAPI's 422."""
    doc = schemathesis.openapi.from_asgi("/api/v1/openapi.json", target.app).raw_schema
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "422" not in codes, (method, path)
            assert {"401", "403", "429"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path, codes)
            for code in codes - {"200", "201", "204"}:  # 204: Quay's answer to policy updates, no body
                assert list(op["responses"][code]["content"]) == [PROBLEM], (method, path, code)
