"""Tag expiration and the time machine in the web UI (forms, no JavaScript): the Restore button of
the Tag history tab, the expiration control of the Tags tab, the window choice of an organization's
settings and of the user's account settings."""

from __future__ import annotations

import asyncio
import time

from tests.api.support import Env
from tests.protocol.helpers import push_image
from tests.ui.conftest import BrowserFactory
from tests.ui.repos_support import live_tags
from tests.ui.support import text_of


async def test_restore_button_restores_a_deleted_and_a_moved_tag(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    first = await env.push(repo, "1.0", alice)
    second = (await push_image(env.client, repo, "1.0", headers=alice.auth, seed="two")).digest
    await env.api("DELETE", f"/repository/{repo}/tag/1.0", alice, expect=200)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/history")
    assert "can be restored for 2w" in text_of(r.text)
    # one Restore button per ended row: to the deleted manifest and to the one before the move
    assert r.text.count(">Restore</button>") == 2
    assert f'name="digest" value="{second}"' in r.text
    assert f'name="digest" value="{first}"' in r.text
    assert 'data-confirm="Restore tag 1.0' in r.text
    r = await b.post(f"/repository/{repo}/-/tags/restore", {"tag": "1.0", "digest": first}, expect=303)
    assert f"Tag 1.0 restored to {first}" in text_of((await b.follow(r)).text)
    assert await live_tags(env, repo) == {"1.0": first}
    # a digest the tag never held: a readable error, nothing changes
    other = await env.push(repo, "2.0", alice)
    r = await b.post(
        f"/repository/{repo}/-/tags/restore",
        {"tag": "1.0", "digest": other},
        form_page=f"/repository/{repo}/-/history",
    )
    assert r.status_code == 404
    assert "never pointed at" in text_of(r.text)
    assert await live_tags(env, repo) == {"1.0": first, "2.0": other}


async def test_no_restore_button_outside_the_window_or_for_readers(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    org = (await env.org(uid, alice)).name
    repo = f"{org}/app"
    digest = await env.push(repo, "1.0", alice)
    await env.api("DELETE", f"/repository/{repo}/tag/1.0", alice, expect=200)
    b = await browser(alice)
    assert ">Restore</button>" in (await b.get(f"/repository/{repo}/-/history")).text
    await env.api("PUT", f"/organization/{org}", alice, json_body={"tag_expiration_s": 0}, expect=200)
    r = await b.get(f"/repository/{repo}/-/history")
    assert ">Restore</button>" not in r.text
    assert "can be restored for 0s" in text_of(r.text)
    # a forged form outside the window is refused and changes nothing
    r = await b.post(
        f"/repository/{repo}/-/tags/restore",
        {"tag": "1.0", "digest": digest},
        form_page=f"/repository/{repo}/-/history",
    )
    assert r.status_code == 404
    assert "outside the time machine window" in text_of(r.text)
    assert await live_tags(env, repo) == {}


async def test_set_and_clear_a_tag_expiration_on_the_tags_tab(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    await env.push(repo, "1.0", alice)
    b = await browser(alice)
    # the tag's own page (the Move dialog of the tags list) sets when it expires
    r = await b.get(f"/repository/{repo}/-/tags/move?tag=1.0")
    assert 'name="expires_in"' in r.text
    r = await b.post(f"/repository/{repo}/-/tags/expiration", {"tag": "1.0", "expires_in": "1d"}, expect=303)
    assert "Tag 1.0 expires at" in text_of((await b.follow(r)).text)
    (tag,) = (await env.api("GET", f"/repository/{repo}/tag/", alice, expect=200)).json()["tags"]
    assert tag["expiration"] is not None
    assert "expires in" in text_of((await b.get(f"/repository/{repo}")).text)
    r = await b.post(
        f"/repository/{repo}/-/tags/expiration",
        {"tag": "1.0", "expires_in": "soon"},
        form_page=f"/repository/{repo}",
    )
    assert r.status_code == 400
    assert "is not a duration" in text_of(r.text)
    r = await b.post(
        f"/repository/{repo}/-/tags/expiration",
        {"tag": "1.0", "expires_in": "never"},
        form_page=f"/repository/{repo}",
        expect=303,
    )
    assert "Tag 1.0 never expires" in text_of((await b.follow(r)).text)
    (tag,) = (await env.api("GET", f"/repository/{repo}/tag/", alice, expect=200)).json()["tags"]
    assert tag["expiration"] is None


async def test_expired_tag_shows_in_history_with_restore(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    digest = await env.push(repo, "1.0", alice)
    when = time.time() + 4
    await env.api("PUT", f"/repository/{repo}/tag/1.0", alice, json_body={"expiration": when}, expect=200)
    await asyncio.sleep(max(0.0, when - time.time()) + 0.2)
    b = await browser(alice)
    page = text_of((await b.get(f"/repository/{repo}/-/history")).text)
    assert "expired 1.0 expired; it pointed to" in page
    r = await b.post(f"/repository/{repo}/-/tags/restore", {"tag": "1.0", "digest": digest}, expect=303)
    assert await live_tags(env, repo) == {"1.0": digest}
    assert r.status_code == 303


async def test_time_machine_window_of_organization_and_account(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    org = (await env.org(uid, alice)).name
    b = await browser(alice)
    r = await b.get(f"/organization/{org}/settings")
    assert '<option value="1209600" selected>2w</option>' in r.text
    r = await b.post(f"/organization/{org}/settings", {"tag_expiration_s": "604800"}, expect=303)
    assert "stay restorable for 1w" in text_of((await b.follow(r)).text)
    assert (await env.api("GET", f"/organization/{org}", alice)).json()["tag_expiration_s"] == 604800
    r = await b.post(
        f"/organization/{org}/settings", {"tag_expiration_s": "5"}, form_page=f"/organization/{org}/settings"
    )
    assert r.status_code == 400
    assert "must be one of" in text_of(r.text)
    assert (await env.api("GET", f"/organization/{org}", alice)).json()["tag_expiration_s"] == 604800
    # the user's own namespace
    r = await b.get("/settings")
    assert 'action="/settings/time-machine"' in r.text
    r = await b.post("/settings/time-machine", {"tag_expiration_s": "86400"}, expect=303)
    assert "stay restorable for 1d" in text_of((await b.follow(r)).text)
    assert (await env.api("GET", "/user/", alice)).json()["tag_expiration_s"] == 86400
    r = await b.post("/settings/time-machine", {"tag_expiration_s": "x"}, form_page="/settings")
    assert r.status_code == 400
    assert (await env.api("GET", "/user/", alice)).json()["tag_expiration_s"] == 86400
