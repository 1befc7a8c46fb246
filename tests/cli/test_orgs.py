"""``moorage org ...`` and ``moorage team ...``."""

from __future__ import annotations

from tests.cli.support import Cli


def test_org_create_list_show(org: Cli) -> None:
    orgs = org.json("org", "list")
    assert [(o["name"], o["email"], o["teams"]) for o in orgs] == [("acme", "ops@acme.test", 1)]
    org.ok("robot", "create", "acme", "ci")
    shown = org.json("org", "show", "acme")
    assert shown["name"] == "acme"
    assert shown["teams"] == [
        {
            "name": "owners",
            "role": "admin",
            "description": "Administrators",
            "member_count": 1,
            "members": [{"kind": "user", "name": "alice"}],
        }
    ]
    assert [r["name"] for r in shown["robots"]] == ["acme+ci"]
    table = org.ok("org", "show", "acme").stdout
    assert "owners" in table
    assert "alice" in table
    assert "acme+ci" in table
    assert org.json("user", "show", "alice")["organizations"] == ["acme"]


def test_org_create_json_and_errors(org: Cli) -> None:
    created = org.json("org", "create", "beta", "--owner", "bob")
    assert created["name"] == "beta"
    assert created["owners"] == ["bob"]
    assert "no user named 'ghost'" in org.fails(1, "org", "create", "gamma", "--owner", "ghost")
    assert "already taken" in org.fails(1, "org", "create", "alice", "--owner", "bob")
    assert "organization name must be" in org.fails(2, "org", "create", "X", "--owner", "bob")
    org.fails(2, "org", "create", "delta")  # --owner is required (usage error)


def test_unknown_org_is_a_readable_error(cli: Cli) -> None:
    for args in (
        ("org", "show", "nope"),
        ("org", "delete", "nope", "--yes"),
        ("team", "list", "nope"),
        ("team", "create", "nope", "devs"),
        ("prototype", "list", "nope"),
    ):
        assert "no organization named 'nope'" in cli.fails(1, *args), args


def test_org_delete(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    org.fails(1, "org", "delete", "acme", input="n\n")
    assert org.json("org", "list") != []
    assert org.json("org", "delete", "acme", "--yes") == {"deleted": "acme"}
    assert org.json("org", "list") == []
    assert org.json("repo", "list") == []


def test_teams(org: Cli) -> None:
    team = org.json("team", "create", "acme", "devs", "--role", "creator", "--description", "Developers")
    assert team == {"name": "devs", "role": "creator", "description": "Developers", "member_count": 0}
    assert "already exists" in org.fails(1, "team", "create", "acme", "devs")
    changed = org.json("team", "set-role", "acme", "devs", "--role", "admin")
    assert changed["role"] == "admin"
    assert changed["description"] == "Developers"
    assert [t["name"] for t in org.json("team", "list", "acme")] == ["devs", "owners"]
    assert "devs" in org.ok("team", "list", "acme").stdout

    org.ok("robot", "create", "acme", "ci")
    assert org.json("team", "add-member", "acme", "devs", "bob") == {
        "team": "devs",
        "kind": "user",
        "name": "bob",
    }
    org.ok("team", "add-member", "acme", "devs", "acme+ci")
    members = org.json("team", "members", "acme", "devs")
    assert members == [{"kind": "user", "name": "bob"}, {"kind": "robot", "name": "acme+ci"}]
    assert "acme+ci" in org.ok("team", "members", "acme", "devs").stdout
    org.ok("team", "remove-member", "acme", "devs", "bob")
    assert org.json("team", "members", "acme", "devs") == [{"kind": "robot", "name": "acme+ci"}]
    assert org.json("team", "delete", "acme", "devs") == {"deleted": "acme/devs"}
    assert [t["name"] for t in org.json("team", "list", "acme")] == ["owners"]


def test_team_errors(org: Cli) -> None:
    assert "Invalid value for '--role'" in org.fails(2, "team", "create", "acme", "devs", "--role", "boss")
    assert "team names are" in org.fails(2, "team", "create", "acme", "Devs")
    assert "no team 'devs'" in org.fails(1, "team", "set-role", "acme", "devs", "--role", "member")
    assert "must keep the admin role" in org.fails(
        1, "team", "set-role", "acme", "owners", "--role", "member"
    )
    assert "cannot be deleted" in org.fails(1, "team", "delete", "acme", "owners")
    assert "last member" in org.fails(1, "team", "remove-member", "acme", "owners", "alice")
    assert "no user named 'ghost'" in org.fails(1, "team", "add-member", "acme", "owners", "ghost")
    org.ok("robot", "create", "alice", "mine")
    assert "own robot accounts" in org.fails(2, "team", "add-member", "acme", "owners", "alice+mine")
