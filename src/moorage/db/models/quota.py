from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class NamespaceQuota(Base):
    """A storage quota of a namespace (user or organization): at most one per namespace (Quay)."""

    __tablename__ = "namespace_quota"

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"), unique=True)
    limit_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuotaLimit(Base):
    """A threshold of a quota: ``Warning`` (an event) or ``Reject`` (pushes refused), in percent."""

    __tablename__ = "quota_limit"

    id: Mapped[int] = mapped_column(primary_key=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("namespace_quota.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "Warning" | "Reject"
    percent: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("quota_id", "kind", "percent", name="uq_quota_limit_kind_percent"),)


class NamespaceBlob(Base):
    """A blob counted in a namespace's usage: present while any repository of the namespace links it.

    The blob's foreign key has no cascade on purpose: a blob row may only go once no namespace
    counts it (garbage collection calls ``QuotaAccounting.links_removed`` first), so a forgotten
    call fails loudly instead of leaving the usage counter wrong.
    """

    __tablename__ = "namespace_blob"

    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_namespace_blob_blob", "blob_id"),)


class NamespaceUsage(Base):
    """The bytes of the distinct blobs a namespace's repositories hold, kept exact incrementally."""

    __tablename__ = "namespace_usage"

    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
