"""Every page of a seeded instance, in Chromium, for a superuser, a normal user and an anonymous
visitor: nothing scrolls sideways on a 390 px phone, menus and dialogs fit its screen, and axe-core
finds no serious or critical accessibility violation.

The pages are discovered by following links (tests/support/uicrawl.py), so a page added later is
checked as soon as the UI links to it. One crawl per person feeds both tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from tests.e2e.browser_fixtures import sign_in
from tests.e2e.ui_seed import LONG_TAG, Seeded, seed
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer, start_moorage
from tests.support.uicrawl import PHONE, PageReport, crawl, route_key, ui_routes

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WHO = ("superuser", "user", "anonymous")
# pages each person must reach at least (a crawl that stops early must not pass unnoticed)
MUST_REACH = {
    "superuser": ("/superuser/users", "/superuser/storage", "/-/manifest/", "/-/history", "/-/logs",
                  "/teams/readers", "/robots/deployer", "/applications/", "/defaults", "/settings/tokens"),
    "user": ("/settings", "/settings/robots/builder", "/settings/tokens", "/teams/readers", "/-/manifest/"),
    "anonymous": ("/explore", "/-/manifest/"),
}  # fmt: skip


@pytest.fixture(scope="module")
def crawl_server(e2e_root: Path) -> Iterator[RegistryServer]:
    server = start_moorage(
        e2e_root / "crawl-server", name="moorage-crawl", env={"MOORAGE_USER_CREATION": "invite"}
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def seeded(crawl_server: RegistryServer, images: ImageSet) -> Seeded:
    return seed(crawl_server, images)


@pytest.fixture(scope="module")
def crawls(chromium: Browser, crawl_server: RegistryServer, seeded: Seeded) -> dict[str, list[PageReport]]:
    out: dict[str, list[PageReport]] = {}
    for who in WHO:
        context = chromium.new_context(base_url=crawl_server.url, viewport=PHONE)  # type: ignore[arg-type]
        context.set_default_timeout(30_000)
        page = context.new_page()
        try:
            if who == "superuser":
                sign_in(page, crawl_server.admin, crawl_server.password)
            elif who == "user":
                sign_in(page, seeded.member, seeded.member_password)
            out[who] = crawl(page, crawl_server.url)
            routes = {route_key(r.url, ui_routes()) for r in out[who]}
            print(f"crawl as {who}: {len(out[who])} pages, {len(routes)} routes x query sets")  # for -s / -rP
        finally:
            context.close()
    return out


def _reached(who: str, reports: list[PageReport]) -> None:
    urls = [r.url for r in reports]
    for fragment in MUST_REACH[who]:
        assert any(fragment in u for u in urls), (
            f"the {who}'s crawl never reached a page with {fragment}: {urls}"
        )
    if who != "anonymous":
        assert any(LONG_TAG in u for u in urls) or len(reports) > 40, urls


@pytest.mark.parametrize("who", WHO)
def test_no_page_scrolls_sideways_on_a_phone(who: str, crawls: dict[str, list[PageReport]]) -> None:
    reports = crawls[who]
    _reached(who, reports)
    problems = [f"{r.url}: {r.overflow}" for r in reports if r.overflow]
    problems += [f"{r.url}: {p}" for r in reports for p in r.popups]
    assert not problems, f"{len(problems)} of {len(reports)} pages do not fit 390 px:\n" + "\n".join(problems)


@pytest.mark.parametrize("who", WHO)
def test_axe_finds_no_serious_or_critical_violation(who: str, crawls: dict[str, list[PageReport]]) -> None:
    reports = crawls[who]
    _reached(who, reports)
    problems = [f"{r.url}\n    " + "\n    ".join(r.axe) for r in reports if r.axe]
    assert not problems, f"axe-core: {len(problems)} of {len(reports)} pages:\n" + "\n".join(problems)
