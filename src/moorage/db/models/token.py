from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from moorage.db.models.base import Base, utcnow


class AppToken(Base):
    """A user's application token: a random secret, stored only as its SHA-256."""

    __tablename__ = "app_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # the owner's credential generation at creation: the token dies when it moves
    credential_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OAuthApplication(Base):
    """An OAuth 2 application registered by an organization."""

    __tablename__ = "oauth_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str | None] = mapped_column(String(2048))
    application_uri: Mapped[str | None] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(4096))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthToken(Base):
    """An access token issued by an OAuth application to a user, limited to ``scopes``."""

    __tablename__ = "oauth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_application.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # the user's credential generation at authorization: the token dies when it moves
    credential_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OAuthAuthorizationCode(Base):
    """A short-lived, single-use authorization code of the OAuth 2 code flow (RFC 6749 4.1).

    Only the SHA-256 of the code is stored. The code is bound to the application, the user, the
    scopes consented to and the ``redirect_uri`` the authorization request named (None when it named
    none); ``token_id`` remembers the access token it was exchanged for, so a replayed code can
    revoke that token (RFC 6749 4.1.2).
    """

    __tablename__ = "oauth_authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_application.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    redirect_uri: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("oauth_token.id", ondelete="SET NULL"), default=None
    )
    credential_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
