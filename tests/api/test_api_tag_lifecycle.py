"""Tag expiration and the time machine through the REST API (Quay's shapes), on SQLite and PostgreSQL:
PUT .../tag/{tag} {"expiration"}, the quay.expires-after / quay.immutable labels at push,
POST .../tag/{tag}/restore, tag_expiration_s of organizations and users, the tags.expire job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from tests.api.support import Env, User, assert_problem
from tests.protocol.helpers import push_image

from moorage.audit import AuditQuery
from moorage.db.models import Manifest, Namespace, Repository, Tag
from moorage.registry.lifecycle import EXPIRE_JOB, expire_handler
from moorage.registry.sql import retained_tag


async def _setup(env: Env, uid: str) -> tuple[User, str, str]:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    digest = await env.push(repo, "v1", owner)
    return owner, repo, digest


async def _tags(env: Env, repo: str, who: User, **params: Any) -> list[dict[str, Any]]:
    r = await env.api("GET", f"/repository/{repo}/tag/", who, params=params, expect=200)
    tags: list[dict[str, Any]] = r.json()["tags"]
    return tags


async def _v2_tags(env: Env, repo: str, who: User) -> list[str]:
    r = await env.client.get(f"/v2/{repo}/tags/list", headers=who.auth)
    assert r.status_code == 200, r.text
    names: list[str] = r.json()["tags"] or []
    return names


async def _kinds(env: Env, repo: str) -> list[str]:
    entries = await env.services.audit.query(AuditQuery(repository=repo))
    return [e.kind for e in entries]


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def test_set_and_clear_expiration(env: Env, uid: str) -> None:
    owner, repo, digest = await _setup(env, uid)
    when = int(time.time()) + 3600
    r = await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"expiration": when}, expect=200)
    assert r.json()["name"] == "v1"
    assert r.json()["moved"] is False
    assert _ts(r.json()["expiration"]) == when
    (tag,) = await _tags(env, repo, owner)
    assert tag["active"] is True
    assert tag["manifest_digest"] == digest
    assert _ts(tag["expiration"]) == when
    assert _ts(tag["end_ts"]) == when
    r = await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"expiration": None}, expect=200)
    assert r.json()["expiration"] is None
    (tag,) = await _tags(env, repo, owner)
    assert tag["expiration"] is None
    assert tag["end_ts"] is None
    assert tag["active"] is True
    assert (await _kinds(env, repo)).count("change_tag_expiration") == 2


async def test_move_and_expiration_in_one_request(env: Env, uid: str) -> None:
    owner, repo, digest = await _setup(env, uid)
    when = int(time.time()) + 600
    r = await env.api(
        "PUT",
        f"/repository/{repo}/tag/other",
        owner,
        json_body={"manifest_digest": digest, "expiration": when},
        expect=200,
    )
    assert r.json()["manifest_digest"] == digest
    assert _ts(r.json()["expiration"]) == when
    tags = {t["name"]: t for t in await _tags(env, repo, owner)}
    assert _ts(tags["other"]["expiration"]) == when
    assert tags["v1"]["expiration"] is None


async def test_bad_expirations_change_nothing(env: Env, uid: str) -> None:
    owner, repo, digest = await _setup(env, uid)
    before = await _tags(env, repo, owner, onlyActiveTags="false")
    path = f"/repository/{repo}/tag/v1"
    assert_problem(
        await env.api("PUT", path, owner, json_body={"expiration": time.time() - 5}), 400, "future"
    )
    far = time.time() + 200 * 7 * 86400  # past the 104-week maximum
    assert_problem(await env.api("PUT", path, owner, json_body={"expiration": far}), 400, "at most")
    assert_problem(await env.api("PUT", path, owner, json_body={"expiration": 1e20}), 400)
    assert_problem(await env.api("PUT", path, owner, json_body={"expiration": "soon"}), 400)
    assert_problem(await env.api("PUT", path, owner, json_body={"expiration": True}), 400)
    assert_problem(await env.api("PUT", path, owner, json_body={}), 400)
    # a past expiration together with a move: refused before the tag moves
    other = await env.push(repo, "v2", owner)
    r = await env.api("PUT", path, owner, json_body={"manifest_digest": other, "expiration": 1})
    assert_problem(r, 400)
    assert_problem(
        await env.api(
            "PUT", f"/repository/{repo}/tag/nope", owner, json_body={"expiration": time.time() + 60}
        ),
        404,
    )
    after = [t for t in await _tags(env, repo, owner, onlyActiveTags="false") if t["name"] == "v1"]
    assert after == [t for t in before if t["name"] == "v1"]
    assert after[0]["manifest_digest"] == digest
    assert "change_tag_expiration" not in await _kinds(env, repo)


async def test_expired_tag_leaves_v2_at_once_and_moves_to_history(env: Env, uid: str) -> None:
    owner, repo, digest = await _setup(env, uid)
    # warm the read caches: an entry must not outlive the expiry
    assert await _v2_tags(env, repo, owner) == ["v1"]
    assert (await env.client.get(f"/v2/{repo}/manifests/v1", headers=owner.auth)).status_code == 200
    when = time.time() + 4
    await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"expiration": when}, expect=200)
    assert await _v2_tags(env, repo, owner) == ["v1"]
    await asyncio.sleep(max(0.0, when - time.time()) + 0.3)
    assert await _v2_tags(env, repo, owner) == []
    r = await env.client.get(f"/v2/{repo}/manifests/v1", headers=owner.auth)
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert (await env.client.get(f"/v2/{repo}/manifests/{digest}", headers=owner.auth)).status_code == 200
    assert await _tags(env, repo, owner) == []
    (row,) = await _tags(env, repo, owner, onlyActiveTags="false", specificTag="v1")
    assert row["active"] is False
    assert abs(_ts(row["end_ts"]) - when) < 0.01
    r = await env.api("GET", f"/repository/{repo}", owner, expect=200)
    assert r.json().get("tag_count", 0) == 0
    # deleting an expired tag: it is no longer there
    assert_problem(await env.api("DELETE", f"/repository/{repo}/tag/v1", owner), 404)
    # pushing the tag again ends the old row at its expiry, not now
    await push_image(env.client, repo, "v1", headers=owner.auth, seed="again")
    rows = await _tags(env, repo, owner, onlyActiveTags="false", specificTag="v1")
    assert [r["active"] for r in rows] == [True, False]
    assert abs(_ts(rows[1]["end_ts"]) - when) < 0.01


async def test_expire_job_closes_rows_once_with_audit(env: Env, uid: str) -> None:
    owner, repo, _ = await _setup(env, uid)
    await env.push(repo, "v2", owner)
    when = time.time() + 5
    for tag in ("v1", "v2"):
        r = await env.api("PUT", f"/repository/{repo}/tag/{tag}", owner, json_body={"expiration": when})
        assert r.status_code == 200, r.text
    await asyncio.sleep(max(0.0, when - time.time()) + 0.3)
    handler = expire_handler(env.services.registry.lifecycle, batch=1)
    job = _Job()
    result = await handler(job)
    assert result is not None
    assert result["closed"] >= 2
    assert EXPIRE_JOB == "tags.expire"
    assert (await _kinds(env, repo)).count("tag_expired") == 2
    again = await handler(_Job())  # idempotent: nothing left to close for this repository
    assert again is not None
    assert (await _kinds(env, repo)).count("tag_expired") == 2
    rows = await _tags(env, repo, owner, onlyActiveTags="false")
    assert {r["name"] for r in rows} == {"v1", "v2"}
    assert not any(r["active"] for r in rows)
    assert job.reports
    assert job.reports[-1][0] == result["closed"]


async def test_labels_set_expiry_and_immutability_at_push(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/labelled"
    start = time.time()
    await push_image(env.client, repo, "short", headers=owner.auth, labels={"quay.expires-after": "2h"})
    # an immutable tag never expires: with both labels the immutability wins
    await push_image(
        env.client,
        repo,
        "locked",
        headers=owner.auth,
        seed="locked",
        labels={"quay.expires-after": "2h", "quay.immutable": "true"},
    )
    await push_image(env.client, repo, "plain", headers=owner.auth, labels={"quay.expires-after": "soon"})
    tags = {t["name"]: t for t in await _tags(env, repo, owner)}
    assert abs(_ts(tags["short"]["expiration"]) - (start + 7200)) < 60
    assert tags["locked"]["expiration"] is None
    assert tags["plain"]["expiration"] is None  # a malformed label never fails a push
    rows = await env.services.registry.tags.page(repo, only_active=True, specific=None, limit=10, after=None)
    assert {r.name: r.immutable for r in rows} == {"plain": False, "short": False, "locked": True}


async def test_restore_deleted_tag_within_window(env: Env, uid: str) -> None:
    owner, repo, digest = await _setup(env, uid)
    await env.api("DELETE", f"/repository/{repo}/tag/v1", owner, expect=200)
    assert await _v2_tags(env, repo, owner) == []
    r = await env.api(
        "POST", f"/repository/{repo}/tag/v1/restore", owner, json_body={"manifest_digest": digest}, expect=200
    )
    assert r.json() == {"name": "v1", "manifest_digest": digest, "moved": False}
    assert await _v2_tags(env, repo, owner) == ["v1"]
    r = await env.client.get(f"/v2/{repo}/manifests/v1", headers=owner.auth)
    assert r.headers["docker-content-digest"] == digest
    assert "revert_tag" in await _kinds(env, repo)


async def test_restore_moved_and_expired_and_deleted_manifest(env: Env, uid: str) -> None:
    owner, repo, first = await _setup(env, uid)
    second = (await push_image(env.client, repo, "v1", headers=owner.auth, seed="2")).digest
    r = await env.api(
        "POST", f"/repository/{repo}/tag/v1/restore", owner, json_body={"manifest_digest": first}, expect=200
    )
    assert r.json()["moved"] is True
    assert (await env.client.get(f"/v2/{repo}/manifests/v1", headers=owner.auth)).headers[
        "docker-content-digest"
    ] == first
    # an expired tag comes back without its expiry
    when = time.time() + 4
    await env.api("PUT", f"/repository/{repo}/tag/v1", owner, json_body={"expiration": when}, expect=200)
    await asyncio.sleep(max(0.0, when - time.time()) + 0.3)
    assert await _v2_tags(env, repo, owner) == []
    await env.api(
        "POST", f"/repository/{repo}/tag/v1/restore", owner, json_body={"manifest_digest": first}, expect=200
    )
    (live,) = await _tags(env, repo, owner)
    assert live["manifest_digest"] == first
    assert live["expiration"] is None
    # a manifest deleted by digest comes back with its tag
    await env.client.delete(f"/v2/{repo}/manifests/{second}", headers=owner.auth)
    assert (await env.client.get(f"/v2/{repo}/manifests/{second}", headers=owner.auth)).status_code == 404
    await env.api(
        "POST", f"/repository/{repo}/tag/v1/restore", owner, json_body={"manifest_digest": second}, expect=200
    )
    r = await env.client.get(f"/v2/{repo}/manifests/v1", headers=owner.auth)
    assert r.status_code == 200
    assert r.headers["docker-content-digest"] == second


async def test_restore_refusals_change_nothing(env: Env, uid: str) -> None:
    owner, repo, digest = await _setup(env, uid)
    other = await env.push(repo, "v2", owner)
    await env.api("DELETE", f"/repository/{repo}/tag/v1", owner, expect=200)
    before = await _tags(env, repo, owner, onlyActiveTags="false")
    path = f"/repository/{repo}/tag/v1/restore"
    assert_problem(await env.api("POST", path, owner, json_body={}), 400, "manifest_digest")
    assert_problem(await env.api("POST", path, owner, json_body={"manifest_digest": "nope"}), 400)
    # a digest this tag never held (it is v2's)
    assert_problem(await env.api("POST", path, owner, json_body={"manifest_digest": other}), 404, "never")
    unknown = "sha256:" + "0" * 64
    assert_problem(await env.api("POST", path, owner, json_body={"manifest_digest": unknown}), 404)
    assert_problem(
        await env.api(
            "POST", f"/repository/{repo}/tag/never/restore", owner, json_body={"manifest_digest": digest}
        ),
        404,
    )
    assert_problem(
        await env.api(
            "POST", f"/repository/{repo}x/tag/v1/restore", owner, json_body={"manifest_digest": digest}
        ),
        404,
    )
    # outside the window: the organization keeps nothing (0s)
    org = repo.split("/")[0]
    await env.api("PUT", f"/organization/{org}", owner, json_body={"tag_expiration_s": 0}, expect=200)
    body = assert_problem(await env.api("POST", path, owner, json_body={"manifest_digest": digest}), 404)
    assert "window" in body["detail"]
    assert await _tags(env, repo, owner, onlyActiveTags="false") == before
    assert "revert_tag" not in await _kinds(env, repo)


async def test_namespace_window_org_and_user(env: Env, uid: str) -> None:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    r = await env.api("GET", f"/organization/{org}", owner, expect=200)
    assert r.json()["tag_expiration_s"] == env.settings.default_tag_expiration_s == 14 * 86400
    r = await env.api("PUT", f"/organization/{org}", owner, json_body={"tag_expiration_s": 86400}, expect=200)
    assert r.json()["tag_expiration_s"] == 86400
    assert (await env.api("GET", f"/organization/{org}", owner)).json()["tag_expiration_s"] == 86400
    for bad in (100, -1, "1d", None, False, 86400.5):
        r = await env.api("PUT", f"/organization/{org}", owner, json_body={"tag_expiration_s": bad})
        assert_problem(r, 400)
    assert (await env.api("GET", f"/organization/{org}", owner)).json()["tag_expiration_s"] == 86400
    # the user's own namespace
    r = await env.api("GET", "/user/", owner, expect=200)
    assert r.json()["tag_expiration_s"] == 14 * 86400
    r = await env.api("PUT", "/user/", owner, json_body={"tag_expiration_s": 28 * 86400}, expect=200)
    assert r.json()["tag_expiration_s"] == 28 * 86400
    assert_problem(
        await env.api("PUT", "/user/", owner, json_body={"tag_expiration_s": 3 * 86400}), 400, "one of"
    )
    assert (await env.api("GET", "/user/", owner)).json()["tag_expiration_s"] == 28 * 86400
    entries = await env.services.audit.query(AuditQuery(namespace=org))
    assert [
        e.metadata.get("tag_expiration_s") for e in entries if e.kind == "change_tag_expiration_window"
    ] == [86400]


class _Job:
    """A JobContext as the queue gives one (the queue itself is built separately)."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, int | None]] = []

    @property
    def job_id(self) -> int:
        return 1

    @property
    def kind(self) -> str:
        return EXPIRE_JOB

    @property
    def payload(self) -> Mapping[str, Any]:
        return {}

    @property
    def attempt(self) -> int:
        return 1

    async def progress(self, done: int, total: int | None, message: str = "") -> None:
        self.reports.append((done, total))

    def cancel_requested(self) -> bool:
        return False


async def test_retained_rows_follow_the_window(env: Env, uid: str) -> None:
    """registry.sql.retained_tag, the rule garbage collection keeps manifests by: live rows and rows
    ended within the namespace's window (on both databases, without interval arithmetic)."""
    owner, repo, first = await _setup(env, uid)
    second = (await push_image(env.client, repo, "v1", headers=owner.auth, seed="2")).digest
    third = await env.push(repo, "v3", owner)
    when = time.time() + 5
    await env.api("PUT", f"/repository/{repo}/tag/v3", owner, json_body={"expiration": when}, expect=200)
    settings = env.settings

    async def retained() -> set[str]:
        stmt = (
            select(Manifest.digest)
            .select_from(Tag)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .join(Repository, Repository.id == Tag.repository_id)
            .outerjoin(Namespace, Namespace.id == Repository.namespace_id)
            .where(
                Repository.name == repo,
                retained_tag(
                    datetime.now(UTC), settings.default_tag_expiration_s, settings.tag_expiration_choices
                ),
            )
        )
        async with env.services.db.read() as s:
            return set((await s.execute(stmt)).scalars())

    assert await retained() == {first, second, third}
    org = repo.split("/")[0]
    await env.api("PUT", f"/organization/{org}", owner, json_body={"tag_expiration_s": 0}, expect=200)
    assert await retained() == {second, third}  # the moved-away row is outside a 0s window
    await asyncio.sleep(max(0.0, when - time.time()) + 0.3)
    assert await retained() == {second}  # expired (row still open) and outside the window
    await env.api("PUT", f"/organization/{org}", owner, json_body={"tag_expiration_s": 86400}, expect=200)
    assert await retained() == {first, second, third}
