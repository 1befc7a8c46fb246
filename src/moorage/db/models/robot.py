from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class Robot(Base):
    """A robot account ``namespace+shortname``, owned by a user or an organization namespace.

    The token is kept encrypted (so an admin can reveal it, as in Quay) and as a SHA-256 lookup hash
    (so logins never need to decrypt).
    """

    __tablename__ = "robot"

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    shortname: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(4096))
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(255))
    # bumped when the token is regenerated; registry tokens carry it (see User.credential_generation)
    credential_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (UniqueConstraint("namespace_id", "shortname", name="uq_robot_namespace_shortname"),)
