"""The README's "Using it" section runs as printed: its shell blocks, in order, in one bash
session, from a checkout-like directory, against a server started as on a fresh install (the
server creates ``admin`` and writes ``moorage-data/initial-admin-password``)."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.clients import ClientEnv, ContainersConfig, require
from tests.support.procs import run
from tests.support.servers import RegistryServer, start_moorage

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README_HOST = "127.0.0.1:5000"


def using_it_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the "Using it" section, dedented (some sit inside list items)."""
    section = readme.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^( *)```sh\n(.*?)^\1```$", section, flags=re.S | re.M)
    return [textwrap.dedent(body) for _, body in blocks]


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_moorage(tmp_path_factory.mktemp("readme-server"), first_start=True)
    try:
        yield server
    finally:
        server.stop()


def test_readme_blocks_are_found() -> None:
    blocks = using_it_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    script = "\n".join(blocks)
    for needed in ("initial-admin-password", "podman push", "/permissions/robot/acme+ci", "moorage "):
        assert needed in script
    # the repository exists before the robot's permission is set on it
    assert script.index("/api/v1/repository \\") < script.index("/permissions/robot/acme+ci")


def test_using_it_runs_as_printed(fresh_server: RegistryServer, tmp_path: Path) -> None:
    for tool in ("podman", "skopeo", "curl", "bash"):
        require(tool)
    # a directory laid out like the checkout after ./scripts/install-and-serve.sh
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(ROOT / "README.md", checkout / "README.md")
    (checkout / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (checkout / "moorage-data").symlink_to(fresh_server.data_dir)
    assert (checkout / ".venv" / "bin" / "moorage").exists()

    blocks = using_it_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    script = "set -euo pipefail\n" + "\n".join(blocks).replace(README_HOST, fresh_server.host)
    assert README_HOST not in script
    work = tmp_path / "client"
    work.mkdir()
    containers = ContainersConfig.create(tmp_path / "containers", [])  # no insecure hosts: the flags
    client = ClientEnv(work, containers)
    client.auth_file.write_text('{"auths": {}}')  # this test's own credentials, not the machine's
    env = dict(client.env)
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # no venv: README sets it
    result = run(["bash", "-c", script], env=env, cwd=checkout, timeout=600)
    out = result.stdout
    # the blocks did what they say
    assert "alice" in out  # moorage user list
    listed = run(
        [str(checkout / ".venv" / "bin" / "moorage"), "repo", "list", "--json", "--data-dir",
         str(fresh_server.data_dir)],
        timeout=60,
    ).stdout  # fmt: skip
    assert '"acme/app"' in listed
    assert '"admin/hello"' in listed
