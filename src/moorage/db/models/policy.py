from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class AutoPrunePolicy(Base):
    """An auto-prune policy (Quay's autoprunepolicy): of a namespace, or of one repository when
    ``repository_id`` is set. ``method`` is ``number_of_tags`` (``value``: N, keep the newest N) or
    ``creation_date`` (``value``: a duration such as ``2w``); ``tag_pattern`` limits it to the tags the
    pattern is found in (or, with ``tag_pattern_matches`` false, not found in)."""

    __tablename__ = "autoprune_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"), index=True)
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("repository.id", ondelete="CASCADE"), index=True, default=None
    )
    method: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(32))
    tag_pattern: Mapped[str | None] = mapped_column(String(256), default=None)
    tag_pattern_matches: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_by: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImmutabilityPolicy(Base):
    """An immutability rule (Quay's immutabilitypolicy, Harbor's immutable-tag rule): tags of the
    namespace (or of one repository) whose name the pattern is found in (or, with
    ``tag_pattern_matches`` false, not found in) may not be moved or deleted."""

    __tablename__ = "immutability_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"), index=True)
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("repository.id", ondelete="CASCADE"), index=True, default=None
    )
    tag_pattern: Mapped[str] = mapped_column(String(256))
    tag_pattern_matches: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_by: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
