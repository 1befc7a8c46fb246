"""The command lines docker, podman, skopeo and oras need for one registry address.

The one place that knows which flags each client wants: every web page, the API and the CLI print
their copy-and-paste commands from here, so a plain-HTTP registry gets ``--tls-verify=false`` (podman,
skopeo), ``--plain-http`` (oras) and the ``insecure-registries`` advice (docker) everywhere or nowhere.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Client = Literal["docker", "podman", "skopeo"]


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ClientCommands:
    """Commands for the registry at ``base_url`` (scheme, host and port as clients reach it)."""

    base_url: str

    @property
    def host(self) -> str:
        """host[:port] as docker, podman and skopeo want it in image references and logins."""
        return urlsplit(self.base_url).netloc or self.base_url

    @property
    def plain_http(self) -> bool:
        return self.base_url.startswith("http://")

    @property
    def docker_needs_insecure_registry(self) -> bool:
        """Docker talks plain HTTP only to loopback addresses and its ``insecure-registries``."""
        return self.plain_http and not _is_loopback(urlsplit(self.base_url).hostname or "")

    @property
    def insecure_registries_advice(self) -> str | None:
        """What Docker's daemon needs before it talks to this registry, or None when nothing."""
        if not self.docker_needs_insecure_registry:
            return None
        return (
            f"This registry is served over plain HTTP: Docker also needs {self.host} among the "
            '"insecure-registries" of /etc/docker/daemon.json (then restart dockerd).'
        )

    def image(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    def _tls(self, flag: str = "--tls-verify=false") -> str:
        return f" {flag}" if self.plain_http else ""

    def login(self, client: Client, username: str, password: str | None = None) -> str:
        """``CLIENT login``: interactive (asks for the password) or with the password inline."""
        tls = "" if client == "docker" else self._tls()
        if password is None:
            return f"{client} login{tls} {self.host} -u {shlex.quote(username)}"
        return f"{client} login{tls} -u='{username}' -p='{password}' {self.host}"

    def docker_push(self, repository: str, tag: str) -> list[str]:
        image = self.image(repository, tag)
        return [f"docker tag IMAGE {image}", f"docker push {image}"]

    def podman_push(self, repository: str, tag: str) -> str:
        return f"podman push{self._tls()} IMAGE {self.image(repository, tag)}"

    def skopeo_copy(self, source: str, repository: str, tag: str) -> str:
        """``skopeo copy`` of ``source`` (any skopeo transport, e.g. ``oci:DIR:TAG``) to the registry."""
        tls = self._tls("--dest-tls-verify=false")
        return f"skopeo copy{tls} {source} docker://{self.image(repository, tag)}"

    def oras_push(self, repository: str, tag: str, file: str = "file.txt") -> str:
        return f"oras push{self._tls('--plain-http')} {self.image(repository, tag)} {file}"
