"""``moorage repo ...``: repository administration."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from moorage.app import build_services
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, fail, migrate, run, settings_from

app = typer.Typer(help="Repository administration.", no_args_is_help=True)


@app.command("visibility")
def visibility(
    name: Annotated[str, typer.Argument(help="repository, e.g. alice/app")],
    value: Annotated[str, typer.Argument(help="public or private")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Make a repository public (anyone may pull) or private."""
    if value not in ("public", "private"):
        fail("visibility must be 'public' or 'private'", 2)
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    migrate(settings)

    async def go() -> bool:
        services = build_services(settings)
        try:
            return await services.registry.repositories.set_visibility(name, value)
        finally:
            await services.db.dispose()

    if not run(go()):
        fail(f"no repository named {name!r}", 1)
    Console().print(f"{name} is now {value}.")
