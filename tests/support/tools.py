"""The one rule for a program a test needs but cannot find (skopeo, podman, buildah, docker, dockerd,
Chromium): a skip on a developer's machine, a failure in CI.

CI sets ``CI=true`` (``.ci/run`` does, as hosted runners do), and a CI run that skipped the real
clients would pass without testing what the project promises. Chromium fails everywhere, as it
always did: the web UI's browser tests have no stand-in.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(message: str, *, skip_outside_ci: bool = True) -> NoReturn:
    """Fail (in CI, or always when ``skip_outside_ci`` is off) or skip: something the test needs is absent."""
    if in_ci() or not skip_outside_ci:
        pytest.fail(f"{message} (CI={os.environ.get('CI', '')!r}: every test must run)", pytrace=False)
    pytest.skip(message)


def require_program(binary: str, install: str) -> str:
    """The full path of ``binary``; when it is not installed, ``missing`` decides (skip or fail)."""
    found = shutil.which(binary)
    if not found:
        missing(f"{binary} is not installed ({install})")
    return found
