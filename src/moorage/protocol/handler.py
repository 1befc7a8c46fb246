"""The per-request object handed to /v2 handlers."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from moorage.domain.actor import Actor
from moorage.protocol.auth import Authenticator, Caller
from moorage.protocol.context import RegistryContext


@dataclass(frozen=True, slots=True)
class Call:
    request: Request
    ctx: RegistryContext
    auth: Authenticator
    caller: Caller
    name: str
    ref: str
    allowed: frozenset[str]

    @property
    def head(self) -> bool:
        return self.request.method == "HEAD"

    @property
    def actor(self) -> Actor:
        return self.caller.actor
