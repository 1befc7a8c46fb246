from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class Blob(Base):
    """A stored blob, shared by every repository that holds it (content-addressed, deduplicated)."""

    __tablename__ = "blob"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepositoryBlob(Base):
    """A blob that was pushed to or mounted into a repository (readable through that repository)."""

    __tablename__ = "repository_blob"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repository.id", ondelete="CASCADE"), primary_key=True
    )
    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blob.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
