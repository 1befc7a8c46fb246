from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, ordered_name, utcnow


class Tag(Base):
    """A temporal tag: moving or deleting a tag ends this row (lifetime_end) and, for a move, starts another.

    At most one open row (lifetime_end IS NULL) exists per (repository, name). ``expires_at``, when
    set, ends the tag's life at that moment without a write: a tag is live when its row is open and
    not past ``expires_at`` (``registry.sql.live_tag``, the one place that rule is written).
    """

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(ordered_name(128))
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id", ondelete="CASCADE"), index=True)
    lifetime_start: Mapped[datetime] = mapped_column(default=utcnow)
    lifetime_end: Mapped[datetime | None] = mapped_column(default=None, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # Set on the tag itself (API, or the ``quay.immutable=true`` label); policies add rules by pattern.
    immutable: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index(
            "uq_tag_live",
            "repository_id",
            "name",
            unique=True,
            sqlite_where=text("lifetime_end IS NULL"),
            postgresql_where=text("lifetime_end IS NULL"),
        ),
        Index("ix_tag_repository_name", "repository_id", "name"),
    )
