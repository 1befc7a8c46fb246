"""What the web UI needs, handed over by the composition root (moorage.app)."""

from __future__ import annotations

from dataclasses import dataclass

from moorage.audit import AuditLog
from moorage.authz import Authorizer
from moorage.authz.permissions import Permissions
from moorage.domain.clientcommands import ClientCommands
from moorage.identity.apptokens import AppTokens
from moorage.identity.credentials import Credentials
from moorage.identity.oauth import OAuthApplications
from moorage.identity.orgs import Organizations
from moorage.identity.robots import Robots
from moorage.identity.sessions import Sessions
from moorage.identity.throttle import LoginThrottler
from moorage.identity.users import Users
from moorage.jobs.queue import JobQueue
from moorage.registry.autoprune import AutoPruner
from moorage.registry.blobs import Blobs
from moorage.registry.lifecycle import TagLifecycle
from moorage.registry.manifests import Manifests
from moorage.registry.policies import Policies
from moorage.registry.quotas import Quotas
from moorage.registry.referrers import Referrers
from moorage.registry.repositories import Repositories
from moorage.registry.tags import Tags
from moorage.registry.usage import Usage
from moorage.storage.base import StorageDriver


@dataclass(frozen=True, slots=True)
class UiSettings:
    base_url: str
    allow_org_creation: bool
    user_creation: str  # open | invite | disabled
    anonymous_access: bool
    page_size: int
    secure_cookies: bool

    @property
    def commands(self) -> ClientCommands:
        """The docker/podman/skopeo/oras command lines for this registry (flags for plain HTTP)."""
        return ClientCommands(self.base_url)

    @property
    def registry_host(self) -> str:
        """host[:port] as docker, podman and skopeo want it in image references."""
        return self.commands.host


@dataclass(frozen=True, slots=True)
class UiContext:
    settings: UiSettings
    sessions: Sessions
    users: Users
    organizations: Organizations
    robots: Robots
    app_tokens: AppTokens
    oauth: OAuthApplications
    credentials: Credentials
    throttle: LoginThrottler
    permissions: Permissions
    authorizer: Authorizer
    repositories: Repositories
    manifests: Manifests
    tags: Tags
    blobs: Blobs
    referrers: Referrers
    usage: Usage
    storage: StorageDriver
    audit: AuditLog
    lifecycle: TagLifecycle
    policies: Policies
    autoprune: AutoPruner
    jobs: JobQueue
    quotas: Quotas
