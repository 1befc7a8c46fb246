"""The one place that decides whether a (username, secret) pair is a valid login.

Used by the registry token endpoint, Basic authentication on /v2 and /api/v1, and the UI. Accepts:

- ``user`` + password, or ``user`` + one of that user's application tokens;
- ``$app`` + an application token;
- ``$oauthtoken`` + an OAuth access token (the principal is then limited to the token's scopes);
- ``namespace+robot`` + the robot's token.

Failed attempts are throttled per account and per client address and recorded in the audit log.
"""

from __future__ import annotations

from moorage.audit import AuditLog
from moorage.domain.actor import Actor
from moorage.domain.errors import NotFound
from moorage.domain.principal import Principal
from moorage.domain.reference import split_robot_name
from moorage.identity.apptokens import APP_USERNAME, AppTokens
from moorage.identity.oauth import OAUTH_USERNAME, OAuthApplications
from moorage.identity.robots import Robots
from moorage.identity.throttle import LoginThrottler
from moorage.identity.users import Users


class Credentials:
    def __init__(
        self,
        users: Users,
        robots: Robots,
        app_tokens: AppTokens,
        oauth: OAuthApplications,
        throttle: LoginThrottler,
        audit: AuditLog,
    ) -> None:
        self.users = users
        self.robots = robots
        self.app_tokens = app_tokens
        self.oauth = oauth
        self.throttle = throttle
        self.audit = audit

    async def verify(self, username: str, secret: str, ip: str | None, *, where: str) -> Principal | None:
        """The principal, or None for wrong credentials. Raises Throttled while locked out."""
        await self.throttle.before_attempt(username, ip)
        principal = await self._check(username, secret)
        if principal is None:
            locked = await self.throttle.failed(username, ip)
            await self.audit.record(
                "login_failure", Actor(username[:255], "user", ip), where=where, locked=locked
            )
            return None
        await self.throttle.succeeded(username)
        await self.audit.enqueue(
            "login_success",
            Actor(principal.name, principal.kind, ip, principal.id),
            where=where,
            via=principal.via,
        )
        return principal

    async def _check(self, username: str, secret: str) -> Principal | None:
        if not username or not secret or len(secret) > 1024:
            return None
        if username == APP_USERNAME:
            owner = await self.app_tokens.authenticate(secret)
            if owner is None:
                return None
            return Principal("user", owner.username, owner.user_id, owner.superuser, via="app_token")
        if username == OAUTH_USERNAME:
            grant = await self.oauth.authenticate(secret)
            if grant is None:
                return None
            return Principal(
                "user", grant.username, grant.user_id, grant.superuser, grant.scopes, via="oauth"
            )
        if split_robot_name(username) is not None:
            robot = await self.robots.authenticate(username, secret)
            if robot is None:
                return None
            return Principal("robot", robot.name, robot.id, via="robot_token")
        user = await self.users.authenticate(username, secret)
        if user is not None:
            return Principal("user", user.username, user.id, user.superuser, via="password")
        owner = await self.app_tokens.authenticate(secret, username)
        if owner is not None:
            return Principal("user", owner.username, owner.user_id, owner.superuser, via="app_token")
        return None

    async def resolve(self, subject: str) -> Principal | None:
        """The principal a token subject names, if it still exists and is enabled."""
        if not subject:
            return None
        parts = split_robot_name(subject)
        if parts is not None:
            try:
                robot = await self.robots.get(*parts)
            except NotFound:
                return None
            return None if robot.expired else Principal("robot", robot.name, robot.id, via="token")
        user = await self.users.get(subject)
        if user is None or not user.enabled:
            return None
        return Principal("user", user.username, user.id, user.superuser, via="token")
