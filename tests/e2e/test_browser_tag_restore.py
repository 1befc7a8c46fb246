"""The time machine's Restore button in a real browser (Chromium through Playwright): with
JavaScript (the confirmation dialog) and without it (a plain form post), the tag comes back and
/v2 serves the same digest again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from tests.e2e.browser_fixtures import sign_in
from tests.support.browser import screenshot
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def page_without_js(chromium: Browser, ui_server: RegistryServer) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=ui_server.url, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _deleted_tag(server: RegistryServer, client: ClientEnv, images: ImageSet) -> tuple[str, str]:
    """A repository whose tag 1.0 was pushed by skopeo and then deleted: (repository, digest)."""
    org = f"tm{secrets.token_hex(3)}"
    with httpx.Client(
        base_url=f"{server.url}/api/v1", auth=(server.admin, server.password), timeout=30
    ) as api:
        assert api.post("/organization/", json={"name": org}).status_code == 201
        client.skopeo(
            "copy", "--dest-tls-verify=false", "--dest-creds", f"{server.admin}:{server.password}",
            images.ref("hello"), f"docker://{server.host}/{org}/app:1.0",
        )  # fmt: skip
        assert api.delete(f"/repository/{org}/app/tag/1.0").status_code == 200
    return f"{org}/app", images.hello.manifest.digest


def _served(server: RegistryServer, repo: str) -> str | None:
    r = httpx.get(
        f"{server.url}/v2/{repo}/manifests/1.0",
        auth=(server.admin, server.password),
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=30,
    )
    return r.headers.get("docker-content-digest") if r.status_code == 200 else None


def test_restore_button_with_javascript(
    page: Page, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    repo, digest = _deleted_tag(ui_server, client, images)
    assert _served(ui_server, repo) is None
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{repo}/-/history")
    row = page.get_by_role("row").filter(has_text="deleted")
    expect(row).to_have_count(1)
    native: list[str] = []

    def refuse(d: Dialog) -> None:  # the browser's own confirm() must never be used
        native.append(d.message)
        d.dismiss()

    page.on("dialog", refuse)
    row.get_by_role("button", name="Restore tag 1.0").click()
    # the app's own dialog asks first, naming the tag; Cancel is focused
    dialog = page.get_by_role("dialog", name="Are you sure?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Restore tag 1.0")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Restore").click()
    expect(page.get_by_text("Tag 1.0 restored")).to_be_visible()
    assert native == []
    assert _served(ui_server, repo) == digest
    screenshot(page, "tag-history-restore")


def test_restore_button_without_javascript(
    page_without_js: Page, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    page = page_without_js
    repo, digest = _deleted_tag(ui_server, client, images)
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{repo}/-/history")
    page.get_by_role("row").filter(has_text="deleted").get_by_role("button", name="Restore tag 1.0").click()
    page.wait_for_url(f"**/repository/{repo}/-/history")
    expect(page.get_by_text("Tag 1.0 restored")).to_be_visible()
    assert _served(ui_server, repo) == digest
    # the restored tag is live on the Tags tab
    page.goto(f"/repository/{repo}")
    expect(page.get_by_role("link", name="1.0", exact=True)).to_be_visible()
