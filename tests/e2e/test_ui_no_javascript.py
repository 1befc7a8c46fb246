"""Every create form works in a browser with JavaScript switched off, a tag delete still asks first,
and with JavaScript the confirmations are the app's own dialog, never the browser's ``confirm()``.

The dialogs of the robot, team and OAuth application lists open with JavaScript; without it their
button is a link to the same form as a page of its own (``?new=1``). The tag's *Delete* is a link to
a confirmation page that the tags page loads into a dialog when it can.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from tests.e2e.browser_fixtures import sign_in
from tests.e2e.ui_seed import push
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def nojs(chromium: Browser, ui_server: RegistryServer) -> Iterator[Page]:
    """A browser context with JavaScript disabled, signed in as the superuser."""
    context = chromium.new_context(
        base_url=ui_server.url, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, ui_server.admin, ui_server.password)
        yield page
    finally:
        context.close()


def _refuse(dialog: Dialog, seen: list[str]) -> None:
    """A native dialog (alert, confirm, prompt) must never open: note it and dismiss it."""
    seen.append(dialog.message)
    dialog.dismiss()


def _org_with_image(server: RegistryServer, images: ImageSet) -> str:
    org = f"nojs{secrets.token_hex(3)}"
    with httpx.Client(base_url=server.url, auth=(server.admin, server.password), timeout=60) as http:
        assert http.post("/api/v1/organization/", json={"name": org}).status_code == 201
        r = http.post(
            "/api/v1/repository", json={"namespace": org, "repository": "app", "visibility": "private"}
        )
        assert r.status_code == 201, r.text
        hello = images.hello.manifest
        for tag in ("1.0", "2.0"):
            push(http, images.layout, hello.digest, hello.media_type, f"{org}/app", tag)
    return org


def _scripts_are_off(page: Page) -> None:
    """The page's scripts did not run (htmx would have defined window.htmx)."""
    assert page.evaluate("typeof window.htmx") == "undefined"


def test_create_forms_work_without_javascript(
    nojs: Page, ui_server: RegistryServer, images: ImageSet
) -> None:
    page = nojs
    _scripts_are_off(page)
    # organization and repository: pages of their own
    org = f"plain{secrets.token_hex(3)}"
    page.goto("/new/organization")
    page.get_by_label("Name", exact=True).fill(org)
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url(f"**/organization/{org}")
    page.goto(f"/new/repository?namespace={org}")
    page.get_by_label("Name", exact=True).fill("app")
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"**/repository/{org}/app")

    # team: the "New team" button is a link to the form
    page.goto(f"/organization/{org}/teams")
    page.get_by_role("link", name="New team").click()
    page.wait_for_url(f"**/organization/{org}/teams?new=1")
    expect(page.get_by_role("heading", name="New team")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("deployers")
    page.get_by_label("Description").fill("People who deploy")
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url(f"**/organization/{org}/teams/deployers")
    expect(page.locator(".flash")).to_contain_text("Team deployers created")
    # a member, on the team's page
    page.locator("form[action$='/teams/deployers/members'] [name=member]").fill(ui_server.alice)
    page.locator("form[action$='/teams/deployers/members'] [type=submit]").click()
    expect(page.locator(".flash")).to_contain_text(f"{ui_server.alice} added")

    # robot account, with a grant, from the link's page
    page.goto(f"/organization/{org}/robots")
    page.get_by_role("link", name="New robot account").first.click()
    page.wait_for_url(f"**/organization/{org}/robots?new=1")
    page.get_by_label("Name", exact=True).fill("shipper")
    page.get_by_label(f"{org}/app").select_option("write")
    page.get_by_role("button", name="Create robot account").click()
    page.wait_for_url(f"**/organization/{org}/robots/shipper")
    expect(page.get_by_role("cell", name=f"{org}/app")).to_be_visible()
    # a refused name comes back on the same page, with what was typed
    page.goto(f"/organization/{org}/robots?new=1")
    page.get_by_label("Name", exact=True).fill("shipper")
    page.get_by_role("button", name="Create robot account").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("shipper")

    # OAuth application: the secret is shown once, on the result page
    page.goto(f"/organization/{org}/applications")
    page.get_by_role("link", name="New application").click()
    page.wait_for_url(f"**/organization/{org}/applications?new=1")
    page.get_by_label("Name", exact=True).fill("status-board")
    page.get_by_label("Redirect URI").fill("https://board.example.com/callback")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name="status-board")).to_be_visible()

    # default permission and repository permission
    page.goto(f"/organization/{org}/defaults")
    form = page.locator(f"form[action='/organization/{org}/defaults']")
    form.locator("[name=delegate_kind]").select_option("team")
    form.locator("[name=delegate]").fill("deployers")
    form.locator("[type=submit]").click()
    expect(page.locator("table.list")).to_contain_text("deployers")
    page.goto(f"/repository/{org}/app/-/permissions")
    form = page.locator(f"form.inline-form[action='/repository/{org}/app/-/permissions']")
    form.locator("[name=kind]").select_option("user")
    form.locator("[name=name]").fill(ui_server.alice)
    form.locator("[name=role]").select_option("read")
    form.locator("[type=submit]").click()
    expect(page.locator("table.list").first).to_contain_text(ui_server.alice)

    # personal robot, application token, a new user (superuser panel)
    page.goto("/settings/robots")
    page.get_by_role("link", name="New robot account").first.click()
    page.wait_for_url("**/settings/robots?new=1")
    short = f"r{secrets.token_hex(3)}"
    page.get_by_label("Name", exact=True).fill(short)
    page.get_by_role("button", name="Create robot account").click()
    page.wait_for_url(f"**/settings/robots/{short}")
    page.goto("/settings/tokens")
    page.get_by_label("Title").fill("no-script laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Token “no-script laptop” created")).to_be_visible()
    page.goto("/superuser/users")
    name = f"dora{secrets.token_hex(3)}"
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat the password").fill("correct horse battery")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash")).to_contain_text(name)
    _scripts_are_off(page)


def test_tag_delete_asks_on_a_page_of_its_own_without_javascript(
    nojs: Page, ui_server: RegistryServer, images: ImageSet
) -> None:
    page = nojs
    org = _org_with_image(ui_server, images)
    page.goto(f"/repository/{org}/app")
    page.get_by_role("link", name="Delete tag 1.0").click()
    page.wait_for_url("**/-/tags/delete?tag=1.0*")
    expect(page.get_by_role("heading", name="Delete tag 1.0?")).to_be_visible()
    # going back deletes nothing
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("link", name="1.0", exact=True)).to_be_visible()
    page.get_by_role("link", name="Delete tag 1.0").click()
    page.get_by_role("button", name="Delete tag").click()
    expect(page.locator(".flash")).to_contain_text("Tag 1.0 deleted")
    expect(page.get_by_role("link", name="1.0", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="2.0", exact=True)).to_be_visible()


def test_confirmations_use_the_apps_dialog_not_the_browsers(page: Page, ui_server: RegistryServer) -> None:
    """A data-confirm form (deleting a team) asks in the app's dialog: labelled, modal, Tab stays
    inside, Escape cancels and gives the focus back; no native dialog ever opens."""
    native: list[str] = []
    page.on("dialog", lambda d: _refuse(d, native))
    org = f"conf{secrets.token_hex(3)}"
    with httpx.Client(base_url=ui_server.url, auth=(ui_server.admin, ui_server.password), timeout=30) as http:
        assert http.post("/api/v1/organization/", json={"name": org}).status_code == 201
        assert http.put(f"/api/v1/organization/{org}/team/temp", json={"role": "member"}).status_code == 200
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/organization/{org}/teams/temp")
    delete = page.get_by_role("button", name="Delete team")
    delete.click()
    dialog = page.get_by_role("dialog", name="Are you sure?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete team temp?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    for _ in range(5):  # Tab cycles between Cancel and the confirm button
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    assert page.url.endswith(f"/organization/{org}/teams/temp")
    delete.click()
    dialog.get_by_role("button", name="Delete team").click()
    page.wait_for_url(f"**/organization/{org}/teams")
    expect(page.locator(".flash")).to_contain_text("Team temp deleted")
    # the create dialogs open in place with JavaScript (the link is only the fallback)
    page.get_by_role("link", name="New team").click()
    expect(page.get_by_role("dialog", name="New team")).to_be_visible()
    assert "new=1" not in page.url
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="New team")).to_be_hidden()
    assert native == [], native
