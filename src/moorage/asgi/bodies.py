"""Request bodies that arrive too slowly, or too large where nobody is signed in yet.

Neither uvicorn nor granian bounds the time a request body may take: a ``PUT`` declaring
``Content-Length: 100`` that sends 3 bytes keeps its handler waiting for as long as the client likes
(slowloris), and an unauthenticated endpoint reads whatever body it is sent before checking
anything. This guard wraps ``receive`` for every HTTP request:

- **idle timeout**: no body bytes for ``idle_timeout`` seconds ends the request;
- **minimum rate**: after a grace period of ``idle_timeout`` seconds, a body must keep an average
  of at least ``min_rate`` bytes per second since its first byte was awaited (a fast client never
  notices; a client that trickles a byte a second is cut off);
- **small bodies** for the endpoints that read credentials before knowing who is calling
  (``small_paths``): more than ``small_limit`` bytes is refused, by the declared length when there
  is one, before reading anything.

The answer is 408 or 413 in the format of the part of the site the request was for (``render``),
with ``Connection: close`` so that the server drops the connection and the rest of the body.
Whatever the application had started to send instead (its own error for the interrupted read) is
replaced. An interrupted upload keeps the bytes it had received, as after a client disconnect, so
the client may resume it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("moorage.http")

# (scope, HTTP status, message) -> (body, content type)
Renderer = Callable[[Scope, int, str], tuple[bytes, str]]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    idle_timeout: float
    min_rate: int  # bytes per second; 0 disables the rate check
    small_limit: int
    small_paths: frozenset[str]


class BodyRefused(Exception):
    """Raised from ``receive`` into the application when the guard ends a request body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            digits = value.strip()
            if digits.isdigit():
                return int(digits) if len(digits) <= 19 else 1 << 63
            return None
    return None


class BodyGuard:
    def __init__(self, app: ASGIApp, limits: BodyLimits, render: Renderer) -> None:
        self.app = app
        self.limits = limits
        self.render = render

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        body, content_type = self.render(scope, status, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        small = scope["path"] in limits.small_paths
        if small:
            declared = _declared_length(scope)
            if declared is not None and declared > limits.small_limit:
                await self._refuse(scope, send, 413, f"request body larger than {limits.small_limit} bytes")
                return
        loop = asyncio.get_running_loop()
        first_wait: float | None = None
        received = 0
        finished = False
        refused: BodyRefused | None = None
        started = False

        async def guarded_receive() -> Message:
            nonlocal first_wait, received, finished, refused
            if finished or refused is not None:
                return await receive()
            now = loop.time()
            if first_wait is None:
                first_wait = now
            timeout = limits.idle_timeout
            if limits.min_rate > 0:
                # the moment the average since first_wait falls below min_rate, after the grace period
                due = first_wait + limits.idle_timeout + received / limits.min_rate
                timeout = min(timeout, max(due - now, 0.0))
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                idle = loop.time() - first_wait
                refused = BodyRefused(
                    408,
                    f"request body too slow: {received} bytes in {idle:.0f} s "
                    f"(at least {limits.min_rate} bytes/s, no pause over {limits.idle_timeout:.0f} s)",
                )
                raise refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if small and received > limits.small_limit:
                    refused = BodyRefused(413, f"request body larger than {limits.small_limit} bytes")
                    raise refused
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused is not None and not started:
                return  # the application's answer to the interrupted read is replaced by ours
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if refused is None:
                raise
        if refused is not None:
            client = scope.get("client")
            log.info(
                "request.body_refused",
                status=refused.status,
                path=scope["path"][:200],
                method=scope.get("method"),
                received=received,
                client=client[0] if client else None,
            )
            if not started:
                await self._refuse(scope, send, refused.status, refused.message)
