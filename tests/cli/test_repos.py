"""``moorage repo ...``."""

from __future__ import annotations

from tests.cli.support import Cli, push_image


def test_create_list_show(org: Cli) -> None:
    repo = org.json("repo", "create", "acme/app", "--public", "--description", "The app")
    assert repo["name"] == "acme/app"
    assert repo["visibility"] == "public"
    assert repo["description"] == "The app"
    assert repo["tag_count"] == 0
    org.ok("repo", "create", "alice/tool")
    assert [r["name"] for r in org.json("repo", "list")] == ["acme/app", "alice/tool"]
    assert [r["name"] for r in org.json("repo", "list", "--namespace", "alice")] == ["alice/tool"]
    assert [r["name"] for r in org.json("repo", "list", "--public")] == ["acme/app"]
    assert "alice/tool" in org.ok("repo", "list").stdout

    shown = org.json("repo", "show", "acme/app")
    assert shown["visibility"] == "public"
    assert shown["permissions"] == []
    assert "The app" in org.ok("repo", "show", "acme/app").stdout


def test_creator_rules_follow_default_permissions(org: Cli) -> None:
    org.ok("prototype", "add", "acme", "--user", "bob", "--role", "read")
    org.ok("repo", "create", "acme/app")
    assert org.json("repo", "show", "acme/app")["permissions"] == [
        {"kind": "user", "name": "bob", "role": "read"}
    ]


def test_visibility_and_delete(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    assert org.json("repo", "visibility", "acme/app", "public") == {
        "name": "acme/app",
        "visibility": "public",
    }
    assert org.json("repo", "show", "acme/app")["visibility"] == "public"
    assert "is now private" in org.ok("repo", "visibility", "acme/app", "private").stdout
    assert "'public' or 'private'" in org.fails(2, "repo", "visibility", "acme/app", "open")
    assert "no repository named 'acme/nope'" in org.fails(1, "repo", "visibility", "acme/nope", "public")
    org.fails(1, "repo", "delete", "acme/app", input="n\n")
    assert org.json("repo", "delete", "acme/app", "--yes") == {"deleted": "acme/app"}
    assert org.json("repo", "list") == []


def test_tags_and_history(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    assert org.json("repo", "tags", "acme/app") == []
    first = push_image(org.data_dir, "acme/app", "latest", b"one")
    push_image(org.data_dir, "acme/app", "v1", b"one")
    second = push_image(org.data_dir, "acme/app", "latest", b"two")
    tags = org.json("repo", "tags", "acme/app")
    assert [(t["name"], t["digest"], t["end"]) for t in tags] == [
        ("latest", second, None),
        ("v1", first, None),
    ]
    assert tags[0]["size"] > 0
    table = org.ok("repo", "tags", "acme/app").stdout
    assert "latest" in table
    assert second[:19] in table

    history = org.json("repo", "tags", "acme/app", "--history")
    assert [(t["name"], t["digest"], t["end"] is None) for t in history] == [
        ("latest", second, True),
        ("v1", first, True),
        ("latest", first, False),
    ]
    assert len(org.json("repo", "tags", "acme/app", "--history", "--limit", "2")) == 2
    assert "until" in org.ok("repo", "tags", "acme/app", "--history").stdout


def test_repo_errors(org: Cli) -> None:
    assert "no user or organization named 'nope'" in org.fails(1, "repo", "create", "nope/app")
    assert "invalid repository name" in org.fails(2, "repo", "create", "acme/App!")
    assert "start with a namespace" in org.fails(2, "repo", "create", "app")
    org.ok("repo", "create", "acme/app")
    assert "already exists" in org.fails(1, "repo", "create", "acme/app")
    assert "no repository named 'acme/nope'" in org.fails(1, "repo", "show", "acme/nope")
    assert "no repository named 'acme/nope'" in org.fails(1, "repo", "tags", "acme/nope")
    assert "no repository named 'acme/nope'" in org.fails(1, "repo", "delete", "acme/nope", "--yes")
