"""OAuth 2 applications of organizations and the access tokens they issue to users.

A token carries scopes (``repo:read`` ... ``super:user``) and never grants more than the user who
authorized it may do: the permission evaluator intersects the two on every decision. Client
secrets and tokens are stored as SHA-256 only and shown once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.audit import AuditLog
from moorage.db.engine import Database
from moorage.db.models import Namespace, OAuthApplication, OAuthAuthorizationCode, OAuthToken, User
from moorage.db.unit_of_work import unit_of_work
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound
from moorage.domain.roles import OAUTH_SCOPES
from moorage.domain.unset import UNSET, Unset
from moorage.identity.secretbox import new_token, same_hash, token_hash

OAUTH_USERNAME = "$oauthtoken"
CODE_LIFETIME = timedelta(minutes=10)  # RFC 6749 4.1.2 recommends at most 10 minutes


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
    token_id: int = 0
    generation: int = 0  # the user's credential generation
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token handed out by the code exchange (shown once)."""

    access_token: str
    scopes: frozenset[str]
    expires_in: timedelta | None


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
    def _revoked(s: AsyncSession) -> None:
        """Tokens were revoked in this transaction: end cached logins and token states at once."""
        unit_of_work(s).acl()

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
        name: str | Unset = UNSET,
        redirect_uri: str | Unset | None = UNSET,
        application_uri: str | Unset | None = UNSET,
        description: str | Unset | None = UNSET,
        actor: Actor,
    ) -> ApplicationInfo:
        """Change the fields given; UNSET leaves a field as it is, None clears it."""
        async with self.db.write() as s:
            a = await self._app(s, org, client_id)
            if not isinstance(name, Unset):
                if not name.strip():
                    raise InvalidInput("the name cannot be empty")
                a.name = name.strip()
            if not isinstance(redirect_uri, Unset):
                a.redirect_uri = redirect_uri
            if not isinstance(application_uri, Unset):
                a.application_uri = application_uri
            if not isinstance(description, Unset):
                a.description = description
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
            self._revoked(s)  # its tokens went with it

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
            generation = (
                await s.execute(select(User.credential_generation).where(User.id == user_id))
            ).scalar()
            if generation is None:
                raise NotFound("no such user")
            s.add(
                OAuthToken(
                    application_id=a.id,
                    user_id=user_id,
                    scopes=" ".join(sorted(scopes)),
                    token_hash=token_hash(token),
                    expires_at=datetime.now(UTC) + expires_in if expires_in else None,
                    credential_generation=generation,
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
                        OAuthToken.id.label("token_id"),
                        OAuthToken.scopes,
                        OAuthToken.expires_at,
                        OAuthApplication.client_id,
                        User.id,
                        User.username,
                        User.superuser,
                        User.enabled,
                        User.credential_generation,
                    )
                    .join(OAuthApplication, OAuthApplication.id == OAuthToken.application_id)
                    .join(User, User.id == OAuthToken.user_id)
                    .where(
                        OAuthToken.token_hash == token_hash(token),
                        OAuthToken.revoked_at.is_(None),
                        # issued under the user's current credential generation (see identity.revocation)
                        OAuthToken.credential_generation == User.credential_generation,
                    )
                )
            ).first()
        if row is None or not row.enabled:
            return None
        exp = None
        if row.expires_at is not None:
            exp = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
            if exp <= datetime.now(UTC):
                return None
        return OAuthGrant(
            int(row.id),
            row.username,
            bool(row.superuser),
            frozenset(row.scopes.split()),
            row.client_id,
            int(row.token_id),
            int(row.credential_generation),
            exp,
        )

    # -- the authorization endpoint (/oauth/authorize) and the token endpoint (/oauth/access_token)
    async def by_client_id(self, client_id: str) -> ApplicationInfo | None:
        """The application a ``client_id`` names, whatever its organization (None when unknown)."""
        if not client_id or len(client_id) > 64:
            return None
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(OAuthApplication, Namespace.name)
                    .join(Namespace, Namespace.id == OAuthApplication.namespace_id)
                    .where(OAuthApplication.client_id == client_id)
                )
            ).first()
        return None if row is None else self._info(row[1], row[0])

    async def verify_client(self, client_id: str, client_secret: str) -> ApplicationInfo | None:
        """The application when ``client_secret`` is its secret (compared in constant time)."""
        if not client_id or not client_secret or len(client_id) > 64 or len(client_secret) > 1024:
            return None
        async with self.db.read() as s:
            row = (
                await s.execute(
                    select(OAuthApplication, Namespace.name)
                    .join(Namespace, Namespace.id == OAuthApplication.namespace_id)
                    .where(OAuthApplication.client_id == client_id)
                )
            ).first()
        if row is None or not same_hash(row[0].client_secret_hash, token_hash(client_secret)):
            return None
        return self._info(row[1], row[0])

    async def create_code(
        self,
        client_id: str,
        *,
        user_id: int,
        scopes: frozenset[str],
        redirect_uri: str | None,
        actor: Actor,
    ) -> str:
        """A single-use authorization code for ``user_id`` (only its SHA-256 is stored).

        ``redirect_uri`` is the one the authorization request named (None when it named none): the
        token request must then repeat it exactly (RFC 6749 4.1.3)."""
        code = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self.db.write() as s:
            row = (
                await s.execute(
                    select(OAuthApplication.id, Namespace.name)
                    .join(Namespace, Namespace.id == OAuthApplication.namespace_id)
                    .where(OAuthApplication.client_id == client_id)
                )
            ).first()
            if row is None:
                raise NotFound(f"no application {client_id!r}")
            generation = (
                await s.execute(select(User.credential_generation).where(User.id == user_id))
            ).scalar()
            if generation is None:
                raise NotFound("no such user")
            s.add(
                OAuthAuthorizationCode(
                    code_hash=token_hash(code),
                    application_id=row[0],
                    user_id=user_id,
                    scopes=" ".join(sorted(scopes)),
                    redirect_uri=redirect_uri,
                    created_at=now,
                    expires_at=now + CODE_LIFETIME,
                    credential_generation=generation,
                )
            )
            await self.audit.add(
                s, "oauth_authorize", actor, namespace=row[1], client_id=client_id, scopes=sorted(scopes)
            )
        return code

    async def redeem_code(
        self,
        code: str,
        *,
        client_id: str,
        redirect_uri: str | None,
        expires_in: timedelta | None,
        actor: Actor,
    ) -> IssuedToken | None:
        """Exchange a code for an access token; None when the code is unknown, used, expired or was
        issued to another client or redirect URI.

        A code presented a second time also revokes the token it was first exchanged for: the code
        has leaked, so the token may have too (RFC 6749 4.1.2). The caller has authenticated the
        client already."""
        if not code or len(code) > 128:
            return None
        now = datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        async with self.db.write() as s:
            row = (
                await s.execute(
                    select(
                        OAuthAuthorizationCode,
                        OAuthApplication.client_id,
                        OAuthApplication.redirect_uri,
                        Namespace.name,
                        User.enabled,
                        User.credential_generation,
                    )
                    .join(OAuthApplication, OAuthApplication.id == OAuthAuthorizationCode.application_id)
                    .join(Namespace, Namespace.id == OAuthApplication.namespace_id)
                    .join(User, User.id == OAuthAuthorizationCode.user_id)
                    .where(OAuthAuthorizationCode.code_hash == token_hash(code))
                    .with_for_update(of=OAuthAuthorizationCode)
                )
            ).first()
            if row is None:
                return None
            c, owner_client, registered, org, enabled, generation = row
            if c.used_at is not None:
                if c.token_id is not None:
                    await s.execute(
                        update(OAuthToken)
                        .where(OAuthToken.id == c.token_id, OAuthToken.revoked_at.is_(None))
                        .values(revoked_at=now)
                    )
                    self._revoked(s)
                await self.audit.add(s, "oauth_code_replayed", actor, namespace=org, client_id=owner_client)
                return None
            expires = c.expires_at if c.expires_at.tzinfo else c.expires_at.replace(tzinfo=UTC)
            wanted = c.redirect_uri if c.redirect_uri is not None else registered
            sent_ok = redirect_uri == wanted or (c.redirect_uri is None and redirect_uri is None)
            if owner_client != client_id or expires <= now or not sent_ok or not enabled:
                return None
            if c.credential_generation != generation:  # the password changed since the consent
                return None
            scopes = frozenset(c.scopes.split())
            t = OAuthToken(
                application_id=c.application_id,
                user_id=c.user_id,
                scopes=c.scopes,
                token_hash=token_hash(token),
                expires_at=now + expires_in if expires_in else None,
                credential_generation=generation,
            )
            s.add(t)
            await s.flush()
            c.used_at, c.token_id = now, t.id
            await self.audit.add(
                s,
                "oauth_token_issue",
                actor,
                namespace=org,
                client_id=client_id,
                scopes=sorted(scopes),
                grant="authorization_code",
            )
        return IssuedToken(token, scopes, expires_in)
