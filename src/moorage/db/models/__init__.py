"""ORM models, one module per aggregate. Import this package to register every table on Base.metadata."""

from moorage.db.models.base import Base
from moorage.db.models.blob import Blob, RepositoryBlob
from moorage.db.models.identity import User
from moorage.db.models.manifest import Manifest, ManifestBlob, ManifestChild, RepositoryManifest
from moorage.db.models.namespace import Namespace
from moorage.db.models.repository import Repository
from moorage.db.models.tag import Tag
from moorage.db.models.upload import Upload

__all__ = [
    "Base",
    "Blob",
    "Manifest",
    "ManifestBlob",
    "ManifestChild",
    "Namespace",
    "Repository",
    "RepositoryBlob",
    "RepositoryManifest",
    "Tag",
    "Upload",
    "User",
]
