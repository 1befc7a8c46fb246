"""The repository page's Tags tab and tag history: what people see, filter and pages, delete and move
a tag, and who may do what (through the in-process app, as a browser would)."""

from __future__ import annotations

import re

from tests.api.support import Env
from tests.protocol.helpers import push_image
from tests.ui.conftest import BrowserFactory
from tests.ui.repos_support import (
    COSIGN_SIG,
    SPDX,
    live_tags,
    push_index,
    push_referrer,
    retag,
)
from tests.ui.support import text_of


def short(digest: str) -> str:
    return digest[: len("sha256:") + 12]


async def test_tags_tab_shows_tags_digests_sizes_and_pull_commands(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    image = await push_image(env.client, repo, "1.0", headers=alice.auth)
    await retag(env, repo, "latest", image.digest, alice)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}")
    page = text_of(r.text)
    host = env.settings.base_url.split("://", 1)[1]
    # header: breadcrumb to the namespace, visibility, role, pull command
    assert f'href="/user/{alice.name}"' in r.text
    assert "private" in page
    assert "Your role: admin" in page
    assert f"docker pull {host}/{repo}:latest" in page
    # rows: tag, short digest with the full digest to copy, size, type, pull by tag and by digest
    assert "1.0" in page
    assert "latest" in page
    assert short(image.digest) in page
    assert f'data-copy="{image.digest}"' in r.text
    size = len(image.config) + sum(len(layer) for layer in image.layers)  # config and layers, as Quay
    assert f"{size / 1024:.1f} KiB" in page
    assert "OCI image" in page
    assert f'data-copy="docker pull {host}/{repo}:1.0"' in r.text
    assert f'data-copy="docker pull {host}/{repo}@{image.digest}"' in r.text
    assert f"/repository/{repo}/-/manifest/{image.digest}" in r.text
    # the admin sees the controls
    assert "Delete" in page
    assert "Move" in page
    # every tab of an admin
    for label in ("Tags", "Tag history", "Permissions", "Usage logs", "Settings"):
        assert label in page


async def test_index_rows_show_platforms_and_attached_referrers(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "owner")
    org = await env.org(uid, owner)
    repo = f"{org.name}/team/multi"
    index = await push_index(
        env,
        repo,
        "2.0",
        owner,
        ("linux", "amd64", None),
        ("linux", "arm64", "v8"),
        ("unknown", "unknown", None),
    )
    await push_referrer(env, repo, index, COSIGN_SIG, owner, b'{"sig": 1}')
    await push_referrer(env, repo, index, SPDX, owner, b'{"spdxVersion": "SPDX-2.3"}')
    b = await browser(owner)
    r = await b.get(f"/repository/{repo}")
    page = text_of(r.text)
    assert f'href="/organization/{org.name}"' in r.text  # namespace of an organization
    assert "OCI index (multi-arch)" in page
    assert "linux/amd64" in page
    assert "linux/arm64/v8" in page
    assert "unknown/unknown" not in page  # attestation-like entries are no architecture
    assert "1 signature" in page
    assert COSIGN_SIG in page
    assert "1 SBOM" in page
    assert SPDX in page


async def test_filter_and_pages_over_many_tags(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/many"
    digest = await env.push(repo, "base", alice)
    names = [f"v{i:03d}" for i in range(120)] + ["release-1", "release-2"]
    for name in names:
        await retag(env, repo, name, digest, alice)
    page_size = env.settings.ui_page_size
    all_names = sorted([*names, "base"])
    b = await browser(alice)

    async def walk(start: str) -> list[str]:
        seen: list[str] = []
        url: str | None = start
        while url:
            html = (await b.get(url)).text
            rows = re.findall(r'class="tag-name" href="[^"]*">([^<]+)</a>', html)
            assert 0 < len(rows) <= page_size
            seen += rows
            nxt = re.search(r'<a class="button small" href="([^"]+)" rel="next">', html)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
        return seen

    # sorted by name on request: every tag once, in name order, over several pages
    assert await walk(f"/repository/{repo}?sort=name") == all_names
    assert len(all_names) > 2 * page_size
    # the name filter keeps the chosen order
    assert (
        '<input type="hidden" name="sort" value="name">'
        in (await b.get(f"/repository/{repo}?sort=name")).text
    )
    assert 'name="sort"' not in (await b.get(f"/repository/{repo}")).text
    # by default the last modified come first: the reverse of the order they were created in
    assert await walk(f"/repository/{repo}") == list(reversed(["base", *names]))
    # filter by part of the name: a whole page, and an htmx request gets only the list
    r = await b.get(f"/repository/{repo}?q=release")
    assert re.findall(r'class="tag-name" href="[^"]*">([^<]+)</a>', r.text) == ["release-2", "release-1"]
    r = await b.get(
        f"/repository/{repo}?q=v11&sort=name", headers={"HX-Request": "true", "HX-Target": "tag-list"}
    )
    assert "<html" not in r.text
    assert re.findall(r'class="tag-name" href="[^"]*">([^<]+)</a>', r.text) == [f"v11{i}" for i in range(10)]
    r = await b.get(f"/repository/{repo}?q=nothing-like-this")
    assert "No tag matches nothing-like-this" in text_of(r.text)
    # LIKE wildcards are literal characters in the filter
    r = await b.get(f"/repository/{repo}?q=%25")
    assert "No tag matches %" in text_of(r.text)


async def test_tags_service_filters_by_name_substring(env: Env, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/svc"
    digest = await env.push(repo, "alpha", alice)
    for name in ("beta", "alphabet", "gamma_1", "gammax1"):
        await retag(env, repo, name, digest, alice)
    tags = env.services.registry.tags

    async def names(search: str, limit: int = 100, after: str | None = None) -> list[str]:
        rows = await tags.page(repo, only_active=True, specific=None, limit=limit, after=after, search=search)
        return [r.name for r in rows]

    assert await names("alpha") == ["alpha", "alphabet"]
    assert await names("bet") == ["alphabet", "beta"]
    assert await names("a_1") == ["gamma_1"]  # "_" is not a wildcard
    assert await names("alpha", limit=1, after="alpha") == ["alphabet"]
    rows = await tags.page(repo, only_active=True, specific=None, limit=10, after=None, search="beta")
    assert rows[0].artifact_type == "application/vnd.oci.image.config.v1+json"


async def test_delete_tag_removes_only_that_tag_and_shows_in_history(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    digest = await env.push(repo, "1.0", alice)
    await retag(env, repo, "stable", digest, alice)
    b = await browser(alice)
    await b.get(f"/repository/{repo}")
    r = await b.post(f"/repository/{repo}/-/tags/delete", {"tag": "stable"}, expect=303)
    page = text_of((await b.follow(r)).text)
    assert "Tag stable deleted." in page
    assert await live_tags(env, repo) == {"1.0": digest}
    # the manifest stays, reachable by digest
    await b.get(f"/repository/{repo}/-/manifest/{digest}")
    history = text_of((await b.get(f"/repository/{repo}/-/history")).text)
    assert re.search(
        rf"deleted stable deleted; it pointed to {re.escape(short(digest))} .* {alice.name}", history
    )
    assert "created stable created at" in history
    # deleting it again: a readable error, nothing else changes
    r = await b.post(f"/repository/{repo}/-/tags/delete", {"tag": "stable"}, form_page=f"/repository/{repo}")
    assert r.status_code == 404
    assert "There is no tag 'stable'" in text_of(r.text)
    assert await live_tags(env, repo) == {"1.0": digest}


async def test_move_tag_through_the_dialog(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    first = await env.push(repo, "1.0", alice)
    second = (await push_image(env.client, repo, "2.0", headers=alice.auth, seed="two")).digest
    await retag(env, repo, "stable", first, alice)
    b = await browser(alice)
    # the dialog's form, as htmx loads it into the page's <dialog>
    r = await b.get(
        f"/repository/{repo}/-/tags/move?tag=stable",
        headers={"HX-Request": "true", "HX-Target": "tag-move-body"},
    )
    assert "<html" not in r.text
    assert "Move tag stable" in text_of(r.text)
    assert f'<option value="{second}"' in r.text  # the other tag's manifest is a choice
    # without JavaScript the same form is a whole page
    await b.get(f"/repository/{repo}/-/tags/move?tag=stable")
    r = await b.post(f"/repository/{repo}/-/tags/move", {"tag": "stable", "target": second}, expect=303)
    assert f"Tag stable now points to {second}" in text_of((await b.follow(r)).text)
    assert (await live_tags(env, repo))["stable"] == second
    # a pasted digest wins over the choice
    r = await b.post(
        f"/repository/{repo}/-/tags/move",
        {"tag": "stable", "target": second, "digest": first},
        form_page=f"/repository/{repo}",
        expect=303,
    )
    assert (await live_tags(env, repo))["stable"] == first
    history = text_of((await b.get(f"/repository/{repo}/-/history?tag=stable")).text)
    assert f"moved stable moved from {short(second)} to {short(first)}" in history
    assert f"moved stable moved from {short(first)} to {short(second)}" in history
    assert "created stable created at" in history
    assert "created 1.0" not in history  # filtered to the one tag
    # readable errors; nothing changes
    for digest, message in (
        ("", "Choose a tag or paste a digest"),
        ("sha256:nothex", "invalid"),
        ("sha256:" + "0" * 64, "There is no manifest sha256:" + "0" * 64),
    ):
        r = await b.post(
            f"/repository/{repo}/-/tags/move",
            {"tag": "stable", "digest": digest},
            form_page=f"/repository/{repo}",
        )
        assert r.status_code == 400, (digest, r.status_code)
        assert message in text_of(r.text)
    assert (await live_tags(env, repo))["stable"] == first


async def test_reader_sees_no_controls_and_cannot_change_tags(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    repo = f"{alice.name}/app"
    digest = await env.push(repo, "1.0", alice)
    await retag(env, repo, "stable", digest, alice)
    await env.grant(repo, "user", bob.name, "read", alice)
    b = await browser(bob)
    r = await b.get(f"/repository/{repo}")
    page = text_of(r.text)
    assert "Your role: read" in page
    assert "stable" in page
    assert "tags/delete" not in r.text
    assert "tags/move" not in r.text
    assert "Permissions" not in page
    assert "Settings" not in page
    assert "Usage logs" not in page
    r = await b.post(f"/repository/{repo}/-/tags/delete", {"tag": "stable"})
    assert r.status_code == 403
    r = await b.post(f"/repository/{repo}/-/tags/move", {"tag": "stable", "digest": digest}, form_page="/")
    assert r.status_code == 403
    await b.get(f"/repository/{repo}/-/tags/move?tag=stable", expect=403)
    assert await live_tags(env, repo) == {"1.0": digest, "stable": digest}
    # a writer may
    await env.grant(repo, "user", bob.name, "write", alice)
    r = await b.post(f"/repository/{repo}/-/tags/delete", {"tag": "stable"}, form_page=f"/repository/{repo}")
    assert r.status_code == 303
    assert await live_tags(env, repo) == {"1.0": digest}


async def test_stranger_gets_404_for_every_tab_and_action(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    mallory = await env.user(uid, "mallory")
    repo = f"{alice.name}/secret"
    digest = await env.push(repo, "1.0", alice)
    b = await browser(mallory)
    anon = await browser()
    gets = [
        f"/repository/{repo}",
        f"/repository/{repo}/-/history",
        f"/repository/{repo}/-/permissions",
        f"/repository/{repo}/-/logs",
        f"/repository/{repo}/-/settings",
        f"/repository/{repo}/-/manifest/{digest}",
        f"/repository/{repo}/-/manifest?tag=1.0",
        f"/repository/{repo}/-/tags/move?tag=1.0",
    ]
    for url in gets:
        r = await b.get(url, expect=404)
        assert "secret" not in text_of(r.text).replace(f"'{repo}'", ""), url
        await anon.get(url, expect=404)
    await b.get("/")
    posts = {
        "tags/delete": {"tag": "1.0"},
        "tags/move": {"tag": "1.0", "digest": digest},
        "permissions": {"kind": "user", "name": mallory.name, "role": "admin"},
        "permissions/revoke": {"kind": "user", "name": alice.name},
        "settings/visibility": {"visibility": "public"},
        "settings/description": {"description": "owned"},
        "settings/delete": {"confirm_name": repo},
    }
    for action, data in posts.items():
        r = await b.post(f"/repository/{repo}/-/{action}", data, form_page="/")
        assert r.status_code == 404, (action, r.status_code)
    assert await live_tags(env, repo) == {"1.0": digest}
    details = await env.services.repositories.details(repo)
    assert details.visibility == "private"
    assert details.description is None
    assert await env.services.permissions.grants(repo) == []


async def test_empty_repository_shows_push_commands_for_this_host(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/empty"
    await env.repo(repo, alice)
    b = await browser(alice)
    page = text_of((await b.get(f"/repository/{repo}")).text)
    host = env.settings.base_url.split("://", 1)[1]
    image = f"{host}/{repo}"
    assert "This repository has no tags yet" in page
    # a plain-HTTP registry: podman, skopeo and oras need their flag or fail with "server gave HTTP
    # response to HTTPS client"; docker talks HTTP to loopback addresses without being told
    assert env.settings.base_url.startswith("http://127.0.0.1:")
    for command in (
        f"docker tag IMAGE {image}:1.0",
        f"docker push {image}:1.0",
        f"podman push --tls-verify=false IMAGE {image}:1.0",
        f"skopeo copy --dest-tls-verify=false docker-archive:image.tar docker://{image}:1.0",
        f"oras push --plain-http {image}:1.0 file.txt",
    ):
        assert command in page
    assert "insecure-registries" not in page
    assert "docker pull" not in page  # nothing to pull yet


async def test_public_repository_is_readable_anonymously_without_controls(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/open"
    await env.repo(repo, alice, visibility="public")
    digest = await env.push(repo, "1.0", alice)
    anon = await browser()
    r = await anon.get(f"/repository/{repo}")
    assert "1.0" in text_of(r.text)
    assert "public" in text_of(r.text)
    assert "tags/delete" not in r.text
    await anon.get(f"/repository/{repo}/-/manifest/{digest}")
    await anon.get(f"/repository/{repo}/-/history")
    # an anonymous POST is sent to sign in, a signed-in reader is refused; nothing changes
    r = await anon.post(f"/repository/{repo}/-/tags/delete", {"tag": "1.0"}, form_page="/signin")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/signin")
    bob = await env.user(uid, "bob")
    b = await browser(bob)
    r = await b.post(f"/repository/{repo}/-/tags/delete", {"tag": "1.0"}, form_page="/")
    assert r.status_code == 403
    assert await live_tags(env, repo) == {"1.0": digest}


async def test_history_pages_by_row(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/busy"
    first = await env.push(repo, "1.0", alice)
    second = (await push_image(env.client, repo, "2.0", headers=alice.auth, seed="two")).digest
    moves = env.settings.ui_page_size + 3
    for i in range(moves):
        await retag(env, repo, "latest", second if i % 2 == 0 else first, alice)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/history?tag=latest")
    kinds = re.findall(r'<span class="badge event (\w+)">', r.text)
    assert kinds == ["moved"] * env.settings.ui_page_size
    nxt = re.search(r'href="([^"]+)" rel="next"', r.text)
    assert nxt
    r = await b.get(nxt.group(1).replace("&amp;", "&"))
    kinds = re.findall(r'<span class="badge event (\w+)">', r.text)
    assert kinds == ["moved"] * (moves - 1 - env.settings.ui_page_size) + ["created"]
    assert "← First page" in text_of(r.text)
    assert 'rel="next"' not in r.text


async def test_history_links_only_to_manifests_still_here(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    kept = await env.push(repo, "1.0", alice)
    gone = (await push_image(env.client, repo, "2.0", headers=alice.auth, seed="gone")).digest
    r = await env.client.delete(f"/v2/{repo}/manifests/{gone}", headers=alice.auth)
    assert r.status_code == 202, r.text
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/history")
    page = text_of(r.text)
    assert f"deleted 2.0 deleted; it pointed to {short(gone)}" in page
    assert alice.name in page.split("deleted 2.0", 1)[1]  # who deleted it, from the audit log
    assert f"/-/manifest/{gone}" not in r.text  # the manifest is gone: no link to a 404
    assert f"/-/manifest/{kept}" in r.text
    await b.get(f"/repository/{repo}/-/manifest/{gone}", expect=404)
