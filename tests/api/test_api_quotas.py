"""Storage quotas: Quay's API shapes, bad input, exact accounting, refusals on /v2, warning events.

Every test runs on SQLite and on PostgreSQL (the ``env`` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text, update
from tests.api.support import Env, User, assert_problem
from tests.protocol.helpers import error_codes, push_blob, push_image, sha256

from moorage.db.models import Blob, NamespaceUsage
from moorage.domain.digest import Digest


async def _quota(env: Env, org: str, limit: int, *limits: tuple[str, int]) -> dict[str, Any]:
    r = await env.api(
        "POST", f"/organization/{org}/quota", env.admin, json_body={"limit_bytes": limit}, expect=201
    )
    quota: dict[str, Any] = r.json()
    for kind, percent in limits:
        await env.api(
            "POST",
            f"/organization/{org}/quota/{quota['id']}/limit",
            env.admin,
            json_body={"type": kind, "threshold_percent": percent},
            expect=201,
        )
    return quota


async def _usage(env: Env, namespace: str) -> int:
    report = await env.services.quotas.report(namespace)
    assert report is not None
    return report.usage_bytes


async def _warnings(env: Env, namespace: str) -> list[dict[str, Any]]:
    rows = await env.services.outbox.pending(topic="quota_warning", limit=10_000)
    return [r.payload for r in rows if r.payload["namespace"] == namespace and r.kind == "event"]


async def _blob_row(env: Env, digest: str) -> int:
    async with env.services.db.read() as s:
        return int((await s.execute(select(func.count()).where(Blob.digest == digest))).scalar_one())


async def _upload_then_finish(env: Env, repo: str, data: bytes, who: User) -> tuple[httpx.Response, str]:
    r = await env.client.post(f"/v2/{repo}/blobs/uploads/", headers=who.auth)
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    r = await env.client.put(
        location,
        params={"digest": sha256(data)},
        content=data,
        headers={**who.auth, "Content-Type": "application/octet-stream"},
    )
    return r, upload_id


def _upload_files(env: Env, upload_id: str) -> list[Path]:
    root = env.settings.resolved_storage_root
    return [p for p in root.rglob(f"*{upload_id}*")]


async def test_quota_and_limits_in_quays_shapes(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    member = await env.user(uid, "mem")
    stranger = await env.user(uid, "str")
    org = (await env.org(uid, owner)).name
    await env.team(org, "readers", "member", member.name, who=owner)
    base = f"/organization/{org}/quota"
    assert (await env.api("GET", base, owner, expect=200)).json() == []
    r = await env.api("POST", base, env.admin, json_body={"limit_bytes": 10_000_000}, expect=201)
    quota = r.json()
    assert quota == {"id": quota["id"], "limit_bytes": 10_000_000, "limits": []}
    qid = quota["id"]
    r = await env.api(
        "POST",
        f"{base}/{qid}/limit",
        env.admin,
        json_body={"type": "Warning", "threshold_percent": 80},
        expect=201,
    )
    warning = r.json()
    assert warning == {"id": warning["id"], "type": "Warning", "limit_percent": 80}
    r = await env.api(
        "POST",
        f"{base}/{qid}/limit",
        env.admin,
        json_body={"type": "Reject", "threshold_percent": 100},
        expect=201,
    )
    reject = r.json()
    # members read (Quay: OrganizationMemberPermission); strangers do not see it
    for who in (owner, member):
        listed = (await env.api("GET", base, who, expect=200)).json()
        assert listed == [{"id": qid, "limit_bytes": 10_000_000, "limits": [warning, reject]}]
        assert (await env.api("GET", f"{base}/{qid}", who, expect=200)).json() == listed[0]
        assert (await env.api("GET", f"{base}/{qid}/limit", who, expect=200)).json() == [warning, reject]
        assert (await env.api("GET", f"{base}/{qid}/limit/{reject['id']}", who, expect=200)).json() == reject
    assert_problem(await env.api("GET", base, stranger), 404)
    # only superusers change quotas, even the organization's own admins
    assert_problem(await env.api("PUT", f"{base}/{qid}", owner, json_body={"limit_bytes": 1}), 403)
    assert_problem(await env.api("POST", base, owner, json_body={"limit_bytes": 5}), 403)
    r = await env.api("PUT", f"{base}/{qid}", env.admin, json_body={"limit_bytes": 20_000_000}, expect=200)
    assert r.json()["limit_bytes"] == 20_000_000
    # PUT of a limit answers the whole quota, as Quay does
    r = await env.api(
        "PUT",
        f"{base}/{qid}/limit/{warning['id']}",
        env.admin,
        json_body={"threshold_percent": 70},
        expect=200,
    )
    assert r.json() == {
        "id": qid,
        "limit_bytes": 20_000_000,
        "limits": [{**warning, "limit_percent": 70}, reject],
    }
    assert (await env.api("DELETE", f"{base}/{qid}/limit/{warning['id']}", env.admin, expect=200)).json() == {
        "deleted": True
    }
    assert_problem(await env.api("GET", f"{base}/{qid}/limit/{warning['id']}", owner), 404)
    await env.api("DELETE", f"{base}/{qid}", env.admin, expect=200)
    assert (await env.api("GET", base, owner, expect=200)).json() == []
    # every change is in the organization's audit log, in Quay's kinds
    r = await env.api("GET", f"/organization/{org}/logs", owner, expect=200)
    kinds = {e["kind"] for e in r.json()["logs"]}
    assert {
        "org_create_quota",
        "org_change_quota",
        "org_delete_quota",
        "org_create_quota_limit",
        "org_change_quota_limit",
        "org_delete_quota_limit",
    } <= kinds


async def test_user_reads_own_quota(env: Env, uid: str) -> None:
    alice = await env.user(uid, "alice")
    bob = await env.user(uid, "bob")
    assert (await env.api("GET", "/user/quota", alice, expect=200)).json() == []
    quota = await env.services.quotas.set(
        alice.name, 5_000, reject_percent=100, warning_percent=None, actor=None
    )
    listed = (await env.api("GET", "/user/quota", alice, expect=200)).json()
    [limit] = quota.limits
    limits = [{"id": limit.id, "type": "Reject", "limit_percent": 100}]
    expected: dict[str, Any] = {
        "id": quota.id,
        "limit_bytes": 5000,
        "limits": limits,
    }
    assert listed == [expected]
    assert (await env.api("GET", f"/user/quota/{quota.id}", alice, expect=200)).json() == expected
    assert (await env.api("GET", f"/user/quota/{quota.id}/limit", alice, expect=200)).json() == limits
    r = await env.api("GET", f"/user/quota/{quota.id}/limit/{limit.id}", alice, expect=200)
    assert r.json() == limits[0]
    # another user's quota id is unknown to bob
    assert_problem(await env.api("GET", f"/user/quota/{quota.id}", bob), 404)
    assert (await env.api("GET", "/user/quota", bob, expect=200)).json() == []


async def test_bad_input_is_refused_and_changes_nothing(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    base = f"/organization/{org}/quota"
    for bad in (0, -1, -(2**40), 2**60, "5", 1.5, None, True):
        assert_problem(await env.api("POST", base, env.admin, json_body={"limit_bytes": bad}), 400)
    assert_problem(await env.api("POST", base, env.admin, json_body={}), 400)
    assert (await env.api("GET", base, owner, expect=200)).json() == []
    quota = await _quota(env, org, 1000, ("Reject", 100))
    qid = quota["id"]
    before = (await env.api("GET", f"{base}/{qid}", owner, expect=200)).json()
    # a second quota for the namespace
    assert_problem(await env.api("POST", base, env.admin, json_body={"limit_bytes": 5}), 409)
    for body in (
        {"type": "Warning", "threshold_percent": 0},
        {"type": "Warning", "threshold_percent": 101},
        {"type": "Warning", "threshold_percent": -5},
        {"type": "Warning", "threshold_percent": 50.5},
        {"type": "Sometimes", "threshold_percent": 50},
        {"type": "Warning"},
    ):
        assert_problem(await env.api("POST", f"{base}/{qid}/limit", env.admin, json_body=body), 400)
    # the same limit twice, or a second Reject limit
    r = await env.api(
        "POST", f"{base}/{qid}/limit", env.admin, json_body={"type": "Reject", "threshold_percent": 100}
    )
    assert_problem(r, 409)
    r = await env.api(
        "POST", f"{base}/{qid}/limit", env.admin, json_body={"type": "Reject", "threshold_percent": 90}
    )
    assert_problem(r, 409, "at most one Reject")
    assert_problem(await env.api("PUT", f"{base}/{qid}", env.admin, json_body={"limit_bytes": 0}), 400)
    # unknown ids
    assert_problem(await env.api("GET", f"{base}/999999999", owner), 404)
    for bad_id in ("0", "-1", "abc", str(2**64)):
        assert_problem(await env.api("GET", f"{base}/{bad_id}", owner), 400)
    assert_problem(await env.api("PUT", f"{base}/999999999", env.admin, json_body={"limit_bytes": 5}), 404)
    assert_problem(await env.api("DELETE", f"{base}/999999999", env.admin), 404)
    assert_problem(await env.api("GET", f"{base}/{qid}/limit/999999999", owner), 404)
    r = await env.api("PUT", f"{base}/{qid}/limit/999999999", env.admin, json_body={"threshold_percent": 5})
    assert_problem(r, 404)
    assert_problem(await env.api("DELETE", f"{base}/{qid}/limit/999999999", env.admin), 404)
    assert_problem(
        await env.api("POST", "/organization/no-such-org-x/quota", env.admin, json_body={"limit_bytes": 5}),
        404,
    )
    # a user's namespace is not an organization
    assert_problem(
        await env.api("POST", f"/organization/{owner.name}/quota", env.admin, json_body={"limit_bytes": 5}),
        404,
    )
    assert (await env.api("GET", f"{base}/{qid}", owner, expect=200)).json() == before


async def test_shared_layers_count_once_and_deleting_a_repository_releases_only_its_own(
    env: Env, uid: str
) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    shared = f"shared layer {uid}".encode() * 300
    only_a = f"layer only in a {uid}".encode() * 200
    only_b = f"layer only in b {uid}".encode() * 100
    a = await push_image(env.client, f"{org}/a", "1", headers=owner.auth, layers=[shared, only_a], seed="a")
    b = await push_image(env.client, f"{org}/b", "1", headers=owner.auth, layers=[shared, only_b], seed="b")
    expected = len(a.config) + len(b.config) + len(shared) + len(only_a) + len(only_b)
    assert await _usage(env, org) == expected
    # the same figure as the read-only computation of the administrator's panel
    [row] = [u for u in await env.services.usage.by_namespace(limit=1000, search=org) if u.namespace == org]
    assert row.blob_bytes == expected
    # the same blob pushed again to another repository of the namespace costs nothing
    await push_blob(env.client, f"{org}/c", shared, owner.auth)
    assert await _usage(env, org) == expected
    await env.api("DELETE", f"/repository/{org}/a", owner, expect=200)
    assert await _usage(env, org) == expected - len(a.config) - len(only_a)
    # deleting a blob link of the last repository holding it releases it
    r = await env.client.delete(f"/v2/{org}/b/blobs/{b.layer_digests[1]}", headers=owner.auth)
    assert r.status_code == 202, r.text
    assert await _usage(env, org) == len(b.config) + len(shared)
    assert [d for d in await env.services.quotas.verify() if d.namespace == org] == []


async def test_reject_limit_refuses_blob_cleanly_and_warning_fires_once(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    await _quota(env, org, 3000, ("Reject", 100), ("Warning", 50))
    repo = f"{org}/app"
    await push_blob(env.client, repo, b"a" * 1000, owner.auth)
    assert await _warnings(env, org) == []
    await push_blob(env.client, repo, b"b" * 1000, owner.auth)
    [event] = await _warnings(env, org)
    assert event["threshold_percent"] == 50
    assert event["usage_bytes"] == 2000
    assert event["previous_usage_bytes"] == 1000
    assert event["limit_bytes"] == 3000
    assert event["namespace_kind"] == "organization"
    # over the limit: DENIED naming the quota; no row, no file, no upload left behind
    big = b"c" * 1500
    r, upload_id = await _upload_then_finish(env, repo, big, owner)
    assert r.status_code == 403, r.text
    assert error_codes(r) == ["DENIED"]
    message = r.json()["errors"][0]["message"]
    assert message == f"quota of organization {org} exceeded: 3.5 KB of 3 KB", message
    assert await _blob_row(env, sha256(big)) == 0
    assert await env.services.storage.blob_size(Digest.parse(sha256(big))) is None
    assert _upload_files(env, upload_id) == []
    assert await _usage(env, org) == 2000
    # under the limit still works; the warning does not fire again while above it
    await push_blob(env.client, repo, b"d" * 900, owner.auth)
    assert await _usage(env, org) == 2900
    assert len(await _warnings(env, org)) == 1
    # a blob the namespace already holds costs nothing: accepted even at the limit
    await push_blob(env.client, f"{org}/other", b"a" * 1000, owner.auth)
    assert await _usage(env, org) == 2900
    # a cross-repository mount from another namespace counts, and is refused beyond the limit
    other = await env.user(uid, "oth")
    foreign = b"e" * 500
    await push_blob(env.client, f"{other.name}/src", foreign, other.auth)
    await env.grant(f"{other.name}/src", "user", owner.name, "read", other)
    r = await env.client.post(
        f"/v2/{repo}/blobs/uploads/",
        params={"mount": sha256(foreign), "from": f"{other.name}/src"},
        headers=owner.auth,
    )
    assert r.status_code == 403, r.text
    assert "quota of organization" in r.json()["errors"][0]["message"]
    assert await _usage(env, org) == 2900
    # dropping below the threshold and crossing it again is a new crossing: a second event
    r = await env.client.delete(f"/v2/{repo}/blobs/{sha256(b'd' * 900)}", headers=owner.auth)
    assert r.status_code == 202
    r = await env.client.delete(f"/v2/{repo}/blobs/{sha256(b'b' * 1000)}", headers=owner.auth)
    assert r.status_code == 202
    assert await _usage(env, org) == 1000
    await push_blob(env.client, repo, b"f" * 600, owner.auth)
    assert [e["usage_bytes"] for e in await _warnings(env, org)] == [2000, 1600]


async def test_manifest_put_refused_when_namespace_is_over_its_quota(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    image = await push_image(env.client, f"{org}/app", "1", headers=owner.auth)
    used = await _usage(env, org)
    assert used > 0
    # the quota arrives after the blobs (or is lowered): the next manifest push is refused
    await _quota(env, org, max(1, used // 2), ("Reject", 100))
    r = await env.client.put(
        f"/v2/{org}/app/manifests/2",
        content=image.manifest,
        headers={**owner.auth, "Content-Type": image.media_type},
    )
    assert r.status_code == 403, r.text
    assert error_codes(r) == ["DENIED"]
    assert f"quota of organization {org} exceeded" in r.json()["errors"][0]["message"]
    r = await env.client.get(f"/v2/{org}/app/manifests/2", headers=owner.auth)
    assert r.status_code == 404
    # without a Reject limit the quota only reports: pushes go through
    quota = (await env.api("GET", f"/organization/{org}/quota", owner, expect=200)).json()[0]
    await env.api(
        "DELETE",
        f"/organization/{org}/quota/{quota['id']}/limit/{quota['limits'][0]['id']}",
        env.admin,
        expect=200,
    )
    r = await env.client.put(
        f"/v2/{org}/app/manifests/2",
        content=image.manifest,
        headers={**owner.auth, "Content-Type": image.media_type},
    )
    assert r.status_code == 201, r.text


async def test_verify_finds_injected_drift_and_fix_repairs_it(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    await push_image(env.client, f"{org}/app", "1", headers=owner.auth)
    actual = await _usage(env, org)
    assert [d for d in await env.services.quotas.verify() if d.namespace == org] == []
    async with env.services.db.write() as s:
        ns_id = (await s.execute(text("SELECT id FROM namespace WHERE name = :n"), {"n": org})).scalar_one()
        await s.execute(
            update(NamespaceUsage).where(NamespaceUsage.namespace_id == ns_id).values(bytes=actual + 12345)
        )
    [drift] = [d for d in await env.services.quotas.verify() if d.namespace == org]
    assert (drift.stored_bytes, drift.actual_bytes) == (actual + 12345, actual)
    assert await _usage(env, org) == actual + 12345  # verify alone changes nothing
    fixed = [d for d in await env.services.quotas.verify(fix=True) if d.namespace == org]
    assert len(fixed) == 1
    assert [d for d in await env.services.quotas.verify() if d.namespace == org] == []
    assert await _usage(env, org) == actual
