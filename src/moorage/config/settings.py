"""Settings: defaults < YAML config file < ``MOORAGE_*`` environment variables < command-line options.

Every key is documented in docs/config.md; keep the two in step.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from moorage.domain.labels import parse_duration
from moorage.domain.pruning import normalize_value
from moorage.domain.tagpattern import check_pattern


class _YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class AutoPruneDefault(BaseModel):
    """A registry-wide auto-prune policy, applied to every repository with its own policies."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: Literal["number_of_tags", "creation_date"]
    value: int | str
    tag_pattern: str | None = Field(None, alias="tagPattern")
    tag_pattern_matches: bool = Field(True, alias="tagPatternMatches")

    @model_validator(mode="after")
    def _valid(self) -> AutoPruneDefault:
        self.value = normalize_value(self.method, self.value)
        if self.tag_pattern is not None:
            self.tag_pattern = check_pattern(self.tag_pattern)
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOORAGE_", extra="forbid", validate_default=True)

    # -- server
    host: str = "127.0.0.1"
    port: int = Field(5000, ge=1, le=65535)
    workers: int = Field(2, ge=1, le=64, description="server worker processes")
    server: Literal["granian", "uvicorn"] = "uvicorn"
    public_url: str | None = Field(None, description="external base URL, e.g. https://registry.example.com")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    self_signed: bool = False
    tls_hostnames: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1"])
    node_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="this node's name among nodes sharing a data directory; default: host name and port",
    )
    worker_start_timeout_seconds: int = Field(
        60, ge=5, le=3600, description="how long a server worker may take to start before it is restarted"
    )
    max_connections_per_worker: int | None = Field(
        None, ge=1, description="connections or requests a worker holds before answering 503; default: none"
    )

    # -- request limits (slow or oversized clients)
    request_header_timeout_seconds: int = Field(
        15, ge=1, le=3600, description="time a client has to send a request's headers (uvicorn and granian)"
    )
    request_body_idle_timeout_seconds: int = Field(
        30, ge=1, le=3600, description="a request body that sends nothing for this long is ended with 408"
    )
    request_body_min_rate: int = Field(
        1024, ge=0, description="bytes/s a request body must average after the idle timeout; 0: no minimum"
    )
    unauthenticated_body_limit_bytes: int = Field(
        64 * 1024, ge=1024, description="largest body of the sign-in and token endpoints (413 above)"
    )

    # -- data
    data_dir: Path = Path("./moorage-data")
    database_url: str | None = None
    storage_driver: Literal["filesystem"] = "filesystem"
    storage_root: Path | None = None
    fsync: bool = True

    # -- registry behaviour
    service_name: str = "moorage"
    token_ttl_seconds: int = Field(300, ge=30, le=86400)
    refresh_token_ttl_seconds: int = Field(7 * 86400, ge=300)
    anonymous_access: bool = True
    max_manifest_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    max_page_size: int = Field(1000, ge=1, le=100000)
    upload_expiry_seconds: int = Field(
        86400,
        ge=60,
        description="uploads idle (nothing appended) for longer are removed by the uploads.purge job",
    )
    read_cache: Literal["auto", "on", "off"] = Field(
        "auto",
        description="per-process read, permission and login caches; auto = on (SQLite: shared generation "
        "table; PostgreSQL: invalidated by LISTEN/NOTIFY)",
    )
    cache_ttl_seconds: float = Field(
        30.0, gt=0, le=3600, description="the longest any cached read, permission decision or login is used"
    )
    password_hash_concurrency: int = Field(
        0, ge=0, le=256, description="argon2 hashes computed at once per worker process; 0 = cores / workers"
    )

    # -- image lifecycle
    default_tag_expiration_s: int = Field(
        14 * 86400,
        ge=0,
        le=10 * 365 * 86400,
        description="how long deleted, moved and expired tags stay restorable (time machine) in a namespace "
        "that has not chosen its own window",
    )
    tag_expiration_options: list[str] = Field(
        default_factory=lambda: ["0s", "1d", "1w", "2w", "4w"],
        min_length=1,
        description="the time machine windows an organization or user may choose (Quay's "
        "TAG_EXPIRATION_OPTIONS), as durations <N>s|m|h|d|w; any other tag_expiration_s is refused",
    )
    max_tag_expiration_s: int = Field(
        104 * 7 * 86400,
        gt=0,
        le=10 * 365 * 86400,
        description="how far in the future a tag's expiration may be set (API, UI, CLI); Quay's "
        "LABELED_EXPIRATION_MAXIMUM (104 weeks)",
    )

    @field_validator("tag_expiration_options")
    @classmethod
    def _durations(cls, v: list[str]) -> list[str]:
        for item in v:
            parse_duration(item)  # a DurationError (ValueError) names the bad one
        return v

    @property
    def tag_expiration_choices(self) -> tuple[int, ...]:
        """``tag_expiration_options`` in seconds, shortest first."""
        return tuple(sorted({parse_duration(o) for o in self.tag_expiration_options}))

    gc_grace_seconds: int = Field(
        3600,
        ge=0,
        le=30 * 86400,
        description="garbage collection keeps every manifest and blob link younger than this (a push in "
        "progress whose manifest is not put yet); `moorage gc --grace` overrides it for one run",
    )
    gc_batch_size: int = Field(
        500, ge=1, le=10000, description="rows garbage collection deletes per transaction (short write locks)"
    )
    autoprune_default_policies: list[AutoPruneDefault] = Field(
        default_factory=list,
        description="auto-prune policies applied to every repository, with the namespace's and the "
        "repository's own: [{method: number_of_tags|creation_date, value: N|duration, tagPattern, "
        "tagPatternMatches}]",
    )
    autoprune_interval_seconds: int = Field(
        3600, ge=60, le=7 * 86400, description="how often the scheduled autoprune.run job runs"
    )

    # -- background jobs
    jobs_in_server: bool = Field(
        True,
        description="run the job worker and scheduler inside moorage serve (one server process per node); "
        "false: only `moorage worker` processes run jobs",
    )
    job_concurrency: int = Field(1, ge=1, le=64, description="jobs one worker runs at the same time")
    job_poll_seconds: float = Field(
        2.0, gt=0, le=300, description="how often an idle worker looks for due jobs and schedules"
    )
    job_shutdown_grace_seconds: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="on shutdown, how long running jobs may finish before they are released",
    )
    job_retention_seconds: int = Field(
        30 * 86400,
        ge=3600,
        le=3650 * 86400,
        description="finished jobs (done, failed, cancelled) are removed this long after they ended "
        "(the daily jobs.prune job)",
    )
    upload_purge_enabled: bool = Field(True, description="run the uploads.purge job on a schedule")
    upload_purge_interval_seconds: int = Field(
        3600, ge=1, le=30 * 86400, description="how often uploads.purge runs"
    )
    gc_enabled: bool = Field(True, description="run garbage collection (job kind gc) on a schedule")
    gc_interval_seconds: int = Field(
        3600, ge=60, le=30 * 86400, description="how often scheduled garbage collection runs"
    )
    gc_storage_sweep_interval_seconds: int = Field(
        7 * 86400,
        ge=3600,
        le=90 * 86400,
        description="how often garbage collection also walks storage for orphan files (sweep_storage)",
    )
    tag_expiry_enabled: bool = Field(
        True, description="run tags.expire on a schedule (expired tags are gone from /v2 at once anyway)"
    )
    tag_expiry_interval_seconds: int = Field(
        300, ge=10, le=86400, description="how often tags.expire moves expired tags to the history"
    )
    autoprune_enabled: bool = Field(
        True, description="run the auto-prune policies (autoprune.run) on a schedule"
    )
    default_quota_bytes: int = Field(
        0,
        ge=0,
        le=2**62,
        description="storage quota of every namespace without its own (Quay's "
        "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES): pushes that would exceed it are refused; 0: no default quota",
    )
    default_quota_warning_percent: int = Field(
        0,
        ge=0,
        le=100,
        description="with default_quota_bytes: a quota_warning event when a namespace's usage crosses this "
        "percent of the default quota; 0: no warning",
    )

    # -- accounts and security
    secret_key: str | None = Field(
        None, description="base64 of 32 bytes encrypting secrets at rest; default: <data_dir>/keys/secret.key"
    )
    allow_org_creation: bool = True
    user_creation: Literal["open", "invite", "disabled"] = Field(
        "invite",
        description="who may create an account in the web UI: anyone, holders of an invitation, nobody",
    )
    session_idle_seconds: int = Field(
        12 * 3600, ge=60, description="web UI sessions end after this idle time"
    )
    session_lifetime_seconds: int = Field(7 * 86400, ge=300, description="and in any case after this long")
    login_delay_after: int = Field(3, ge=1)
    login_lock_after: int = Field(10, ge=2)
    login_ip_delay_after: int = Field(20, ge=1)
    login_ip_lock_after: int = Field(100, ge=2)
    login_window_seconds: int = Field(900, ge=10)
    login_lock_seconds: int = Field(900, ge=10)

    # -- observability
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    access_log: bool = False

    # -- web UI
    ui_page_size: int = Field(50, ge=5, le=500, description="rows per page in the web UI's lists")

    @field_validator("tls_hostnames", mode="before")
    @classmethod
    def _split_hostnames(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [h.strip() for h in v.split(",") if h.strip()]
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("MOORAGE_CONFIG")
        data: dict[str, Any] = {}
        if path:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: the config file must hold a mapping of keys to values")
            unknown = set(loaded) - set(cls.model_fields)
            if unknown:
                raise ValueError(f"{path}: unknown config keys: {', '.join(sorted(unknown))}")
            data = loaded
        return (init_settings, env_settings, _YamlSource(settings_cls, data))

    # -- derived values
    @property
    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{(self.data_dir / 'moorage.db').resolve()}"
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url

    @property
    def resolved_node_id(self) -> str:
        """This node's name among the nodes sharing a data directory: configured, or host name and port."""
        return self.node_id or f"{socket.gethostname()}-{self.port}"

    @property
    def read_cache_enabled(self) -> bool:
        return self.read_cache != "off"

    @property
    def resolved_password_hash_concurrency(self) -> int:
        if self.password_hash_concurrency:
            return self.password_hash_concurrency
        return max(1, (os.cpu_count() or 1) // self.workers)

    @property
    def resolved_storage_root(self) -> Path:
        return (self.storage_root or self.data_dir / "storage").resolve()

    @property
    def uses_tls(self) -> bool:
        return self.self_signed or (self.tls_cert is not None and self.tls_key is not None)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.uses_tls else "http"
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from a YAML file (or $MOORAGE_CONFIG), the environment and explicit overrides."""
    if config_file is not None:
        os.environ["MOORAGE_CONFIG"] = str(config_file)
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
