"""``moorage gc``: the table of what would be freed, the run, and refused input (in-process)."""

from __future__ import annotations

from tests.cli.support import Cli, push_image


def test_dry_run_table_then_run(cli: Cli) -> None:
    cli.user("alice")
    push_image(cli.data_dir, "alice/app", "v1", payload=b"a layer that will be dropped")
    # an image pushed and never tagged would be kept for the grace window ...
    out = cli.ok("gc", "--dry-run").stdout
    assert "Would delete 0 manifest(s) and 0 blob(s)" in out
    # ... and it is live here anyway (tag v1): nothing to free even without grace
    plan = cli.json("gc", "--dry-run", "--grace", "0s")
    assert plan["dry_run"] is True
    assert plan["manifests"] == 0
    assert plan["blobs"] == 0
    report = cli.json("gc", "--grace", "0s")
    assert report["dry_run"] is False
    assert report["blobs"] == 0
    entries = cli.json("logs", "--kind", "gc_run")
    assert len(entries) == 1
    assert entries[0]["metadata"]["grace_seconds"] == 0


def test_bad_grace_changes_nothing(cli: Cli) -> None:
    cli.user("alice")
    err = cli.fails(2, "gc", "--grace", "tomorrow")
    assert "--grace" in err
    assert "not a duration" in err
    assert cli.json("logs", "--kind", "gc_run") == []
