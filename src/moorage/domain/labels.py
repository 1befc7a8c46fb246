"""Image labels that steer the registry (Quay's ``quay.expires-after``, ``quay.immutable``) and durations.

Pure functions: the registry reads an image's config blob at push and applies what these return.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

EXPIRES_AFTER = "quay.expires-after"
IMMUTABLE = "quay.immutable"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*([0-9]{1,9})\s*([smhdw])\s*$")
# Ten years: longer is a typo, not a policy.
MAX_DURATION_SECONDS = 10 * 365 * 86400


class DurationError(ValueError):
    """A duration that is not ``<N><unit>`` with unit s, m, h, d or w, or is out of range."""


def parse_duration(text: str) -> int:
    """Seconds of a Quay-style duration: ``30s``, ``15m``, ``12h``, ``2d``, ``1w``."""
    match = _DURATION.match(text)
    if match is None:
        raise DurationError(
            f"{text!r} is not a duration: write a number and a unit s, m, h, d or w (e.g. 2w)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise DurationError(f"{text!r} is longer than ten years")
    return seconds


def config_labels(config: bytes) -> dict[str, str]:
    """The labels of an image config blob (``config.Labels``); empty when there are none or it is not JSON."""
    try:
        doc = json.loads(config)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(doc, dict):
        return {}
    inner = doc.get("config")
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {k: str(v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str | int | float)}


def expires_after_seconds(labels: Mapping[str, str]) -> int | None:
    """The ``quay.expires-after`` label in seconds; None when absent or malformed (never fails a push)."""
    value = labels.get(EXPIRES_AFTER)
    if value is None:
        return None
    try:
        return parse_duration(value)
    except DurationError:
        return None


def is_marked_immutable(labels: Mapping[str, str]) -> bool:
    """Whether the image asks for its tag to be immutable (``quay.immutable=true``)."""
    return labels.get(IMMUTABLE, "").strip().lower() == "true"
