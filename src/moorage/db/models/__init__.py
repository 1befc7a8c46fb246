"""ORM models, one module per aggregate. Import this package to register every table on Base.metadata."""

from moorage.db.models.audit import AuditEntry, LoginThrottle
from moorage.db.models.base import Base
from moorage.db.models.blob import Blob, RepositoryBlob
from moorage.db.models.identity import User
from moorage.db.models.job import Job, JobSchedule
from moorage.db.models.manifest import Manifest, ManifestBlob, ManifestChild, RepositoryManifest
from moorage.db.models.namespace import Namespace
from moorage.db.models.organization import Team, TeamMember
from moorage.db.models.outbox import OutboxEntry
from moorage.db.models.permission import DefaultPermission, RepositoryPermission
from moorage.db.models.policy import AutoPrunePolicy, ImmutabilityPolicy
from moorage.db.models.quota import NamespaceBlob, NamespaceQuota, NamespaceUsage, QuotaLimit
from moorage.db.models.repository import Repository
from moorage.db.models.robot import Robot
from moorage.db.models.session import Invitation, UiSession
from moorage.db.models.tag import Tag
from moorage.db.models.token import AppToken, OAuthApplication, OAuthAuthorizationCode, OAuthToken

__all__ = [
    "AppToken",
    "AuditEntry",
    "AutoPrunePolicy",
    "Base",
    "Blob",
    "DefaultPermission",
    "ImmutabilityPolicy",
    "Invitation",
    "Job",
    "JobSchedule",
    "LoginThrottle",
    "Manifest",
    "ManifestBlob",
    "ManifestChild",
    "Namespace",
    "NamespaceBlob",
    "NamespaceQuota",
    "NamespaceUsage",
    "OAuthApplication",
    "OAuthAuthorizationCode",
    "OAuthToken",
    "OutboxEntry",
    "QuotaLimit",
    "Repository",
    "RepositoryBlob",
    "RepositoryManifest",
    "RepositoryPermission",
    "Robot",
    "Tag",
    "Team",
    "TeamMember",
    "UiSession",
    "User",
]
