"""The rule for a missing program (tests/support/tools.py): a skip locally, a failure in CI."""

from __future__ import annotations

import pytest
from tests.support.tools import missing, require_program

ABSENT = "moorage-no-such-client"


def test_missing_program_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("true", "1", "yes", "TRUE"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match=f"{ABSENT} is not installed"):
            require_program(ABSENT, "apt nothing")


def test_missing_program_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("", "false", "0"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.skip.Exception, match=f"{ABSENT} is not installed"):
            require_program(ABSENT, "apt nothing")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_program(ABSENT, "apt nothing")


def test_strict_needs_fail_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        missing("chromium is needed", skip_outside_ci=False)


def test_installed_program_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_program("sh", "apt dash").endswith("/sh")
