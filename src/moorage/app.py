"""Composition root: build every service from Settings and wire the ASGI application.

Nothing else constructs services; there are no module-level singletons.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from moorage import __version__
from moorage.asgi.bodies import BodyGuard, BodyLimits
from moorage.asgi.compression import Compression
from moorage.audit import AuditLog
from moorage.authz import Authorizer
from moorage.authz.permissions import Permissions
from moorage.config import Settings
from moorage.db.engine import Database
from moorage.db.listener import InvalidationListener
from moorage.domain.pruning import PruneRule
from moorage.events import Outbox
from moorage.identity.apptokens import AppTokens
from moorage.identity.credentials import Credentials
from moorage.identity.keys import load_or_create_signing_key
from moorage.identity.oauth import OAuthApplications
from moorage.identity.orgs import Organizations
from moorage.identity.revocation import Revocations
from moorage.identity.robots import Robots
from moorage.identity.secretbox import SecretBox, load_or_create_key
from moorage.identity.sessions import Sessions
from moorage.identity.throttle import LoginThrottler, ThrottlePolicy
from moorage.identity.tokens import TokenService
from moorage.identity.users import Users
from moorage.jobs.kinds import JobKinds, Schedules
from moorage.jobs.prune import KIND as PRUNE_JOBS
from moorage.jobs.prune import jobs_prune
from moorage.jobs.queue import JobQueue
from moorage.jobs.runner import NodeJobRunner
from moorage.jobs.scheduler import Scheduler
from moorage.jobs.uploads_purge import uploads_purge
from moorage.jobs.worker import JobWorker
from moorage.observability.metrics import Metrics
from moorage.protocol.context import RegistryContext
from moorage.protocol.errors import error_body
from moorage.protocol.router import RegistryApp
from moorage.registry.autoprune import AutoPruner
from moorage.registry.blobs import Blobs
from moorage.registry.cache import NotifiedGenerations, ReadCache, SharedGenerations
from moorage.registry.catalog import Catalog
from moorage.registry.gc import JOB_KIND as GC_JOB
from moorage.registry.gc import GarbageCollector, GcReport
from moorage.registry.lifecycle import EXPIRE_JOB, TagLifecycle, expire_handler
from moorage.registry.manifests import Manifests
from moorage.registry.policies import Policies
from moorage.registry.quota_accounting import DefaultQuota, QuotaAccounting
from moorage.registry.quotas import Quotas
from moorage.registry.referrers import Referrers
from moorage.registry.repositories import Repositories
from moorage.registry.tags import Tags
from moorage.registry.uploads import Uploads
from moorage.registry.usage import Usage
from moorage.storage.base import StorageDriver
from moorage.storage.drivers.filesystem import FilesystemDriver
from moorage.ui.session import SessionLayer
from moorage.workers.autoprune import KIND as AUTOPRUNE_JOB
from moorage.workers.autoprune import autoprune_handler

if TYPE_CHECKING:
    from moorage.api.context import ApiContext
    from moorage.ui.context import UiContext

log = structlog.get_logger("moorage.app")


@dataclass(frozen=True, slots=True)
class Services:
    """Every service of one process, built from Settings. The edges (protocol, API, UI, CLI) use these."""

    settings: Settings
    db: Database
    storage: StorageDriver
    audit: AuditLog
    users: Users
    organizations: Organizations
    robots: Robots
    app_tokens: AppTokens
    oauth: OAuthApplications
    throttle: LoginThrottler
    credentials: Credentials
    permissions: Permissions
    authorizer: Authorizer
    repositories: Repositories
    registry: RegistryContext
    sessions: Sessions
    usage: Usage
    outbox: Outbox
    gc: GarbageCollector
    policies: Policies
    autoprune: AutoPruner
    jobs: Jobs
    quotas: Quotas


@dataclass(frozen=True, slots=True)
class Jobs:
    """The job system of this process: what it can run, what runs periodically, the queue."""

    kinds: JobKinds
    schedules: Schedules
    queue: JobQueue
    scheduler: Scheduler

    def worker(self, settings: Settings, metrics: Metrics | None = None) -> JobWorker:
        return JobWorker(
            self.queue,
            self.scheduler,
            concurrency=settings.job_concurrency,
            poll_seconds=settings.job_poll_seconds,
            observer=metrics,
        )


def build_jobs(
    settings: Settings,
    *,
    db: Database,
    storage: StorageDriver,
    audit: AuditLog,
    gc: GarbageCollector,
    lifecycle: TagLifecycle,
    autoprune: AutoPruner,
) -> Jobs:
    """Every job kind and schedule of Moorage is registered here (and nowhere else).

    A kind: ``kinds.register("gc.run", handler, max_attempts=3, lease_seconds=120)``, where the
    handler is an ``async (JobContext) -> Mapping | None`` (moorage.jobs.types). A periodic job:
    ``schedules.add("gc", "gc.run", every_seconds=settings.gc_interval_seconds, enabled=...)``.
    Handlers that need more services get them as arguments from build_services.
    """
    kinds, schedules = JobKinds(), Schedules()
    kinds.register(
        "uploads.purge",
        uploads_purge(storage, settings.upload_expiry_seconds),
        max_attempts=3,
        lease_seconds=120,
    )
    schedules.add(
        "uploads.purge",
        "uploads.purge",
        settings.upload_purge_interval_seconds,
        enabled=settings.upload_purge_enabled,
    )
    kinds.register(GC_JOB, gc.run_job, max_attempts=3, lease_seconds=300)
    schedules.add("gc", GC_JOB, settings.gc_interval_seconds, enabled=settings.gc_enabled)
    schedules.add(
        "gc.storage-sweep",
        GC_JOB,
        settings.gc_storage_sweep_interval_seconds,
        {"sweep_storage": True},
        enabled=settings.gc_enabled,
    )
    kinds.register(EXPIRE_JOB, expire_handler(lifecycle), max_attempts=5, lease_seconds=120)
    schedules.add(
        EXPIRE_JOB, EXPIRE_JOB, settings.tag_expiry_interval_seconds, enabled=settings.tag_expiry_enabled
    )
    kinds.register(AUTOPRUNE_JOB, autoprune_handler(autoprune), max_attempts=3, lease_seconds=300)
    schedules.add(
        AUTOPRUNE_JOB, AUTOPRUNE_JOB, settings.autoprune_interval_seconds, enabled=settings.autoprune_enabled
    )
    if os.environ.get("MOORAGE_TEST_JOBS"):  # test-only kinds (docs/testing.md); never on a real server
        from moorage.jobs.testing import register_test_kinds

        register_test_kinds(kinds)
    queue = JobQueue(db, kinds, audit)
    kinds.register(PRUNE_JOBS, jobs_prune(queue, settings.job_retention_seconds), max_attempts=3)
    schedules.add(PRUNE_JOBS, PRUNE_JOBS, 86400)
    return Jobs(kinds, schedules, queue, Scheduler(db, schedules, queue))


def build_storage(settings: Settings) -> StorageDriver:
    return FilesystemDriver(settings.resolved_storage_root, fsync=settings.fsync)


def build_secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key:
        return SecretBox.from_base64(settings.secret_key)
    return SecretBox(load_or_create_key(settings.data_dir / "keys" / "secret.key"))


def build_generations(settings: Settings) -> SharedGenerations | NotifiedGenerations | None:
    """The cache generation table: shared memory on one machine (SQLite), per process and kept
    coherent by LISTEN/NOTIFY on PostgreSQL (the listener runs in the app's lifespan)."""
    if not settings.read_cache_enabled:
        return None
    if settings.resolved_database_url.startswith("sqlite"):
        return SharedGenerations(settings.data_dir / "run" / "generations")
    return NotifiedGenerations()


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    generations = build_generations(settings)
    db = Database(
        settings.resolved_database_url,
        fsync=settings.fsync,
        invalidator=generations,
        # test-only fault injection (docs/testing.md): die between a commit and its invalidation
        crash_after_commit=os.environ.get("MOORAGE_TEST_CRASH_AFTER_COMMIT") or None,
    )
    storage = build_storage(settings)
    cache = ReadCache(generations, ttl=settings.cache_ttl_seconds)
    metrics = Metrics()
    audit = AuditLog(db, on_dropped=metrics.audit_dropped.inc)
    outbox = Outbox(db)
    # the one quota accounting (garbage collection calls its links_removed too)
    quota = QuotaAccounting(
        outbox, DefaultQuota(settings.default_quota_bytes, settings.default_quota_warning_percent)
    )
    repositories = Repositories(db, cache, audit, quota)
    users = Users(db, cache, audit, hash_concurrency=settings.resolved_password_hash_concurrency)
    robots = Robots(db, build_secret_box(settings), audit, cache)
    app_tokens = AppTokens(db, audit, cache)
    oauth = OAuthApplications(db, audit)
    throttle = LoginThrottler(
        db,
        ThrottlePolicy(
            delay_after=settings.login_delay_after,
            lock_after=settings.login_lock_after,
            window_seconds=settings.login_window_seconds,
            lock_seconds=settings.login_lock_seconds,
            ip_delay_after=settings.login_ip_delay_after,
            ip_lock_after=settings.login_ip_lock_after,
        ),
    )
    credentials = Credentials(users, robots, app_tokens, oauth, throttle, audit)
    permissions = Permissions(db, audit, cache)
    repositories.on_create(permissions.on_repository_created)
    authorizer = Authorizer(db, repositories, cache, anonymous_access=settings.anonymous_access)
    key = load_or_create_signing_key(settings.data_dir / "keys" / "token-signing.pem")
    tokens = TokenService(
        key, settings.service_name, settings.token_ttl_seconds, settings.refresh_token_ttl_seconds
    )
    manifests = Manifests(db, repositories, settings.max_manifest_bytes, storage, quota)
    lifecycle = TagLifecycle(
        db,
        repositories,
        manifests,
        default_window_s=settings.default_tag_expiration_s,
        max_expiration_s=settings.max_tag_expiration_s,
        window_options=settings.tag_expiration_choices,
    )
    ctx = RegistryContext(
        base_url=settings.base_url,
        service=settings.service_name,
        max_page_size=settings.max_page_size,
        max_manifest_bytes=settings.max_manifest_bytes,
        anonymous_access=settings.anonymous_access,
        repositories=repositories,
        blobs=Blobs(db, storage, repositories, quota),
        uploads=Uploads(db, storage, repositories, quota),
        manifests=manifests,
        tags=Tags(db, repositories),
        referrers=Referrers(db),
        catalog=Catalog(db),
        storage=storage,
        users=users,
        credentials=credentials,
        tokens=tokens,
        revocations=Revocations(db, cache),
        authorizer=authorizer,
        audit=audit,
        metrics=metrics,
        lifecycle=lifecycle,
    )
    gc = build_gc(settings, db, storage, audit, metrics, quota)
    autoprune = AutoPruner(db, repositories, audit, default_prune_rules(settings))
    return Services(
        settings,
        db,
        storage,
        audit,
        users,
        Organizations(db, audit, cache),
        robots,
        app_tokens,
        oauth,
        throttle,
        credentials,
        permissions,
        authorizer,
        repositories,
        ctx,
        Sessions(
            db,
            audit,
            idle_seconds=settings.session_idle_seconds,
            lifetime_seconds=settings.session_lifetime_seconds,
        ),
        Usage(db),
        outbox,
        gc,
        Policies(db, repositories, audit),
        autoprune,
        build_jobs(
            settings, db=db, storage=storage, audit=audit, gc=gc, lifecycle=lifecycle, autoprune=autoprune
        ),
        Quotas(db, audit, quota),
    )


def build_gc(
    settings: Settings,
    db: Database,
    storage: StorageDriver,
    audit: AuditLog,
    metrics: Metrics,
    quota: QuotaAccounting | None = None,
) -> GarbageCollector:
    """The garbage collector (its job handler, ``run_job``, runs jobs of kind ``gc``)."""

    def record(report: GcReport) -> None:
        metrics.record_gc(
            report.manifest_rows,
            report.blob_rows,
            sum(n.manifests for n in report.namespaces.values()),
            sum(n.blobs for n in report.namespaces.values()),
            report.orphans_deleted,
            report.bytes_freed + report.orphan_bytes,
        )

    pause = os.environ.get("MOORAGE_TEST_GC_PAUSE_AFTER_COMMIT")
    return GarbageCollector(
        db,
        storage,
        audit,
        grace_seconds=settings.gc_grace_seconds,
        default_window_s=settings.default_tag_expiration_s,
        batch_size=settings.gc_batch_size,
        on_report=record,
        # test-only fault injection (docs/testing.md): stop between a commit and its file deletions
        pause_after_commit=Path(pause) if pause else None,
        quota=quota,
    )


def default_prune_rules(settings: Settings) -> list[PruneRule]:
    """The registry-wide auto-prune policies of the configuration (``autoprune_default_policies``)."""
    return [
        PruneRule(
            f"registry default auto-prune policy #{i + 1}",
            d.method,
            str(d.value),
            d.tag_pattern,
            d.tag_pattern_matches,
        )
        for i, d in enumerate(settings.autoprune_default_policies)
    ]


class _Deferred:
    """An ASGI app built on its first request, or by the warm-up after the worker has started.

    The REST API (FastAPI, pydantic schemas) and the web UI take seconds to import on a loaded
    host; a worker serves /v2 and answers health checks without them.
    """

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None

    def get(self) -> ASGIApp:
        if self._app is None:
            self._app = self._build()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.get()(scope, receive, send)


_DEFERRED_MODULES = ("moorage.api.app", "moorage.ui.app")


async def _warm(deferred: list[_Deferred]) -> None:
    """After start-up: import the deferred edges on a thread (the loop keeps serving), then build them."""
    import importlib

    for name in _DEFERRED_MODULES:
        await asyncio.to_thread(importlib.import_module, name)
    for app in deferred:
        app.get()


class _Dispatch:
    """Send /v2 straight to the registry app, /api/v1 to the REST API, health and metrics to the
    control app and everything else to the web UI (no router walk on the registry's hot path).

    The four apps are attributes so the route-coverage tests walk the live tree."""

    def __init__(self, registry: RegistryApp, api: ASGIApp, control: Starlette, ui: ASGIApp) -> None:
        self.registry = registry
        self.api = api
        self.control = control
        self.ui = ui
        self.control_paths = frozenset(r.path for r in control.routes if isinstance(r, Route))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == "/v2" or path.startswith("/v2/"):
                await self.registry(scope, receive, send)
                return
            if path.startswith("/api/v1/") or path == "/api/v1":
                # ASGI (and Starlette routing) keep the full path and strip root_path themselves
                sub = dict(scope)
                sub["root_path"] = scope.get("root_path", "") + "/api/v1"
                await self.api(sub, receive, send)
                return
            if path not in self.control_paths:
                await self.ui(scope, receive, send)
                return
        await self.control(scope, receive, send)


def _secure_cookies(settings: Settings) -> bool:
    """Session and CSRF cookies are Secure when the registry is served over HTTPS."""
    return settings.base_url.startswith("https://")


def api_context(services: Services) -> ApiContext:
    from moorage.api.context import ApiContext

    s = services
    return ApiContext(
        base_url=s.settings.base_url,
        allow_org_creation=s.settings.allow_org_creation,
        max_page_size=s.settings.max_page_size,
        secure_cookies=_secure_cookies(s.settings),
        users=s.users,
        organizations=s.organizations,
        robots=s.robots,
        app_tokens=s.app_tokens,
        oauth=s.oauth,
        credentials=s.credentials,
        sessions=s.sessions,
        throttle=s.throttle,
        permissions=s.permissions,
        authorizer=s.authorizer,
        repositories=s.repositories,
        manifests=s.registry.manifests,
        tags=s.registry.tags,
        audit=s.audit,
        lifecycle=s.registry.lifecycle,
        policies=s.policies,
        autoprune=s.autoprune,
        jobs=s.jobs.queue,
        quotas=s.quotas,
    )


def ui_context(services: Services) -> UiContext:
    from moorage.ui.context import UiContext, UiSettings

    s = services
    st = s.settings
    return UiContext(
        settings=UiSettings(
            base_url=st.base_url,
            allow_org_creation=st.allow_org_creation,
            user_creation=st.user_creation,
            anonymous_access=st.anonymous_access,
            page_size=st.ui_page_size,
            secure_cookies=_secure_cookies(st),
        ),
        sessions=s.sessions,
        users=s.users,
        organizations=s.organizations,
        robots=s.robots,
        app_tokens=s.app_tokens,
        oauth=s.oauth,
        credentials=s.credentials,
        throttle=s.throttle,
        permissions=s.permissions,
        authorizer=s.authorizer,
        repositories=s.repositories,
        manifests=s.registry.manifests,
        tags=s.registry.tags,
        blobs=s.registry.blobs,
        referrers=s.registry.referrers,
        usage=s.usage,
        storage=s.storage,
        audit=s.audit,
        lifecycle=s.registry.lifecycle,
        policies=s.policies,
        autoprune=s.autoprune,
        jobs=s.jobs.queue,
        quotas=s.quotas,
    )


def create_app(settings: Settings) -> ASGIApp:
    services = build_services(settings)

    async def health_instance(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def health_endtoend(_: Request) -> Response:
        checks: dict[str, str] = {}
        ok = True
        try:
            async with services.db.read() as s:
                await s.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # report any failure as unhealthy
            checks["database"] = f"error: {type(exc).__name__}"
            ok = False
        try:
            await services.storage.check()
            checks["storage"] = "ok"
        except Exception as exc:
            checks["storage"] = f"error: {type(exc).__name__}"
            ok = False
        return JSONResponse(
            {"status": "ok" if ok else "error", "checks": checks}, status_code=200 if ok else 503
        )

    async def metrics(_: Request) -> Response:
        try:
            depth = await services.jobs.queue.depth()
        except Exception:  # the queue depth is missing while the database is away; the rest is served
            depth = None
        return Response(services.registry.metrics.render(depth), media_type="text/plain; version=0.0.4")

    async def flush_audit_forever() -> None:
        backoff = 1.0
        while True:
            await services.audit.wait_for_work(backoff)  # every second, or at once when a batch is ready
            try:
                await services.audit.flush()
                backoff = 1.0
            except Exception:  # the entries stay queued; retry with a growing pause
                services.registry.metrics.audit_flush_failures.inc()
                log.exception("audit.flush_failed", queued=services.audit.queued)
                backoff = min(backoff * 2, 30.0)

    warm_up: list[_Deferred] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info("worker.start", pid=os.getpid())
        background = [asyncio.create_task(flush_audit_forever()), asyncio.create_task(_warm(warm_up))]
        generations = services.repositories.cache.generations
        if isinstance(generations, NotifiedGenerations):
            listener = InvalidationListener(
                services.settings.resolved_database_url, generations.notified, generations.listening
            )
            background.append(asyncio.create_task(listener.run()))
        runner = None
        if settings.jobs_in_server:
            runner = NodeJobRunner(
                lambda: services.jobs.worker(settings, services.registry.metrics),
                settings.data_dir / "run" / f"jobs-{settings.resolved_node_id}.lock",
                grace_seconds=settings.job_shutdown_grace_seconds,
            )
            background.append(asyncio.create_task(runner.run()))
        yield
        if runner is not None:
            await runner.stop()  # running jobs finish or are released before the tasks are cancelled
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.audit.flush()
        await services.db.dispose()

    control = Starlette(
        routes=[
            Route("/health/instance", health_instance),
            Route("/health/endtoend", health_endtoend),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )

    def build_api() -> ASGIApp:
        from moorage.api.app import create_api

        # compressed text answers for the UI and the REST API only: /v2 never passes through here
        return Compression(SessionLayer(create_api(api_context(services)), services.sessions, api=True))

    def build_ui() -> ASGIApp:
        from moorage.ui.app import create_ui

        return Compression(SessionLayer(create_ui(ui_context(services)), services.sessions, api=False))

    api, ui = _Deferred(build_api), _Deferred(build_ui)
    warm_up.extend((api, ui))
    dispatch = _Dispatch(RegistryApp(services.registry), api, control, ui)
    return BodyGuard(dispatch, body_limits(settings), _render_refusal)


# endpoints that read credentials from the body before anyone is signed in: their bodies stay small
UNAUTHENTICATED_BODY_PATHS = frozenset(
    {"/v2/auth", "/signin", "/signup", "/oauth/access_token", "/api/v1/signin"}
)


def body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits(
        idle_timeout=float(settings.request_body_idle_timeout_seconds),
        min_rate=settings.request_body_min_rate,
        small_limit=settings.unauthenticated_body_limit_bytes,
        small_paths=UNAUTHENTICATED_BODY_PATHS,
    )


def _render_refusal(scope: Scope, status: int, message: str) -> tuple[bytes, str]:
    """A refused request body, in the error format of the part of the site it was sent to."""
    path: str = scope["path"]
    if path == "/v2" or path.startswith("/v2/"):
        return error_body("SIZE_INVALID", message), "application/json"
    if path == "/api/v1" or path.startswith("/api/v1/"):
        title = "Request timeout" if status == 408 else "Payload too large"
        problem = {"type": "about:blank", "title": title, "status": status, "detail": message}
        return json.dumps(problem).encode(), "application/problem+json"
    return message.encode(), "text/plain; charset=utf-8"


def app_from_env() -> ASGIApp:
    """Factory used by the server's worker processes: settings come from MOORAGE_* variables."""
    from moorage.config import load_settings

    return create_app(load_settings())
