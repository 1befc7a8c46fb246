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
from moorage.domain.principal import Principal
from moorage.domain.reference import split_robot_name
from moorage.identity.apptokens import APP_USERNAME, AppTokenOwner, AppTokens
from moorage.identity.oauth import OAUTH_USERNAME, OAuthApplications
from moorage.identity.revocation import epoch
from moorage.identity.robots import RobotInfo, Robots
from moorage.identity.throttle import LoginThrottler
from moorage.identity.tokens import AccountRef
from moorage.identity.users import Users


def _app_principal(owner: AppTokenOwner) -> Principal:
    return Principal(
        "user",
        owner.username,
        owner.user_id,
        owner.superuser,
        via="app_token",
        generation=owner.generation,
        credential=f"app:{owner.token_id}",
        expires_at=epoch(owner.expires_at),
    )


def _robot_principal(robot: RobotInfo, via: str) -> Principal:
    return Principal(
        "robot",
        robot.name,
        robot.id,
        via=via,
        generation=robot.generation,
        expires_at=epoch(robot.expires_at),
    )


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
            return _app_principal(owner)
        if username == OAUTH_USERNAME:
            grant = await self.oauth.authenticate(secret)
            if grant is None:
                return None
            return Principal(
                "user",
                grant.username,
                grant.user_id,
                grant.superuser,
                grant.scopes,
                via="oauth",
                generation=grant.generation,
                credential=f"oauth:{grant.token_id}",
                expires_at=epoch(grant.expires_at),
            )
        if split_robot_name(username) is not None:
            robot = await self.robots.authenticate(username, secret)
            if robot is None:
                return None
            return _robot_principal(robot, "robot_token")
        user = await self.users.authenticate(username, secret)
        if user is not None:
            return Principal(
                "user", user.username, user.id, user.superuser, via="password", generation=user.generation
            )
        owner = await self.app_tokens.authenticate(secret, username)
        if owner is not None:
            return _app_principal(owner)
        return None

    async def resolve(
        self, account: AccountRef | None, scopes: frozenset[str] | None = None
    ) -> Principal | None:
        """The principal a token was issued for, by the account's immutable id (never its name),
        if it still exists, is enabled and its credential generation is still the token's. The
        principal is limited to ``scopes`` (those of the OAuth token the token was obtained with)."""
        if account is None:
            return None
        if account.kind == "robot":
            robot = await self.robots.get_by_id(account.id)
            if robot is None or robot.expired or robot.generation != account.generation:
                return None
            return _robot_principal(robot, "token")
        user = await self.users.get_by_id(account.id)
        if user is None or not user.enabled or user.generation != account.generation:
            return None
        return Principal(
            "user", user.username, user.id, user.superuser, scopes, via="token", generation=user.generation
        )
