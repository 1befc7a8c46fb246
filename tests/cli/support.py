"""Helpers of the CLI suite: run ``moorage`` in-process against one temporary data directory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from moorage.app import build_services
from moorage.cli.main import app
from moorage.config import load_settings
from moorage.domain.actor import Actor
from moorage.domain.digest import sha256_of
from moorage.domain.mediatypes import OCI_CONFIG, OCI_MANIFEST

PASSWORD = "correct-horse-battery"


@dataclass
class Cli:
    data_dir: Path
    runner: CliRunner

    def run(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(
            app, [*args, "--data-dir", str(self.data_dir)], input=input, catch_exceptions=False
        )

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self.run(*args, input=input)
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}"
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)

    def fails(self, code: int, *args: str, input: str | None = None) -> str:
        """Run a command that must fail with ``code``; its stderr, without a traceback."""
        result = self.run(*args, input=input)
        assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output
        return " ".join(result.stderr.split())

    def user(self, name: str, *extra: str) -> None:
        self.ok("user", "create", name, "--password-stdin", *extra, input=PASSWORD + "\n")


def push_image(data_dir: Path, repository: str, tag: str, payload: bytes = b"layer") -> str:
    """Push a one-layer OCI image straight through the registry services; its manifest digest."""

    async def body(data: bytes) -> AsyncIterator[bytes]:
        yield data

    async def go() -> str:
        services = build_services(load_settings(None, data_dir=data_dir))
        ctx = services.registry
        actor = Actor("tester", "system")
        try:
            descriptors = []
            for media_type, data in (
                (OCI_CONFIG, b"{}"),
                ("application/vnd.oci.image.layer.v1.tar", payload),
            ):
                digest = sha256_of(data)
                upload = await ctx.uploads.start(repository, actor)
                await ctx.uploads.complete(repository, upload.id, digest, body(data), actor)
                descriptors.append({"mediaType": media_type, "digest": str(digest), "size": len(data)})
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": descriptors[0],
                    "layers": descriptors[1:],
                }
            ).encode()
            result = await ctx.manifests.put(repository, tag, manifest, OCI_MANIFEST, actor)
            return result.digest
        finally:
            await services.db.dispose()

    return asyncio.run(go())
