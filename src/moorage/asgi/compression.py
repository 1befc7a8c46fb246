"""Compression of the web UI's and the REST API's text answers (brotli or gzip, as the client accepts).

Only the answers of the apps this wraps (the UI and ``/api/v1``; never ``/v2``, whose blobs are
already compressed and must stream untouched) and only textual types: HTML, CSS, JavaScript, JSON,
SVG. Left alone: answers that already carry a ``Content-Encoding``, partial content (206, any
``Content-Range``), requests with a ``Range`` header, small bodies, and HEAD requests. A streamed
answer stays streamed: each chunk is compressed and flushed as it comes.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE = (
    b"text/html",
    b"text/css",
    b"text/javascript",
    b"application/javascript",
    b"application/json",
    b"application/problem+json",
    b"application/openapi+json",
    b"image/svg+xml",
)
MIN_SIZE = 500  # below this the headers cost more than the saving


class _Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...
    def finish(self) -> bytes: ...


class _Gzip:
    def __init__(self) -> None:
        # wbits 16+15: the gzip container (header and CRC) that Content-Encoding: gzip means
        self._z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _Brotli:
    def __init__(self) -> None:
        self._b = brotli.Compressor(quality=5)  # quality 5: near gzip's speed, smaller output

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._b.process(data)
        return out

    def flush(self) -> bytes:
        out: bytes = self._b.flush()
        return out

    def finish(self) -> bytes:
        out: bytes = self._b.finish()
        return out


def chosen_encoding(accept_encoding: str) -> str | None:
    """``br`` or ``gzip`` when the client accepts it (q > 0), brotli preferred; else None."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if name:
            accepted[name.strip().lower()] = q
    for encoding in ("br", "gzip"):
        if accepted.get(encoding, accepted.get("*", 0.0)) > 0:
            return encoding
    return None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


class Compression:
    """ASGI middleware: compress eligible answers of ``app`` (see the module's docstring)."""

    def __init__(self, app: ASGIApp, minimum_size: int = MIN_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        request_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if _header(request_headers, b"range") is not None:
            await self.app(scope, receive, send)
            return
        encoding = chosen_encoding((_header(request_headers, b"accept-encoding") or b"").decode("latin-1"))
        if encoding is None:
            await self.app(scope, receive, send)
            return
        await _Responder(self.app, encoding, self.minimum_size)(scope, receive, send)


class _Responder:
    def __init__(self, app: ASGIApp, encoding: str, minimum_size: int) -> None:
        self.app = app
        self.encoding = encoding
        self.minimum_size = minimum_size
        self.start: Message | None = None
        self.compressor: _Compressor | None = None
        self.passthrough = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: Message) -> None:
            await self._send(message, send)

        await self.app(scope, receive, wrapped)

    def _eligible(self, headers: list[tuple[bytes, bytes]], status: int) -> bool:
        ctype = (_header(headers, b"content-type") or b"").split(b";")[0].strip().lower()
        return (
            status not in (204, 206, 304)
            and ctype in COMPRESSIBLE
            and _header(headers, b"content-encoding") is None
            and _header(headers, b"content-range") is None
        )

    async def _send(self, message: Message, send: Send) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not self._eligible(headers, int(message["status"])):
                self.passthrough = True
                await send(message)
                return
            self.start = message  # held until the first body shows the size
            return
        if self.passthrough or message["type"] != "http.response.body" or self.start is None:
            await send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.compressor is None:
            start, self.start = self.start, None
            if not more and len(body) < self.minimum_size:
                self.passthrough = True
                await send(start)
                await send(message)
                return
            self.compressor = _Brotli() if self.encoding == "br" else _Gzip()
            original: list[tuple[bytes, bytes]] = list(start.get("headers", []))
            headers = [(k, v) for k, v in original if k.lower() not in (b"content-length", b"etag")]
            etag = _header(original, b"etag")
            if etag is not None:  # a strong tag named the identity bytes; the compressed ones differ
                headers.append((b"etag", etag if etag.startswith(b"W/") else b"W/" + etag))
            headers.append((b"content-encoding", self.encoding.encode()))
            vary = _header(headers, b"vary")
            if vary is None:
                headers.append((b"vary", b"Accept-Encoding"))
            elif b"accept-encoding" not in vary.lower():
                headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
                headers.append((b"vary", vary + b", Accept-Encoding"))
            if not more:
                data = self.compressor.compress(body) + self.compressor.finish()
                headers.append((b"content-length", str(len(data)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": data})
                return
            await send({**start, "headers": headers})
        data = self.compressor.compress(body)
        data += self.compressor.flush() if more else self.compressor.finish()
        await send({"type": "http.response.body", "body": data, "more_body": more})


__all__ = ["COMPRESSIBLE", "Compression", "chosen_encoding"]
