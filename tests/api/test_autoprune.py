"""Auto-prune selection and runs on SQLite and PostgreSQL: keep the newest N, remove by age with a
pattern that matches or does not match, skip immutable tags, apply namespace, repository and
registry-default policies together, keep pruned tags in the history, write audit entries; and the
``autoprune.run`` job handler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from tests.api.support import Env, User
from tests.protocol.helpers import push_image

from moorage.audit import AuditQuery
from moorage.db.models import Repository, Tag
from moorage.domain.pruning import PruneRule
from moorage.registry.autoprune import AutoPruner
from moorage.workers.autoprune import KIND, autoprune_handler


async def _repo_with_tags(env: Env, uid: str, *tags: str) -> tuple[str, str, User]:
    owner = await env.user(uid, "own")
    org = (await env.org(uid, owner)).name
    repo = f"{org}/app"
    for t in tags:  # pushed one after the other: later tags are newer
        await push_image(env.client, repo, t, headers=owner.auth, seed=t)
    return org, repo, owner


async def _age(env: Env, repo: str, tag: str, days: int) -> None:
    """Make a tag look as if it was pushed ``days`` ago (its current row started then)."""
    async with env.services.db.write() as s:
        repo_id = (await s.execute(Repository.__table__.select().where(Repository.name == repo))).first()
        assert repo_id is not None
        await s.execute(
            update(Tag)
            .where(Tag.repository_id == repo_id.id, Tag.name == tag, Tag.lifetime_end.is_(None))
            .values(lifetime_start=datetime.now(UTC) - timedelta(days=days))
        )


async def _live(env: Env, repo: str, who: User) -> set[str]:
    r = await env.api("GET", f"/repository/{repo}/tag/", who, expect=200)
    return {t["name"] for t in r.json()["tags"]}


async def test_keep_newest_n_previews_then_prunes_into_history(env: Env, uid: str) -> None:
    _, repo, owner = await _repo_with_tags(env, uid, "t1", "t2", "t3", "t4", "t5")
    r = await env.api(
        "POST",
        f"/repository/{repo}/autoprunepolicy/",
        owner,
        json_body={"method": "number_of_tags", "value": 2},
    )
    policy = r.json()["uuid"]
    r = await env.api("GET", f"/repository/{repo}/autoprunepolicy/{policy}/preview", owner, expect=200)
    assert [t["name"] for t in r.json()["tags"]] == ["t1", "t2", "t3"]
    assert all(policy in t["policy"] for t in r.json()["tags"])
    assert await _live(env, repo, owner) == {"t1", "t2", "t3", "t4", "t5"}  # a preview changes nothing
    assert [c.tag for c in await env.services.autoprune.preview_repository(repo)] == ["t1", "t2", "t3"]
    pruned = await env.services.autoprune.prune_repository(repo)
    assert sorted(c.tag for c in pruned) == ["t1", "t2", "t3"]
    assert await _live(env, repo, owner) == {"t4", "t5"}
    # the pruned tags are in the history (restorable like deleted tags)
    r = await env.api(
        "GET", f"/repository/{repo}/tag/", owner, params={"onlyActiveTags": "false"}, expect=200
    )
    ended = {t["name"] for t in r.json()["tags"] if t["end_ts"] is not None}
    assert ended == {"t1", "t2", "t3"}
    entries = await env.services.audit.query(AuditQuery(repository=repo, kinds=("autoprune_tag_delete",)))
    assert sorted(e.metadata["tag"] for e in entries) == ["t1", "t2", "t3"]
    assert all(policy in e.metadata["policy"] for e in entries)
    # a second run finds nothing more (idempotent)
    assert await env.services.autoprune.prune_repository(repo) == []


async def test_creation_date_with_pattern_matching_and_not_matching(env: Env, uid: str) -> None:
    org, repo, owner = await _repo_with_tags(env, uid, "dev-1", "dev-2", "rel-1", "rel-2")
    for t in ("dev-1", "rel-1"):
        await _age(env, repo, t, 30)
    await _age(env, repo, "dev-2", 3)
    base = f"/organization/{org}/autoprunepolicy/"
    old_dev = {"method": "creation_date", "value": "1w", "tagPattern": "^dev-", "tagPatternMatches": True}
    uuid = (await env.api("POST", base, owner, json_body=old_dev, expect=201)).json()["uuid"]
    r = await env.api("GET", f"{base}{uuid}/preview", owner, expect=200)
    assert [(t["repository"], t["name"]) for t in r.json()["tags"]] == [(repo, "dev-1")]
    # the same policy for the tags NOT matching ^dev-
    await env.api(
        "PUT", f"{base}{uuid}", owner, json_body={**old_dev, "tagPatternMatches": False}, expect=204
    )
    r = await env.api("GET", f"{base}{uuid}/preview", owner, expect=200)
    assert [t["name"] for t in r.json()["tags"]] == ["rel-1"]
    result = await env.services.autoprune.run(org)
    assert (result.repositories, result.pruned) == (1, 1)
    assert await _live(env, repo, owner) == {"dev-1", "dev-2", "rel-2"}


async def test_immutable_tags_are_skipped_and_policies_combine(env: Env, uid: str) -> None:
    org, repo, owner = await _repo_with_tags(env, uid, "a", "b", "c", "v1", "v2")
    for t in ("a", "b", "c", "v1", "v2"):
        await _age(env, repo, t, 60)
    await env.api(
        "POST", f"/repository/{repo}/immutabilitypolicy/", owner, json_body={"tagPattern": "^v1$"}, expect=201
    )
    await env.services.policies.set_tag_immutable(repo, "a", True, None)
    # repository: tags older than 30 days; namespace: keep 1 of ^v; the registry default keeps 10
    await env.api(
        "POST",
        f"/repository/{repo}/autoprunepolicy/",
        owner,
        json_body={"method": "creation_date", "value": "30d", "tagPattern": "^[a-c]$"},
        expect=201,
    )
    await env.api(
        "POST",
        f"/organization/{org}/autoprunepolicy/",
        owner,
        json_body={"method": "number_of_tags", "value": 1, "tagPattern": "^v"},
        expect=201,
    )
    pruner = AutoPruner(
        env.services.db,
        env.services.repositories,
        env.services.audit,
        [PruneRule("registry default #1", "number_of_tags", "10")],
    )
    preview = await pruner.preview_repository(repo)
    # the ^v policy keeps v2 (aged last, so the newest) and would remove v1, but a rule protects it;
    # the age policy selects a, b and c, but a is marked immutable; the default keeps 10 of 5
    assert sorted(c.tag for c in preview) == ["b", "c"]
    assert {c.tag: c.policy for c in preview}["b"].startswith("auto-prune policy")
    pruned = await pruner.prune_repository(repo)
    assert sorted(c.tag for c in pruned) == ["b", "c"]
    assert await _live(env, repo, owner) == {"a", "v1", "v2"}


async def test_registry_default_alone_applies_to_every_repository(env: Env, uid: str) -> None:
    org, repo, owner = await _repo_with_tags(env, uid, "x1", "x2", "x3")
    pruner = AutoPruner(
        env.services.db,
        env.services.repositories,
        env.services.audit,
        [PruneRule("registry default #1", "number_of_tags", "1", "^x", True)],
    )
    result = await pruner.run(org)
    assert (result.repositories, result.pruned) == (1, 2)
    assert await _live(env, repo, owner) == {"x3"}


@dataclass
class _Context:
    """What the queue hands a handler (moorage.jobs.types.JobContext), recorded for the test."""

    payload: Mapping[str, Any]
    job_id: int = 1
    kind: str = KIND
    attempt: int = 1
    reports: list[tuple[int, int | None, str]] = field(default_factory=list)

    async def progress(self, done: int, total: int | None, message: str = "") -> None:
        self.reports.append((done, total, message))

    def cancel_requested(self) -> bool:
        return False


async def test_job_handler_prunes_one_namespace(env: Env, uid: str) -> None:
    org, repo, owner = await _repo_with_tags(env, uid, "j1", "j2", "j3")
    await env.api(
        "POST",
        f"/organization/{org}/autoprunepolicy/",
        owner,
        json_body={"method": "number_of_tags", "value": 1},
        expect=201,
    )
    handler = autoprune_handler(env.services.autoprune)
    ctx = _Context({"namespace": org})
    result = await handler(ctx)
    assert result == {"repositories": 1, "pruned": 2, "cancelled": False}
    assert ctx.reports == [(1, 1, f"{repo}: 2 tags pruned so far")]
    assert await _live(env, repo, owner) == {"j3"}
    assert await handler(_Context({"namespace": org})) == {"repositories": 1, "pruned": 0, "cancelled": False}
