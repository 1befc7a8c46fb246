from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class Team(Base):
    """A team of an organization. ``role``: member | creator | admin (of the organization)."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    description: Mapped[str | None] = mapped_column(String(4096))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("namespace_id", "name", name="uq_team_namespace_name"),)


class TeamMember(Base):
    """A user or a robot account in a team (exactly one of user_id, robot_id is set)."""

    __tablename__ = "team_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    robot_id: Mapped[int | None] = mapped_column(ForeignKey("robot.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (robot_id IS NULL)", name="one_member"),
        Index(
            "uq_team_member_user",
            "team_id",
            "user_id",
            unique=True,
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "uq_team_member_robot",
            "team_id",
            "robot_id",
            unique=True,
            sqlite_where=text("robot_id IS NOT NULL"),
            postgresql_where=text("robot_id IS NOT NULL"),
        ),
        Index("ix_team_member_user", "user_id"),
        Index("ix_team_member_robot", "robot_id"),
    )
