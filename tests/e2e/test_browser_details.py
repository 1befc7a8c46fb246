"""Details of the web UI in a real browser (issue 8, section 4): autocomplete of names from
/api/v1/entities, tag order, the manifest page's tags and build steps, Markdown descriptions that
run nothing, the usage logs' chart, the explore page of a superuser, no red border on untouched
fields, and sizes that agree between the home list, the Tags page and the CLI for a multi-arch
index pushed by skopeo."""

from __future__ import annotations

import json
import secrets
import time

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect
from tests.e2e.browser_fixtures import sign_in
from tests.support.browser import screenshot
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.procs import run
from tests.support.servers import RegistryServer, moorage_executable

from moorage.ui.templating import filesize

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

DANGER = "rgb(180, 35, 24)"  # --danger in moorage.css


def _api(server: RegistryServer) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", auth=(server.admin, server.password), timeout=30)


def _org_repo(server: RegistryServer, prefix: str) -> tuple[str, str]:
    org = f"{prefix}{secrets.token_hex(3)}"
    with _api(server) as api:
        assert api.post("/organization/", json={"name": org}).status_code == 201
        r = api.post("/repository", json={"namespace": org, "repository": "app", "visibility": "private"})
        assert r.status_code == 201, r.text
    return org, f"{org}/app"


def _copy(
    client: ClientEnv, server: RegistryServer, images: ImageSet, source: str, dest: str, *extra: str
) -> None:
    client.skopeo(
        "copy",
        *extra,
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{server.admin}:{server.password}",
        images.ref(source),
        f"docker://{server.host}/{dest}",
    )


def _tag_rows(page: Page) -> list[str]:
    return page.locator("table.repo-tags a.tag-name").all_inner_texts()


def test_autocomplete_suggests_users_teams_robots_and_sets_the_kind(
    page: Page, ui_server: RegistryServer
) -> None:
    org, repo = _org_repo(ui_server, "auto")
    user = f"builderbob{secrets.token_hex(2)}"
    with _api(ui_server) as api:
        assert api.put(f"/organization/{org}/team/builders", json={"role": "member"}).status_code == 200
        assert api.put(f"/organization/{org}/robots/buildbot", json={}).status_code in (200, 201)
        r = api.post("/superuser/users/", json={"username": user, "password": secrets.token_urlsafe(12)})
        assert r.status_code == 201, r.text
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{repo}/-/permissions")
    kind = page.locator("#grant-kind")
    expect(kind).to_have_value("user")
    name = page.get_by_label("Name")
    name.press_sequentially("build", delay=30)
    # the list is refilled from /api/v1/entities: the user (not in the page as served) appears
    options = page.locator("#grant-names option")
    expect(page.locator(f"#grant-names option[value='{user}']")).to_have_text("user")
    expect(page.locator("#grant-names option[value='builders']")).to_have_text("team")
    expect(page.locator(f"#grant-names option[value='{org}+buildbot']")).to_have_text("robot account")
    assert options.count() >= 3
    # picking the team's name switches the kind to team; granting gives the team the role
    name.fill("builders")
    name.dispatch_event("input")
    expect(kind).to_have_value("team")
    page.get_by_label("Role").select_option("write")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator(".flash")).to_contain_text("Team builders has write access")
    # typed as a user without the script's help (the kind left at user): found all the same
    page.goto(f"/repository/{repo}/-/permissions")
    page.evaluate(
        "document.querySelectorAll('[data-entities]').forEach(e => e.removeAttribute('data-entities'))"
    )
    page.get_by_label("Name").fill(f"{org}+buildbot")
    expect(page.locator("#grant-kind")).to_have_value("user")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator(".flash")).to_contain_text(f"Robot {org}+buildbot has read access")
    screenshot(page, "permissions-autocomplete")


def test_tags_sort_newest_first_then_by_name_and_the_manifest_page(
    page: Page, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    _, repo = _org_repo(ui_server, "sort")
    _copy(client, ui_server, images, "second", f"{repo}:a-older")
    _copy(client, ui_server, images, "hello", f"{repo}:z-newer")
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{repo}")
    assert _tag_rows(page) == ["z-newer", "a-older"]  # last modified first, by default
    page.get_by_role("link", name="name", exact=True).click()
    expect(page.locator("table.repo-tags a.tag-name").first).to_have_text("a-older")
    assert _tag_rows(page) == ["a-older", "z-newer"]
    assert "sort=name" in page.url
    page.get_by_role("link", name="last modified, newest first").click()
    expect(page.locator("table.repo-tags a.tag-name").first).to_have_text("z-newer")
    # the manifest page of "second" (two layers): its tags, and each build step with its layer
    page.get_by_role("link", name="a-older", exact=True).click()
    expect(page.locator(".manifest-tags")).to_contain_text("a-older")
    expect(page.locator(".manifest-tags")).not_to_contain_text("z-newer")
    steps = page.locator("table.build-history tbody tr")
    expect(steps).to_have_count(2)
    layers = [str(layer.digest)[: len("sha256:") + 12] for layer in images.second.layers]
    for i, row in enumerate(steps.all()):
        expect(row).to_contain_text(f"moorage-tests layer {i}")
        expect(row).to_contain_text(f"{i + 1}: {layers[i]}")
    screenshot(page, "manifest-history")


def test_markdown_description_renders_and_runs_nothing(page: Page, ui_server: RegistryServer) -> None:
    _, repo = _org_repo(ui_server, "md")
    description = (
        "# Service image\n\nBuilt **nightly**; see [the docs](https://example.com/docs).\n\n"
        '<script>alert("script")</script>\n\n<img src="nope" onerror="alert(\'img\')">\n\n'
        "[run](javascript:alert('link'))\n"
    )
    with _api(ui_server) as api:
        assert api.put(f"/repository/{repo}", json={"description": description}).status_code == 200
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{repo}")
    block = page.locator(".repo-description")
    expect(block.get_by_role("heading", name="Service image")).to_be_visible()
    expect(block.locator("strong")).to_have_text("nightly")
    expect(block.get_by_role("link", name="the docs")).to_have_attribute("href", "https://example.com/docs")
    expect(block.locator("script, img, [onerror]")).to_have_count(0)
    expect(block.get_by_role("link", name="run")).to_have_count(0)
    page.wait_for_timeout(300)
    assert dialogs == []


def test_usage_logs_chart_counts_what_the_log_holds(page: Page, ui_server: RegistryServer) -> None:
    org, repo = _org_repo(ui_server, "chart")
    with _api(ui_server) as api:
        for team in ("alpha", "beta", "gamma"):
            r = api.put(f"/organization/{org}/team/{team}", json={"role": "member"})
            assert r.status_code == 200, r.text
        # the audit log is written in batches (about every second): wait until all five are in
        for _ in range(50):
            if len(api.get(f"/organization/{org}/logs", params={"limit": 100}).json()["logs"]) >= 5:
                break
            time.sleep(0.2)
    sign_in(page, ui_server.admin, ui_server.password)
    for path, api_path in (
        (f"/organization/{org}/logs", f"/organization/{org}/logs"),
        (f"/repository/{repo}/-/logs", f"/repository/{repo}/logs"),
    ):
        with _api(ui_server) as api:
            logged = api.get(api_path, params={"limit": 100}).json()["logs"]
        page.goto(path)
        bars = page.locator(".log-chart rect")
        expect(bars).to_have_count(30)
        counts = [int(c) for c in bars.evaluate_all("rs => rs.map(r => r.dataset.count)")]
        assert sum(counts) == len(logged) > 0, path
        expect(page.locator(".log-chart-total")).to_have_text(str(len(logged)))
        expect(page.locator("table.logs tbody tr")).to_have_count(len(logged))
    screenshot(page, "repository-logs-chart")


def test_explore_for_a_superuser_with_only_private_repositories(
    page: Page, ui_server: RegistryServer
) -> None:
    _org_repo(ui_server, "explore")
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto("/explore")
    expect(page.get_by_text("No repositories yet")).to_have_count(0)
    if page.locator("table").count() == 0:
        expect(page.get_by_text("Explore lists public repositories only")).to_be_visible()


def test_required_fields_are_not_red_before_they_are_touched(page: Page, ui_server: RegistryServer) -> None:
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto("/new/repository")
    field = page.get_by_label("Name", exact=True)
    assert field.get_attribute("required") is not None
    border = field.evaluate("e => getComputedStyle(e).borderTopColor")
    assert border != DANGER
    field.fill("x")
    field.fill("")
    field.blur()
    expect(field).to_have_css("border-top-color", DANGER)


def test_sizes_agree_between_home_tags_page_and_cli_for_an_index(
    page: Page, ui_server: RegistryServer, client: ClientEnv, images: ImageSet
) -> None:
    org, repo = _org_repo(ui_server, "sizes")
    _copy(client, ui_server, images, "multi", f"{repo}:1", "--all")
    cli = [moorage_executable(), "repo", "tags", repo, "--json", "--data-dir", str(ui_server.data_dir)]
    if ui_server.database_url:
        cli += ["--database-url", ui_server.database_url]
    tags = json.loads(run(cli, timeout=120).stdout)
    assert [t["name"] for t in tags] == ["1"]
    size = tags[0]["size"]
    expected = sum(layer.size for image in images.multi_images for layer in image.layers) + sum(
        image.config.size for image in images.multi_images
    )
    assert size == expected  # the index's own document has no blobs: the platforms' are counted
    shown = filesize(size)
    sign_in(page, ui_server.admin, ui_server.password)
    page.goto(f"/repository/{repo}")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="1", exact=True))
    expect(row.locator("td.num")).to_have_text(shown)
    page.goto(f"/?q={org}")  # the home list, filtered to this organization
    expect(page.get_by_role("row").filter(has_text=repo)).to_contain_text(shown)
