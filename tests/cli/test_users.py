"""``moorage user ...``."""

from __future__ import annotations

import asyncio

from tests.cli.support import PASSWORD, Cli

from moorage.app import build_services
from moorage.cli.main import app
from moorage.config import load_settings


def test_create_list_show(cli: Cli) -> None:
    created = cli.json("user", "create", "alice", "--password-stdin", "--email", "a@x.test", input=PASSWORD)
    assert created == {
        "username": "alice",
        "superuser": False,
        "enabled": True,
        "email": "a@x.test",
        "locked_until": None,
    }
    cli.user("root", "--superuser")
    users = cli.json("user", "list")
    assert [(u["username"], u["superuser"]) for u in users] == [("alice", False), ("root", True)]
    table = cli.ok("user", "list").stdout
    assert "alice" in table
    assert "root" in table
    assert "locked until" in table

    shown = cli.json("user", "show", "alice")
    assert shown["username"] == "alice"
    assert shown["organizations"] == []
    assert shown["robots"] == []
    assert shown["repositories"] == []
    assert "alice" in cli.ok("user", "show", "alice").stdout


def test_disable_enable_superuser(cli: Cli) -> None:
    cli.user("alice")
    assert cli.json("user", "disable", "alice")["enabled"] is False
    assert cli.json("user", "show", "alice")["enabled"] is False
    assert cli.json("user", "enable", "alice")["enabled"] is True
    assert cli.json("user", "set-superuser", "alice")["superuser"] is True
    # the last superuser cannot be demoted or disabled: the registry would have no administrator
    assert "last enabled superuser" in cli.fails(1, "user", "set-superuser", "alice", "--revoke")
    assert "last enabled superuser" in cli.fails(1, "user", "disable", "alice")
    cli.user("root", "--superuser")
    assert cli.json("user", "set-superuser", "alice", "--revoke")["superuser"] is False
    assert "is now a superuser" in cli.ok("user", "set-superuser", "alice").stdout


def test_passwd(cli: Cli) -> None:
    cli.user("alice")
    out = cli.json("user", "passwd", "alice", "--password-stdin", input="a-new-password\n")
    assert out == {"username": "alice", "password_changed": True}

    async def check() -> tuple[bool, bool]:
        services = build_services(load_settings(None, data_dir=cli.data_dir))
        try:
            new = await services.users.authenticate("alice", "a-new-password")
            old = await services.users.authenticate("alice", PASSWORD)
            return new is not None, old is not None
        finally:
            await services.db.dispose()

    assert asyncio.run(check()) == (True, False)
    assert "at least 8" in cli.fails(2, "user", "passwd", "alice", "--password-stdin", input="short\n")
    assert "no user named 'ghost'" in cli.fails(
        1, "user", "passwd", "ghost", "--password-stdin", input="long-enough\n"
    )


def test_list_shows_locked_accounts(cli: Cli) -> None:
    cli.user("alice")

    async def lock() -> None:
        services = build_services(load_settings(None, data_dir=cli.data_dir))
        try:
            for _ in range(services.throttle.policy.lock_after):
                await services.throttle.failed("alice", None)
        finally:
            await services.db.dispose()

    asyncio.run(lock())
    (alice,) = cli.json("user", "list")
    assert alice["locked_until"] is not None
    assert cli.json("user", "show", "alice")["locked_until"] == alice["locked_until"]
    assert cli.json("user", "unlock", "alice") == {"username": "alice", "unlocked": True}
    assert cli.json("user", "list")[0]["locked_until"] is None


def test_delete(cli: Cli) -> None:
    cli.user("alice")
    cli.fails(1, "user", "delete", "alice", input="n\n")  # declined at the prompt
    assert cli.json("user", "delete", "alice", "--yes") == {"deleted": "alice"}
    assert cli.json("user", "list") == []
    assert "no user named 'alice'" in cli.fails(1, "user", "delete", "alice", "--yes")


def test_errors(cli: Cli) -> None:
    cli.user("alice")
    assert "already taken" in cli.fails(1, "user", "create", "alice", "--password-stdin", input=PASSWORD)
    assert "username must be" in cli.fails(2, "user", "create", "A!", "--password-stdin", input=PASSWORD)
    assert "no user named 'ghost'" in cli.fails(1, "user", "show", "ghost")
    assert "no user named 'ghost'" in cli.fails(1, "user", "disable", "ghost")


def test_every_command_explains_itself(cli: Cli) -> None:
    groups = {
        "user": [
            "create",
            "list",
            "show",
            "disable",
            "enable",
            "set-superuser",
            "passwd",
            "unlock",
            "delete",
        ],
        "org": ["create", "list", "show", "delete"],
        "team": ["create", "set-role", "list", "delete", "add-member", "remove-member", "members"],
        "robot": ["create", "list", "token", "regenerate", "delete", "permissions"],
        "repo": ["create", "list", "show", "visibility", "delete", "tags"],
        "permission": ["list", "set", "remove"],
        "prototype": ["list", "add", "remove"],
    }
    for group, commands in groups.items():
        for command in commands:
            result = cli.runner.invoke(app, [group, command, "--help"])
            assert result.exit_code == 0, (group, command, result.output)
            assert "--json" in result.output, (group, command)
            assert "--data-dir" in result.output, (group, command)
    result = cli.runner.invoke(app, ["logs", "--help"])
    assert "--jsonl" in result.output
    assert "--repository" in result.output
