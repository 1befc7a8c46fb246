"""Bounded parsing of the decimal numbers clients put in headers (``Range``, ``Content-Range``).

Python's ``int()`` refuses strings of more than 4,300 digits with a ValueError and spends time on
long ones; a header may hold any number of digits. Every number here is ASCII digits only (``\\d``
would accept other scripts' digits) and saturates at ``HUGE``, beyond any blob or upload size.
"""

from __future__ import annotations

HUGE = 1 << 63
_MAX_DIGITS = 19  # 10**19 > 2**63: a longer number is HUGE whatever its digits


def bounded_int(digits: str) -> int:
    """A non-empty string of ASCII digits (checked by the caller's pattern) → its value, at most HUGE."""
    stripped = digits.lstrip("0") or "0"
    if len(stripped) > _MAX_DIGITS:
        return HUGE
    return min(int(stripped), HUGE)
