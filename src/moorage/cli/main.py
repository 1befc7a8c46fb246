"""Entry point of the ``moorage`` command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from moorage import __version__
from moorage.cli import logs, orgs, permissions, repos, robots, users
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, migrate, settings_from
from moorage.cli.serve import serve

app = typer.Typer(
    help="Moorage, a self-hosted OCI container image registry. Administration commands act as a "
    "superuser on the local database and record `cli:<os user>` in the audit log.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("serve")(serve)
app.add_typer(users.app, name="user")
app.add_typer(orgs.org_app, name="org")
app.add_typer(orgs.team_app, name="team")
app.add_typer(robots.app, name="robot")
app.add_typer(repos.app, name="repo")
app.add_typer(permissions.permission_app, name="permission")
app.add_typer(permissions.prototype_app, name="prototype")
app.command("logs")(logs.logs)
config_app = typer.Typer(help="Inspect and check configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.command("migrate")
def migrate_cmd(data_dir: DataDirOpt = None, config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """Apply database migrations (serve does this too)."""
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    migrate(settings)
    Console().print("Database is at the latest schema.")


@config_app.command("validate")
def validate(config: ConfigOpt = None) -> None:
    """Load the configuration (file + MOORAGE_* environment) and report errors."""
    settings = settings_from(config)
    Console().print("Configuration is valid.")
    Console().print_json(settings.model_dump_json())


@app.command("version")
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    app()


__all__ = ["Annotated", "main"]
