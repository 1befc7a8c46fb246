"""Fixtures of the browser tests: one Chromium per session and a fresh Moorage server for the UI,
so the walkthrough's names (``application-images``) never meet the other end-to-end tests'."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.servers import RegistryServer, start_moorage
from tests.support.tools import missing


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Playwright's sync API runs an event loop in this thread while it is started: keep it to the
    browser test module, so the async tests collected after it get a thread without a running loop."""
    if not Path(CHROMIUM).exists():
        missing(
            "Debian's chromium is needed for the browser tests (apt install chromium)", skip_outside_ci=False
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def ui_server(e2e_root: Path) -> Iterator[RegistryServer]:
    server = start_moorage(e2e_root / "ui-server", name="moorage-ui")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(chromium: Browser, ui_server: RegistryServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) at a laptop-sized window."""
    context = chromium.new_context(base_url=ui_server.url, viewport={"width": 1366, "height": 800})
    context.set_default_timeout(15_000)
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


def sign_in(page: Page, user: str, password: str) -> None:
    page.goto("/signin")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin" not in url)


__all__ = ["chromium", "page", "shutil", "sign_in", "ui_server"]
