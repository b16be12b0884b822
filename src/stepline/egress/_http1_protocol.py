"""One keep-alive HTTP/1.1 client connection: an :class:`asyncio.Protocol` over httptools.

The connection carries one exchange at a time (no pipelining). :meth:`Http1Connection.send`
writes a request and hands over the future that the response, or an :class:`ExchangeError`,
is delivered to. The response is parsed by llhttp (through ``httptools``) as bytes arrive:

* interim responses (``100 Continue``, ``103 Early Hints``) are skipped;
* a ``HEAD`` response is complete at the end of its headers (llhttp cannot be told the request
  was ``HEAD`` and would wait for the body ``Content-Length`` announces), and the connection
  is then not reused;
* the body is kept up to the response window: one byte past it settles the response as
  truncated and the connection is not reused (its unread rest is never drained);
* a body without ``Content-Length`` or chunked framing ends when the server closes;
* ``Connection: close``, HTTP/1.0 without keep-alive, bytes nobody asked for and an unfinished
  request write all make the connection unfit for reuse.

The owner learns that the connection ended through ``on_lost`` (an idle connection the server
closed must leave the pool at once).
"""

from __future__ import annotations

import asyncio
import http
import socket
from collections.abc import Callable
from typing import Final

import httptools

from stepline.egress._messages import HttpResponse

__all__ = [
    "BODY_BROKEN",
    "CLOSED",
    "HEAD_TOO_LARGE",
    "INTERRUPTED",
    "MALFORMED",
    "NOTHING_RECEIVED",
    "TIMED_OUT",
    "UPGRADED",
    "ExchangeError",
    "Http1Connection",
]

REASON_PHRASES: Final = {status.value: status.phrase for status in http.HTTPStatus}

# A response whose status line and headers exceed this is refused (llhttp itself sets no limit).
MAX_HEAD_BYTES: Final = 256 * 1024

# ExchangeError kinds.
NOTHING_RECEIVED: Final = "nothing-received"  # the connection ended before any response byte
CLOSED: Final = "closed"  # it ended inside the status line or headers
BODY_BROKEN: Final = "body-broken"  # it ended, or the framing broke, inside the body
MALFORMED: Final = "malformed"  # the status line or headers are not HTTP/1.x
HEAD_TOO_LARGE: Final = "head-too-large"
UPGRADED: Final = "upgraded"  # 101 Switching Protocols, which no request of ours asks for
TIMED_OUT: Final = "timed-out"
INTERRUPTED: Final = "interrupted"  # the transport was closed while the exchange ran

# Connection states, from the pool's point of view.
BUSY: Final = 0  # owned by one request (or being handed to a waiting one)
IDLE: Final = 1  # in its host pool's idle list
GONE: Final = 2  # no longer counted by the pool

_NO_BODY_STATUSES: Final = frozenset({204, 304})


class ExchangeError(Exception):
    """Why an exchange failed; turned into a safe :class:`EgressError` by the transport.

    Attributes:
        kind: One of the kind constants of this module.
        cause: The OS or TLS error that ended the connection, if any (never shown whole).
    """

    def __init__(self, kind: str, cause: BaseException | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.cause = cause


def _text(raw: bytes) -> str:
    # Header bytes are ASCII nearly always; UTF-8 is the common non-ASCII form; anything else
    # is kept byte for byte as Latin-1 rather than refused.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Http1Connection(asyncio.Protocol):
    """A client connection to one origin, speaking HTTP/1.1 with keep-alive.

    Args:
        sock: The connected socket (kept so that a dead event loop's connections can be
            closed without that loop).
        window: The response window: body bytes kept at most.
        on_lost: Called once when the connection has ended.
    """

    __slots__ = (
        "_body",
        "_body_size",
        "_framed",
        "_head_only",
        "_headers",
        "_headers_done",
        "_interim",
        "_on_lost",
        "_parser",
        "_reason",
        "_received",
        "_settled",
        "_waiter",
        "_window",
        "closed",
        "host_pool",
        "idle_since",
        "reusable",
        "sock",
        "state",
        "transport",
    )

    def __init__(
        self,
        sock: socket.socket,
        window: int,
        on_lost: Callable[[Http1Connection], None],
        host_pool: object,
    ) -> None:
        self.sock = sock
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self.state = BUSY
        self.idle_since = 0.0
        self.host_pool = host_pool
        self._on_lost = on_lost
        self._window = window
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._settled = True
        self._head_only = False
        self._received = 0
        self._headers_done = False
        self._interim = False
        self._framed = False
        self._reason = ""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0

    # --- driven by the transport ------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[HttpResponse], *, head_only: bool) -> None:
        """Write one request; its response (or an :class:`ExchangeError`) goes to ``waiter``.

        Args:
            data: The whole request: head and body.
            waiter: The future to settle.
            head_only: The request is ``HEAD``: the response has no body, whatever it says.
        """
        self._waiter = waiter
        self._settled = False
        self._head_only = head_only
        self._received = 0
        self._headers_done = False
        self._interim = False
        self._framed = False
        self._reason = ""
        self._headers = []
        self._body = []
        self._body_size = 0
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            self._fail(ExchangeError(NOTHING_RECEIVED))
            return
        transport.write(data)

    def finish(self) -> None:
        """Forget the settled exchange; unfit for reuse when the request was not all sent."""
        self._waiter = None
        transport = self.transport
        if transport is None or transport.get_write_buffer_size():
            # The server answered before reading the whole request: the rest of it would
            # reach the server as the start of the next request.
            self.reusable = False

    def expire(self) -> None:
        """The time limit passed: fail the exchange (if still running) and drop the line."""
        if not self._settled:
            self._fail(ExchangeError(TIMED_OUT))

    def interrupt(self) -> None:
        """The transport is closing: fail the exchange (if any) and drop the connection."""
        self._fail(ExchangeError(INTERRUPTED))

    def abort(self) -> None:
        """Close at once, without flushing (the connection is of no further use)."""
        self.reusable = False
        transport = self.transport
        if transport is not None and not self.closed:
            transport.abort()

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._settled:
            # Bytes nobody asked for (on an idle line, or after the response): the framing
            # of this connection can no longer be trusted.
            self.abort()
            return
        received = self._received + len(data)
        self._received = received
        if received > MAX_HEAD_BYTES and not self._headers_done:
            self._fail(ExchangeError(HEAD_TOO_LARGE))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ExchangeError(UPGRADED))
        except httptools.HttpParserError:
            self._fail(ExchangeError(BODY_BROKEN if self._headers_done else MALFORMED))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost decides what the end means

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if not self._settled:
            if (
                self._headers_done
                and exc is None
                and not self._framed
                and self._parser.get_status_code() not in _NO_BODY_STATUSES
            ):
                # A body delimited by the end of the connection is complete now.
                self._settle(b"".join(self._body), truncated=False)
            elif self._received == 0:
                self._fail(ExchangeError(NOTHING_RECEIVED, exc))
            else:
                self._fail(ExchangeError(BODY_BROKEN if self._headers_done else CLOSED, exc))
        self._on_lost(self)

    # --- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._settled:
            self.reusable = False  # a second response to one request
            return
        self._reason = ""
        self._headers = []

    def on_status(self, status: bytes) -> None:
        if not self._settled:
            self._reason = _text(status).strip()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._settled:
            return
        if len(name) in (14, 17):
            lowered = name.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                self._framed = True
        self._headers.append((_text(name), _text(value.rstrip(b" \t"))))

    def on_headers_complete(self) -> None:
        if self._settled:
            return
        status = self._parser.get_status_code()
        if status < 200 and status != 101:
            self._interim = True  # skipped: the final response follows
            self._framed = False
            return
        self._headers_done = True
        if self._head_only:
            self.reusable = False
            self._settle(b"", truncated=False)

    def on_body(self, body: bytes) -> None:
        if self._settled or self._interim:
            return
        self._body.append(body)
        size = self._body_size + len(body)
        self._body_size = size
        if size > self._window:
            self.reusable = False
            self._settle(b"".join(self._body)[: self._window], truncated=True)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._settled:
            return
        if not self._parser.should_keep_alive():
            self.reusable = False
        body = self._body
        self._settle(body[0] if len(body) == 1 else b"".join(body), truncated=False)

    # --- settling ---------------------------------------------------------------------------

    def _settle(self, body: bytes, *, truncated: bool) -> None:
        self._settled = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        parser = self._parser
        status = parser.get_status_code()
        waiter.set_result(
            HttpResponse(
                status=status,
                reason=self._reason or REASON_PHRASES.get(status, ""),
                headers=tuple(self._headers),
                body=body,
                truncated=truncated,
                http_version=parser.get_http_version(),
            )
        )

    def _fail(self, error: ExchangeError) -> None:
        if not self._settled:
            self._settled = True
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
        self.abort()
