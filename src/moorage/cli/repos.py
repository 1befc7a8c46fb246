"""``moorage repo ...``: repository administration."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, cli_actor, fail, with_services
from moorage.cli.output import JsonOpt, YesOpt, confirm, emit_json, escape, iso, report, table
from moorage.registry.catalog import Visibility
from moorage.registry.repositories import RepositoryDetails
from moorage.registry.types import TagRow

app = typer.Typer(
    help="Repositories: create, list, inspect, change visibility, delete, list tags.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="repository, e.g. acme/app")]
_PAGE = 500


def _repo_json(r: RepositoryDetails) -> dict[str, Any]:
    return {
        "name": r.name,
        "namespace": r.namespace,
        "visibility": r.visibility,
        "description": r.description,
        "created_at": iso(r.created_at),
        "tag_count": r.tag_count,
    }


def _tag_json(t: TagRow) -> dict[str, Any]:
    return {
        "name": t.name,
        "digest": t.manifest_digest,
        "media_type": t.media_type,
        "size": t.size,
        "start": iso(t.lifetime_start),
        "end": iso(t.lifetime_end),
        "expires": iso(t.expires_at),
        "created_by": t.created_by,
    }


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


@app.command("create")
def create(
    name: NameArg,
    public: Annotated[bool, typer.Option("--public", help="anyone may pull \\[default: private]")] = False,
    description: Annotated[str | None, typer.Option("--description", help="short description")] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create an empty repository in an existing user or organization namespace.

    In an organization, its default permissions (`moorage prototype`) are granted as for a push.
    """

    async def go(services: Services) -> RepositoryDetails:
        await services.repositories.create(
            name, visibility="public" if public else "private", description=description, actor=cli_actor()
        )
        return await services.repositories.details(name)

    repo = with_services(data_dir, config, database_url, go)
    report(as_json, _repo_json(repo), f"Created {repo.visibility} repository [bold]{escape(name)}[/bold].")


@app.command("list")
def list_repos(
    namespace: Annotated[str | None, typer.Option("--namespace", help="only this user or org")] = None,
    public: Annotated[bool, typer.Option("--public", help="only public repositories")] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List every repository (optionally of one namespace, or only public ones)."""

    async def go(services: Services) -> list[RepositoryDetails]:
        out: list[RepositoryDetails] = []
        after: str | None = None
        while True:
            page = await services.repositories.list(
                Visibility(everything=True), namespace=namespace, public_only=public, limit=_PAGE, after=after
            )
            out += page
            if len(page) < _PAGE:
                return out
            after = page[-1].name

    repos = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_repo_json(r) for r in repos])
        return
    table(
        ("repository", "visibility", "tags", "created", "description"),
        ((r.name, r.visibility, r.tag_count, r.created_at, r.description) for r in repos),
        title="repositories",
    )


@app.command("show")
def show(
    name: NameArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Show a repository: visibility, description, tag count and who has which permission."""

    async def go(services: Services) -> dict[str, Any]:
        details = await services.repositories.details(name)
        grants = await services.permissions.grants(name)
        return {
            **_repo_json(details),
            "permissions": [{"kind": g.kind, "name": g.name, "role": g.role} for g in grants],
        }

    info = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json(info)
        return
    table(
        ("field", "value"),
        [(k, info[k]) for k in ("name", "visibility", "description", "tag_count", "created_at")],
        title=f"repository {name}",
    )
    table(
        ("kind", "name", "role"),
        ((p["kind"], p["name"], p["role"]) for p in info["permissions"]),
        title="permissions",
    )


@app.command("visibility")
def visibility(
    name: NameArg,
    value: Annotated[str, typer.Argument(help="public or private", metavar="public|private")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Make a repository public (anyone may pull) or private."""
    if value not in ("public", "private"):
        fail("visibility must be 'public' or 'private'", 2)

    async def go(services: Services) -> bool:
        return await services.repositories.set_visibility(name, value, cli_actor())

    if not with_services(data_dir, config, database_url, go):
        fail(f"no repository named {name!r}", 1)
    report(as_json, {"name": name, "visibility": value}, f"{escape(name)} is now {value}.")


@app.command("delete")
def delete(
    name: NameArg,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Delete a repository with its tags and permissions; unreferenced blobs become garbage."""
    confirm(yes, f"Delete repository {name} and all its tags?")

    async def go(services: Services) -> None:
        await services.repositories.delete(name, cli_actor())

    with_services(data_dir, config, database_url, go)
    report(as_json, {"deleted": name}, f"Deleted repository [bold]{escape(name)}[/bold].")


@app.command("tags")
def tags(
    name: NameArg,
    history: Annotated[
        bool, typer.Option("--history", help="every tag change, newest first (ended ones too)")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="at most this many rows")] = 1000,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List a repository's tags with digest and size; --history shows moved and deleted tags too."""

    async def go(services: Services) -> list[TagRow]:
        await services.repositories.details(name)  # NotFound for an unknown repository
        out: list[TagRow] = []
        after: str | None = None
        while len(out) < limit:
            want = min(_PAGE, limit - len(out))
            page = await services.registry.tags.page(
                name, only_active=not history, specific=None, limit=want, after=after
            )
            out += page
            if len(page) < want:
                break
            after = str(page[-1].id) if history else page[-1].name
        return out

    rows = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json([_tag_json(t) for t in rows])
        return
    columns = ("tag", "digest", "size", "since") + (("until",) if history else ())
    table(
        columns,
        (
            (t.name, t.manifest_digest[:19], _size(t.size), t.lifetime_start)
            + ((t.lifetime_end,) if history else ())
            for t in rows
        ),
        title=f"tags of {name}",
    )
