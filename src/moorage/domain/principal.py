"""Who is asking."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller, or the anonymous one.

    ``kind``: anonymous | user | robot. ``scopes`` is set for OAuth tokens: the principal then may do
    at most what both the user and the scopes allow. ``via`` says how the caller authenticated.

    ``generation`` is the account's credential generation when the caller authenticated (tokens
    issued for the caller carry it and die when it moves); ``credential`` names the application or
    OAuth token used (``app:ID``, ``oauth:ID``), whose revocation ends what was issued through it;
    ``expires_at`` (epoch seconds) is when the credential itself expires (robots, tokens).
    """

    kind: str
    name: str
    id: int | None = None
    superuser: bool = False
    scopes: frozenset[str] | None = None
    via: str = "password"
    generation: int | None = None
    credential: str | None = None
    expires_at: float | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def is_robot(self) -> bool:
        return self.kind == "robot"

    @property
    def key(self) -> str:
        """A stable identity for caches: kind, name and the limits that change decisions."""
        scopes = ",".join(sorted(self.scopes)) if self.scopes is not None else "*"
        return f"{self.kind}:{self.name}:{int(self.superuser)}:{scopes}"

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


ANONYMOUS = Principal("anonymous", "")
