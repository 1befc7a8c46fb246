"""The settings pages' auto-prune and immutability sections in a real browser (Chromium through
Playwright): add a policy, see what the next run would remove, open its preview, add an
immutability rule, with JavaScript off too, and at a 390 px phone width."""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.browser_fixtures import sign_in
from tests.support.browser import screenshot
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _setup(server: RegistryServer, client: ClientEnv, images: ImageSet) -> str:
    org = "prune" + secrets.token_hex(3)
    with httpx.Client(base_url=server.url, auth=(server.admin, server.password), timeout=30) as http:
        r = http.post("/api/v1/organization/", json={"name": org})
        assert r.status_code == 201, r.text
    for tag in ("dev-1", "dev-2", "v1"):  # pushed in this order: dev-1 is the oldest
        client.skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"{server.admin}:{server.password}",
            images.ref("hello"),
            f"docker://{server.host}/{org}/app:{tag}",
        )
    return org


def test_policies_on_the_settings_page_with_preview(
    page: Page, chromium: Browser, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    org = _setup(ui_server, client, images)
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{org}/app/-/settings")
    section = page.locator("#autoprune")
    expect(section.get_by_role("heading", name="Auto-prune policies")).to_be_visible()
    section.get_by_label("Method").select_option("number_of_tags")
    section.get_by_label("Value").fill("1")
    section.get_by_label("Tag pattern").fill("^dev-")
    section.get_by_role("button", name="Add").click()
    expect(page.locator(".flash")).to_contain_text("Auto-prune policy added")
    next_run = page.locator("table.next-run")
    expect(next_run).to_contain_text("dev-1")
    expect(next_run).not_to_contain_text("dev-2")
    page.locator("#autoprune").get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", name="Auto-prune preview")).to_be_visible()
    expect(page.locator("table.preview")).to_contain_text("dev-1")
    expect(page.get_by_text("1 tag would be removed.")).to_be_visible()
    screenshot(page, "autoprune-preview")

    # an immutability rule, and a dangerous pattern refused with a readable message
    page.goto(f"/repository/{org}/app/-/settings")
    rules = page.locator("#immutability")
    rules.get_by_label("Tag pattern").fill("(a+)+$")
    rules.get_by_role("button", name="Add").click()
    expect(page.locator("#immutability .form-error")).to_contain_text("catastrophic backtracking")
    page.locator("#immutability").get_by_label("Tag pattern").fill("^v[0-9]+$")
    page.locator("#immutability").get_by_role("button", name="Add").click()
    expect(page.locator(".flash")).to_contain_text("Immutability rule added")
    expect(page.locator("#immutability table")).to_contain_text("^v[0-9]+$")
    screenshot(page, "repository-policies")

    # without JavaScript, at a phone's width: the organization's form works and nothing overflows
    context = chromium.new_context(
        base_url=ui_server.url, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        phone = context.new_page()
        sign_in(phone, ui_server.admin, ui_server.password)
        phone.goto(f"/organization/{org}/settings")
        form = phone.locator("#autoprune")
        form.get_by_label("Method").select_option("creation_date")
        form.get_by_label("Value").fill("2w")
        form.get_by_role("button", name="Add").click()
        expect(phone.locator("#autoprune table")).to_contain_text("remove tags older than 2w")
        screenshot(phone, "organization-policies-phone")
    finally:
        context.close()
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/organization/{org}/settings", f"/repository/{org}/app/-/settings"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390 px"
