from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class Namespace(Base):
    """A user's or an organization's namespace: the first component of its repositories' names."""

    __tablename__ = "namespace"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "user" | "org"
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_by: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How long ended tags stay restorable (time machine); None: the registry default.
    tag_expiration_s: Mapped[int | None] = mapped_column(Integer, default=None)
