"""Cursor pagination shared by every list endpoint: ``?limit=&next_page=``, answer ``next_page``.

The cursor is opaque to clients (base64 of the last key seen), so lists stay stable while rows are
added, and a page costs one indexed range query.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import Query

from moorage.domain.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        raw = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(raw, altchars=b"-_", validate=True).decode()
        if encode_cursor(decoded) != cursor:
            raise ValueError("not canonical")
        return decoded
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("next_page is not a cursor this server issued") from None


class Page:
    """``limit`` and the decoded cursor of a list request."""

    def __init__(
        self,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page"),
        next_page: str | None = Query(None, description="cursor from the previous page's next_page"),
    ) -> None:
        self.limit = limit
        self.after = decode_cursor(next_page)

    def next_cursor(self, items: int, last_key: str | int | None) -> str | None:
        """The cursor of the following page, or None when this page was the last."""
        if items < self.limit or last_key is None:
            return None
        return encode_cursor(last_key)


T = TypeVar("T")


def paginate(items: Sequence[T], page: Page, key: Callable[[T], str | int]) -> tuple[list[T], str | None]:
    """One page of a bounded list (teams, robots, grants...): the items after the cursor in key
    order, and the cursor of the next page (None on the last page)."""
    ordered = sorted(items, key=key)
    if page.after is not None:
        ordered = [i for i in ordered if _after(key(i), page.after)]
    chunk = ordered[: page.limit]
    more = len(ordered) > page.limit
    return chunk, (encode_cursor(key(chunk[-1])) if more and chunk else None)


def _after(value: str | int, cursor: str) -> bool:
    if isinstance(value, int):
        try:
            return value > int(cursor)
        except ValueError:
            raise InvalidInput("next_page is not a cursor this server issued") from None
    return value > cursor
