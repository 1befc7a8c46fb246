"""``moorage jobs list|show|cancel|retry|enqueue`` and ``moorage worker``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.support import Cli
from tests.support.servers import moorage_executable

from moorage.cli.common import cli_actor


def test_enqueue_list_show_cancel_retry(cli: Cli) -> None:
    first = cli.json("jobs", "enqueue", "uploads.purge", "--payload", '{"max_age_seconds": 60}')
    assert first["state"] == "queued"
    assert first["payload"] == {"max_age_seconds": 60}
    assert first["attempts"] == 0
    assert first["max_attempts"] == 3
    ids = [first["id"]] + [cli.json("jobs", "enqueue", "uploads.purge")["id"] for _ in range(2)]

    listed = cli.json("jobs", "list")
    assert [j["id"] for j in listed["jobs"]] == ids[::-1]  # newest first
    assert listed["next_before"] is None
    table = cli.ok("jobs", "list").stdout
    assert "uploads.purge" in table
    assert "queued" in table
    assert "0/3" in table

    # pages: --limit and --before
    page = cli.json("jobs", "list", "--limit", "2")
    assert [j["id"] for j in page["jobs"]] == [ids[2], ids[1]]
    assert page["next_before"] == ids[1]
    assert f"--before {ids[1]}" in cli.ok("jobs", "list", "--limit", "2").stdout
    rest = cli.json("jobs", "list", "--limit", "2", "--before", str(page["next_before"]))
    assert [j["id"] for j in rest["jobs"]] == [ids[0]]
    assert rest["next_before"] is None

    cancelled = cli.json("jobs", "cancel", str(ids[0]))
    assert cancelled["state"] == "cancelled"
    assert cancelled["finished"] is not None
    assert "cancelled" in cli.ok("jobs", "cancel", str(ids[1])).stdout
    assert [j["id"] for j in cli.json("jobs", "list", "--state", "cancelled")["jobs"]] == [ids[1], ids[0]]
    queued = cli.json("jobs", "list", "--state", "queued", "--kind", "uploads.purge")["jobs"]
    assert [j["id"] for j in queued] == [ids[2]]
    assert cli.json("jobs", "list", "--kind", "gc.run")["jobs"] == []

    shown = cli.ok("jobs", "show", str(ids[0])).stdout
    assert "cancelled" in shown
    assert '{"max_age_seconds": 60}' in shown
    assert cli.json("jobs", "show", str(ids[0]))["id"] == ids[0]

    again = cli.json("jobs", "retry", str(ids[0]))
    assert again["state"] == "queued"
    assert again["attempts"] == 0
    assert "queued again" in cli.ok("jobs", "retry", str(ids[1])).stdout

    kinds = [e["kind"] for e in cli.json("logs", "--kind", "job_cancel", "--kind", "job_retry")]
    assert kinds == ["job_retry", "job_retry", "job_cancel", "job_cancel"]
    assert cli.json("logs", "--kind", "job_retry")[0]["performer"] == cli_actor().name


def test_refusals_are_clear_and_change_nothing(cli: Cli) -> None:
    job = cli.json("jobs", "enqueue", "uploads.purge")
    assert "there is no job 999999" in cli.fails(1, "jobs", "show", "999999")
    assert "there is no job 999999" in cli.fails(1, "jobs", "cancel", "999999")
    assert "only failed or cancelled jobs can be retried" in cli.fails(1, "jobs", "retry", str(job["id"]))
    assert "unknown job kind 'no.such'" in cli.fails(2, "jobs", "enqueue", "no.such")
    assert "is not JSON" in cli.fails(2, "jobs", "enqueue", "uploads.purge", "--payload", "{nope")
    assert "must be a JSON object" in cli.fails(2, "jobs", "enqueue", "uploads.purge", "--payload", "[1]")
    assert "'sleeping'" in cli.fails(2, "jobs", "list", "--state", "sleeping")
    cli.ok("jobs", "cancel", str(job["id"]))
    assert "already cancelled" in cli.fails(1, "jobs", "cancel", str(job["id"]))
    error = json.loads(cli.run("jobs", "cancel", str(job["id"]), "--json").stderr)["error"]
    assert error["kind"] == "refused"
    assert "already cancelled" in error["message"]
    assert len(cli.json("jobs", "list")["jobs"]) == 1


def test_worker_runs_jobs_and_stops_gracefully_on_sigterm(cli: Cli, tmp_path: Path) -> None:
    stale = cli.data_dir / "storage" / "uploads" / ("f" * 32)
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"abandoned")
    (stale.parent / f"{stale.name}.json").write_text('{"v": 2, "meta": {}, "offset": 9}')
    job = cli.json("jobs", "enqueue", "uploads.purge", "--payload", '{"max_age_seconds": 0}')
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [moorage_executable(), "worker", "--data-dir", str(cli.data_dir), "--concurrency", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": str(Path(sys.executable).parent), "MOORAGE_JOB_POLL_SECONDS": "0.2"},
    )
    try:
        deadline = time.monotonic() + 60
        while (state := cli.json("jobs", "show", str(job["id"]))["state"]) != "done":
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    done = cli.json("jobs", "show", str(job["id"]))
    assert done["result"]["removed"] == 1
    assert not stale.exists()
    output = (tmp_path / "worker.log").read_text()
    assert "2 at once" in output
    assert "job.end" in output
    assert "Stopping" in output
