"""Auto-prune: which live tags a set of policies removes now (pure; the registry reads and writes).

A policy keeps the newest N tags it covers (``number_of_tags``) or removes the tags it covers that
were pushed (their current row started) longer than a duration ago (``creation_date``). A policy
covers the tags its ``tag_pattern`` is found in (``tag_pattern_matches``) or not found in, and every
tag when it has no pattern. The policies of a repository (its own, its namespace's and the registry
defaults) apply together: a tag is removed when any of them selects it. Immutable tags are never
removed; they still count among the newest N (so more than N tags may stay).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from moorage.domain.labels import DurationError, parse_duration
from moorage.domain.tagpattern import pattern_applies

NUMBER_OF_TAGS = "number_of_tags"
CREATION_DATE = "creation_date"
METHODS = (NUMBER_OF_TAGS, CREATION_DATE)
MAX_NUMBER_OF_TAGS = 1_000_000


class PolicyValueError(ValueError):
    """A method or value that is not a valid auto-prune policy; says why."""


@dataclass(frozen=True, slots=True)
class PruneRule:
    """One policy as the selection needs it; ``label`` names it in previews and audit entries."""

    label: str
    method: str
    value: str
    tag_pattern: str | None = None
    tag_pattern_matches: bool = True


@dataclass(frozen=True, slots=True)
class TagFacts:
    name: str
    pushed_at: datetime
    row_id: int
    immutable: bool = False


def normalize_value(method: str, value: object) -> str:
    """The stored text of a policy's value: N for number_of_tags, a duration for creation_date."""
    if method not in METHODS:
        raise PolicyValueError(f"method must be one of {', '.join(METHODS)}, not {str(method)[:40]!r}")
    if method == NUMBER_OF_TAGS:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise PolicyValueError("value of number_of_tags must be a whole number of tags to keep")
        text = str(value).strip()
        if not text.lstrip("-").isdigit():
            raise PolicyValueError(f"value of number_of_tags must be a whole number, not {text[:40]!r}")
        n = int(text)
        if n < 1 or n > MAX_NUMBER_OF_TAGS:
            raise PolicyValueError(f"value of number_of_tags must be between 1 and {MAX_NUMBER_OF_TAGS}")
        return str(n)
    if not isinstance(value, str):
        raise PolicyValueError("value of creation_date must be a duration such as 7d, 2w or 12h")
    try:
        parse_duration(value)
    except DurationError as exc:
        raise PolicyValueError(f"value of creation_date: {exc}") from exc
    return value.strip()


def select_tags(tags: Sequence[TagFacts], rules: Iterable[PruneRule], now: datetime) -> dict[str, str]:
    """Names of the tags to remove now, each with the label of the first rule that selects it."""
    newest_first = sorted(tags, key=lambda t: (t.pushed_at, t.row_id), reverse=True)
    chosen: dict[str, str] = {}
    for rule in rules:
        covered = [
            t for t in newest_first if pattern_applies(rule.tag_pattern, rule.tag_pattern_matches, t.name)
        ]
        if rule.method == NUMBER_OF_TAGS:
            victims = covered[int(rule.value) :]
        else:
            cutoff = now - timedelta(seconds=parse_duration(rule.value))
            victims = [t for t in covered if t.pushed_at < cutoff]
        for t in victims:
            if not t.immutable:
                chosen.setdefault(t.name, rule.label)
    return chosen
