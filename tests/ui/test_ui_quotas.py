"""The usage bar on organization, user and repository pages, and the superuser's quota form."""

from __future__ import annotations

from tests.api.support import Env
from tests.protocol.helpers import push_blob
from tests.ui.conftest import BrowserFactory
from tests.ui.support import text_of


async def test_superuser_sets_a_quota_and_members_see_the_bar(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    stranger = await env.user(uid, "str")
    org = (await env.org(uid, owner)).name
    await env.team(org, "readers", "member", member.name, who=owner)
    await push_blob(env.client, f"{org}/app", b"x" * 900, owner.auth)
    await env.grant(f"{org}/app", "team", "readers", "read", owner)
    admin = await browser(env.admin)
    await admin.get("/superuser/quotas")
    # bad input: a readable message, nothing changes
    for values, message in (
        ({"namespace": org, "size": "lots"}, "is not a number of bytes"),
        ({"namespace": org, "size": "0"}, "positive"),
        ({"namespace": org, "size": "1KB", "reject": "101"}, "1 to 100"),
        ({"namespace": f"nobody-{uid}", "size": "1KB"}, "no user or organization"),
    ):
        r = await admin.post(
            "/superuser/quotas", {"reject": "", "warning": "", **values}, form_page="/superuser/quotas"
        )
        assert r.status_code in (400, 404), (values, r.status_code)
        assert message.lower() in text_of(r.text).lower(), text_of(r.text)[:400]
    assert await env.services.quotas.list_quotas(org) == []
    r = await admin.post(
        "/superuser/quotas",
        {"namespace": org, "size": "1KB", "reject": "100", "warning": "50"},
        form_page="/superuser/quotas",
    )
    assert r.status_code == 303, text_of(r.text)[:300]
    page = text_of((await admin.follow(r)).text)
    assert f"Quota of {org} set to 1 KB." in page
    assert "warning reached" in page
    # the organization page: text says it all (a <meter> draws it)
    for who in (owner, member):
        b = await browser(who)
        r = await b.get(f"/organization/{org}")
        assert "<meter" in r.text
        text = text_of(r.text)
        assert f"Organization {org}: 900 bytes of 1 KB used." in text
        assert "Warning threshold reached." in text
        assert "Warning at 500 bytes. Pushes are refused above 1 KB." in text
        # the repository page: its own size and the namespace's quota
        text = text_of((await b.get(f"/repository/{org}/app")).text)
        assert "This repository holds 900 bytes" in text
        assert f"Organization {org}: 900 bytes of 1 KB used." in text
    # over the quota (limit lowered): said in words
    await env.services.quotas.set(org, 800, reject_percent=100, warning_percent=None, actor=None)
    text = text_of((await (await browser(owner)).get(f"/organization/{org}")).text)
    assert "Over the quota: pushes are refused." in text
    # a stranger sees neither the organization nor its quota
    await (await browser(stranger)).get(f"/organization/{org}", expect=404)
    # removing the quota from the panel
    await admin.get("/superuser/quotas")
    r = await admin.post(f"/superuser/quotas/{org}/clear", {})
    assert r.status_code == 303
    assert await env.services.quotas.list_quotas(org) == []
    text = text_of((await (await browser(owner)).get(f"/organization/{org}")).text)
    assert f"Organization {org} stores 900 bytes; no quota." in text


async def test_public_repository_shows_its_size_but_not_the_namespace_quota(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    stranger = await env.user(uid, "str")
    repo = f"{owner.name}/pub"
    await env.repo(repo, owner, visibility="public")
    await push_blob(env.client, repo, b"y" * 1200, owner.auth)
    await env.services.quotas.set(owner.name, 10_000, reject_percent=100, warning_percent=None, actor=None)
    text = text_of((await (await browser(stranger)).get(f"/repository/{repo}")).text)
    assert "This repository holds 1.2 KB" in text
    assert "10 KB" not in text
    # the user sees their own quota on their page and on the repository
    own = await browser(owner)
    assert f"User {owner.name}: 1.2 KB of 10 KB used." in text_of((await own.get(f"/user/{owner.name}")).text)
    assert f"User {owner.name}: 1.2 KB of 10 KB used." in text_of((await own.get(f"/repository/{repo}")).text)
    assert "10 KB" not in text_of((await (await browser(stranger)).get(f"/user/{owner.name}")).text)
