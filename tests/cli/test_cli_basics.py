"""What every command shares: which data directory and database it uses (and refusing to create
one), errors as JSON with --json, flags shown as flags, ``moorage --version``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.support import Cli

from moorage import __version__
from moorage.cli.main import app


def _invoke(cli: Cli, *args: str) -> tuple[int, str, str]:
    """Run ``moorage ARGS`` without adding --data-dir (Cli.run always adds it)."""
    result = cli.runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_admin_commands_refuse_to_create_a_database(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in another directory, `moorage user list` used to create ./moorage-data with an empty
    database and answer "no users"; now it says which database it looked for and changes nothing."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = _invoke(cli, "user", "list")
    assert code == 1
    assert out == ""
    err = " ".join(err.split())
    assert f"no Moorage database at sqlite:///{elsewhere / 'moorage-data' / 'moorage.db'}" in err
    assert f"data directory {elsewhere / 'moorage-data'}" in err
    assert "MOORAGE_DATA_DIR" in err
    assert "moorage serve" in err
    assert list(elsewhere.iterdir()) == []  # nothing created

    # an explicit --data-dir (or --database-url) that holds no database is refused the same way
    empty = tmp_path / "empty"
    code, _, err = _invoke(cli, "org", "create", "acme", "--owner", "admin", "--data-dir", str(empty))
    assert code == 1
    assert f"no Moorage database at sqlite:///{empty / 'moorage.db'}" in " ".join(err.split())
    assert not empty.exists()

    # the empty SQLite file the old behaviour left behind is no Moorage database either
    (elsewhere / "moorage-data").mkdir()
    (elsewhere / "moorage-data" / "moorage.db").write_bytes(b"")
    code, _, err = _invoke(cli, "user", "list")
    assert code == 1
    assert "no Moorage database" in err
    assert (elsewhere / "moorage-data" / "moorage.db").stat().st_size == 0


def test_data_dir_from_environment_and_config_file(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.user("alice")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOORAGE_DATA_DIR", str(cli.data_dir))
    code, out, _ = _invoke(cli, "user", "list", "--json")
    assert code == 0
    assert [u["username"] for u in json.loads(out)] == ["alice"]
    monkeypatch.delenv("MOORAGE_DATA_DIR")

    config = tmp_path / "moorage.yaml"
    config.write_text(f"data_dir: {cli.data_dir}\nport: 5400\n", encoding="utf-8")
    code, out, _ = _invoke(cli, "user", "list", "--json", "--config", str(config))
    assert code == 0
    assert [u["username"] for u in json.loads(out)] == ["alice"]
    monkeypatch.setenv("MOORAGE_CONFIG", str(config))
    code, out, _ = _invoke(cli, "config", "show", "--json")
    assert code == 0
    assert json.loads(out) == {
        "config_file": str(config),
        "data_dir": str(cli.data_dir),
        "database": f"sqlite:///{cli.data_dir / 'moorage.db'}",
        "database_exists": True,
        "registry_url": "http://127.0.0.1:5400",
    }


def test_config_show_and_migrate_say_where(cli: Cli, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    info = cli.json("config", "show")
    assert info["data_dir"] == str(cli.data_dir)
    assert info["database_exists"] is True
    code, out, _ = _invoke(cli, "config", "show", "--json", "--data-dir", str(fresh))
    assert code == 0
    assert json.loads(out)["database_exists"] is False
    assert not fresh.exists()  # looking does not create
    code, out, _ = _invoke(cli, "migrate", "--data-dir", str(fresh))
    assert code == 0
    assert str(fresh) in " ".join(out.split())
    assert (fresh / "moorage.db").is_file()
    code, out, _ = _invoke(cli, "user", "list", "--json", "--data-dir", str(fresh))
    assert (code, json.loads(out)) == (0, [])


def test_database_url_password_is_not_shown(cli: Cli) -> None:
    code, out, _ = _invoke(
        cli, "config", "show", "--json", "--database-url", "postgresql://moorage:s3cret@127.0.0.1:1/nodb"
    )
    # an unreachable server: config show still answers, without the password
    assert code == 0
    info = json.loads(out)
    assert info["database"] == "postgresql://moorage:***@127.0.0.1:1/nodb"
    assert info["database_exists"] is None
    assert "cannot open the database" in info["database_error"]
    assert "s3cret" not in out


def test_json_errors_are_json_on_stderr(cli: Cli) -> None:
    result = cli.run("user", "show", "nobody", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr) == {
        "error": {"kind": "refused", "message": "no user named 'nobody'", "exit_code": 1}
    }
    result = cli.run("robot", "create", "acme", "CI", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["kind"] == "invalid"
    # usage errors found while parsing the command line too
    result = cli.run("user", "list", "--json", "--no-such-option")
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert "--no-such-option" in error["message"]
    # a destructive command asks no question with --json: it needs --yes, and says so in JSON
    cli.user("alice")
    result = cli.run("user", "delete", "alice", "--json", input="y\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Pass --yes to confirm; nothing changed." in json.loads(result.stderr)["error"]["message"]
    assert [u["username"] for u in cli.json("user", "list")] == ["alice"]
    assert cli.json("user", "delete", "alice", "--yes") == {"deleted": "alice"}
    # without --json, errors stay readable text
    result = cli.run("user", "show", "nobody")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no user named 'nobody'")


def test_flags_show_as_flags(cli: Cli) -> None:
    for command in (["user", "create"], ["user", "list"], ["repo", "list"], ["serve"], []):
        code, out, _ = _invoke(cli, *command, "--help")
        assert code == 0
        assert "<bool>" not in out, command
    code, out, _ = _invoke(cli, "user", "create", "--help")
    assert "--superuser" in out
    assert "--json" in out


def test_version(cli: Cli) -> None:
    code, out, _ = _invoke(cli, "--version")
    assert (code, out) == (0, f"moorage {__version__}\n")
