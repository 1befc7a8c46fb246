"""``moorage permission ...`` and ``moorage prototype ...``."""

from __future__ import annotations

import uuid

from tests.cli.support import Cli


def test_grants(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    org.ok("team", "create", "acme", "devs")
    org.ok("robot", "create", "acme", "ci")
    assert org.json("permission", "set", "acme/app", "--user", "bob", "--role", "write") == {
        "repository": "acme/app",
        "kind": "user",
        "name": "bob",
        "role": "write",
    }
    org.ok("permission", "set", "acme/app", "--team", "devs", "--role", "admin")
    org.ok("permission", "set", "acme/app", "--robot", "acme+ci", "--role", "read")
    org.ok("permission", "set", "acme/app", "--user", "bob", "--role", "read")  # change
    assert org.json("permission", "list", "acme/app") == [
        {"kind": "robot", "name": "acme+ci", "role": "read"},
        {"kind": "team", "name": "devs", "role": "admin"},
        {"kind": "user", "name": "bob", "role": "read"},
    ]
    assert "acme+ci" in org.ok("permission", "list", "acme/app").stdout
    assert org.json("permission", "remove", "acme/app", "--team", "devs")["removed"] is True
    assert [g["name"] for g in org.json("permission", "list", "acme/app")] == ["acme+ci", "bob"]


def test_grant_errors(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    org.ok("repo", "create", "alice/tool")
    org.ok("robot", "create", "alice", "bot")
    assert "exactly one of" in org.fails(2, "permission", "set", "acme/app", "--role", "read")
    assert "exactly one of" in org.fails(
        2, "permission", "set", "acme/app", "--user", "bob", "--team", "x", "--role", "read"
    )
    assert "Invalid value for '--role'" in org.fails(
        2, "permission", "set", "acme/app", "--user", "bob", "--role", "owner"
    )
    assert "no repository named 'acme/nope'" in org.fails(
        1, "permission", "set", "acme/nope", "--user", "bob", "--role", "read"
    )
    assert "no user named 'ghost'" in org.fails(
        1, "permission", "set", "acme/app", "--user", "ghost", "--role", "read"
    )
    assert "teams exist only in organizations" in org.fails(
        2, "permission", "set", "alice/tool", "--team", "devs", "--role", "read"
    )
    assert "own namespace" in org.fails(
        2, "permission", "set", "acme/app", "--robot", "alice+bot", "--role", "read"
    )
    assert "has no permission" in org.fails(1, "permission", "remove", "acme/app", "--user", "bob")
    assert "no repository named 'acme/nope'" in org.fails(1, "permission", "list", "acme/nope")


def test_prototypes(org: Cli) -> None:
    org.ok("team", "create", "acme", "devs")
    org.ok("robot", "create", "acme", "ci")
    added = org.json("prototype", "add", "acme", "--robot", "acme+ci", "--role", "write")
    assert added["delegate"] == "acme+ci"
    assert added["role"] == "write"
    assert added["activating_user"] is None
    scoped = org.json("prototype", "add", "acme", "--team", "devs", "--role", "read", "--creator", "bob")
    assert scoped["activating_user"] == "bob"
    listed = org.json("prototype", "list", "acme")
    assert [(d["delegate_kind"], d["delegate"], d["role"]) for d in listed] == [
        ("robot", "acme+ci", "write"),
        ("team", "devs", "read"),
    ]
    table = org.ok("prototype", "list", "acme").stdout
    assert "anyone" in table
    assert "bob" in table

    org.ok("repo", "create", "acme/app")  # created by the CLI, not by bob: only the unscoped default
    assert org.json("permission", "list", "acme/app") == [
        {"kind": "robot", "name": "acme+ci", "role": "write"}
    ]

    assert str(uuid.UUID(added["id"])) == added["id"]  # the id the API shows too (Quay's uuid)
    assert org.json("prototype", "remove", "acme", added["id"]) == {
        "organization": "acme",
        "deleted": added["id"],
    }
    assert [d["id"] for d in org.json("prototype", "list", "acme")] == [scoped["id"]]
    assert "no such default permission" in org.fails(1, "prototype", "remove", "acme", "999")
    assert "no team named 'ghost'" in org.fails(
        1, "prototype", "add", "acme", "--team", "ghost", "--role", "read"
    )
