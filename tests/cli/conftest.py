"""Fixtures of the CLI suite: a fresh SQLite data directory per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tests.cli.support import Cli
from typer.testing import CliRunner

from moorage.cli.common import migrate
from moorage.config import load_settings

_ENV = ("MOORAGE_CONFIG", "MOORAGE_DATABASE_URL", "MOORAGE_DATA_DIR", "MOORAGE_PUBLIC_URL")


@pytest.fixture(scope="session")
def template_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory migrated once; each test copies it (migrating from scratch is the slow part)."""
    saved = {var: os.environ.pop(var) for var in _ENV if var in os.environ}
    try:
        path = tmp_path_factory.mktemp("template") / "data"
        migrate(load_settings(None, data_dir=path))
        return path
    finally:
        os.environ.update(saved)


@pytest.fixture
def cli(tmp_path: Path, template_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for var in _ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables on one line each
    data_dir = tmp_path / "data"
    shutil.copytree(template_data_dir, data_dir)
    return Cli(data_dir, CliRunner())


@pytest.fixture
def org(cli: Cli) -> Cli:
    """alice (owner) and bob, and organization acme owned by alice."""
    cli.user("alice")
    cli.user("bob")
    cli.ok("org", "create", "acme", "--owner", "alice", "--email", "ops@acme.test")
    return cli
