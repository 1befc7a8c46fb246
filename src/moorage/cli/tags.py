"""``moorage tag ...``: a tag's expiration and the time machine (restore a deleted, moved or expired tag)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from moorage.app import Services
from moorage.cli.common import EXIT_INVALID, ConfigOpt, DataDirOpt, DbOpt, cli_actor, fail, with_services
from moorage.cli.output import JsonOpt, escape, iso, report
from moorage.domain.labels import DurationError, parse_duration
from moorage.registry.lifecycle import ExpirationChange, Restored

app = typer.Typer(
    help="Tags: set or clear an expiration, restore from the time machine.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="repository, e.g. acme/app")]
TagArg = Annotated[str, typer.Argument(help="tag name, e.g. latest")]


@app.command("restore")
def restore(
    name: NameArg,
    tag: TagArg,
    digest: Annotated[str, typer.Option("--digest", help="the manifest digest the tag pointed at")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Point TAG back at a manifest it held within the namespace's time machine window
    (see `moorage repo tags NAME --history` for the digests)."""

    async def go(services: Services) -> Restored:
        return await services.registry.lifecycle.restore(name, tag, digest, cli_actor())

    done = with_services(data_dir, config, database_url, go)
    report(
        as_json,
        {"name": name, "tag": done.tag, "manifest_digest": done.manifest_digest, "moved": done.moved},
        f"Restored {escape(name)}:{escape(done.tag)} to {done.manifest_digest}.",
    )


@app.command("expire")
def expire(
    name: NameArg,
    tag: TagArg,
    after: Annotated[
        str | None, typer.Option("--in", help="expire after this long: <N>s|m|h|d|w, e.g. 2d")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove the tag's expiration")] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Make TAG expire after a while (--in 2d) or never (--clear). An expired tag leaves the
    registry at once and stays restorable for the namespace's time machine window."""
    if (after is None) == (not clear):
        fail("give exactly one of --in DURATION or --clear", EXIT_INVALID)
    when: datetime | None = None
    if after is not None:
        try:
            when = datetime.now(UTC) + timedelta(seconds=parse_duration(after))
        except DurationError as exc:
            fail(f"--in: {exc}", EXIT_INVALID)

    async def go(services: Services) -> ExpirationChange:
        return await services.registry.lifecycle.set_expiration(name, tag, when, cli_actor())

    change = with_services(data_dir, config, database_url, go)
    text = (
        f"{escape(name)}:{escape(tag)} expires at {iso(change.new)}."
        if change.new
        else f"{escape(name)}:{escape(tag)} no longer expires."
    )
    report(as_json, {"name": name, "tag": tag, "expiration": iso(change.new)}, text)
