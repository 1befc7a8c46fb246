"""Auto-prune policies and immutability rules through /api/v1 (Quay's shapes) and their effect on
/v2, the tag API and auto-prune, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.api.support import Env, User, assert_problem
from tests.protocol.helpers import OCI_MANIFEST, error_codes, push_image, push_manifest

from moorage.audit import AuditQuery
from moorage.domain.actor import Actor

PRUNE = {"method": "number_of_tags", "value": 10}


async def _org(env: Env, uid: str) -> tuple[str, User, User]:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    org = (await env.org(uid, owner)).name
    await env.team(org, "readers", "member", member.name, who=owner)
    return org, owner, member


async def test_autoprune_policy_shapes_in_quays_form(env: Env, uid: str) -> None:
    org, owner, _ = await _org(env, uid)
    base = f"/organization/{org}/autoprunepolicy/"
    assert (await env.api("GET", base, owner, expect=200)).json() == {"policies": []}
    r = await env.api(
        "POST",
        base,
        owner,
        json_body={
            "method": "creation_date",
            "value": "2w",
            "tagPattern": "^dev-",
            "tagPatternMatches": True,
        },
        expect=201,
    )
    first = r.json()["uuid"]
    assert set(r.json()) == {"uuid"}
    assert len(first) == 36
    second = (await env.api("POST", base, owner, json_body=PRUNE, expect=201)).json()["uuid"]
    r = await env.api("GET", base, owner, expect=200)
    assert r.json() == {
        "policies": [
            {
                "uuid": first,
                "method": "creation_date",
                "value": "2w",
                "tagPattern": "^dev-",
                "tagPatternMatches": True,
            },
            {
                "uuid": second,
                "method": "number_of_tags",
                "value": 10,
                "tagPattern": None,
                "tagPatternMatches": True,
            },
        ]
    }
    r = await env.api(
        "PUT",
        f"{base}{second}",
        owner,
        json_body={"method": "number_of_tags", "value": 3, "tagPattern": "^rc", "tagPatternMatches": False},
        expect=204,
    )
    assert r.content == b""
    r = await env.api("GET", f"{base}{second}", owner, expect=200)
    assert r.json() == {
        "uuid": second,
        "method": "number_of_tags",
        "value": 3,
        "tagPattern": "^rc",
        "tagPatternMatches": False,
    }
    r = await env.api("GET", f"{base}{second}/preview", owner, expect=200)
    assert r.json() == {"uuid": second, "tags": []}
    assert (await env.api("DELETE", f"{base}{second}", owner, expect=200)).json() == {"uuid": second}
    await env.api("GET", f"{base}{second}", owner, expect=404)
    kinds = [e.kind for e in await env.services.audit.query(AuditQuery(namespace=org, limit=20))]
    assert "create_namespace_autoprune_policy" in kinds
    assert "update_namespace_autoprune_policy" in kinds
    assert "delete_namespace_autoprune_policy" in kinds


async def test_user_and_repository_scopes(env: Env, uid: str) -> None:
    me = await env.user(uid, "me")
    r = await env.api("POST", "/user/autoprunepolicy/", me, json_body=PRUNE, expect=201)
    mine = r.json()["uuid"]
    assert [
        p["uuid"] for p in (await env.api("GET", "/user/autoprunepolicy/", me, expect=200)).json()["policies"]
    ] == [mine]
    other = await env.user(uid, "other")
    await env.api("GET", f"/user/autoprunepolicy/{mine}", other, expect=404)
    repo = f"{me.name}/app"
    await env.repo(repo, me)
    r = await env.api("POST", f"/repository/{repo}/autoprunepolicy/", me, json_body=PRUNE, expect=201)
    rp = r.json()["uuid"]
    # a repository's policy is not its namespace's, and the other way round
    await env.api("GET", f"/user/autoprunepolicy/{rp}", me, expect=404)
    await env.api("GET", f"/repository/{repo}/autoprunepolicy/{mine}", me, expect=404)
    r = await env.api(
        "POST", f"/repository/{repo}/immutabilitypolicy/", me, json_body={"tagPattern": "^v"}, expect=201
    )
    imm = r.json()["uuid"]
    r = await env.api("GET", f"/repository/{repo}/immutabilitypolicy/", me, expect=200)
    assert r.json() == {"policies": [{"uuid": imm, "tagPattern": "^v", "tagPatternMatches": True}]}
    r = await env.api(
        "POST", "/user/immutabilitypolicy/", me, json_body={"tagPattern": "^stable$"}, expect=201
    )
    assert (await env.api("GET", f"/user/immutabilitypolicy/{r.json()['uuid']}", me, expect=200)).json()[
        "tagPattern"
    ] == "^stable$"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"method": "number_of_tags", "value": 5, "tagPattern": "(a+)+$"}, 400, "backtracking"),
        ({"method": "number_of_tags", "value": 5, "tagPattern": "(a|ab)*c"}, 400, "backtracking"),
        ({"method": "number_of_tags", "value": 5, "tagPattern": ".*.*.*.*.*.*.*.*.*.*="}, 400, "took longer"),
        (
            {"method": "number_of_tags", "value": 5, "tagPattern": "[unclosed"},
            400,
            "not a valid regular expression",
        ),
        ({"method": "keep_forever", "value": 5}, 400, "'number_of_tags' or 'creation_date'"),
        ({"method": "number_of_tags", "value": -3}, 400, "between 1 and"),
        ({"method": "number_of_tags", "value": 0}, 400, "between 1 and"),
        ({"method": "number_of_tags", "value": "many"}, 400, "whole number"),
        ({"method": "creation_date", "value": "2 fortnights"}, 400, "not a duration"),
        ({"method": "creation_date", "value": 7}, 400, "duration"),
        ({"method": "number_of_tags"}, 400, "value"),
    ],
)
async def test_bad_autoprune_input_changes_nothing(
    env: Env, uid: str, body: dict[str, Any], status: int, says: str
) -> None:
    org, owner, _ = await _org(env, uid)
    base = f"/organization/{org}/autoprunepolicy/"
    kept = (await env.api("POST", base, owner, json_body=PRUNE, expect=201)).json()["uuid"]
    before = (await env.api("GET", base, owner, expect=200)).json()
    assert_problem(await env.api("POST", base, owner, json_body=body), status, says)
    assert_problem(await env.api("PUT", f"{base}{kept}", owner, json_body=body), status, says)
    assert (await env.api("GET", base, owner, expect=200)).json() == before


async def test_bad_immutability_input_unknown_ids_and_strangers(env: Env, uid: str) -> None:
    org, owner, member = await _org(env, uid)
    base = f"/organization/{org}/immutabilitypolicy/"
    kept = (await env.api("POST", base, owner, json_body={"tagPattern": "^v1$"}, expect=201)).json()["uuid"]
    before = (await env.api("GET", base, owner, expect=200)).json()
    assert_problem(
        await env.api("POST", base, owner, json_body={"tagPattern": "(x+x+)+y"}), 400, "backtracking"
    )
    assert_problem(
        await env.api("POST", base, owner, json_body={"tagPattern": "("}), 400, "regular expression"
    )
    assert_problem(await env.api("POST", base, owner, json_body={"tagPattern": ""}), 400, "tagPattern")
    assert_problem(await env.api("POST", base, owner, json_body={"tagPattern": "^v1$"}), 400, "already has")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(await env.api("GET", f"{base}{unknown}", owner), 404)
    assert_problem(await env.api("PUT", f"{base}{unknown}", owner, json_body={"tagPattern": "^x"}), 404)
    assert_problem(await env.api("DELETE", f"{base}{unknown}", owner), 404)
    assert_problem(await env.api("DELETE", f"/organization/{org}/autoprunepolicy/{unknown}", owner), 404)
    # a member who is not an admin: 403; an outsider: the organization does not exist for them
    assert_problem(await env.api("POST", base, member, json_body={"tagPattern": "^y"}), 403)
    assert_problem(await env.api("DELETE", f"{base}{kept}", member), 403)
    assert_problem(
        await env.api("POST", f"/organization/{org}/autoprunepolicy/", member, json_body=PRUNE), 403
    )
    stranger = await env.user(uid, "str")
    assert_problem(await env.api("GET", base, stranger), 404)
    assert (await env.api("GET", base, owner, expect=200)).json() == before


async def _other_manifest(env: Env, repo: str, who: User) -> tuple[bytes, str]:
    """A second image pushed by digest only (so no tag moves), for attempts to move a tag onto it."""
    image = await push_image(env.client, repo, None, headers=who.auth, seed="second")
    return image.manifest, image.digest


async def test_immutable_tag_refuses_moves_and_deletes_everywhere(env: Env, uid: str) -> None:
    org, owner, _ = await _org(env, uid)
    repo = f"{org}/app"
    first = await push_image(env.client, repo, "v1", headers=owner.auth)
    raw, second = await _other_manifest(env, repo, owner)
    r = await env.api(
        "POST",
        f"/repository/{repo}/immutabilitypolicy/",
        owner,
        json_body={"tagPattern": "^v[0-9]+$"},
        expect=201,
    )
    rule = r.json()["uuid"]
    # /v2: pushing another manifest to v1 would move it -> DENIED, naming the rule
    r = await push_manifest(env.client, repo, "v1", raw, OCI_MANIFEST, owner.auth)
    assert r.status_code == 403, r.text
    assert "DENIED" in error_codes(r)
    assert rule in r.text
    assert "immutable" in r.text
    # pushing the same manifest again is no change
    r = await push_manifest(env.client, repo, "v1", first.manifest, OCI_MANIFEST, owner.auth)
    assert r.status_code == 201, r.text
    # /v2 deletes of the tag and of its manifest
    r = await env.client.delete(f"/v2/{repo}/manifests/v1", headers=owner.auth)
    assert r.status_code == 403
    assert "DENIED" in error_codes(r)
    assert rule in r.text
    r = await env.client.delete(f"/v2/{repo}/manifests/{first.digest}", headers=owner.auth)
    assert r.status_code == 403
    assert "DENIED" in error_codes(r)
    # the REST API: 409 problem+json naming the rule
    body = assert_problem(await env.api("DELETE", f"/repository/{repo}/tag/v1", owner), 409, rule)
    assert "immutable" in body["detail"]
    assert_problem(
        await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"manifest_digest": second}),
        409,
        rule,
    )
    # new tags outside the rule and new tags inside it (creating is not moving) are fine
    await env.api(
        "PUT", f"/repository/{repo}/tag/dev", owner, json_body={"manifest_digest": second}, expect=200
    )
    await env.api(
        "PUT", f"/repository/{repo}/tag/v2", owner, json_body={"manifest_digest": second}, expect=200
    )
    tags = (await env.api("GET", f"/repository/{repo}/tag/", owner, expect=200)).json()["tags"]
    assert {t["name"]: t["manifest_digest"] for t in tags}["v1"] == first.digest
    # a superuser lifts the rule (audited with who did it); then the tag may go
    await env.api("DELETE", f"/repository/{repo}/immutabilitypolicy/{rule}", env.admin, expect=200)
    entries = await env.services.audit.query(
        AuditQuery(repository=repo, kinds=("delete_immutability_policy",))
    )
    assert [(e.performer, e.metadata.get("policy_uuid")) for e in entries] == [(env.admin.name, rule)]
    await env.api("DELETE", f"/repository/{repo}/tag/v1", owner, expect=200)


async def test_namespace_rule_and_the_immutable_mark(env: Env, uid: str) -> None:
    org, owner, _ = await _org(env, uid)
    repo = f"{org}/svc"
    await push_image(env.client, repo, "latest", headers=owner.auth)
    await push_image(env.client, repo, "keep", headers=owner.auth, seed="k")
    # tagPatternMatches false: every tag NOT matching ^latest$ is immutable
    await env.api(
        "POST",
        f"/organization/{org}/immutabilitypolicy/",
        owner,
        json_body={"tagPattern": "^latest$", "tagPatternMatches": False},
        expect=201,
    )
    assert_problem(await env.api("DELETE", f"/repository/{repo}/tag/keep", owner), 409, f"namespace {org}")
    await env.api("DELETE", f"/repository/{repo}/tag/latest", owner, expect=200)
    # the per-tag mark (the quay.immutable label sets it at push): cleared by a superuser, audited
    await push_image(env.client, repo, "latest", headers=owner.auth, seed="again")
    await env.services.policies.set_tag_immutable(repo, "latest", True, None)
    assert_problem(await env.api("DELETE", f"/repository/{repo}/tag/latest", owner), 409, "marked immutable")
    assert await env.services.policies.set_tag_immutable(repo, "latest", False, Actor(env.admin.name))
    entries = await env.services.audit.query(AuditQuery(repository=repo, kinds=("change_tag_immutability",)))
    assert entries[0].performer == env.admin.name
    assert entries[0].metadata["immutable"] is False
    await env.api("DELETE", f"/repository/{repo}/tag/latest", owner, expect=200)


async def test_the_immutable_mark_through_the_tag_api_as_in_quay(env: Env, uid: str) -> None:
    org, owner, _ = await _org(env, uid)
    repo = f"{org}/marked"
    first = await push_image(env.client, repo, "v1", headers=owner.auth)
    _, second = await _other_manifest(env, repo, owner)
    writer = await env.user(uid, "wri")
    await env.api(
        "PUT",
        f"/repository/{repo}/permissions/user/{writer.name}",
        owner,
        json_body={"role": "write"},
        expect=200,
    )

    def listed(tags: list[dict[str, Any]]) -> dict[str, bool]:
        return {t["name"]: t["immutable"] for t in tags}

    tags = (await env.api("GET", f"/repository/{repo}/tag/", owner, expect=200)).json()["tags"]
    assert listed(tags) == {"v1": False}
    # write is not enough to change immutability (Quay: admin); nothing changes
    assert_problem(
        await env.api("PUT", f"/repository/{repo}/tag/v1", writer, json_body={"immutable": True}), 403
    )
    assert_problem(
        await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"immutable": None}), 400
    )
    assert_problem(
        await env.api("PUT", f"/repository/{repo}/tag/nope", owner, json_body={"immutable": True}), 404
    )
    r = await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"immutable": True}, expect=200)
    assert r.json()["immutable"] is True
    tags = (await env.api("GET", f"/repository/{repo}/tag/", owner, expect=200)).json()["tags"]
    assert listed(tags) == {"v1": True}
    # marked: it may not move, be deleted or expire
    assert_problem(
        await env.api("PUT", f"/repository/{repo}/tag/v1", writer, json_body={"manifest_digest": second}),
        409,
        "immutable",
    )
    assert_problem(await env.api("DELETE", f"/repository/{repo}/tag/v1", writer), 409, "immutable")
    soon = int(time.time()) + 3600
    assert_problem(
        await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"expiration": soon}), 409
    )
    # lifted together with a move: the lift applies first, then the move
    r = await env.api(
        "PUT",
        f"/repository/{repo}/tag/v1",
        owner,
        json_body={"immutable": False, "manifest_digest": second},
        expect=200,
    )
    assert r.json()["moved"] is True
    tags = (await env.api("GET", f"/repository/{repo}/tag/", owner, expect=200)).json()["tags"]
    assert {t["name"]: (t["manifest_digest"], t["immutable"]) for t in tags} == {"v1": (second, False)}
    assert first.digest != second
    entries = await env.services.audit.query(AuditQuery(repository=repo, kinds=("change_tag_immutability",)))
    assert [e.metadata["immutable"] for e in entries] == [False, True]  # newest first
    # a namespace policy shows in the listing too
    rule = {"tagPattern": "^v1$"}
    await env.api("POST", f"/organization/{org}/immutabilitypolicy/", owner, json_body=rule, expect=201)
    tags = (await env.api("GET", f"/repository/{repo}/tag/", writer, expect=200)).json()["tags"]
    assert listed(tags) == {"v1": True}
