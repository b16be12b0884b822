"""The real transport: requests over aiohttp, checked by the egress guard.

How a request is kept to what the guard allowed:

* The URL's scheme is checked before anything else (``http``/``https`` only); a URL carrying
  ``user:password@`` is refused, since its credentials would become a header nobody asked for.
* An IP-literal host is checked directly (aiohttp does not resolve it).
* A host name is resolved by the connector's resolver, which checks every address it got and
  hands the connector exactly those addresses: the connection goes to what was checked, so a
  second DNS answer (rebinding) is never used unchecked. aiohttp caches the checked answers.
* ``http`` and ``https`` use separate sessions whose resolvers know their scheme, because the
  rules differ (plain HTTP only for allowed destinations) while aiohttp's DNS cache does not
  look at the scheme.

The request goes out with exactly the caller's headers (aiohttp adds only ``Host`` and the
body framing), no redirect is followed, no cookie is kept, no proxy from the environment is
used, and the body is not decompressed (stepline never asks for a content encoding; the window
then counts the bytes on the wire, and a compression bomb cannot expand in memory). At most
``response_window_bytes`` of the body are read.

Every failure becomes an :class:`EgressError` whose message names ``scheme://host:port`` only;
aiohttp's own exception texts can contain the full URL or bytes the server echoed back, so they
are neither quoted nor chained.
"""

from __future__ import annotations

import asyncio
import http
import ipaddress
import math
import socket
import ssl
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any, Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from stepline.egress._guard import EgressGuard, format_origin
from stepline.egress._messages import (
    EgressError,
    EgressFailed,
    EgressRefused,
    EgressTimeout,
    HttpRequest,
    HttpResponse,
)
from stepline.egress._reasons import os_reason, readable
from stepline.egress._settings import EgressSettings
from stepline.egress._tls import TlsContextCache

__all__ = ["AiohttpTransport"]

# aiohttp adds these unless told not to; a request must carry only what the caller built.
_SKIPPED_AUTO_HEADERS: Final = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_HTTP_VERSIONS: Final = {aiohttp.HttpVersion10: "1.0", aiohttp.HttpVersion11: "1.1"}
_REASON_PHRASES: Final = {status.value: status.phrase for status in http.HTTPStatus}
_VERDICT_CACHE_SIZE: Final = 4096


class _GuardedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver, then lets only allowed answers through."""

    def __init__(self, guard: EgressGuard, scheme: str) -> None:
        self._inner = aiohttp.DefaultResolver()
        self._guard = guard
        self._scheme = scheme

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._guard.host_allowed(host, port):
            addresses = [ipaddress.ip_address(result["host"]) for result in results]
            self._guard.check(self._scheme, host, port, addresses)
        return results

    async def close(self) -> None:
        await self._inner.close()


class _LoopSessions:
    """The sessions of one event loop, closed when that loop shuts down."""

    __slots__ = ("lifetime", "loop", "sessions")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.lifetime: AsyncGenerator[None, None] | None = None

    async def close(self) -> None:
        sessions = list(self.sessions.values())
        self.sessions.clear()
        for session in sessions:
            await session.close()


async def _close_at_loop_shutdown(sessions: _LoopSessions) -> AsyncGenerator[None, None]:
    # An async generator that stays suspended for the loop's life: asyncio.run() closes every
    # live async generator before it closes the loop, which runs this finally block on that
    # loop — the one place the sessions can still be closed cleanly.
    try:
        yield
    finally:
        await sessions.close()


class AiohttpTransport:
    """Sends requests with aiohttp, within the egress rules.

    One transport keeps one connection pool per event loop and per scheme; it may be used from
    many ``asyncio.run`` calls in turn (a new loop gets new sessions, and ``asyncio.run``
    closes the old ones as it ends). Use it as an async context manager or call
    :meth:`aclose` when done.

    Args:
        settings: Allow rules and limits; :meth:`EgressSettings.from_env` when ``None``.
    """

    def __init__(self, settings: EgressSettings | None = None) -> None:
        self.settings = EgressSettings.from_env() if settings is None else settings
        self._guard = EgressGuard(self.settings.allow)
        self._window = self.settings.response_window_bytes
        self._tls = TlsContextCache()
        self._state: _LoopSessions | None = None
        # (scheme, host, port) already vetted; a host name's addresses are vetted on connect.
        self._vetted: set[tuple[str, str, int]] = set()
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def __aenter__(self) -> AiohttpTransport:
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
            timeout: Total seconds for the exchange; ``settings.timeout_seconds`` when ``None``.

        Raises:
            EgressRefused: The destination is not allowed (nothing was sent).
            EgressTimeout: The time limit passed.
            EgressFailed: Connecting, TLS, sending or reading failed.
        """
        url = _parse_url(request.url)
        scheme = url.scheme
        host = url.raw_host
        port = url.port
        if not host or port is None:
            raise EgressRefused(
                "Refused to send a request: the URL is not an absolute http(s) URL with a host."
            )
        if (scheme, host, port) not in self._vetted:
            self._vet(url, scheme, host, port)
        if url.raw_user is not None or url.raw_password is not None:
            raise EgressRefused(
                f"Refused to send a request to {format_origin(scheme, host, port)}: the URL "
                "contains user information (user:password@); credentials belong in a "
                "connection, not in the URL."
            )
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop:
            state = await self._open(loop)
        session = state.sessions.get(scheme) or self._new_session(state, scheme)
        tls = request.tls
        ssl_option: ssl.SSLContext | bool = (
            True if tls is None else self._tls.get(tls, format_origin(scheme, host, port))
        )
        limit = self.settings.timeout_seconds if timeout is None else timeout
        client_timeout = self._timeouts.get(limit) or self._client_timeout(
            limit, scheme, host, port
        )
        try:
            # aiohttp's total timeout spans connecting, sending and reading the body.
            response = await session.request(
                request.method,
                url,
                headers=_same_spelling(request.headers),
                data=request.body,
                ssl=ssl_option,
                allow_redirects=False,
                timeout=client_timeout,
            )
            try:
                length = response.content_length
                if length is not None and length <= self._window:
                    body, truncated = await response.read(), False  # the common, small case
                else:
                    body, truncated = await self._read_window(response)
            except BaseException:
                response.close()
                raise
        except TimeoutError:
            raise EgressTimeout(
                f"The request to {format_origin(scheme, host, port)} did not complete within "
                f"{limit:g} seconds."
            ) from None
        except EgressError:
            raise
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise _failure(exc, format_origin(scheme, host, port), request) from None
        if truncated:
            # The rest of the body is not wanted: drop the connection rather than drain it.
            response.close()
        else:
            response.release()
        status = response.status
        version = response.version
        return HttpResponse(
            status=status,
            reason=response.reason or _REASON_PHRASES.get(status, ""),
            headers=tuple(response.headers.items()),
            body=body,
            truncated=truncated,
            http_version=_HTTP_VERSIONS.get(version) or _version_text(version),  # type: ignore[arg-type]
        )

    async def aclose(self) -> None:
        """Close the connections of the current event loop's sessions (idempotent)."""
        state, self._state = self._state, None
        self._tls.clear()
        if state is None:
            return
        if state.loop is asyncio.get_running_loop() or state.loop.is_closed():
            await _finish(state)

    def _client_timeout(
        self, limit: float, scheme: str, host: str, port: int
    ) -> aiohttp.ClientTimeout:
        if math.isnan(limit):
            raise ValueError("timeout must be a number of seconds, got NaN.")
        if limit <= 0:
            # A caller's remaining time budget ran out before the request could start.
            raise EgressTimeout(
                f"The request to {format_origin(scheme, host, port)} was not sent: no time "
                "was left for it."
            )
        if len(self._timeouts) >= _VERDICT_CACHE_SIZE:
            self._timeouts.clear()
        client_timeout = aiohttp.ClientTimeout(total=limit, sock_connect=None, sock_read=None)
        self._timeouts[limit] = client_timeout
        return client_timeout

    def _vet(self, url: URL, scheme: str, host: str, port: int) -> None:
        guard = self._guard
        if _looks_like_ip(host):
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                # aiohttp would not resolve it, and it is no address we can judge.
                raise EgressRefused(
                    f"Refused to send a request to {format_origin(scheme, host, port)}: the "
                    "host is neither a host name nor a standard IP address."
                ) from None
            guard.check(scheme, host, port, (address,), literal=True)
        else:
            guard.check_scheme(scheme, host, port)
        if len(self._vetted) >= _VERDICT_CACHE_SIZE:
            self._vetted.clear()
        self._vetted.add((scheme, host, port))

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _LoopSessions:
        previous = self._state
        if previous is not None and previous.loop.is_closed():
            # The loop ended without closing async generators: close what is left from here
            # (aiohttp only marks connections of a closed loop as closed).
            await _finish(previous)
        state = _LoopSessions(loop)
        lifetime = _close_at_loop_shutdown(state)
        await lifetime.__anext__()
        state.lifetime = lifetime
        self._state = state
        return state

    def _new_session(self, state: _LoopSessions, scheme: str) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=_GuardedResolver(self._guard, scheme),
            limit=0,
            limit_per_host=self.settings.max_connections_per_host,
            ssl=True,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_SKIPPED_AUTO_HEADERS,
            auto_decompress=False,
            trust_env=False,
        )
        state.sessions[scheme] = session
        return session

    async def _read_window(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        window = self._window
        content = response.content
        wanted = window + 1  # one byte more than the window tells whether there was more
        parts: list[bytes] = []
        size = 0
        while size < wanted:
            chunk = await content.read(wanted - size)
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        body = b"".join(parts)
        if size > window:
            return body[:window], True
        return body, False


async def _finish(state: _LoopSessions) -> None:
    lifetime = state.lifetime
    state.lifetime = None
    if lifetime is not None:
        await lifetime.aclose()
    else:
        await state.close()


def _same_spelling(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """``headers`` with every repeat of a name spelled like its first occurrence.

    aiohttp keeps repeated headers only when their names are spelled alike: ``X-A`` then
    ``x-a`` would lose the first value. HTTP names are case-insensitive, so respelling the
    repeats is the one change that keeps every value, in order.
    """
    if len(headers) < 2:
        return headers
    first_spelling: dict[str, str] = {}
    respelled = False
    for name, _ in headers:
        first = first_spelling.setdefault(name.lower(), name)
        if first != name:
            respelled = True
    if not respelled:
        return headers
    return tuple((first_spelling[name.lower()], value) for name, value in headers)


def _version_text(version: aiohttp.HttpVersion | None) -> str:
    if version is None:
        return "1.1"
    return f"{version.major}.{version.minor}"


def _parse_url(text: str) -> URL:
    try:
        return URL(text)
    except (ValueError, TypeError):
        # The URL may carry a secret in its query: do not quote it.
        raise EgressRefused(
            "Refused to send a request: the URL could not be parsed as an absolute http(s) URL."
        ) from None


def _looks_like_ip(host: str) -> bool:
    # The same test aiohttp uses to skip its resolver: whatever it would not resolve, we check.
    return ":" in host or host.replace(".", "").isdigit()


def _failure(exc: BaseException, origin: str, request: HttpRequest) -> EgressError:
    """A safe :class:`EgressError` for an aiohttp/ssl/OS failure reaching ``origin``."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error: Any = exc.certificate_error
        detail = str(
            getattr(cert_error, "verify_message", None)
            or getattr(cert_error, "reason", None)
            or "untrusted certificate"
        ).rstrip(".")
        return EgressFailed(
            f"TLS certificate verification failed for {origin}: {detail}. Trust the server's "
            "CA (a connection's CA bundle) or fix the server certificate."
        )
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        reason = getattr(exc.os_error, "reason", None) or "handshake failed"
        return EgressFailed(f"The TLS handshake with {origin} failed: {readable(reason)}.")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return EgressFailed(
            f"Could not resolve the host of {origin}: {_os_reason(exc.os_error, 'lookup failed')}."
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return EgressFailed(
            f"Could not connect to {origin}: {_os_reason(exc.os_error, 'connection failed')}."
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        # With TLS 1.3 a server that refuses the client certificate only hangs up after the
        # handshake; the client learns nothing more specific than this.
        hint = (
            " (a server that requires a client certificate does this when none or an "
            "untrusted one is presented)"
            if origin.startswith("https:")
            else ""
        )
        return EgressFailed(
            f"The server at {origin} closed the connection without a complete response{hint}."
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        return EgressFailed(
            f"The response body from {origin} could not be read: the connection broke or the "
            "body framing was invalid."
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        return EgressFailed(
            f"The server at {origin} sent a response that could not be parsed as HTTP/1.x "
            "(malformed or oversized status line or headers)."
        )
    if isinstance(exc, ssl.SSLError):
        return EgressFailed(f"The TLS connection with {origin} failed: {readable(exc.reason)}.")
    if isinstance(exc, OSError):
        return EgressFailed(f"The connection to {origin} failed: {_os_reason(exc, 'I/O error')}.")
    if isinstance(exc, ValueError):
        bad = _bad_header_name(request)
        if bad is not None:
            return EgressFailed(
                f"The request to {origin} was not sent: the header {bad!r} has a name or value "
                "that is not valid in HTTP (a line break or control character)."
            )
    return EgressFailed(f"The request to {origin} failed ({type(exc).__name__}).")


def _os_reason(error: BaseException | None, fallback: str) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return os_reason(error, fallback)


def _bad_header_name(request: HttpRequest) -> str | None:
    for name, value in request.headers:
        if any(ch in name for ch in "\r\n:\0") or not name.strip():
            return "(a header name)"
        if "\r" in value or "\n" in value or "\0" in value:
            return name
    return None
