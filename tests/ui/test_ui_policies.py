"""Auto-prune policies and immutability rules on the organization and repository settings pages:
add, edit, remove, preview, and readable refusals (bad input changes nothing; an immutable tag
cannot be deleted or moved from the tags page)."""

from __future__ import annotations

from tests.api.support import Env
from tests.protocol.helpers import push_image
from tests.ui.conftest import BrowserFactory
from tests.ui.support import text_of

from moorage.registry.policies import Scope


def env_scope(namespace: str, repository: str | None = None) -> Scope:
    return Scope(namespace, repository)


async def test_org_autoprune_add_edit_preview_remove(env: Env, browser: BrowserFactory, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    for t in ("dev-1", "dev-2", "dev-3", "v1"):
        await push_image(env.client, repo, t, headers=owner.auth, seed=t)
    b = await browser(owner)
    page = text_of((await b.get(f"/organization/{org}/settings")).text)
    assert "Auto-prune policies" in page
    assert "No auto-prune policies." in page
    assert "Immutability rules" in page
    r = await b.post(
        f"/organization/{org}/settings/autoprune",
        {"method": "number_of_tags", "value": "1", "tag_pattern": "^dev-", "matches": "true", "uuid": ""},
    )
    assert r.status_code == 303, text_of(r.text)[:400]
    page = text_of((await b.follow(r)).text)
    assert "Auto-prune policy added." in page
    assert "keep the newest 1" in page
    [policy] = await env.services.policies.list_autoprune(env_scope(org))
    # preview: exactly the tags this policy would remove now
    page = text_of((await b.get(f"/organization/{org}/settings/autoprune/{policy.uuid}/preview")).text)
    assert "dev-1" in page
    assert "dev-2" in page
    assert "dev-3" not in page
    assert "2 tags would be removed." in page
    # edit: the form comes filled in, saving changes the policy
    page = (await b.get(f"/organization/{org}/settings?edit_prune={policy.uuid}")).text
    assert f'value="{policy.uuid}"' in page
    r = await b.post(
        f"/organization/{org}/settings/autoprune",
        {
            "method": "number_of_tags",
            "value": "2",
            "tag_pattern": "^dev-",
            "matches": "true",
            "uuid": policy.uuid,
        },
    )
    assert r.status_code == 303
    assert "Auto-prune policy saved." in text_of((await b.follow(r)).text)
    [changed] = await env.services.policies.list_autoprune(env_scope(org))
    assert (changed.uuid, changed.value) == (policy.uuid, "2")
    # bad input: a readable message beside the form, nothing stored
    for values, says in (
        ({"method": "number_of_tags", "value": "-1"}, "between 1 and"),
        ({"method": "creation_date", "value": "soon"}, "not a duration"),
        ({"method": "number_of_tags", "value": "3", "tag_pattern": "(a+)+$"}, "catastrophic backtracking"),
    ):
        r = await b.post(f"/organization/{org}/settings/autoprune", {"matches": "true", "uuid": "", **values})
        assert r.status_code == 400
        assert says in text_of(r.text)
    assert len(await env.services.policies.list_autoprune(env_scope(org))) == 1
    r = await b.post(f"/organization/{org}/settings/autoprune/{policy.uuid}/delete", {})
    assert r.status_code == 303
    assert "Auto-prune policy removed." in text_of((await b.follow(r)).text)
    assert await env.services.policies.list_autoprune(env_scope(org)) == []


async def test_repository_rules_block_tag_changes_in_the_ui(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    await push_image(env.client, repo, "v1", headers=owner.auth, seed="1")
    other = await push_image(env.client, repo, "dev", headers=owner.auth, seed="2")
    b = await browser(owner)
    await b.get(f"/repository/{repo}/-/settings")
    r = await b.post(
        f"/repository/{repo}/-/settings/immutability", {"tag_pattern": "^v", "matches": "true", "uuid": ""}
    )
    assert r.status_code == 303
    page = text_of((await b.follow(r)).text)
    assert "Immutability rule added." in page
    assert "matching ^v" in page
    [rule] = await env.services.policies.list_immutability(env_scope(org, repo))
    # deleting or moving v1 from the tags page: refused with the rule's name
    await b.get(f"/repository/{repo}")
    r = await b.post(f"/repository/{repo}/-/tags/delete", {"tag": "v1"})
    assert r.status_code == 409
    assert rule.uuid in text_of(r.text)
    assert "immutable" in text_of(r.text)
    r = await b.post(f"/repository/{repo}/-/tags/move", {"tag": "v1", "digest": other.digest})
    assert r.status_code == 409
    assert "may not be moved" in text_of(r.text)
    # a repository auto-prune policy: the settings page shows what the next run removes now
    r = await b.post(
        f"/repository/{repo}/-/settings/autoprune",
        {"method": "number_of_tags", "value": "1", "tag_pattern": "", "matches": "true", "uuid": ""},
    )
    assert r.status_code == 303
    page = text_of((await b.follow(r)).text)
    assert "The next run would remove now" in page
    assert "dev" not in page.split("The next run would remove now", 1)[1].split("Immutability rules", 1)[0]
    # v1 is the older tag but immutable; dev is the newest: nothing to remove
    assert "Nothing: no policy selects a tag of this repository now." in page
    r = await b.post(f"/repository/{repo}/-/settings/immutability/{rule.uuid}/delete", {})
    assert r.status_code == 303
    page = text_of((await b.follow(r)).text)
    assert "Immutability rule removed." in page
    assert "v1" in page.split("The next run would remove now", 1)[1]
