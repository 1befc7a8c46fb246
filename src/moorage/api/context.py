"""What the REST API needs, handed over by the composition root (moorage.app)."""

from __future__ import annotations

from dataclasses import dataclass

from moorage.audit import AuditLog
from moorage.authz import Authorizer
from moorage.authz.permissions import Permissions
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
from moorage.registry.lifecycle import TagLifecycle
from moorage.registry.manifests import Manifests
from moorage.registry.policies import Policies
from moorage.registry.quotas import Quotas
from moorage.registry.repositories import Repositories
from moorage.registry.tags import Tags


@dataclass(frozen=True, slots=True)
class ApiContext:
    base_url: str
    allow_org_creation: bool
    max_page_size: int
    secure_cookies: bool
    users: Users
    organizations: Organizations
    robots: Robots
    app_tokens: AppTokens
    oauth: OAuthApplications
    credentials: Credentials
    sessions: Sessions
    throttle: LoginThrottler
    permissions: Permissions
    authorizer: Authorizer
    repositories: Repositories
    manifests: Manifests
    tags: Tags
    audit: AuditLog
    lifecycle: TagLifecycle
    policies: Policies
    autoprune: AutoPruner
    jobs: JobQueue
    quotas: Quotas
