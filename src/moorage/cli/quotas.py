"""``moorage quota ...``: storage quotas of namespaces, and verification of the usage counters."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from moorage.app import Services
from moorage.cli.common import EXIT_REFUSED, ConfigOpt, DataDirOpt, DbOpt, cli_actor, fail, with_services
from moorage.cli.output import JsonOpt, emit_json, escape, report, table
from moorage.domain.errors import InvalidInput, NotFound
from moorage.registry.quota_accounting import human_bytes
from moorage.registry.quotas import Drift, QuotaInfo, UsageReport

app = typer.Typer(
    help="Storage quotas of users and organizations (each blob counted once per namespace).",
    no_args_is_help=True,
)

NamespaceArg = Annotated[str, typer.Argument(help="a user's or an organization's name")]

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10}
_UNITS.update(
    {
        "pb": 10**15,
        "pib": 2**50,
        "mib": 2**20,
        "gib": 2**30,
        "tib": 2**40,
        "k": 10**3,
        "m": 10**6,
        "g": 10**9,
        "t": 10**12,
    }
)


def parse_size(text: str) -> int:
    """``1000000``, ``500MB``, ``1.5GB``, ``2GiB`` as bytes (decimal units unless ...iB)."""
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number) :]
    if not number or unit not in _UNITS:
        raise InvalidInput(
            f"not a size: {text!r} (bytes, or a number with KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)"
        )
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(f"not a size: {text!r}") from None
    return int(value * _UNITS[unit])


def _report_json(r: UsageReport) -> dict[str, Any]:
    return {
        "namespace": r.namespace,
        "kind": "organization" if r.kind == "org" else "user",
        "usage_bytes": r.usage_bytes,
        "limit_bytes": r.limit_bytes,
        "reject_bytes": r.reject_bytes,
        "warning_bytes": list(r.warning_bytes),
        "quota_id": r.quota_id,
        "default": r.is_default,
        "state": r.state,
    }


def _quota_json(q: QuotaInfo) -> dict[str, Any]:
    return {
        "id": q.id,
        "namespace": q.namespace,
        "limit_bytes": q.limit_bytes,
        "limits": [{"id": x.id, "type": x.type, "limit_percent": x.percent} for x in q.limits],
    }


def _drift_json(d: Drift) -> dict[str, Any]:
    return {
        "namespace": d.namespace,
        "stored_bytes": d.stored_bytes,
        "actual_bytes": d.actual_bytes,
        "stored_blobs": d.stored_blobs,
        "actual_blobs": d.actual_blobs,
    }


@app.command("show")
def quota_show(
    namespace: NamespaceArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """A namespace's usage and the quota that applies to it (its own, or the registry default)."""

    async def go(services: Services) -> tuple[UsageReport, list[QuotaInfo]]:
        found = await services.quotas.report(namespace)
        if found is None:
            raise NotFound(f"no user or organization named {namespace!r}")
        return found, await services.quotas.list_quotas(namespace)

    r, quotas = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json({**_report_json(r), "quotas": [_quota_json(q) for q in quotas]})
        return
    source = "registry default" if r.is_default else (f"quota {r.quota_id}" if r.quota_id else "none")
    table(
        ("namespace", "used", "quota", "refused above", "warnings at", "source"),
        [
            (
                r.namespace,
                human_bytes(r.usage_bytes),
                human_bytes(r.limit_bytes) if r.limit_bytes else "-",
                human_bytes(r.reject_bytes) if r.reject_bytes is not None else "-",
                ", ".join(human_bytes(w) for w in r.warning_bytes) or "-",
                source,
            )
        ],
    )
    typer.echo(r.summary())


@app.command("set")
def quota_set(
    namespace: NamespaceArg,
    size: Annotated[str, typer.Argument(help="the quota: bytes, or e.g. 500MB, 10GB, 2GiB")],
    reject: Annotated[
        int | None, typer.Option("--reject", help="refuse pushes above this percent of the quota (1-100)")
    ] = 100,
    warning: Annotated[
        int | None, typer.Option("--warning", help="a quota_warning event above this percent (1-100)")
    ] = None,
    no_reject: Annotated[bool, typer.Option("--no-reject", help="report only: never refuse pushes")] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Give a namespace a quota, or change it (its limits become --reject and --warning)."""

    async def go(services: Services) -> QuotaInfo:
        return await services.quotas.set(
            namespace,
            parse_size(size),
            reject_percent=None if no_reject else reject,
            warning_percent=warning,
            actor=cli_actor(),
        )

    q = with_services(data_dir, config, database_url, go)
    limits = ", ".join(f"{x.type} at {x.percent}%" for x in q.limits) or "no limits"
    report(
        as_json,
        _quota_json(q),
        f"Quota of [bold]{escape(namespace)}[/bold]: {human_bytes(q.limit_bytes)} ({escape(limits)}).",
    )


@app.command("clear")
def quota_clear(
    namespace: NamespaceArg,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Remove a namespace's own quota (the registry default, if configured, applies again)."""

    async def go(services: Services) -> bool:
        return await services.quotas.clear(namespace, cli_actor())

    removed = with_services(data_dir, config, database_url, go)
    if not removed:
        fail(f"{namespace} has no quota of its own", EXIT_REFUSED)
    report(as_json, {"cleared": namespace}, f"Removed the quota of [bold]{escape(namespace)}[/bold].")


@app.command("verify")
def quota_verify(
    fix: Annotated[bool, typer.Option("--fix", help="rewrite the counters of drifted namespaces")] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Recompute every namespace's usage from the stored links and report drift from the kept
    counters; exits 1 when drift remains (without --fix)."""

    async def go(services: Services) -> list[Drift]:
        return await services.quotas.verify(fix=fix, actor=cli_actor())

    drifts = with_services(data_dir, config, database_url, go)
    if as_json:
        emit_json({"fixed": fix, "drift": [_drift_json(d) for d in drifts]})
    elif not drifts:
        typer.echo("usage counters match the stored blobs in every namespace")
    else:
        table(
            ("namespace", "counted", "actual", "counted blobs", "actual blobs"),
            [
                (
                    d.namespace,
                    human_bytes(d.stored_bytes),
                    human_bytes(d.actual_bytes),
                    d.stored_blobs,
                    d.actual_blobs,
                )
                for d in drifts
            ],
            title="drift",
        )
        typer.echo(
            f"fixed {len(drifts)} namespace(s)"
            if fix
            else f"{len(drifts)} namespace(s) drifted; --fix repairs"
        )
    if drifts and not fix:
        raise typer.Exit(EXIT_REFUSED)
