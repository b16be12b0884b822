"""What goes over the transport seam: one HTTP request out, one response back, and the errors.

These are the only types the HTTP Task, the OAuth token exchange and the transports share.
A :class:`Transport` takes an :class:`HttpRequest` and returns an :class:`HttpResponse` or
raises an :class:`EgressError`; the mapping of those errors to ASL error names happens in one
place, the HTTP Task (``stepline.tasks._http``).

Error messages never contain a query string, a header value or a body: they name the scheme,
host and port only, so that no secret can reach a history, a log or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stepline._secret import Secret

__all__ = [
    "EgressError",
    "EgressFailed",
    "EgressRefused",
    "EgressTimeout",
    "HttpRequest",
    "HttpResponse",
    "TlsOptions",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """Per-connection TLS settings (a stepline extension; AWS offers neither).

    Attributes:
        ca_bundle_pem: Extra certificate authorities to trust, PEM text, added to the system's.
        client_cert_pem: Client certificate chain for mutual TLS, PEM text.
        client_key_pem: The client certificate's private key, PEM text.
    """

    ca_bundle_pem: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: Secret | None = None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One outbound request, fully built (connection applied, body serialised).

    Attributes:
        method: ``GET``, ``POST``… (upper case).
        url: The absolute URL, query string included.
        headers: Header name/value pairs in sending order; names may repeat.
        body: The body bytes, or ``None`` for no body.
        tls: Per-connection TLS settings, if any.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    tls: TlsOptions | None = None

    def __repr__(self) -> str:
        # The URL's query, the headers and the body may all carry credentials: show none.
        scheme, _, rest = self.url.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
        return f"HttpRequest({self.method} {scheme}://{host}/…)"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One response as received (the body bounded by the response window).

    Attributes:
        status: The status code.
        reason: The reason phrase ("OK"); the standard phrase when the server sent none.
        headers: Header name/value pairs as received, in order; names may repeat.
        body: At most ``response_window_bytes`` of the body.
        truncated: True when the server sent more than the window (the rest was not read).
        http_version: ``"1.1"``, ``"2"``…
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool = False
    http_version: str = "1.1"


class EgressError(Exception):
    """The request could not be completed; the message is safe to show (no secrets)."""


class EgressRefused(EgressError):
    """The destination is not allowed: scheme, address or port outside the egress rules.

    Raised before any connection is made. The message says which rule refused it and how to
    allow it (``STEPLINE_HTTP_ALLOW``).
    """


class EgressFailed(EgressError):
    """Connecting, TLS, sending or reading failed (refused, reset, bad certificate…)."""


class EgressTimeout(EgressError):
    """The whole exchange took longer than the time limit."""


class Transport(Protocol):
    """Sends requests: the one seam between stepline and the network.

    :class:`~stepline.egress.Http1Transport` (the default) and
    :class:`~stepline.egress.AiohttpTransport` are the real ones;
    :class:`~stepline.egress.MockTransport` answers from a Python function, for tests of
    workflows.
    """

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        """Send ``request`` and return the response.

        Args:
            request: The request.
            timeout: Total seconds for the exchange; the transport's default when ``None``.

        Raises:
            EgressRefused: The destination is not allowed.
            EgressTimeout: The time limit passed.
            EgressFailed: Any other transport failure.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
