"""Details of the web UI (issue 8, section 4): the usage logs' chart, permission names resolved to
the kind they have, Markdown descriptions (sanitized), the explore page for a superuser, sizes that
agree between the lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from tests.api.support import Env
from tests.protocol.helpers import push_image
from tests.ui.conftest import BrowserFactory
from tests.ui.repos_support import push_index
from tests.ui.support import text_of

from moorage.audit import AuditQuery


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, [(k, v or "") for k, v in attrs]))


def _elements(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    parser = _Collect()
    parser.feed(html)
    return parser.found


def _bars(page: str) -> dict[str, int]:
    return {d: int(n) for d, n in re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', page)}


async def test_org_and_repository_logs_share_one_design_with_a_chart_matching_the_log(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    digest = await env.push(repo, "1.0", owner)
    for i in range(3):
        await env.api("PUT", f"/repository/{repo}/tag/t{i}", owner, json_body={"manifest_digest": digest})
    await env.team(org, "devs", "member", who=owner)
    await env.services.audit.flush()
    b = await browser(owner)
    today = datetime.now(UTC).date().isoformat()
    for path, query in (
        (f"/organization/{org}/logs", AuditQuery(namespace=org, limit=10_000)),
        (f"/repository/{repo}/-/logs", AuditQuery(repository=repo, limit=10_000)),
    ):
        r = await b.get(path)
        bars = _bars(r.text)
        assert len(bars) == 30, path  # the last 30 days, today included
        logged = await env.services.audit.query(query)
        assert bars[today] == len(logged) > 0, path
        assert sum(bars.values()) == len(logged)
        total = re.search(r'<span class="log-chart-total">(\d+)</span>', r.text)
        assert total
        assert int(total.group(1)) == len(logged)
        # the same filters and the same table on both pages
        page = text_of(r.text)
        for words in (
            "Every kind of event",
            "From (UTC)",
            "Until (UTC)",
            "Export JSON lines",
            "When Who What",
        ):
            assert words in page, (path, words)
        assert "<svg" in r.text
        assert "<script" not in r.text.split("<svg", 1)[1].split("</svg>", 1)[0]
        # a kind filter counts only that kind, in the chart too
        r = await b.get(f"{path}?kind=create_tag")
        created = [e for e in logged if e.kind == "create_tag"]
        assert sum(_bars(r.text).values()) == len(created) == 3
        assert "Tag created create_tag" in text_of(r.text)
    # a time range draws its own days
    r = await b.get(f"/organization/{org}/logs?since=2024-01-01T00:00&until=2024-01-08T00:00")
    assert sorted(_bars(r.text)) == [f"2024-01-0{d}" for d in range(1, 8)]
    assert sum(_bars(r.text).values()) == 0
    assert "No log entries match" in text_of(r.text)


async def test_a_team_typed_as_a_user_is_found_in_permission_forms(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await env.repo(repo, owner)
    await env.team(org, "builders", "member", who=owner)
    await env.robot(org, "ci", owner)
    b = await browser(owner)
    page = (await b.get(f"/repository/{repo}/-/permissions")).text
    # suggestions for use without JavaScript: the teams and robots, and the field asks for more
    assert '<option value="builders">team</option>' in page
    assert f'<option value="{org}+ci">robot account</option>' in page
    assert f'data-entities="{org}"' in page
    r = await b.post(
        f"/repository/{repo}/-/permissions", {"kind": "user", "name": "builders", "role": "write"}
    )
    assert r.status_code == 303, text_of(r.text)[:300]
    grants = {(g.kind, g.name): g.role for g in await env.services.permissions.grants(repo)}
    assert grants[("team", "builders")] == "write"
    # a robot typed as a user is the robot
    r = await b.post(
        f"/repository/{repo}/-/permissions",
        {"kind": "user", "name": f"{org}+ci", "role": "read"},
        form_page=f"/repository/{repo}/-/permissions",
    )
    assert r.status_code == 303
    grants = {(g.kind, g.name): g.role for g in await env.services.permissions.grants(repo)}
    assert grants[("robot", f"{org}+ci")] == "read"
    # a name that is nothing is still refused, and nothing changes
    r = await b.post(
        f"/repository/{repo}/-/permissions",
        {"kind": "user", "name": "nobody-at-all", "role": "read"},
        form_page=f"/repository/{repo}/-/permissions",
    )
    assert r.status_code == 404
    assert len(await env.services.permissions.grants(repo)) == len(grants)
    # the default permission form too
    r = await b.post(
        f"/organization/{org}/defaults",
        {"delegate_kind": "user", "delegate": "builders", "role": "read", "activating_kind": "anyone"},
        form_page=f"/organization/{org}/defaults",
    )
    assert r.status_code == 303, text_of(r.text)[:300]
    defaults = await env.services.permissions.defaults(org)
    assert [(d.delegate_kind, d.delegate) for d in defaults] == [("team", "builders")]


async def test_descriptions_are_markdown_and_nothing_runs(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    repo = f"{owner.name}/docs"
    await env.repo(repo, owner)
    description = (
        "# Heading\n\nSome **bold** text, `code` and a [link](https://example.com/docs).\n\n"
        "- one\n- two\n\n"
        '<script>alert("x")</script>\n\n'
        '<img src="x" onerror="alert(1)">\n\n'
        "[click](javascript:alert(2)) and [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
        '<a href="javascript:alert(3)" onclick="alert(4)">raw link</a>\n'
    )
    await env.api("PUT", f"/repository/{repo}", owner, json_body={"description": description}, expect=200)
    b = await browser(owner)
    r = await b.get(f"/repository/{repo}")
    block = re.search(r'<div class="repo-description markdown">(.*?)</div>', r.text, flags=re.S)
    assert block
    html = block.group(1)
    assert "<h3>Heading</h3>" in html  # headings below the page's own
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.com/docs" rel="nofollow noopener noreferrer">link</a>' in html
    assert "<li>one</li>" in html
    # what a browser would build from it: only harmless elements, no handlers, no script links
    elements = _elements(html)
    assert {tag for tag, _ in elements} <= {"h3", "p", "strong", "code", "a", "ul", "li"}
    for tag, attrs in elements:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name in ("href", "rel"), (tag, name)
            if name == "href":
                assert value.startswith("https://"), value
    assert "&lt;script&gt;" in html  # raw HTML is shown as text, not run
    # the list shows the description as plain text
    home = (await b.get(f"/user/{owner.name}")).text
    assert "Heading Some bold text, code and a link." in text_of(home)
    assert "<strong>" not in home.split('class="repo-link"', 1)[1].split("</td>", 1)[0]


async def test_explore_tells_a_superuser_where_the_private_repositories_are(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    boss = await env.user(uid, "boss", superuser=True)
    await env.repo(f"{boss.name}/private-one", boss)
    b = await browser(boss)
    page = text_of((await b.get("/explore")).text)
    assert "No repositories yet" not in page
    if "No public repositories yet" in page:  # this backend's database has no public repository
        assert "Explore lists public repositories only" in page
        assert "of every namespace" in page
        assert "are under Repositories" in page


async def test_index_size_includes_its_platforms_and_agrees_everywhere(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    repo = f"{owner.name}/multi"
    index = await push_index(env, repo, "2.0", owner, ("linux", "amd64", None), ("linux", "arm64", None))
    b = await browser(owner)
    tags_page = text_of((await b.get(f"/repository/{repo}")).text)
    rows = await env.services.registry.tags.page(repo, only_active=True, specific=None, limit=10, after=None)
    assert [r.name for r in rows] == ["2.0"]
    stats = (await env.services.usage.repository_stats([repo]))[repo]
    assert rows[0].size == stats.size > 1024  # the tag's size is the platforms' blobs, the repository's
    home = text_of((await b.get(f"/user/{owner.name}")).text)
    shown = f"{stats.size / 1024:.1f} KiB"
    assert shown in tags_page
    assert shown in home
    manifest = text_of((await b.get(f"/repository/{repo}/-/manifest/{index.digest}")).text)
    assert f"Total size {shown} (config and layers of every platform)" in manifest
    # a plain image in another repository: the same rule
    image = await push_image(env.client, f"{owner.name}/plain", "1.0", headers=owner.auth)
    plain = (await env.services.usage.repository_stats([f"{owner.name}/plain"]))[f"{owner.name}/plain"]
    assert plain.size == len(image.config) + sum(len(x) for x in image.layers)
