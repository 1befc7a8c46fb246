"""``moorage robot ...``."""

from __future__ import annotations

import pytest
from tests.cli.support import Cli

from moorage.cli.common import record_base_url
from moorage.config import load_settings


def test_create_prints_token_and_login_line(org: Cli) -> None:
    out = org.ok("robot", "create", "acme", "ci", "--description", "CI").stdout
    lines = out.splitlines()
    token = lines[lines.index("Token (store it now; `moorage robot token` reveals it again):") + 1]
    assert len(token) == 64
    assert f"docker login -u='acme+ci' -p='{token}' 127.0.0.1:5000" in lines
    # podman needs the flag on a plain-HTTP registry (docker trusts loopback addresses)
    assert f"podman login --tls-verify=false -u='acme+ci' -p='{token}' 127.0.0.1:5000" in lines

    revealed = org.json("robot", "token", "acme", "ci")
    assert revealed["token"] == token
    assert revealed["docker_login"] == f"docker login -u='acme+ci' -p='{token}' 127.0.0.1:5000"
    shown = org.ok("robot", "token", "acme", "ci")
    assert shown.stdout == token + "\n"  # the token alone: TOKEN=$(moorage robot token acme+ci)
    assert f"docker login -u='acme+ci' -p='{token}' 127.0.0.1:5000" in shown.stderr


def test_create_json_expiry_list(org: Cli) -> None:
    robot = org.json("robot", "create", "acme", "deploy", "--expires", "2999-01-01")
    assert robot["name"] == "acme+deploy"
    assert len(robot["token"]) == 64
    assert robot["expires_at"].startswith("2999-01-01T00:00:00")
    assert robot["docker_login"].endswith(" 127.0.0.1:5000")
    org.ok("robot", "create", "acme", "ci")
    listed = org.json("robot", "list", "acme")
    assert [r["name"] for r in listed] == ["acme+ci", "acme+deploy"]
    assert all("token" not in r for r in listed)
    assert "acme+deploy" in org.ok("robot", "list", "acme").stdout


def test_login_line_uses_public_url(org: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOORAGE_PUBLIC_URL", "https://registry.acme.test")
    robot = org.json("robot", "create", "acme", "ci")
    assert robot["docker_login"] == f"docker login -u='acme+ci' -p='{robot['token']}' registry.acme.test"
    assert robot["podman_login"] == f"podman login -u='acme+ci' -p='{robot['token']}' registry.acme.test"


def test_regenerate_delete_permissions(org: Cli) -> None:
    first = org.json("robot", "create", "acme", "ci")["token"]
    second = org.json("robot", "regenerate", "acme", "ci")["token"]
    assert second != first
    assert org.json("robot", "token", "acme", "ci")["token"] == second
    assert org.json("robot", "permissions", "acme", "ci") == []
    org.ok("repo", "create", "acme/app")
    org.ok("permission", "set", "acme/app", "--robot", "acme+ci", "--role", "write")
    assert org.json("robot", "permissions", "acme", "ci") == [{"repository": "acme/app", "role": "write"}]
    assert "acme/app" in org.ok("robot", "permissions", "acme", "ci").stdout
    assert org.json("robot", "delete", "acme", "ci") == {"deleted": "acme+ci"}
    assert org.json("robot", "list", "acme") == []


def test_robot_errors(org: Cli) -> None:
    assert "no robot account acme+ghost" in org.fails(1, "robot", "token", "acme", "ghost")
    assert "no robot account acme+ghost" in org.fails(1, "robot", "permissions", "acme", "ghost")
    assert "no user or organization named 'nope'" in org.fails(1, "robot", "create", "nope", "ci")
    assert "robot names are" in org.fails(2, "robot", "create", "acme", "CI")
    assert "ISO 8601" in org.fails(2, "robot", "create", "acme", "ci", "--expires", "tomorrow")
    assert "in the future" in org.fails(2, "robot", "create", "acme", "ci", "--expires", "2000-01-01")
    org.ok("robot", "create", "acme", "ci")
    assert "already exists" in org.fails(1, "robot", "create", "acme", "ci")


def test_login_lines_name_the_address_the_server_announced(org: Cli) -> None:
    """`moorage serve --port 5400` records its address; the CLI prints it, not 127.0.0.1:5000."""
    record_base_url(load_settings(None, data_dir=org.data_dir, port=5400))
    robot = org.json("robot", "create", "acme+ci")
    token = robot["token"]
    assert robot["registry"] == "http://127.0.0.1:5400"
    assert robot["docker_login"] == f"docker login -u='acme+ci' -p='{token}' 127.0.0.1:5400"
    shown = org.ok("robot", "token", "acme+ci")
    assert shown.stdout == token + "\n"
    assert f"docker login -u='acme+ci' -p='{token}' 127.0.0.1:5400" in shown.stderr.splitlines()
    # --public-url wins over the recorded address (a proxy in front of the server)
    out = org.ok("robot", "regenerate", "acme+ci", "--public-url", "https://registry.acme.test/").stdout
    assert "Log in to https://registry.acme.test with:" in out
    new = org.json("robot", "token", "acme+ci", "--public-url", "https://registry.acme.test")
    assert new["docker_login"] == f"docker login -u='acme+ci' -p='{new['token']}' registry.acme.test"


def test_plain_http_registry_elsewhere_gets_insecure_registries_advice(org: Cli) -> None:
    out = org.ok("robot", "create", "acme+ci", "--public-url", "http://registry.lan:5000").stdout
    assert "insecure-registries" in out
    assert "registry.lan:5000" in out
    assert "insecure-registries" not in org.ok("robot", "regenerate", "acme+ci").stdout  # loopback


def test_robot_commands_take_namespace_plus_short(org: Cli) -> None:
    """As `permission set --robot acme+ci` does; the two-argument form keeps working."""
    created = org.json("robot", "create", "acme+ci", "--description", "CI")
    assert (created["namespace"], created["shortname"]) == ("acme", "ci")
    assert org.json("robot", "token", "acme+ci")["token"] == created["token"]
    assert org.json("robot", "token", "acme", "ci")["token"] == created["token"]
    org.ok("repo", "create", "acme/app")
    org.ok("permission", "set", "acme/app", "--robot", "acme+ci", "--role", "read")
    assert org.json("robot", "permissions", "acme+ci") == [{"repository": "acme/app", "role": "read"}]
    assert org.json("robot", "regenerate", "acme+ci")["token"] != created["token"]
    assert "namespace+short" in org.fails(2, "robot", "token", "acmeci")
    assert "namespace+short" in org.fails(2, "robot", "token", "acme+")
    assert "not both" in org.fails(2, "robot", "token", "acme+ci", "ci")
    assert "no robot account acme+ghost" in org.fails(1, "robot", "token", "acme+ghost")
    assert org.json("robot", "delete", "acme+ci") == {"deleted": "acme+ci"}
    assert org.json("robot", "list", "acme") == []
