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
MAX_CURSOR_LENGTH = 1024

# The grammar of the cursors this module issues, for the OpenAPI document (and so for request
# validation): canonical unpadded base64url, whose last character carries no stray bits.
_B64 = "[A-Za-z0-9_-]"
CURSOR_PATTERN = rf"^(?:{_B64}{{4}})*(?:{_B64}[AQgw]|{_B64}{{2}}[AEIMQUYcgkosw048])?$"
# Cursors over integer keys (row ids) are base64url of 1-18 decimal digits (18: below 2**63, the
# database's integer range). Each 3-digit group encodes to: [MNO] (high bits of the 1st digit),
# then [DTjz] ([DT] after O), then [AEIMQUYcgk], then [w-z0-5]; a 1- or 2-digit tail stops early.
_HEAD = "(?:[MN][DTjz]|O[DT])"
_GROUP = rf"{_HEAD}[AEIMQUYcgk][w-z0-5]"
_TAIL = rf"(?:[MN][AQgw]|O[AQ]|{_HEAD}[AEIMQUYcgk])"
ID_CURSOR_PATTERN = rf"^(?:(?:{_GROUP}){{0,6}}|(?:{_GROUP}){{0,5}}{_TAIL})$"
MAX_ID_DIGITS = 18


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor carries. Every string of CURSOR_PATTERN decodes (bytes that are not UTF-8,
    and NUL, which PostgreSQL text cannot hold, become U+FFFD: such a key sorts like any other), so
    the schema and the server agree."""
    if not cursor:
        return None
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("next_page is not a cursor this server issued") from None
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != cursor:
        raise InvalidInput("next_page is not a cursor this server issued")
    return raw.decode(errors="replace").replace("\x00", "\ufffd")


def cursor_id(cursor: str | None) -> int | None:
    """A decoded cursor over row ids as an int; InvalidInput when it is not one."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= MAX_ID_DIGITS):
        raise InvalidInput("next_page is not a cursor this server issued")
    return int(cursor)


class Page:
    """``limit`` and the decoded cursor of a list request."""

    def __init__(
        self,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page"),
        next_page: str | None = Query(
            None,
            max_length=MAX_CURSOR_LENGTH,
            pattern=CURSOR_PATTERN,
            description="cursor from the previous page's next_page",
        ),
    ) -> None:
        self.limit = limit
        self.after = decode_cursor(next_page)

    @property
    def after_id(self) -> int | None:
        """The cursor of a list ordered by row id."""
        return cursor_id(self.after)

    def next_cursor(self, items: int, last_key: str | int | None) -> str | None:
        """The cursor of the following page, or None when this page was the last."""
        if items < self.limit or last_key is None:
            return None
        return encode_cursor(last_key)


T = TypeVar("T")


class IdPage(Page):
    """A page of a list ordered by row id: the cursor grammar says so (ID_CURSOR_PATTERN)."""

    def __init__(
        self,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page"),
        next_page: str | None = Query(
            None, pattern=ID_CURSOR_PATTERN, description="cursor from the previous page's next_page"
        ),
    ) -> None:
        super().__init__(limit, next_page)


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
        after = cursor_id(cursor)
        assert after is not None
        return value > after
    return value > cursor
