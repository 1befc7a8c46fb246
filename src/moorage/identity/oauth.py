"""OAuth 2 applications of organizations and the access tokens they issue to users.

A token carries scopes (``repo:read`` ... ``super:user``) and never grants more than the user who
authorized it may do: the permission evaluator intersects the two on every decision. Client
secrets and tokens are stored as SHA-256 only and shown once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Namespace, OAuthApplication, OAuthToken, User
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound
from moorage.domain.roles import OAUTH_SCOPES
from moorage.identity.secretbox import new_token, token_hash

OAUTH_USERNAME = "$oauthtoken"


@dataclass(frozen=True, slots=True)
class ApplicationInfo:
    name: str
    client_id: str
    organization: str
    redirect_uri: str | None
    application_uri: str | None
    description: str | None
    created_at: datetime
    client_secret: str | None = None  # only on creation and reset


@dataclass(frozen=True, slots=True)
class OAuthGrant:
    user_id: int
    username: str
    superuser: bool
    scopes: frozenset[str]
    client_id: str


def parse_scopes(value: str | list[str]) -> frozenset[str]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    scopes = frozenset(items)
    unknown = scopes - set(OAUTH_SCOPES)
    if unknown:
        raise InvalidInput(f"unknown scopes: {', '.join(sorted(unknown))}; known: {', '.join(OAUTH_SCOPES)}")
    if not scopes:
        raise InvalidInput("at least one scope is needed")
    return scopes


class OAuthApplications:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db = db
        self.audit = audit

    @staticmethod
    def _info(org: str, a: OAuthApplication) -> ApplicationInfo:
        created = a.created_at if a.created_at.tzinfo else a.created_at.replace(tzinfo=UTC)
        return ApplicationInfo(
            a.name, a.client_id, org, a.redirect_uri, a.application_uri, a.description, created
        )

    async def _org_id(self, s: AsyncSession, org: str) -> int:
        ns_id = (
            await s.execute(select(Namespace.id).where(Namespace.name == org, Namespace.kind == "org"))
        ).scalar()
        if ns_id is None:
            raise NotFound(f"no organization named {org!r}")
        return int(ns_id)

    async def _app(self, s: AsyncSession, org: str, client_id: str) -> OAuthApplication:
        org_id = await self._org_id(s, org)
        a = (
            await s.execute(
                select(OAuthApplication).where(
                    OAuthApplication.namespace_id == org_id, OAuthApplication.client_id == client_id
                )
            )
        ).scalar()
        if a is None:
            raise NotFound(f"no application {client_id!r} in organization {org!r}")
        return a

    async def create(
        self,
        org: str,
        name: str,
        *,
        redirect_uri: str | None,
        application_uri: str | None,
        description: str | None,
        actor: Actor,
    ) -> ApplicationInfo:
        if not name.strip() or len(name) > 255:
            raise InvalidInput("an application needs a name of 1-255 characters")
        secret = new_token(40)
        async with self.db.write() as s:
            a = OAuthApplication(
                namespace_id=await self._org_id(s, org),
                name=name.strip(),
                client_id=new_token(20),
                client_secret_hash=token_hash(secret),
                redirect_uri=redirect_uri,
                application_uri=application_uri,
                description=description,
            )
            s.add(a)
            await s.flush()
            await self.audit.add(
                s, "create_application", actor, namespace=org, application=a.name, client_id=a.client_id
            )
            return replace(self._info(org, a), client_secret=secret)

    async def list(self, org: str) -> list[ApplicationInfo]:
        async with self.db.read() as s:
            org_id = await self._org_id(s, org)
            rows = (
                await s.execute(
                    select(OAuthApplication)
                    .where(OAuthApplication.namespace_id == org_id)
                    .order_by(OAuthApplication.name)
                )
            ).scalars()
            return [self._info(org, a) for a in rows]

    async def get(self, org: str, client_id: str) -> ApplicationInfo:
        async with self.db.read() as s:
            return self._info(org, await self._app(s, org, client_id))

    async def update(
        self,
        org: str,
        client_id: str,
        *,
        name: str | None,
        redirect_uri: str | None,
        application_uri: str | None,
        description: str | None,
        actor: Actor,
    ) -> ApplicationInfo:
        async with self.db.write() as s:
            a = await self._app(s, org, client_id)
            if name is not None:
                if not name.strip():
                    raise InvalidInput("the name cannot be empty")
                a.name = name.strip()
            a.redirect_uri = redirect_uri if redirect_uri is not None else a.redirect_uri
            a.application_uri = application_uri if application_uri is not None else a.application_uri
            a.description = description if description is not None else a.description
            await self.audit.add(s, "update_application", actor, namespace=org, client_id=client_id)
            return self._info(org, a)

    async def reset_secret(self, org: str, client_id: str, actor: Actor) -> ApplicationInfo:
        secret = new_token(40)
        async with self.db.write() as s:
            a = await self._app(s, org, client_id)
            a.client_secret_hash = token_hash(secret)
            await self.audit.add(
                s, "reset_application_client_secret", actor, namespace=org, client_id=client_id
            )
            return replace(self._info(org, a), client_secret=secret)

    async def delete(self, org: str, client_id: str, actor: Actor) -> None:
        async with self.db.write() as s:
            a = await self._app(s, org, client_id)
            await s.execute(delete(OAuthApplication).where(OAuthApplication.id == a.id))
            await self.audit.add(s, "delete_application", actor, namespace=org, client_id=client_id)

    async def issue_token(
        self,
        org: str,
        client_id: str,
        *,
        user_id: int,
        scopes: frozenset[str],
        expires_in: timedelta | None,
        actor: Actor,
    ) -> str:
        """An access token for ``user_id`` limited to ``scopes`` (shown once)."""
        token = secrets.token_urlsafe(32)
        async with self.db.write() as s:
            a = await self._app(s, org, client_id)
            s.add(
                OAuthToken(
                    application_id=a.id,
                    user_id=user_id,
                    scopes=" ".join(sorted(scopes)),
                    token_hash=token_hash(token),
                    expires_at=datetime.now(UTC) + expires_in if expires_in else None,
                )
            )
            await self.audit.add(
                s, "oauth_token_issue", actor, namespace=org, client_id=client_id, scopes=sorted(scopes)
            )
        return token

    async def authenticate(self, token: str) -> OAuthGrant | None:
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(
                        OAuthToken.scopes,
                        OAuthToken.expires_at,
                        OAuthApplication.client_id,
                        User.id,
                        User.username,
                        User.superuser,
                        User.enabled,
                    )
                    .join(OAuthApplication, OAuthApplication.id == OAuthToken.application_id)
                    .join(User, User.id == OAuthToken.user_id)
                    .where(OAuthToken.token_hash == token_hash(token), OAuthToken.revoked_at.is_(None))
                )
            ).first()
        if row is None or not row.enabled:
            return None
        if row.expires_at is not None:
            exp = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
            if exp <= datetime.now(UTC):
                return None
        return OAuthGrant(
            int(row.id), row.username, bool(row.superuser), frozenset(row.scopes.split()), row.client_id
        )
