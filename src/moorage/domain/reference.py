"""Repository names and tags, per the OCI distribution-spec grammar."""

from __future__ import annotations

import re

from moorage.domain.errors import NameInvalid, TagInvalid

# path-component ::= [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
# always applied with fullmatch: "$" alone would accept a trailing newline
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
MAX_NAME_LENGTH = 255


def validate_name(name: str) -> str:
    if not is_valid_name(name):
        raise NameInvalid(f"invalid repository name {name[:100]!r}")
    return name


def is_valid_name(name: str) -> bool:
    return bool(name) and len(name) <= MAX_NAME_LENGTH and NAME_RE.fullmatch(name) is not None


def validate_tag(tag: str) -> str:
    if not is_valid_tag(tag):
        raise TagInvalid(f"invalid tag {tag[:140]!r}")
    return tag


def is_valid_tag(tag: str) -> bool:
    return TAG_RE.fullmatch(tag) is not None


def namespace_of(name: str) -> str | None:
    """The namespace (first path component) of a repository name, or None for a one-component name."""
    head, sep, _ = name.partition("/")
    return head if sep else None


NAMESPACE_RE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
MIN_NAMESPACE_LENGTH = 2
ROBOT_SHORTNAME_RE = re.compile(r"[a-z][a-z0-9_]{1,254}")
TEAM_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{1,254}")


def validate_namespace_name(name: str, what: str = "name") -> str:
    """User and organization names: the first component of repository names."""
    from moorage.domain.errors import InvalidInput

    if not (MIN_NAMESPACE_LENGTH <= len(name) <= MAX_NAME_LENGTH) or NAMESPACE_RE.fullmatch(name) is None:
        raise InvalidInput(
            f"{what} must be 2-255 characters: lower-case letters and digits, with single . _ - between them"
        )
    return name


def split_robot_name(fullname: str) -> tuple[str, str] | None:
    """``namespace+shortname`` → (namespace, shortname); None when it is not a robot name."""
    ns, sep, short = fullname.partition("+")
    if not sep or not ns or not short:
        return None
    return ns, short
