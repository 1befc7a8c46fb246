from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class AuditEntry(Base):
    """One audited event: who (performer), when, from where (ip), what (kind + metadata JSON)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    performer: Mapped[str | None] = mapped_column(String(255))
    performer_kind: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    namespace: Mapped[str | None] = mapped_column(String(255))
    repository: Mapped[str | None] = mapped_column(String(255))
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (
        Index("ix_audit_namespace_time", "namespace", "created_at"),
        Index("ix_audit_repository_time", "repository", "created_at"),
        Index("ix_audit_performer_time", "performer", "created_at"),
        Index("ix_audit_time", "created_at"),
    )


class LoginThrottle(Base):
    """Failed-login bookkeeping per account (``user:NAME``) and per client address (``ip:ADDR``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
