"""The web UI in a real browser (Debian's Chromium through Playwright) against a running server.

The seed walkthrough of Quay's documentation is done entirely in the browser — sign in, create the
organization ``application-images`` and its repository ``test``, create the robot ``jenkins`` with
read access to ``test`` in the same dialog, reveal its token — and then a real Docker daemon logs
in with that token and pulls. Also: what a stranger sees, a forged CSRF token, a form with invalid
input, deleting a tag and finding it in the tag history, and signing in with the keyboard alone.
"""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect
from tests.e2e.browser_fixtures import sign_in
from tests.support.browser import screenshot
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ORG = "application-images"


def _refuse(dialog: Dialog, seen: list[str]) -> None:
    """A native dialog (alert, confirm, prompt) must never open: note it and dismiss it."""
    seen.append(dialog.message)
    dialog.dismiss()


def _copy_in(client: ClientEnv, server: RegistryServer, images: ImageSet, source: str, dest: str) -> None:
    client.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{server.admin}:{server.password}",
        images.ref(source),
        f"docker://{server.host}/{dest}",
    )


def test_seed_walkthrough_in_the_browser_then_docker_pulls_with_the_robot(
    page: Page,
    ui_server: RegistryServer,
    client: ClientEnv,
    docker_client: ClientEnv,
    images: ImageSet,
) -> None:
    server = ui_server
    sign_in(page, server.admin, server.password)
    expect(page.get_by_role("heading", name="Repositories", exact=True)).to_be_visible()

    # organization, from the "+ New" menu
    page.get_by_text("+ New").click()
    page.get_by_role("link", name="Organization", exact=True).click()
    page.get_by_label("Name", exact=True).fill(ORG)
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url(f"**/organization/{ORG}")
    expect(page.locator(".flash")).to_contain_text(f"Organization {ORG} created")

    # repository, from the organization's page
    page.get_by_role("link", name="New repository").first.click()
    expect(page.get_by_label("Namespace")).to_have_value(ORG)
    page.get_by_label("Name", exact=True).fill("test")
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"**/repository/{ORG}/test")
    # the empty repository tells how to push to it, with this host's name
    expect(page.get_by_text(f"docker push {server.host}/{ORG}/test:1.0")).to_be_visible()
    screenshot(page, "repository-empty", docs=True)

    _copy_in(client, server, images, "hello", f"{ORG}/test:1")
    page.reload()
    expect(page.get_by_role("link", name="1", exact=True)).to_be_visible()
    screenshot(page, "repository-tags", docs=True)

    # robot account with read on test, in the create dialog
    page.goto(f"/organization/{ORG}/robots")
    page.get_by_role("link", name="New robot account").first.click()
    dialog = page.locator("dialog#new-robot")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill("jenkins")
    dialog.get_by_label("Description").fill("CI pulls images")
    dialog.get_by_label(f"{ORG}/test").select_option("read")
    screenshot(page, "robot-create-dialog", docs=True)
    dialog.get_by_role("button", name="Create robot account").click()
    page.wait_for_url(f"**/organization/{ORG}/robots/jenkins")
    expect(page.get_by_role("cell", name=f"{ORG}/test")).to_be_visible()

    # the token is not on the page until revealed
    assert "robot-creds" not in page.content()
    page.get_by_role("button", name="Reveal token and credentials").click()
    creds = page.locator(".robot-creds")
    expect(creds).to_be_visible()
    token = creds.locator(".codeline code").first.inner_text().strip()
    assert len(token) == 64, token
    expect(creds).to_contain_text(f"docker login -u='{ORG}+jenkins'")
    expect(creds).to_contain_text("kubernetes.io/dockerconfigjson")
    screenshot(page, "robot-credentials", docs=True)

    # a real Docker daemon logs in as the robot with the revealed token and pulls
    login = docker_client.docker(
        "login", "-u", f"{ORG}+jenkins", "--password-stdin", server.host, input_text=token
    )
    assert "Login Succeeded" in login.output
    ref = f"{server.host}/{ORG}/test:1"
    docker_client.docker("pull", ref)
    assert (
        docker_client.docker("image", "inspect", "--format", "{{.Id}}", ref)
        .stdout.strip()
        .startswith("sha256:")
    )
    # read only: the robot's push is refused
    docker_client.docker("tag", ref, f"{server.host}/{ORG}/test:robot-push")
    denied = docker_client.docker_fails("push", f"{server.host}/{ORG}/test:robot-push")
    assert "denied" in denied.output.lower() or "unauthorized" in denied.output.lower(), denied.output

    page.goto("/")
    expect(page.get_by_role("link", name=f"{ORG}/test")).to_be_visible()
    screenshot(page, "home", docs=True)


def _user(server: RegistryServer, name: str) -> str:
    password = secrets.token_urlsafe(12)
    with httpx.Client(
        base_url=f"{server.url}/api/v1", auth=(server.admin, server.password), timeout=30
    ) as api:
        r = api.post("/superuser/users/", json={"username": name, "password": password})
        assert r.status_code == 201, r.text
    return password


def _org_with_repo(server: RegistryServer, org: str, repo: str) -> None:
    with httpx.Client(
        base_url=f"{server.url}/api/v1", auth=(server.admin, server.password), timeout=30
    ) as api:
        assert api.post("/organization/", json={"name": org}).status_code == 201
        r = api.post("/repository", json={"namespace": org, "repository": repo, "visibility": "private"})
        assert r.status_code == 201, r.text


def test_a_stranger_sees_neither_the_organization_nor_its_private_repository(
    page: Page, ui_server: RegistryServer
) -> None:
    org = f"hidden{secrets.token_hex(3)}"
    _org_with_repo(ui_server, org, "secret")
    name = f"stranger{secrets.token_hex(3)}"
    sign_in(page, name, _user(ui_server, name))
    for path in (f"/organization/{org}", f"/repository/{org}/secret", f"/organization/{org}/robots"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.goto("/")
    expect(page.get_by_text(f"{org}/secret")).to_have_count(0)


def test_a_forged_csrf_token_is_refused_and_nothing_is_created(page: Page, ui_server: RegistryServer) -> None:
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto("/new/organization")
    page.locator("input[name=csrf_token]").last.evaluate("e => { e.value = 'forged-token'; }")
    name = f"forged{secrets.token_hex(3)}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    response = page.goto(f"/organization/{name}")
    assert response is not None
    assert response.status == 404


def test_invalid_input_shows_its_error_and_keeps_what_was_typed(
    page: Page, ui_server: RegistryServer
) -> None:
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto("/new/organization")
    page.get_by_label("Name", exact=True).fill("Not A Valid Name")
    page.get_by_role("button", name="Create organization").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("name")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Not A Valid Name")
    screenshot(page, "form-error")


def test_delete_a_tag_and_find_it_in_the_tag_history(
    page: Page, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    org = f"tags{secrets.token_hex(3)}"
    _org_with_repo(ui_server, org, "app")
    _copy_in(client, ui_server, images, "hello", f"{org}/app:1.0")
    _copy_in(client, ui_server, images, "second", f"{org}/app:2.0")
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{org}/app")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="1.0", exact=True))
    expect(row).to_have_count(1)
    native: list[str] = []
    page.on("dialog", lambda d: _refuse(d, native))
    # the app's own dialog asks first; Escape leaves the tag alone
    row.get_by_role("link", name="Delete tag 1.0").click()
    dialog = page.get_by_role("dialog", name="Delete tag 1.0?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="1.0", exact=True)).to_be_visible()
    row.get_by_role("link", name="Delete tag 1.0").click()
    dialog.get_by_role("button", name="Delete tag").click()
    expect(page.get_by_role("link", name="1.0", exact=True)).to_have_count(0)
    assert native == [], native
    expect(page.get_by_role("link", name="2.0", exact=True)).to_be_visible()
    page.get_by_role("link", name="Tag history").click()
    expect(page.get_by_role("row").filter(has_text="1.0").filter(has_text="deleted")).not_to_have_count(0)
    screenshot(page, "tag-history", docs=True)


def test_sign_in_with_the_keyboard_alone(page: Page, ui_server: RegistryServer) -> None:
    page.goto("/signin")
    expect(page.get_by_label("Username")).to_be_focused()  # autofocus
    page.keyboard.type(ui_server.admin)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(ui_server.password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/signin" not in url)
    expect(page.locator("summary.avatar")).to_contain_text(ui_server.admin)
    screenshot(page, "signed-in")
