from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, ordered_name, utcnow


class Repository(Base):
    """A repository; ``name`` is the full path (``ns/app`` or ``ns/team/app``)."""

    __tablename__ = "repository"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(ordered_name(255), unique=True)
    namespace_id: Mapped[int | None] = mapped_column(
        ForeignKey("namespace.id", ondelete="CASCADE"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(16), default="private")  # "private" | "public"
    description: Mapped[str | None] = mapped_column(String(4096))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
