"""``moorage logs``, and the whole administration flow end to end."""

from __future__ import annotations

import json

from tests.cli.support import Cli

from moorage.cli.common import cli_actor


def test_flow_org_robot_repo_permission_logs(cli: Cli) -> None:
    cli.user("alice")
    cli.ok("org", "create", "acme", "--owner", "alice")
    token = cli.json("robot", "create", "acme", "ci")["token"]
    assert len(token) == 64
    cli.ok("repo", "create", "acme/app")
    cli.ok("permission", "set", "acme/app", "--robot", "acme+ci", "--role", "read")

    assert {"kind": "robot", "name": "acme+ci", "role": "read"} in cli.json("permission", "list", "acme/app")
    table = cli.ok("permission", "list", "acme/app").stdout
    assert "acme+ci" in table
    assert "read" in table

    entries = cli.json("logs", "--repository", "acme/app")
    assert [e["kind"] for e in entries] == ["change_repo_permission", "create_repo"]
    change = entries[0]
    assert change["performer"] == cli_actor().name
    assert change["performer_kind"] == "system"
    assert change["performer"].startswith("cli:")
    assert change["metadata"] == {"delegate": "acme+ci", "delegate_kind": "robot", "role": "read"}
    table = cli.ok("logs", "--repository", "acme/app").stdout
    assert "change_repo_permission" in table
    assert "create_repo" in table


def test_filters(cli: Cli) -> None:
    cli.user("alice")
    cli.ok("org", "create", "acme", "--owner", "alice")
    cli.ok("robot", "create", "acme", "ci")
    cli.ok("repo", "create", "acme/app")
    cli.ok("repo", "create", "alice/tool")

    kinds = [e["kind"] for e in cli.json("logs", "--namespace", "acme")]
    assert kinds == ["create_repo", "create_robot", "org_create"]
    assert [e["repository"] for e in cli.json("logs", "--kind", "create_repo")] == ["alice/tool", "acme/app"]
    both = cli.json("logs", "--kind", "create_repo", "--kind", "create_robot")
    assert len(both) == 3
    assert len(cli.json("logs", "--limit", "2")) == 2
    assert cli.json("logs", "--performer", "nobody") == []
    assert len(cli.json("logs", "--performer", str(cli_actor().name), "--kind", "create_repo")) == 2
    assert cli.json("logs", "--since", "2999-01-01") == []
    assert len(cli.json("logs", "--until", "2999-01-01T00:00:00Z", "--kind", "create_repo")) == 2
    assert "ISO 8601" in cli.fails(2, "logs", "--since", "yesterday")


def test_jsonl_export(cli: Cli) -> None:
    cli.user("alice")
    for n in range(3):
        cli.ok("repo", "create", f"alice/r{n}")
    lines = cli.ok("logs", "--jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["repository"] for r in records if r["kind"] == "create_repo"] == [
        "alice/r2",
        "alice/r1",
        "alice/r0",
    ]
    assert records[0]["id"] > records[-1]["id"]
    assert len(cli.ok("logs", "--jsonl", "--limit", "2").stdout.splitlines()) == 2
    only = cli.ok("logs", "--jsonl", "--repository", "alice/r1").stdout.splitlines()
    assert [json.loads(line)["kind"] for line in only] == ["create_repo"]
