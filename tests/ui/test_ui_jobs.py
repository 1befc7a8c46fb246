"""The superuser panel's Jobs tab, in-process (forms with CSRF, no JavaScript), SQLite and PostgreSQL."""

from __future__ import annotations

from tests.api.support import Env, claim_job
from tests.ui.conftest import BrowserFactory
from tests.ui.support import text_of


async def test_jobs_page_lists_filters_cancels_and_retries(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    queue = env.services.jobs.queue
    queued = await queue.enqueue("uploads.purge", {"test": uid}, delay_seconds=3600)
    running = await queue.enqueue("uploads.purge", {"test": uid, "n": 2})
    await claim_job(queue, f"ui-{uid}", running.id, "uploads.purge")
    await queue.progress(running.id, f"ui-{uid}", 3, 4, "three of four", 60)
    b = await browser(env.admin)

    page = await b.get("/superuser/jobs")
    assert 'href="/superuser/jobs" aria-current="page"' in page.text  # the admin tab
    text = text_of(page.text)
    assert f"#{queued.id}" in text
    assert f"#{running.id}" in text
    assert "three of four" in text
    assert f'<progress max="100" value="75" aria-label="Job {running.id} progress">' in page.text

    filtered = await b.get("/superuser/jobs?state=running&kind=uploads.purge")
    assert f"#{running.id}" in text_of(filtered.text)
    assert f"#{queued.id}" not in text_of(filtered.text)
    bad = await b.get("/superuser/jobs?state=sleeping", expect=400)
    assert "There is no job state 'sleeping'" in text_of(bad.text)
    await b.get("/superuser/jobs/nope", expect=404)
    await b.get("/superuser/jobs/999999999", expect=404)

    # cancel a queued job: cancelled at once
    detail = await b.get(f"/superuser/jobs/{queued.id}")
    assert "Cancel" in text_of(detail.text)
    r = await b.post(f"/superuser/jobs/{queued.id}/cancel", expect=303)
    shown = await b.follow(r)
    assert f"Job {queued.id} cancelled." in text_of(shown.text)
    after = await queue.get(queued.id)
    assert after is not None
    assert after.state == "cancelled"
    # cancelling again: a readable refusal, nothing changes
    refused = await b.post(f"/superuser/jobs/{queued.id}/cancel", expect=409)
    assert "is already cancelled" in text_of(refused.text)

    # cancel a running job: it is asked to stop
    await b.get(f"/superuser/jobs/{running.id}")
    r = await b.post(f"/superuser/jobs/{running.id}/cancel", expect=303)
    assert "asked to stop" in text_of((await b.follow(r)).text)
    assert await queue.finish(running.id, f"ui-{uid}", None) == "cancelled"

    # retry the cancelled one
    await b.get(f"/superuser/jobs/{queued.id}")
    r = await b.post(f"/superuser/jobs/{queued.id}/retry", expect=303)
    assert f"Job {queued.id} queued again." in text_of((await b.follow(r)).text)
    again = await queue.get(queued.id)
    assert again is not None
    assert again.state == "queued"
