"""What schemathesis found, pinned: server errors on cursors and times, requests the old document
called valid that the server refused, and the cursor grammars the document now states."""

from __future__ import annotations

import base64
import re

import pytest
from tests.api.support import Env, assert_problem

from moorage.api.pagination import CURSOR_PATTERN, ID_CURSOR_PATTERN, encode_cursor


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_a_name_cursor_on_an_id_ordered_list_is_refused_not_a_server_error(env: Env, uid: str) -> None:
    # was: int("admin") raised in the audit-log route, and the server answered 500
    user = await env.user(uid)
    r = await env.api("GET", "/user/logs", user, params={"next_page": _b64("admin")})
    assert_problem(r, 400)
    r = await env.api("GET", "/user/logs", user, params={"next_page": _b64("12")}, expect=200)


async def test_a_name_cursor_on_the_tag_history_is_refused_not_a_server_error(env: Env, uid: str) -> None:
    # was: the tag service ran int() on the cursor of the history (onlyActiveTags=false): 500
    repo = f"admin/hist-{uid}"
    await env.push(repo)
    params = {"onlyActiveTags": "false", "next_page": _b64("latest")}
    r = await env.api("GET", f"/repository/{repo}/tag/", env.admin, params=params)
    assert_problem(r, 400, "cursor")
    params = {"onlyActiveTags": "true", "next_page": _b64("latest")}
    await env.api("GET", f"/repository/{repo}/tag/", env.admin, params=params, expect=200)


async def test_cursors_outside_the_documented_grammar_are_invalid_input(env: Env) -> None:
    for cursor in ("%%%", "A", "AB", "admin=="):  # not base64url, too short, stray bits, padded
        r = await env.api("GET", "/organization/", env.admin, params={"next_page": cursor})
        assert_problem(r, 400, "next_page")


async def test_any_cursor_of_the_documented_grammar_is_accepted(env: Env) -> None:
    # was: a canonical cursor whose bytes are not UTF-8 was refused although the grammar allows it
    cursor = base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=")
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    await env.api("GET", "/organization/", env.admin, params={"next_page": cursor}, expect=200)


def test_the_id_cursor_grammar_is_exactly_the_cursors_of_row_ids() -> None:
    for n in (0, 7, 42, 999, 2024, 123456789, 10**17, 10**18 - 1):
        assert re.fullmatch(ID_CURSOR_PATTERN, encode_cursor(n)), n
    for text in ("admin", "1a", "-1", " 1", "1" * 19):
        assert not re.fullmatch(ID_CURSOR_PATTERN, encode_cursor(text)), text


async def test_log_times_are_iso_8601_not_unix_timestamps(env: Env, uid: str) -> None:
    # was: starttime=0.5 was taken as a Unix timestamp although the document says date-time text
    user = await env.user(uid)
    r = await env.api("GET", "/user/logs", user, params={"starttime": "0.5"})
    assert_problem(r, 400, "starttime")
    await env.api("GET", "/user/logs", user, params={"starttime": "2026-01-01T00:00:00Z"}, expect=200)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # valid by the old document, refused by the server: now refused by the document too
        ("POST", "/repository", {"namespace": "", "repository": ""}),
        ("POST", "/organization/", {"name": "A"}),
        ("POST", "/user/apptoken", {"title": "   "}),
        ("PUT", "/user/robots/0", {}),
    ],
)
async def test_the_schema_states_the_name_rules(env: Env, method: str, path: str, body: object) -> None:
    r = await env.api(method, path, env.admin, json_body=body)
    problem = assert_problem(r, 400)
    assert problem["errors"], problem  # request validation, from the schema's constraints


async def test_an_empty_scope_list_is_refused_by_the_schema(env: Env, uid: str) -> None:
    org = await env.org(uid, env.admin)
    r = await env.api(
        "POST", f"/organization/{org.name}/applications", env.admin, json_body={"name": "app"}, expect=201
    )
    client_id = r.json()["client_id"]
    path = f"/organization/{org.name}/applications/{client_id}/token"
    problem = assert_problem(await env.api("POST", path, env.admin, json_body={"scopes": []}), 400)
    assert problem["errors"], problem
    problem = assert_problem(await env.api("POST", path, env.admin, json_body={"scopes": ["nope"]}), 400)


async def test_nul_characters_are_invalid_input_on_both_backends(env: Env, uid: str) -> None:
    # was: PostgreSQL cannot store U+0000 in text; asyncpg raised and the server answered 500
    repo = f"admin/nul-{uid}"
    await env.repo(repo)
    for method, path, body, params in [
        ("PUT", f"/repository/{repo}", {"description": "a\x00b"}, None),
        ("POST", "/user/apptoken", {"title": "a\x00b"}, None),
        ("POST", "/user/apptoken", {"title": "t", "\x00": 1}, None),
        ("GET", "/repository", None, {"search": "a\x00b"}),
        ("GET", f"/repository/{repo}/tag/", None, {"specificTag": "a\x00b"}),
        ("GET", "/user/logs", None, {"kind": "a\x00b"}),
        ("GET", "/superuser/users/a%00b", None, None),
    ]:
        r = await env.api(method, path, env.admin, json_body=body, params=params)
        assert_problem(r, 400, "NUL")
    r = await env.api("GET", f"/repository/{repo}", env.admin, expect=200)
    assert r.json()["description"] is None  # nothing was stored


async def test_a_cursor_carrying_nul_is_an_ordinary_key(env: Env) -> None:
    cursor = base64.urlsafe_b64encode(b"\x00a").decode().rstrip("=")
    await env.api("GET", "/organization/", env.admin, params={"next_page": cursor}, expect=200)
