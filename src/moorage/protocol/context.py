"""What the /v2 handlers need, built once by the composition root (moorage.app)."""

from __future__ import annotations

from dataclasses import dataclass

from moorage.audit import AuditLog
from moorage.authz import Authorizer
from moorage.identity.credentials import Credentials
from moorage.identity.revocation import Revocations
from moorage.identity.tokens import TokenService
from moorage.identity.users import Users
from moorage.observability.metrics import Metrics
from moorage.registry.blobs import Blobs
from moorage.registry.catalog import Catalog
from moorage.registry.lifecycle import TagLifecycle
from moorage.registry.manifests import Manifests
from moorage.registry.referrers import Referrers
from moorage.registry.repositories import Repositories
from moorage.registry.tags import Tags
from moorage.registry.uploads import Uploads
from moorage.storage.base import StorageDriver


@dataclass(frozen=True, slots=True)
class RegistryContext:
    base_url: str
    service: str
    max_page_size: int
    max_manifest_bytes: int
    anonymous_access: bool
    repositories: Repositories
    blobs: Blobs
    uploads: Uploads
    manifests: Manifests
    tags: Tags
    referrers: Referrers
    catalog: Catalog
    storage: StorageDriver
    users: Users
    credentials: Credentials
    tokens: TokenService
    revocations: Revocations
    authorizer: Authorizer
    audit: AuditLog
    metrics: Metrics
    lifecycle: TagLifecycle
