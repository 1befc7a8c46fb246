from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow

_ONE_DELEGATE = (
    "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN robot_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class RepositoryPermission(Base):
    """A role (read | write | admin) on one repository for exactly one user, team or robot."""

    __tablename__ = "repository_permission"

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    robot_id: Mapped[int | None] = mapped_column(ForeignKey("robot.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_ONE_DELEGATE, name="one_delegate"),
        Index(
            "uq_repo_perm_user",
            "repository_id",
            "user_id",
            unique=True,
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "uq_repo_perm_team",
            "repository_id",
            "team_id",
            unique=True,
            sqlite_where=text("team_id IS NOT NULL"),
            postgresql_where=text("team_id IS NOT NULL"),
        ),
        Index(
            "uq_repo_perm_robot",
            "repository_id",
            "robot_id",
            unique=True,
            sqlite_where=text("robot_id IS NOT NULL"),
            postgresql_where=text("robot_id IS NOT NULL"),
        ),
        Index("ix_repo_perm_user", "user_id"),
        Index("ix_repo_perm_team", "team_id"),
        Index("ix_repo_perm_robot", "robot_id"),
    )


class DefaultPermission(Base):
    """An organization's default permission ("prototype"): granted on every new repository.

    When ``activating_user_id`` or ``activating_team_id`` is set, only for repositories created by
    that user (or by a member of that team).
    """

    __tablename__ = "default_permission"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # the id the API shows (Quay's)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    robot_id: Mapped[int | None] = mapped_column(ForeignKey("robot.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    activating_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    activating_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(_ONE_DELEGATE, name="one_delegate"),)
