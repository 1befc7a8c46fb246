"""A real Chromium (Debian's /usr/bin/chromium) driven by Playwright, for the web UI tests.

``playwright install`` cannot download browsers here, so Playwright launches the system Chromium
(apt ``chromium``). Screenshots go to ``test-artifacts/screenshots/`` (git-ignored); set
``MOORAGE_UPDATE_SCREENSHOTS=1`` to also refresh the copies committed under ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"


def screenshot(page: Page, name: str, *, docs: bool = False) -> Path:
    """Save a full-page screenshot; ``docs=True`` marks the ones shown in the README."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("MOORAGE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")
    return path
