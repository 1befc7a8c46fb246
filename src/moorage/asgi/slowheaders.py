"""uvicorn's httptools protocol with a deadline for request headers (slowloris on headers).

uvicorn bounds the idle time between requests (keep-alive) but not the time a client may take to
send one request's headers: a client trickling a header byte now and then holds its connection
forever. This protocol arms a timer when a connection opens and when a request begins, and answers
408 and closes the connection if the headers are not complete in time. granian has the same limit
built in (``HTTP1Settings.header_read_timeout``).

The deadline comes from ``MOORAGE_REQUEST_HEADER_TIMEOUT_SECONDS``, which ``moorage serve`` sets
for its worker processes (uvicorn builds protocol instances itself, with no room for arguments).
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def _timeout() -> float:
    try:
        return max(float(os.environ.get("MOORAGE_REQUEST_HEADER_TIMEOUT_SECONDS", "15")), 1.0)
    except ValueError:
        return 15.0


class HeaderTimeoutProtocol(HttpToolsProtocol):
    header_timeout = _timeout()
    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_RESPONSE)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
