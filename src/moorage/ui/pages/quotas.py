"""Storage quotas in the web UI: the usage bar of organization, user and repository pages, and the
superuser page that sets a namespace's quota (the same service as ``moorage quota set`` and
``POST /api/v1/organization/{org}/quota``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moorage.authz.principal import Principal
from moorage.domain.errors import InvalidInput, RegistryError, ServiceError, as_service_error
from moorage.registry.quota_accounting import human_bytes
from moorage.registry.quotas import UsageReport
from moorage.ui.context import UiContext
from moorage.ui.pages.admin import capitalized, require_superuser
from moorage.ui.web import actor, ctx, field, form, page, redirect, render


@dataclass(frozen=True, slots=True)
class QuotaBar:
    """What the usage bar macro shows (``_quota.html``): every figure as text, the meter's numbers."""

    namespace: str
    owner_word: str  # "Organization" | "User"
    summary: str
    used: str
    limit: str | None
    reject: str | None
    warning: str | None
    state: str  # ok | warning | over
    is_default: bool
    meter_max: int
    meter_value: int
    meter_high: int | None
    repo_size: str | None
    show_namespace: bool = True  # False: only the repository's size (the caller may not read the quota)


def quota_bar(report: UsageReport | None, repo_size: int | None = None) -> QuotaBar | None:
    if report is None:
        return None
    limit = report.limit_bytes or 0
    return QuotaBar(
        namespace=report.namespace,
        owner_word="Organization" if report.kind == "org" else "User",
        summary=report.summary(),
        used=human_bytes(report.usage_bytes),
        limit=human_bytes(limit) if limit else None,
        reject=human_bytes(report.reject_bytes) if report.reject_bytes is not None else None,
        warning=", ".join(human_bytes(w) for w in report.warning_bytes) or None,
        state=report.state,
        is_default=report.is_default,
        meter_max=max(limit, 1),
        meter_value=min(report.usage_bytes, max(limit, 1)),
        meter_high=report.warning_bytes[0] if report.warning_bytes else None,
        repo_size=None if repo_size is None else human_bytes(repo_size),
    )


async def namespace_bar(c: UiContext, namespace: str) -> QuotaBar | None:
    return quota_bar(await c.quotas.report(namespace))


async def repository_bar(c: UiContext, repository: str, p: Principal) -> QuotaBar | None:
    """The repository's own size for whoever sees the repository; its namespace's usage and quota
    only for those who may read that quota (the user, the organization's members, superusers)."""
    size = (await c.usage.repository_stats([repository]))[repository].size
    report = await c.quotas.report_for_repository(repository)
    if report is None:
        return None
    bar = quota_bar(report, size)
    if bar is not None and not await _may_read_quota(c, p, report.namespace):
        return replace(bar, show_namespace=False)
    return bar


async def _may_read_quota(c: UiContext, p: Principal, namespace: str) -> bool:
    if p.is_anonymous or p.is_robot:
        return False
    if (p.superuser and p.has_scope("super:user")) or p.name == namespace:
        return True
    return await c.authorizer.org_role(p, namespace) is not None


# -- the superuser page
def _percent(data: Any, name: str) -> int | None:
    text = field(data, name, max_length=8)
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(f"the {name} threshold is a whole percent from 1 to 100")
    return int(text)


def _size(text: str) -> int:
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    raw = text.strip().upper().replace(" ", "")
    number = raw.rstrip("KMGTB")
    unit = raw[len(number) :]
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(f"the size {text!r} is not a number of bytes (or KB, MB, GB, TB)") from None
    if unit not in units or value != value:  # NaN
        raise InvalidInput(f"the size {text!r} is not a number of bytes (or KB, MB, GB, TB)")
    if value * units[unit] > 2**62:
        raise InvalidInput("that size is larger than any quota may be (8 PiB)")
    return int(value * units[unit])


async def _quotas_page(request: Request, status: int = 200, **variables: Any) -> Response:
    require_superuser(request)
    c = ctx(request)
    q = request.query_params.get("q", "").strip()[:255]
    rows = []
    for n in await c.usage.by_namespace(limit=100, search=q or None):
        rows.append((n, quota_bar(await c.quotas.report(n.namespace))))
    variables.setdefault("values", {})
    return render(request, "admin_quotas.html", status=status, rows=rows, q=q, **variables)


async def quotas_page(request: Request) -> Response:
    return await _quotas_page(request)


async def set_quota(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    data = await form(request)
    values = {k: str(data.get(k) or "").strip()[:255] for k in ("namespace", "size", "reject", "warning")}
    try:
        namespace = field(data, "namespace", required=True, max_length=255)
        size = _size(field(data, "size", required=True, max_length=64))
        await c.quotas.set(
            namespace,
            size,
            reject_percent=_percent(data, "reject"),
            warning_percent=_percent(data, "warning"),
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _quotas_page(request, err.status, error=capitalized(err.detail), values=values)
    return redirect(request, "/superuser/quotas", f"Quota of {namespace} set to {human_bytes(size)}.")


async def clear_quota(request: Request) -> Response:
    require_superuser(request)
    namespace = request.path_params["namespace"]
    try:
        removed = await ctx(request).quotas.clear(namespace, actor(request))
    except (ServiceError, RegistryError) as exc:
        err = as_service_error(exc)
        return await _quotas_page(request, err.status, error=capitalized(err.detail))
    if not removed:
        return await _quotas_page(request, 404, error=f"{namespace} has no quota of its own.")
    return redirect(request, "/superuser/quotas", f"Quota of {namespace} removed.")


routes = [
    page("/superuser/quotas", quotas_page),
    page("/superuser/quotas", set_quota, methods=("POST",)),
    page("/superuser/quotas/{namespace}/clear", clear_quota, methods=("POST",)),
]
