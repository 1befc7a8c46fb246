"""Real registry clients (skopeo, podman, buildah, docker) run with isolated configuration.

Every test gets its own auth file and Docker config directory; podman and buildah share one
session-wide vfs storage in a temp dir, so nothing touches the machine's /var/lib/containers.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.procs import Result, run, run_fails
from tests.support.tools import require_program


@dataclass(frozen=True)
class ContainersConfig:
    """containers-storage, containers.conf and registries.conf files in a temp dir."""

    storage_conf: Path
    containers_conf: Path
    registries_conf: Path

    @classmethod
    def create(cls, directory: Path, insecure_hosts: list[str]) -> ContainersConfig:
        directory.mkdir(parents=True, exist_ok=True)
        for sub in ("root", "run", "tmp", "volumes", "copytmp"):
            (directory / sub).mkdir(exist_ok=True)
        storage = directory / "storage.conf"
        storage.write_text(
            f'[storage]\ndriver = "vfs"\nrunroot = "{directory / "run"}"\n'
            f'graphroot = "{directory / "root"}"\n'
        )
        containers = directory / "containers.conf"
        containers.write_text(
            "[engine]\n"
            f'tmp_dir = "{directory / "tmp"}"\n'
            f'volume_path = "{directory / "volumes"}"\n'
            f'image_copy_tmp_dir = "{directory / "copytmp"}"\n'
            'events_logger = "none"\n'
        )
        registries = directory / "registries.conf"
        entries = "".join(
            f'[[registry]]\nlocation = "{host}"\ninsecure = true\n\n' for host in insecure_hosts
        )
        registries.write_text(
            f'unqualified-search-registries = []\nshort-name-mode = "permissive"\n\n{entries}'
        )
        return cls(storage, containers, registries)


class ClientEnv:
    """Runs client commands with per-test credentials and the session's containers configuration."""

    def __init__(self, workdir: Path, containers: ContainersConfig, docker_host: str | None = None) -> None:
        self.workdir = workdir
        self.auth_file = workdir / "auth.json"
        self.docker_config = workdir / "docker-config"
        self.docker_config.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "REGISTRY_AUTH_FILE": str(self.auth_file),
            "DOCKER_CONFIG": str(self.docker_config),
            "CONTAINERS_STORAGE_CONF": str(containers.storage_conf),
            "CONTAINERS_CONF": str(containers.containers_conf),
            "CONTAINERS_REGISTRIES_CONF": str(containers.registries_conf),
        }
        if docker_host:
            self.env["DOCKER_HOST"] = docker_host
        self._registries_conf = containers.registries_conf

    def with_env(self, **extra: str) -> Mapping[str, str]:
        return {**self.env, **extra}

    def run(self, *args: str, input_text: str | None = None, timeout: float = 180.0) -> Result:
        return run(args, env=self.env, cwd=self.workdir, input_text=input_text, timeout=timeout)

    def run_bytes(self, *args: str, timeout: float = 180.0) -> bytes:
        """Run a command and return its raw stdout (for binary output such as tar streams)."""
        proc = subprocess.run(
            list(args), env=self.env, cwd=self.workdir, capture_output=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(f"command failed: {args}\n{proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def fails(self, *args: str, input_text: str | None = None, timeout: float = 180.0) -> Result:
        return run_fails(args, env=self.env, cwd=self.workdir, input_text=input_text, timeout=timeout)

    def skopeo(self, *args: str, input_text: str | None = None) -> Result:
        return self.run(require("skopeo"), *self._skopeo_globals(), *args, input_text=input_text)

    def skopeo_fails(self, *args: str, input_text: str | None = None) -> Result:
        return self.fails(require("skopeo"), *self._skopeo_globals(), *args, input_text=input_text)

    def podman(self, *args: str, input_text: str | None = None) -> Result:
        return self.run(require("podman"), *args, input_text=input_text)

    def podman_fails(self, *args: str, input_text: str | None = None) -> Result:
        return self.fails(require("podman"), *args, input_text=input_text)

    def buildah(self, *args: str, input_text: str | None = None) -> Result:
        return self.run(require("buildah"), *args, input_text=input_text)

    def docker(self, *args: str, input_text: str | None = None) -> Result:
        return self.run(require("docker"), *args, input_text=input_text)

    def docker_fails(self, *args: str, input_text: str | None = None) -> Result:
        return self.fails(require("docker"), *args, input_text=input_text)

    def skopeo_raw_manifest(self, ref: str, *extra: str) -> tuple[bytes, str]:
        """``skopeo inspect --raw`` of a ``docker://`` reference: (bytes, sha256 digest of the bytes)."""
        from tests.support.images import sha256_digest

        raw = self.skopeo("inspect", "--raw", *extra, ref).stdout.encode()
        # skopeo prints the manifest bytes as served (it adds no newline to JSON bodies).
        return raw, sha256_digest(raw)

    def skopeo_login(self, host: str, user: str, password: str) -> Result:
        """Log in with skopeo (``--password-stdin``); later commands find the credentials in the auth file."""
        return self.skopeo(
            "login", "--tls-verify=false", "-u", user, "--password-stdin", host, input_text=password
        )

    def auth_entries(self) -> dict[str, object]:
        if not self.auth_file.exists():
            return {}
        loaded: dict[str, object] = json.loads(self.auth_file.read_text()).get("auths", {})
        return loaded

    def _skopeo_globals(self) -> tuple[str, ...]:
        # skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF; pass the file explicitly.
        return ("--registries-conf", str(self._registries_conf))


_APT = {"docker": "apt docker.io"}


def require(binary: str) -> str:
    """The full path of a client binary: a skip when it is not installed, a failure in CI."""
    return require_program(binary, _APT.get(binary, f"apt {binary}"))
