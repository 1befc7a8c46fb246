"""moorage.domain.reference: the distribution-spec name and tag grammar."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moorage.domain.errors import NameInvalid, TagInvalid
from moorage.domain.reference import (
    MAX_NAME_LENGTH,
    is_valid_name,
    is_valid_tag,
    namespace_of,
    validate_name,
    validate_tag,
)

# The grammar from the OCI distribution spec, written independently of the implementation.
SPEC_NAME = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
SPEC_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

_ALNUM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_SEP = st.sampled_from([".", "_", "__", "-", "--", "---"])
_COMPONENT = st.builds(
    lambda first, rest: first + "".join(s + a for s, a in rest),
    _ALNUM,
    st.lists(st.tuples(_SEP, _ALNUM), max_size=3),
)
VALID_NAMES = (
    st.lists(_COMPONENT, min_size=1, max_size=5).map("/".join).filter(lambda n: len(n) <= MAX_NAME_LENGTH)
)
VALID_TAGS = st.from_regex(r"\A[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")


@given(VALID_NAMES)
def test_generated_valid_names_accepted(name: str) -> None:
    assert SPEC_NAME.fullmatch(name)
    assert is_valid_name(name)
    assert validate_name(name) == name


@given(VALID_TAGS)
def test_generated_valid_tags_accepted(tag: str) -> None:
    assert is_valid_tag(tag)
    assert validate_tag(tag) == tag


@given(st.text(max_size=300))
def test_random_names_agree_with_spec_and_never_crash(value: str) -> None:
    expected = SPEC_NAME.fullmatch(value) is not None and len(value) <= MAX_NAME_LENGTH
    assert is_valid_name(value) == expected
    if expected:
        validate_name(value)
    else:
        with pytest.raises(NameInvalid):
            validate_name(value)


@given(st.text(max_size=200))
def test_random_tags_agree_with_spec_and_never_crash(value: str) -> None:
    expected = SPEC_TAG.fullmatch(value) is not None
    assert is_valid_tag(value) == expected
    if not expected:
        with pytest.raises(TagInvalid):
            validate_tag(value)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "UPPER",
        "a/B",
        "-a",
        "a-",
        "a_",
        "a___b",
        "a..b",
        "a/",
        "/a",
        "a//b",
        "a/../b",
        "..",
        ".",
        "a b",
        "a:b",
        "a\n",
        "a\nb",
        "a" * (MAX_NAME_LENGTH + 1),
        "é",
    ],
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(NameInvalid):
        validate_name(name)


@pytest.mark.parametrize(
    "name", ["a", "a/b/c/d", "a.b", "a_b", "a__b", "a---b", "0", "org/team/app", "a" * 255]
)
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)


@pytest.mark.parametrize("tag", ["", "-a", ".a", "a" * 129, "a b", "a/b", "a:b", "a\n", "ä"])
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)
    with pytest.raises(TagInvalid):
        validate_tag(tag)


@pytest.mark.parametrize("tag", ["latest", "_", "v1.0.0-rc.1", "A", "a" * 128, "1", "sha256"])
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)


def test_namespace_of() -> None:
    assert namespace_of("alice/app") == "alice"
    assert namespace_of("org/team/app") == "org"
    assert namespace_of("busybox") is None
