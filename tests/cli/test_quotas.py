"""``moorage quota show|set|clear|verify``."""

from __future__ import annotations

import json
import sqlite3

from tests.cli.support import Cli, push_image


def test_quota_set_show_clear(org: Cli) -> None:
    push_image(org.data_dir, "acme/app", "1", b"x" * 1000)
    shown = org.json("quota", "show", "acme")
    assert shown["usage_bytes"] == 1002  # the layer and the "{}" config
    assert shown["limit_bytes"] is None
    assert shown["quotas"] == []
    created = org.json("quota", "set", "acme", "1.5KB", "--warning", "50")
    assert created["limit_bytes"] == 1500
    assert sorted((x["type"], x["limit_percent"]) for x in created["limits"]) == [
        ("Reject", 100),
        ("Warning", 50),
    ]
    shown = org.json("quota", "show", "acme")
    assert (shown["limit_bytes"], shown["reject_bytes"], shown["warning_bytes"]) == (1500, 1500, [750])
    assert shown["state"] == "warning"
    assert "1 KB of 1.5 KB used (67%)" in org.ok("quota", "show", "acme").stdout
    # setting again changes it in place (one quota per namespace)
    changed = org.json("quota", "set", "acme", "1000", "--no-reject")
    assert changed["id"] == created["id"]
    assert changed["limits"] == []
    assert org.json("quota", "clear", "acme") == {"cleared": "acme"}
    assert "has no quota of its own" in org.fails(1, "quota", "clear", "acme")
    # every change is audited
    kinds = [e["kind"] for e in org.json("logs", "--namespace", "acme")]
    assert kinds.count("org_change_quota") == 2
    assert kinds.count("org_delete_quota") == 1


def test_quota_bad_input_is_a_readable_error(org: Cli) -> None:
    assert "no user or organization named 'nope'" in org.fails(1, "quota", "show", "nope")
    assert "not a size" in org.fails(2, "quota", "set", "acme", "lots")
    assert "positive" in org.fails(2, "quota", "set", "acme", "0")
    assert "may not exceed" in org.fails(2, "quota", "set", "acme", "100PB")
    assert "1 to 100" in org.fails(2, "quota", "set", "acme", "1GB", "--reject", "101")
    assert "1 to 100" in org.fails(2, "quota", "set", "acme", "1GB", "--warning", "0")
    assert org.json("quota", "show", "acme")["quotas"] == []


def test_verify_reports_injected_drift_and_fix_repairs_it(org: Cli) -> None:
    push_image(org.data_dir, "acme/app", "1", b"y" * 4000)
    push_image(org.data_dir, "alice/own", "1", b"z" * 10)
    assert "match" in org.ok("quota", "verify").stdout
    with sqlite3.connect(org.data_dir / "moorage.db") as db:
        db.execute(
            "UPDATE namespace_usage SET bytes = bytes + 777 "
            "WHERE namespace_id = (SELECT id FROM namespace WHERE name = 'acme')"
        )
        db.execute(
            "DELETE FROM namespace_blob WHERE namespace_id = (SELECT id FROM namespace WHERE name = 'alice') "
            "AND size = 10"
        )
    result = org.run("quota", "verify", "--json")
    assert result.exit_code == 1, result.output
    drift = {d["namespace"]: d for d in json.loads(result.stdout)["drift"]}
    assert set(drift) == {"acme", "alice"}
    assert drift["acme"]["stored_bytes"] - drift["acme"]["actual_bytes"] == 777
    assert drift["alice"]["stored_blobs"] == drift["alice"]["actual_blobs"] - 1
    table = org.run("quota", "verify").stdout
    assert "acme" in table
    assert "2 namespace(s) drifted" in table
    fixed = org.json("quota", "verify", "--fix")
    assert {d["namespace"] for d in fixed["drift"]} == {"acme", "alice"}
    assert "match" in org.ok("quota", "verify").stdout
    assert org.json("quota", "show", "acme")["usage_bytes"] == 4002
