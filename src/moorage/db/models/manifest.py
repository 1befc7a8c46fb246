from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class Manifest(Base):
    """A manifest, stored once by digest; its bytes are kept verbatim."""

    __tablename__ = "manifest"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(200), unique=True)
    media_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    artifact_type: Mapped[str | None] = mapped_column(String(255))
    subject_digest: Mapped[str | None] = mapped_column(String(200), index=True)
    config_digest: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepositoryManifest(Base):
    """A manifest present in a repository (pushed there, by tag or by digest)."""

    __tablename__ = "repository_manifest"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repository.id", ondelete="CASCADE"), primary_key=True
    )
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ManifestBlob(Base):
    """A blob (config or layer) referenced by a manifest."""

    __tablename__ = "manifest_blob"

    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_manifest_blob_blob", "blob_id"),)


class ManifestChild(Base):
    """A manifest referenced by an index or manifest list."""

    __tablename__ = "manifest_child"

    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_manifest_child_child", "child_id"),)
