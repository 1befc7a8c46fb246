"""Checks every /api/v1 request gets before its route: no NUL character in any text.

PostgreSQL cannot store U+0000 in text (asyncpg raises, which was a 500), SQLite stored it, and no
name, description or filter has a use for it; so a NUL anywhere in the path, the query or a JSON
body is invalid input (400), the same on both backends. The OpenAPI document says so in its
description.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from moorage.domain.errors import InvalidInput

NUL = "\x00"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: InvalidInput when the request carries a NUL character."""
    if NUL in request.url.path or any(
        _has_nul(k) or _has_nul(v) for k, v in request.query_params.multi_items()
    ):
        raise InvalidInput("text must not contain NUL (U+0000) characters")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return
    body = await request.body()  # cached: the route reads the same bytes
    if b"\\u0000" not in body:  # the only way a NUL gets into valid JSON text
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        return  # the route's own validation answers malformed JSON
    if _has_nul(parsed):
        raise InvalidInput("text must not contain NUL (U+0000) characters")
