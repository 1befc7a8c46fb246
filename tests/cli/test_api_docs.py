"""docs/api.md is generated from the OpenAPI document; fail when it is out of date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_api_docs.py"
DOC = ROOT / "docs" / "api.md"


def test_api_docs_are_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "api.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(fresh)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert DOC.exists(), "docs/api.md is missing: run `python scripts/gen_api_docs.py`"
    assert fresh.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8"), (
        "docs/api.md is out of date: run `python scripts/gen_api_docs.py`"
    )


def test_api_docs_cover_every_endpoint_and_quay_differences() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## Authentication", "## Errors", "## Pagination", "## Differences from Quay's API"):
        assert heading in text
    for endpoint in (
        "### `PUT /api/v1/organization/{org}/robots/{shortname}`",
        "### `PUT /api/v1/repository/{repo}/permissions/{kind}/{name}`",
        "### `GET /api/v1/repository/{repo}/logs`",
        "### `POST /api/v1/repository`",
    ):
        assert endpoint in text
    assert "application/problem+json" in text
