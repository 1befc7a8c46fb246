"""Tag patterns of auto-prune and immutability policies: regular expressions checked before acceptance.

A policy's ``tagPattern`` is a Python regular expression searched in tag names (``re.search``:
anchor it with ``^...$`` to match whole names). Tag names are at most 128 characters, but a
pattern prone to catastrophic backtracking can still take minutes on one name, and patterns are
matched on every push and every prune run. So a pattern is accepted only when:

1. it compiles and is at most :data:`MAX_PATTERN_LENGTH` characters;
2. the static check of this module finds none of the shapes that backtrack exponentially: a
   repetition nested in another repetition (``(a+)+``, ``(a*)*``, ``(\\w+\\d?)*``), an
   alternation under a repetition whose branches can start with the same character or match the
   empty string (``(a|ab)*``, ``(\\w|\\d)+``), or a backreference;
3. a bounded-time trial (``registry.patterncheck``: a separate process killed after a deadline)
   matches it against adversarial tag names.

This module is the pure part (1 and 2) and the matcher; it does no I/O.
"""

from __future__ import annotations

import re
from functools import lru_cache
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

MAX_PATTERN_LENGTH = 256
MAX_TAG_LENGTH = 128

_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT)}


class PatternError(ValueError):
    """A tag pattern that is not a regular expression, or one refused as dangerous; says why."""


def check_pattern(text: str) -> str:
    """The pattern, stripped, when it passes the length, syntax and static backtracking checks."""
    pattern = text.strip()
    if not pattern:
        raise PatternError("tagPattern is empty: leave it out to apply the policy to every tag")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"tagPattern is longer than {MAX_PATTERN_LENGTH} characters")
    if "\x00" in pattern:
        raise PatternError("tagPattern may not contain NUL characters")
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise PatternError(f"tagPattern {pattern!r} is not a valid regular expression: {exc}") from exc
    reason = _dangerous(list(parsed), under_repeat=False)
    if reason:
        raise PatternError(
            f"tagPattern {pattern!r} is refused: {reason}, which can make matching take exponential "
            "time (catastrophic backtracking); rewrite it without that construct"
        )
    return pattern


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def pattern_applies(pattern: str | None, matches: bool, tag: str) -> bool:
    """Whether a policy with this pattern covers ``tag``: every tag without a pattern; else the tags
    the pattern is found in (``matches``) or those it is not found in (``not matches``)."""
    if pattern is None:
        return True
    found = _compiled(pattern).search(tag) is not None
    return found if matches else not found


# -- the static check ------------------------------------------------------------------------------
# Tags are made of these characters (OCI tag grammar), so character sets are computed over them.
_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: frozenset(c for c in _ALPHABET if c.isdigit()),
    sre_c.CATEGORY_WORD: frozenset(c for c in _ALPHABET if c.isalnum() or c == "_"),
    sre_c.CATEGORY_SPACE: frozenset(),
}
_CATEGORIES[sre_c.CATEGORY_NOT_DIGIT] = _ALPHABET - _CATEGORIES[sre_c.CATEGORY_DIGIT]
_CATEGORIES[sre_c.CATEGORY_NOT_WORD] = _ALPHABET - _CATEGORIES[sre_c.CATEGORY_WORD]
_CATEGORIES[sre_c.CATEGORY_NOT_SPACE] = _ALPHABET
_SINGLE = {sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN}
_ZERO_WIDTH = {sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT}

Items = list[tuple[Any, Any]]


def _chars(op: Any, av: Any) -> frozenset[str]:
    """The tag characters one single-character element can match."""
    if op == sre_c.LITERAL:
        return frozenset({chr(av)}) & _ALPHABET
    if op == sre_c.NOT_LITERAL:
        return _ALPHABET - {chr(av)}
    if op == sre_c.ANY:
        return _ALPHABET
    out: set[str] = set()
    negate = False
    for iop, iav in av:  # IN
        if iop == sre_c.NEGATE:
            negate = True
        elif iop == sre_c.LITERAL:
            out.add(chr(iav))
        elif iop == sre_c.RANGE:
            out.update(c for c in _ALPHABET if iav[0] <= ord(c) <= iav[1])
        elif iop == sre_c.CATEGORY:
            out |= _CATEGORIES.get(iav, _ALPHABET)
        else:
            out |= _ALPHABET
    chosen = frozenset(out) & _ALPHABET
    return _ALPHABET - chosen if negate else chosen


def _body(op: Any, av: Any) -> list[Items]:
    """The sub-sequences of a compound element (alternatives for a branch)."""
    if op in _REPEATS:
        return [list(av[2])]
    if op == sre_c.SUBPATTERN:
        return [list(av[-1])]
    if op == sre_c.BRANCH:
        return [list(b) for b in av[1]]
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return [list(av[1])]
    if op == getattr(sre_c, "ATOMIC_GROUP", None):
        return [list(av)]
    return []


def _repeats(op: Any, av: Any) -> bool:
    return op in _REPEATS and (av[1] is sre_c.MAXREPEAT or av[1] > 1)


def _dangerous(items: Items, *, under_repeat: bool) -> str | None:
    for op, av in items:
        if op in (sre_c.GROUPREF, sre_c.GROUPREF_EXISTS):
            return "a backreference"
        if _repeats(op, av):
            body = list(av[2])
            if _nullable(body):
                return "a repetition of something that can match the empty string"
            inner = _repeated_chars(body)
            if inner and not _has_separator(body, inner):
                return "a repetition nested inside another repetition without a separator between them"
        if op == sre_c.BRANCH and under_repeat and _branches_overlap(_body(op, av)):
            return "an alternation under a repetition whose branches can match the same text"
        for sub in _body(op, av):
            reason = _dangerous(sub, under_repeat=under_repeat or _repeats(op, av))
            if reason:
                return reason
    return None


def _repeated_chars(items: Items) -> frozenset[str]:
    """Characters consumed by repetitions anywhere inside ``items``."""
    out: set[str] = set()
    for op, av in items:
        if _repeats(op, av):
            out |= _all_chars(list(av[2]))
        else:
            for sub in _body(op, av):
                out |= _repeated_chars(sub)
    return frozenset(out)


def _all_chars(items: Items) -> frozenset[str]:
    out: set[str] = set()
    for op, av in items:
        if op in _SINGLE:
            out |= _chars(op, av)
        elif op not in _ZERO_WIDTH:
            for sub in _body(op, av):
                out |= _all_chars(sub)
    return frozenset(out)


def _has_separator(items: Items, inner: frozenset[str]) -> bool:
    """Whether ``items`` has a mandatory single-character element matching none of ``inner`` (the
    characters repetitions inside consume): each iteration must pass it, so consecutive iterations
    cannot be split in many ways (``(\\.[0-9]+)*`` is safe, ``(a+)+`` is not)."""
    for op, av in items:
        if op in _SINGLE:
            chars = _chars(op, av)
            if chars and not (chars & inner):
                return True
        elif op == sre_c.SUBPATTERN and _has_separator(list(av[-1]), inner):
            return True
    return False


def _nullable(items: Items) -> bool:
    """Whether ``items`` can match the empty string."""
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        if op in _REPEATS:
            if av[0] > 0 and not _nullable(list(av[2])):
                return False
        elif op == sre_c.SUBPATTERN:
            if not _nullable(list(av[-1])):
                return False
        elif op == sre_c.BRANCH:
            if not any(_nullable(list(b)) for b in av[1]):
                return False
        else:
            return False
    return True


def _first_chars(items: Items) -> frozenset[str]:
    """Characters a non-empty match of ``items`` can start with."""
    out: set[str] = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        if op in _SINGLE:
            return frozenset(out | _chars(op, av))
        subs = _body(op, av)
        for sub in subs:
            out |= _first_chars(sub)
        if not any(_nullable(sub) for sub in subs):
            return frozenset(out)
    return frozenset(out)


def _branches_overlap(branches: list[Items]) -> bool:
    seen: set[str] = set()
    for b in branches:
        if _nullable(b):
            return True
        first = _first_chars(b)
        if first & seen:
            return True
        seen |= first
    return False
