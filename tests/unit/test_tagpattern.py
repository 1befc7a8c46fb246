"""The tag-pattern check: safe patterns pass, backtracking-prone ones are refused with a reason, and
the bounded trial refuses what the static check lets through; the pure auto-prune selection."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from moorage.domain.pruning import PolicyValueError, PruneRule, TagFacts, normalize_value, select_tags
from moorage.domain.tagpattern import PatternError, check_pattern, pattern_applies
from moorage.registry.patterncheck import accept_pattern

SAFE = [
    "^latest$",
    "^v[0-9]+(\\.[0-9]+)*$",
    "^release-.*",
    "^(dev|feature)-",
    "(a+b)*",
    "^[a-f0-9]{7,40}$",
    "-rc[0-9]+$",
]
DANGEROUS = [
    ("(a+)+$", "nested"),
    ("(a*)*b", "empty string"),
    ("(a|ab)*c", "alternation"),
    ("(a|a)+$", "alternation"),
    ("^(x+x+)+y", "nested"),
    ("(\\w+\\d?)*x", "nested"),
    ("(.*a){20}", "nested"),
    ("(a)\\1", "backreference"),
]


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_pass(pattern: str) -> None:
    assert check_pattern(f"  {pattern} ") == pattern


@pytest.mark.parametrize(("pattern", "why"), DANGEROUS)
def test_dangerous_patterns_are_refused_with_the_reason(pattern: str, why: str) -> None:
    with pytest.raises(PatternError, match=why) as info:
        check_pattern(pattern)
    assert "catastrophic backtracking" in str(info.value)


@pytest.mark.parametrize("pattern", ["[", "(", "a{2,1}", "", "x" * 257, "a\x00"])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        check_pattern(pattern)


async def test_the_bounded_trial_refuses_polynomial_blowups_in_time() -> None:
    started = time.monotonic()
    with pytest.raises(PatternError, match="took longer"):
        await accept_pattern(".*.*.*.*.*.*.*.*.*.*=")
    assert time.monotonic() - started < 10
    assert await accept_pattern("^v[0-9]+$") == "^v[0-9]+$"


def test_pattern_applies_searches_and_negates() -> None:
    assert pattern_applies(None, True, "anything")
    assert pattern_applies("^dev-", True, "dev-1")
    assert not pattern_applies("^dev-", True, "prod-dev-1")
    assert pattern_applies("dev", True, "prod-dev-1")  # searched, not anchored
    assert pattern_applies("^dev-", False, "prod-1")


@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("number_of_tags", -1),
        ("number_of_tags", 0),
        ("number_of_tags", True),
        ("creation_date", "3x"),
        ("x", 1),
    ],
)
def test_bad_values(method: str, value: object) -> None:
    with pytest.raises(PolicyValueError):
        normalize_value(method, value)


def test_selection_keeps_newest_and_skips_immutable() -> None:
    now = datetime.now(UTC)
    tags = [TagFacts(f"t{i}", now - timedelta(days=10 - i), i, immutable=(i == 1)) for i in range(1, 6)]
    assert set(select_tags(tags, [PruneRule("keep 2", "number_of_tags", "2")], now)) == {"t2", "t3"}
    by_age = select_tags(tags, [PruneRule("old", "creation_date", "7d")], now)
    assert set(by_age) == {"t2"}  # t1 is older but immutable; t3 is exactly 7 days old
    both = select_tags(
        tags, [PruneRule("a", "creation_date", "6d"), PruneRule("b", "number_of_tags", "4")], now
    )
    assert both == {"t2": "a", "t3": "a"}
