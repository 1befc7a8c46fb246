"""The Jobs tab of the superuser panel in Chromium: a running job's progress bar moves, filters work,
a running job is cancelled with the page's form, all without JavaScript, on a 390 px wide phone."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from tests.e2e.browser_fixtures import chromium, sign_in
from tests.support.browser import screenshot
from tests.support.procs import run
from tests.support.servers import RegistryServer, moorage_executable, start_moorage

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

JOB_ENV = {"MOORAGE_TEST_JOBS": "1", "MOORAGE_TEST_JOB_LEASE_SECONDS": "5", "MOORAGE_JOB_POLL_SECONDS": "0.2"}
PHONE: ViewportSize = {"width": 390, "height": 844}

__all__ = ["chromium"]


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_moorage(tmp_path_factory.mktemp("jobs-ui"), name="moorage-jobs-ui", workers=1, env=JOB_ENV)
    try:
        yield server
    finally:
        server.stop()


def _enqueue(server: RegistryServer, kind: str, payload: dict[str, object]) -> int:
    args = [moorage_executable(), "jobs", "enqueue", kind, "--json", "--payload", json.dumps(payload)]
    out = run([*args, "--data-dir", str(server.data_dir)], env={**os.environ, **JOB_ENV})
    job_id: int = json.loads(out.stdout)["id"]
    return job_id


def _phone(chromium: Browser, server: RegistryServer, *, javascript: bool) -> Page:
    context = chromium.new_context(
        base_url=server.url, viewport=PHONE, java_script_enabled=javascript, is_mobile=True
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def test_jobs_tab_on_a_phone_without_javascript(chromium: Browser, jobs_server: RegistryServer) -> None:
    server = jobs_server
    slow = _enqueue(server, "test.sleep", {"seconds": 60, "steps": 120})
    waiting = _enqueue(server, "uploads.purge", {})  # one job at a time: waits behind the slow one

    page = _phone(chromium, server, javascript=False)
    try:
        sign_in(page, server.admin, server.password)
        page.goto("/superuser/jobs")
        expect(page.get_by_role("link", name="Jobs")).to_have_attribute("aria-current", "page")
        row = page.locator("tr", has=page.get_by_role("link", name=f"#{slow}"))
        expect(row).to_contain_text("running", timeout=30_000)
        bar = page.get_by_label(f"Job {slow} progress")
        deadline = time.monotonic() + 30
        while int(bar.get_attribute("value") or 0) < 2:  # the bar moves from reload to reload
            assert time.monotonic() < deadline, "no progress shown"
            time.sleep(0.5)
            page.reload()
        expect(page.locator("tr", has=page.get_by_role("link", name=f"#{waiting}"))).to_contain_text("queued")

        page.get_by_label("State").select_option("running")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"state=running"))
        expect(page.get_by_role("link", name=f"#{slow}")).to_be_visible()
        expect(page.get_by_role("link", name=f"#{waiting}")).to_have_count(0)
        screenshot(page, "jobs-phone")

        page.locator("tr", has=page.get_by_role("link", name=f"#{slow}")).get_by_role(
            "button", name="Cancel"
        ).click()
        expect(page.get_by_text(f"Job {slow} is asked to stop")).to_be_visible()
        deadline = time.monotonic() + 30
        while "cancelled" not in (page.locator("h2").text_content() or ""):
            assert time.monotonic() < deadline, "the running job never stopped"
            time.sleep(0.5)
            page.reload()
        expect(page.locator(".job-result")).to_contain_text("stopped_at")
    finally:
        page.context.close()

    # the layout fits the phone: nothing wider than the screen (checked with scripts on)
    page = _phone(chromium, server, javascript=True)
    try:
        sign_in(page, server.admin, server.password)
        for path in ("/superuser/jobs", f"/superuser/jobs/{slow}"):
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
    finally:
        page.context.close()

