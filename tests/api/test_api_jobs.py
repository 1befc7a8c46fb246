"""/api/v1/superuser/jobs: list (paginated, filtered), one job, cancel, retry; problem+json refusals
that change nothing; audit entries. SQLite and PostgreSQL (the session's shared database: other
suites' jobs may be there too, so the assertions follow this test's own job ids)."""

from __future__ import annotations

from typing import Any

from tests.api.support import Env, assert_problem, claim_job

from moorage.audit import AuditQuery


async def _walk(env: Env, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every job of a filtered list, following next_page."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = {**params, "limit": 2, **({"next_page": cursor} if cursor else {})}
        body = (await env.api("GET", "/superuser/jobs", env.admin, params=page, expect=200)).json()
        assert len(body["jobs"]) <= 2
        out += body["jobs"]
        cursor = body["next_page"]
        if cursor is None:
            return out


async def test_list_show_cancel_retry(env: Env, uid: str) -> None:
    queue = env.services.jobs.queue
    marker = {"max_age_seconds": 3600, "test": uid}
    ids = [(await queue.enqueue("uploads.purge", marker, delay_seconds=3600)).id for _ in range(3)]

    listed = await _walk(env, {"kind": "uploads.purge", "state": "queued"})
    mine = [j for j in listed if j["payload"] == marker]
    assert [j["id"] for j in mine] == ids[::-1]  # newest first, each once across the pages
    assert len({j["id"] for j in listed}) == len(listed)
    job = mine[0]
    assert job["state"] == "queued"
    assert job["attempts"] == 0
    assert job["max_attempts"] == 3
    assert job["progress"] == {"done": 0, "total": None, "message": "", "percent": None}
    assert job["schedule"] is None

    one = (await env.api("GET", f"/superuser/jobs/{ids[0]}", env.admin, expect=200)).json()
    assert one["id"] == ids[0]
    assert one["payload"] == marker

    cancelled = (await env.api("POST", f"/superuser/jobs/{ids[0]}/cancel", env.admin, expect=200)).json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["finished"] is not None
    assert ids[0] in [j["id"] for j in await _walk(env, {"state": "cancelled"})]
    assert ids[0] not in [j["id"] for j in await _walk(env, {"state": "queued", "kind": "uploads.purge"})]

    again = (await env.api("POST", f"/superuser/jobs/{ids[0]}/retry", env.admin, expect=200)).json()
    assert again["state"] == "queued"
    assert again["finished"] is None

    # the retried job is due at once; claimed, it is running: asked to stop, it ends cancelled when
    # its handler returns
    claimed = await claim_job(queue, f"api-test-{uid}", ids[0], "uploads.purge")
    asked = (await env.api("POST", f"/superuser/jobs/{claimed.id}/cancel", env.admin, expect=200)).json()
    assert asked["state"] == "running"
    assert asked["cancel_requested"] is True
    assert await queue.finish(claimed.id, f"api-test-{uid}", None) == "cancelled"

    entries = await env.services.audit.query(AuditQuery(kinds=("job_cancel", "job_retry"), limit=1000))
    audited = [
        (e.kind, e.metadata.get("state"), e.performer) for e in entries if e.metadata.get("job_id") == ids[0]
    ]
    admin = env.admin.name
    assert audited == [
        ("job_cancel", "running", admin),
        ("job_retry", None, admin),
        ("job_cancel", "cancelled", admin),
    ]


async def test_refusals_are_problems_and_change_nothing(env: Env, uid: str) -> None:
    queue = env.services.jobs.queue
    job = await queue.enqueue("uploads.purge", {"test": uid}, delay_seconds=3600)
    assert_problem(await env.api("GET", "/superuser/jobs/999999999"), 401)
    assert_problem(await env.api("GET", "/superuser/jobs/999999999", env.admin), 404, "no job")
    assert_problem(await env.api("POST", "/superuser/jobs/999999999/cancel", env.admin), 404, "no job")
    assert_problem(await env.api("GET", "/superuser/jobs/0", env.admin), 400)
    assert_problem(await env.api("GET", "/superuser/jobs/abc", env.admin), 400)
    assert_problem(await env.api("GET", "/superuser/jobs", env.admin, params={"state": "sleeping"}), 400)
    assert_problem(await env.api("GET", "/superuser/jobs", env.admin, params={"kind": "Bad Kind!"}), 400)
    assert_problem(await env.api("GET", "/superuser/jobs", env.admin, params={"next_page": "x"}), 400)
    assert_problem(
        await env.api("POST", f"/superuser/jobs/{job.id}/retry", env.admin), 409, "only failed or cancelled"
    )
    stranger = await env.user(uid, "nosy")
    assert_problem(await env.api("POST", f"/superuser/jobs/{job.id}/cancel", stranger), 403)
    unchanged = await queue.get(job.id)
    assert unchanged is not None
    assert unchanged.state == "queued"
    assert unchanged.cancel_requested is False
    await env.api("POST", f"/superuser/jobs/{job.id}/cancel", env.admin, expect=200)
    refused = await env.api("POST", f"/superuser/jobs/{job.id}/cancel", env.admin)
    assert_problem(refused, 409, "already cancelled")
