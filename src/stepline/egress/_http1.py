"""The fast transport: keep-alive HTTP/1.1 over asyncio protocols and llhttp, checked by the guard.

How a request is kept to what the guard allowed:

* The URL must be an absolute ``http``/``https`` URL without ``user:password@``; an IP-literal
  host is checked as written (``127.1`` and ``2130706433`` forms are refused).
* A host name is resolved with the loop's ``getaddrinfo``; *every* address must pass the guard,
  and the connection goes to one of exactly those addresses (never a second lookup), so a DNS
  answer that changes between check and connect (rebinding) is never used unchecked. Checked
  answers are kept for :data:`DNS_TTL_SECONDS`. A reused connection needs no lookup at all:
  it was made to a checked address.
* TLS verifies the certificate against the URL's host (SNI and hostname check; an IP literal
  is checked against the certificate's IP addresses), with the system's trust plus the
  request's :class:`~stepline.egress.TlsOptions`; ALPN offers ``http/1.1`` only.

What goes on the wire is exactly the caller's request: ``METHOD target HTTP/1.1``, ``Host``
(with the port when it is not the scheme's default), the caller's headers in order and as
spelled, and ``Content-Length`` (``0`` for a body-less method other than GET, HEAD, OPTIONS
and TRACE, as aiohttp does). The transport owns the framing: a caller's ``Host``,
``Content-Length`` or ``Transfer-Encoding`` header is not sent (a ``Host`` that differs from the
URL would reach a virtual host the egress rules never saw). Nothing else is added: no
``Accept-Encoding`` (bodies arrive as sent; the window counts bytes on the wire), no
``User-Agent``, no cookies; redirects are returned, not followed; no proxy is used.

A request that fails on a *reused* idle connection before any byte of the response arrived
(the server closed the connection as the request went out) is sent again once, on a new
connection. Nothing is retried after a response byte, nor after a failure on a new connection.

Every failure is an :class:`EgressError` naming ``scheme://host:port`` only — never the path,
query, headers or body; lower-level exceptions are neither quoted nor chained.
"""

from __future__ import annotations

import asyncio
import errno as errno_codes
import ipaddress
import math
import re
import socket
import ssl
import time
from types import TracebackType
from typing import Final

from yarl import URL

from stepline.egress._guard import EgressGuard, format_origin
from stepline.egress._http1_pool import (
    DEFAULT_IDLE_SECONDS,
    AddressList,
    HostPool,
    LoopPool,
    close_at_loop_shutdown,
)
from stepline.egress._http1_protocol import (
    BODY_BROKEN,
    HEAD_TOO_LARGE,
    INTERRUPTED,
    MALFORMED,
    NOTHING_RECEIVED,
    TIMED_OUT,
    UPGRADED,
    ExchangeError,
    Http1Connection,
)
from stepline.egress._messages import (
    EgressError,
    EgressFailed,
    EgressRefused,
    EgressTimeout,
    HttpRequest,
    HttpResponse,
    TlsOptions,
)
from stepline.egress._reasons import os_reason, readable
from stepline.egress._settings import EgressSettings
from stepline.egress._tls import TlsContextCache

__all__ = ["DNS_TTL_SECONDS", "Http1Transport"]

DNS_TTL_SECONDS: Final = 10.0
_CACHE_SIZE: Final = 4096
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_NO_TLS_OPTIONS: Final = TlsOptions()
# Methods that carry no body by convention: no "Content-Length: 0" when they have none.
_BODYLESS_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Framing is the transport's: these caller headers are not sent.
_TRANSPORT_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding"})
# A body this small goes out in the same write (and packet) as the head.
_COALESCE_BYTES: Final = 64 * 1024

_URL_PARTS: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(.*)", re.DOTALL)
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A request target that needs no encoding: RFC 3986 path and query characters, %XX escapes.
_CLEAN_TARGET: Final = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")
_TARGET_SAFE: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?"
)
_HEX: Final = frozenset("0123456789abcdefABCDEF")

_monotonic = time.monotonic


class _LookupDone:
    """Forgets a finished lookup, and collects its error if every requester gave up."""

    __slots__ = ("key", "loop_pool")

    def __init__(self, loop_pool: LoopPool, key: tuple[str, int]) -> None:
        self.loop_pool = loop_pool
        self.key = key

    def __call__(self, task: asyncio.Task[AddressList]) -> None:
        self.loop_pool.resolving.pop(self.key, None)
        if not task.cancelled():
            task.exception()


class _Origin:
    """A URL's ``scheme://host:port``, parsed and checked once."""

    __slots__ = ("host", "host_line", "key", "literal", "port", "scheme", "text")

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
    ) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.literal = literal
        self.text = format_origin(scheme, host, port)
        shown = f"[{host}]" if ":" in host else host
        netloc = shown if _DEFAULT_PORTS[scheme] == port else f"{shown}:{port}"
        self.host_line = f"Host: {netloc}\r\n"
        self.key = (scheme, host, port, None)


class Http1Transport:
    """Sends requests over pooled keep-alive HTTP/1.1 connections, within the egress rules.

    One transport keeps a connection pool per event loop; it may be used from many
    ``asyncio.run`` calls in turn (each loop's connections are closed as that loop ends). Use
    it as an async context manager or call :meth:`aclose` when done.

    Args:
        settings: Allow rules and limits; :meth:`EgressSettings.from_env` when ``None``.
        idle_seconds: How long an unused connection is kept open.
    """

    def __init__(
        self, settings: EgressSettings | None = None, *, idle_seconds: float = DEFAULT_IDLE_SECONDS
    ) -> None:
        self.settings = EgressSettings.from_env() if settings is None else settings
        self.idle_seconds = idle_seconds
        self._guard = EgressGuard(self.settings.allow)
        self._window = self.settings.response_window_bytes
        self._limit = self.settings.max_connections_per_host
        self._tls = TlsContextCache()
        self._origins: dict[str, _Origin] = {}
        self._methods: set[str] = set()
        # Header name spelling -> whether it is sent (False: a framing header, left out).
        self._names: dict[str, bool] = {}
        # (host, port) -> (expiry, addresses): answers that passed the guard for some scheme.
        self._dns: dict[tuple[str, int], tuple[float, AddressList]] = {}
        self._pools: dict[asyncio.AbstractEventLoop, LoopPool] = {}
        self._current: LoopPool | None = None

    async def __aenter__(self) -> Http1Transport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        """Send ``request`` and return the response (3xx included: redirects are not followed).

        Args:
            request: The request.
            timeout: Total seconds for the exchange (waiting for a connection, connecting,
                TLS, sending, reading); ``settings.timeout_seconds`` when ``None``.

        Raises:
            EgressRefused: The destination is not allowed (nothing was sent).
            EgressTimeout: The time limit passed (the connection is closed).
            EgressFailed: Connecting, TLS, sending or reading failed.
        """
        origin, target = self._split(request.url)
        data, tail = self._encode(request, origin, target)
        limit = self.settings.timeout_seconds if timeout is None else timeout
        if not limit > 0:
            if math.isnan(limit):
                raise ValueError("timeout must be a number of seconds, got NaN.")
            # A caller's remaining time budget ran out before the request could start.
            raise EgressTimeout(
                f"The request to {origin.text} was not sent: no time was left for it."
            )
        loop = asyncio.get_running_loop()
        loop_pool = self._current
        if loop_pool is None or loop_pool.loop is not loop or loop_pool.closed:
            loop_pool = await self._loop_pool(loop)
        tls = request.tls
        key = origin.key if tls is None else (origin.scheme, origin.host, origin.port, tls)
        pool = loop_pool.hosts.get(key) or loop_pool.host_pool(key, self._limit)
        try:
            return await self._exchange(
                pool,
                origin,
                tls,
                data,
                tail=tail,
                head_only=request.method == "HEAD",
                deadline=loop.time() + limit,
            )
        except ExchangeError as error:
            raise _exchange_failure(error, origin.text, limit) from None

    async def aclose(self) -> None:
        """Close this loop's connections (and a closed loop's sockets); idempotent.

        The transport stays usable: a later request opens new connections.
        """
        pools = list(self._pools.values())
        self._pools.clear()
        self._current = None
        self._dns.clear()
        self._tls.clear()
        running = asyncio.get_running_loop()
        for loop_pool in pools:
            if loop_pool.loop is running:
                lifetime, loop_pool.lifetime = loop_pool.lifetime, None
                if lifetime is not None:
                    await lifetime.aclose()
                else:
                    loop_pool.close()
            elif loop_pool.loop.is_closed():
                loop_pool.close_dead()
            # A pool of another loop that is still open is closed when that loop shuts down.

    # --- the exchange -----------------------------------------------------------------------

    async def _exchange(
        self,
        pool: HostPool,
        origin: _Origin,
        tls: TlsOptions | None,
        data: bytes,
        *,
        tail: bytes | None,
        head_only: bool,
        deadline: float,
    ) -> HttpResponse:
        loop = pool.loop_pool.loop
        conn = pool.take_idle(loop.time())
        reused = conn is not None
        if conn is None:
            conn, reused = await self._acquire(pool, origin, tls, deadline)
        while True:
            waiter: asyncio.Future[HttpResponse] = loop.create_future()
            conn.send(data, waiter, head_only=head_only)
            if tail is not None and conn.transport is not None and not conn.closed:
                conn.transport.write(tail)
            timer = loop.call_at(deadline, conn.expire)
            try:
                response = await waiter
            except ExchangeError as error:
                timer.cancel()
                if error.kind == NOTHING_RECEIVED and reused:
                    # The server closed this idle connection as the request went out: it
                    # saw nothing. Once, on a new connection (whose slot is this one's).
                    pool.forget(conn)
                    conn = await self._connect_in_slot(pool, origin, tls, deadline)
                    reused = False
                    continue
                pool.release(conn)
                raise
            except BaseException:
                # Cancelled (a task time limit): the response will never be read.
                timer.cancel()
                conn.abort()
                pool.release(conn)
                raise
            timer.cancel()
            pool.release(conn)
            return response

    async def _acquire(
        self, pool: HostPool, origin: _Origin, tls: TlsOptions | None, deadline: float
    ) -> tuple[Http1Connection, bool]:
        if not pool.reserve():
            limit = asyncio.timeout_at(deadline)
            try:
                async with limit:
                    handed = await pool.wait()
            except TimeoutError:
                if limit.expired():
                    raise ExchangeError(TIMED_OUT) from None
                raise
            if handed is not None:
                return handed, True
        return await self._connect_in_slot(pool, origin, tls, deadline), False

    async def _connect_in_slot(
        self, pool: HostPool, origin: _Origin, tls: TlsOptions | None, deadline: float
    ) -> Http1Connection:
        limit = asyncio.timeout_at(deadline)
        try:
            async with limit:
                return await self._connect(pool, origin, tls)
        except BaseException as error:
            pool.free_slot()
            if isinstance(error, TimeoutError) and limit.expired():
                raise ExchangeError(TIMED_OUT) from None
            raise

    async def _connect(
        self, pool: HostPool, origin: _Origin, tls: TlsOptions | None
    ) -> Http1Connection:
        loop_pool = pool.loop_pool
        loop = loop_pool.loop
        addresses = await self._addresses(origin, loop_pool)
        context = (
            None if origin.scheme == "http" else self._tls.get(tls or _NO_TLS_OPTIONS, origin.text)
        )
        window = self._window
        last_error: OSError | None = None
        for family, sockaddr in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, sockaddr)
            except OSError as error:
                sock.close()
                last_error = error
                continue
            except BaseException:
                sock.close()
                raise

            def made(sock: socket.socket = sock) -> Http1Connection:
                conn = Http1Connection(sock, window, loop_pool.lost, pool)
                loop_pool.opened(conn)
                return conn

            try:
                _, conn = await loop.create_connection(
                    made,
                    sock=sock,
                    ssl=context,
                    server_hostname=origin.host if context is not None else None,
                )
            except ssl.SSLCertVerificationError as error:
                sock.close()
                detail = str(error.verify_message or "untrusted certificate").rstrip(".")
                raise EgressFailed(
                    f"TLS certificate verification failed for {origin.text}: {detail}. Trust "
                    "the server's CA (a connection's CA bundle) or fix the server certificate."
                ) from None
            except (ssl.SSLError, OSError) as error:
                sock.close()
                if context is None:
                    raise EgressFailed(
                        f"Could not connect to {origin.text}: "
                        f"{os_reason(error, 'connection failed')}."
                    ) from None
                reason = error.reason if isinstance(error, ssl.SSLError) else None
                raise EgressFailed(
                    f"The TLS handshake with {origin.text} failed: "
                    f"{readable(reason) or os_reason(error, 'handshake failed')}."
                ) from None
            except BaseException:
                sock.close()
                raise
            return conn
        raise EgressFailed(
            f"Could not connect to {origin.text}: {os_reason(last_error, 'connection failed')}."
        )

    async def _addresses(self, origin: _Origin, loop_pool: LoopPool) -> AddressList:
        literal = origin.literal
        if literal is not None:
            if literal.version == 4:
                return [(socket.AF_INET, (origin.host, origin.port))]
            return [(socket.AF_INET6, (origin.host, origin.port, 0, 0))]
        key = (origin.host, origin.port)
        cached = self._dns.get(key)
        if cached is not None and cached[0] > _monotonic():
            infos = cached[1]
        else:
            task = loop_pool.resolving.get(key)
            if task is None:
                task = loop_pool.loop.create_task(self._resolve(origin, loop_pool.loop))
                loop_pool.resolving[key] = task
                task.add_done_callback(_LookupDone(loop_pool, key))
            # Shielded: one request giving up must not cancel the lookup the others await.
            infos = await asyncio.shield(task)
        # The guard runs every time: the answer may be cached from the other scheme.
        self._guard.check(
            origin.scheme,
            origin.host,
            origin.port,
            [ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]) for _, sockaddr in infos],
        )
        return infos

    async def _resolve(self, origin: _Origin, loop: asyncio.AbstractEventLoop) -> AddressList:
        try:
            found = await loop.getaddrinfo(
                origin.host, origin.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except OSError as error:
            raise EgressFailed(
                f"Could not resolve the host of {origin.text}: {os_reason(error, 'lookup failed')}."
            ) from None
        infos: AddressList = []
        for family, _, _, _, sockaddr in found:
            entry = (int(family), tuple(sockaddr))
            if entry not in infos:
                infos.append(entry)
        if len(self._dns) >= _CACHE_SIZE:
            self._dns.clear()
        self._dns[(origin.host, origin.port)] = (_monotonic() + DNS_TTL_SECONDS, infos)
        return infos

    async def _loop_pool(self, loop: asyncio.AbstractEventLoop) -> LoopPool:
        loop_pool = self._pools.get(loop)
        if loop_pool is None or loop_pool.closed:
            for other_loop, other in list(self._pools.items()):
                if other_loop.is_closed():
                    # That loop ended without closing its async generators.
                    other.close_dead()
                    del self._pools[other_loop]
            loop_pool = LoopPool(loop, self.idle_seconds)
            lifetime = close_at_loop_shutdown(loop_pool)
            await lifetime.__anext__()
            loop_pool.lifetime = lifetime
            self._pools[loop] = loop_pool
        self._current = loop_pool
        return loop_pool

    # --- the request ------------------------------------------------------------------------

    def _split(self, url: str) -> tuple[_Origin, str]:
        parts = _URL_PARTS.fullmatch(url)
        if parts is None:
            raise EgressRefused(
                "Refused to send a request: the URL is not an absolute http(s) URL with a host."
            )
        prefix = url[: parts.end(2)]
        origin = self._origins.get(prefix) or self._new_origin(prefix)
        target = parts.group(3)
        if "#" in target:
            target = target.partition("#")[0]
        if not target:
            return origin, "/"
        if target[0] == "?":
            target = "/" + target
        if not _CLEAN_TARGET.fullmatch(target):
            target = _requote(target, origin)
        return origin, target

    def _new_origin(self, prefix: str) -> _Origin:
        try:
            url = URL(prefix)
        except (ValueError, TypeError):
            # The text may hold a secret: do not quote it.
            raise EgressRefused(
                "Refused to send a request: the URL could not be parsed as an absolute http(s) URL."
            ) from None
        scheme = url.scheme
        host = url.raw_host
        port = url.port
        if not host or port is None:
            raise EgressRefused(
                "Refused to send a request: the URL is not an absolute http(s) URL with a host."
            )
        guard = self._guard
        guard.check_scheme(scheme, host, port)
        if url.raw_user is not None or url.raw_password is not None:
            raise EgressRefused(
                f"Refused to send a request to {format_origin(scheme, host, port)}: the URL "
                "contains user information (user:password@); credentials belong in a "
                "connection, not in the URL."
            )
        literal = None
        if ":" in host or host.replace(".", "").isdigit():
            try:
                literal = ipaddress.ip_address(host)
            except ValueError:
                raise EgressRefused(
                    f"Refused to send a request to {format_origin(scheme, host, port)}: the "
                    "host is neither a host name nor a standard IP address."
                ) from None
            guard.check(scheme, host, port, (literal,), literal=True)
        origin = _Origin(scheme, host, port, literal)
        if len(self._origins) >= _CACHE_SIZE:
            self._origins.clear()
        self._origins[prefix] = origin
        return origin

    def _encode(
        self, request: HttpRequest, origin: _Origin, target: str
    ) -> tuple[bytes, bytes | None]:
        method = request.method
        if method not in self._methods:
            if not _TOKEN.fullmatch(method):
                raise EgressFailed(
                    f"The request to {origin.text} was not sent: its method is not a valid "
                    "HTTP method name."
                )
            self._methods.add(method)
        names = self._names
        lines = []
        for name, value in request.headers:
            sent = names.get(name)
            if sent is None:
                sent = self._learn_name(name, origin)
            if sent:
                lines.append(f"{name}: {value}\r\n")
        body = request.body
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        elif method not in _BODYLESS_METHODS:
            lines.append("Content-Length: 0\r\n")
        head = f"{method} {target} HTTP/1.1\r\n{origin.host_line}{''.join(lines)}\r\n"
        # Every line break must be one of ours: one per line, two more for the request line
        # and Host, one for the blank line. Anything else came in a header value.
        breaks = len(lines) + 3
        if head.count("\n") != breaks or head.count("\r") != breaks or "\0" in head:
            raise _invalid_header(request, origin)
        try:
            encoded = head.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid_header(request, origin, unencodable=True) from None
        if not body:
            return encoded, None
        if len(body) <= _COALESCE_BYTES:
            return encoded + body, None
        return encoded, body

    def _learn_name(self, name: str, origin: _Origin) -> bool:
        if not _TOKEN.fullmatch(name):
            raise EgressFailed(
                f"The request to {origin.text} was not sent: a header name is not valid in "
                "HTTP (a name is letters, digits and !#$%&'*+-.^_`|~ only)."
            )
        sent = name.lower() not in _TRANSPORT_HEADERS
        if len(self._names) >= _CACHE_SIZE:
            self._names.clear()
        self._names[name] = sent
        return sent


def _requote(target: str, origin: _Origin) -> str:
    """``target`` with every character outside RFC 3986's set percent-encoded (UTF-8)."""
    out: list[str] = []
    index = 0
    length = len(target)
    while index < length:
        char = target[index]
        if char in _TARGET_SAFE:
            out.append(char)
        elif (
            char == "%"
            and len(escape := target[index + 1 : index + 3]) == 2
            and set(escape) <= _HEX
        ):
            out.append(target[index : index + 3])
            index += 3
            continue
        elif char < " " or char == "\x7f":
            raise EgressRefused(
                f"Refused to send a request to {origin.text}: the URL contains a control "
                "character (such as a line break); percent-encode it."
            )
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        index += 1
    return "".join(out)


def _invalid_header(
    request: HttpRequest, origin: _Origin, *, unencodable: bool = False
) -> EgressFailed:
    what = "cannot be encoded" if unencodable else "contains a line break or NUL character"
    for name, value in request.headers:
        if _bad_value(value, unencodable=unencodable):
            return EgressFailed(
                f"The request to {origin.text} was not sent: the header {name!r} has a value "
                f"that is not valid in HTTP (it {what})."
            )
    return EgressFailed(f"The request to {origin.text} was not sent: a header value {what}.")


def _bad_value(value: str, *, unencodable: bool) -> bool:
    if not unencodable:
        return "\r" in value or "\n" in value or "\0" in value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _exchange_failure(error: ExchangeError, origin: str, limit: float) -> EgressError:
    """A safe :class:`EgressError` for a failed exchange with ``origin``."""
    kind = error.kind
    if kind == TIMED_OUT:
        return EgressTimeout(f"The request to {origin} did not complete within {limit:g} seconds.")
    if kind == BODY_BROKEN:
        return EgressFailed(
            f"The response body from {origin} could not be read: the connection broke or the "
            "body framing was invalid."
        )
    if kind in (MALFORMED, HEAD_TOO_LARGE):
        return EgressFailed(
            f"The server at {origin} sent a response that could not be parsed as HTTP/1.x "
            "(malformed or oversized status line or headers)."
        )
    if kind == UPGRADED:
        return EgressFailed(
            f"The server at {origin} switched protocols (101) although the request did not "
            "ask it to."
        )
    if kind == INTERRUPTED:
        return EgressFailed(f"The request to {origin} was interrupted: the transport was closed.")
    cause = error.cause
    if isinstance(cause, ssl.SSLError):
        reason = readable(cause.reason) or "connection failed"
        return EgressFailed(f"The TLS connection with {origin} failed: {reason}.")
    if isinstance(cause, OSError) and cause.errno in errno_codes.errorcode:
        return EgressFailed(f"The connection to {origin} failed: {os_reason(cause, 'I/O error')}.")
    hint = ""
    if kind == NOTHING_RECEIVED and origin.startswith("https:"):
        # With TLS 1.3 a server that refuses the client certificate only hangs up after the
        # handshake; the client learns nothing more specific than this.
        hint = (
            " (a server that requires a client certificate does this when none or an "
            "untrusted one is presented)"
        )
    return EgressFailed(
        f"The server at {origin} closed the connection without a complete response{hint}."
    )
