"""The quota usage bar and the superuser's quota form in a real browser (Chromium via Playwright):
set without JavaScript on a 390 px phone, then read on the organization and repository pages."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from tests.e2e.browser_fixtures import sign_in
from tests.support.browser import screenshot
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium: Browser, ui_server: RegistryServer) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=ui_server.url, viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def _fits(page: Page, selector: str = "html") -> None:
    """``selector``'s box ends within the phone's width (the whole page by default)."""
    width = page.evaluate(
        "s => { const e = document.querySelector(s);"
        " return Math.max(e.scrollWidth, e.getBoundingClientRect().right); }",
        selector,
    )
    assert width <= PHONE["width"], f"{selector} of {page.url} is {width}px wide at {PHONE['width']}px"


def test_superuser_sets_a_quota_without_javascript_and_the_bar_shows_it(
    chromium: Browser, phone: BrowserContext, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    org = f"quota{secrets.token_hex(3)}"
    with httpx.Client(base_url=f"{ui_server.url}/api/v1", auth=(ui_server.admin, ui_server.password)) as api:
        assert api.post("/organization/", json={"name": org}).status_code == 201
    client.skopeo(
        "copy", "--dest-tls-verify=false", "--dest-creds", f"{ui_server.admin}:{ui_server.password}",
        images.ref("hello"), f"docker://{ui_server.host}/{org}/app:1.0",
    )  # fmt: skip

    # the form, on a phone, with JavaScript off
    page = phone.new_page()
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto("/superuser/quotas")
    page.get_by_label("User or organization").fill(org)
    page.get_by_label("Quota", exact=True).fill("2KB")
    page.get_by_label("Refuse pushes above (percent of the quota)").fill("100")
    page.get_by_label("Warning above (percent, optional)").fill("10")
    page.get_by_role("button", name="Save quota").click()
    expect(page.get_by_text(f"Quota of {org} set to 2 KB.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=org)
    expect(row).to_contain_text("2 KB")
    expect(row).to_contain_text("warning reached")
    # bad input: the error is said, what was typed stays
    page.get_by_label("User or organization").fill(org)
    page.get_by_label("Quota", exact=True).fill("-5")
    page.get_by_role("button", name="Save quota").click()
    expect(page.get_by_role("alert")).to_contain_text("positive")
    expect(page.get_by_label("Quota", exact=True)).to_have_value("-5")

    # the organization page: a meter, and the same figures in words
    page.goto(f"/organization/{org}")
    bar = page.get_by_role("region", name="Storage")
    expect(bar.locator("meter")).to_have_count(1)
    expect(bar).to_contain_text("of 2 KB used")
    expect(bar).to_contain_text("Warning threshold reached.")
    expect(bar).to_contain_text("Pushes are refused above 2 KB.")
    screenshot(page, "quota-organization-phone")
    page.goto(f"/repository/{org}/app")
    bar = page.get_by_role("region", name="Storage")
    expect(bar).to_contain_text("This repository holds")
    expect(bar).to_contain_text("of 2 KB used")
    page.close()

    # the same pages fit a 390 px screen (measured with scripts on)
    measuring = chromium.new_context(base_url=ui_server.url, viewport=PHONE)
    try:
        page = measuring.new_page()
        sign_in(page, ui_server.admin, ui_server.password)
        page.goto("/superuser/quotas")
        _fits(page)
        for path in (f"/organization/{org}", f"/repository/{org}/app"):
            page.goto(path)
            _fits(page, ".quota-usage")
    finally:
        measuring.close()
