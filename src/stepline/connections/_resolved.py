"""What the connections room hands the HTTP Task for one request: a connection, resolved.

A :class:`ResolvedConnection` carries everything a connection adds to a request — the
authorization header, the invocation header/query/body parameters — with every secret value
wrapped in :class:`~stepline._secret.Secret`, plus the stepline extensions (TLS, limits). It is
made at the moment of the call and dropped right after: nothing else keeps plaintext.
"""

from __future__ import annotations

from dataclasses import dataclass

from stepline._secret import Secret
from stepline.egress._messages import TlsOptions

__all__ = ["ConnectionLimits", "InvocationParameter", "ResolvedConnection"]


@dataclass(frozen=True, slots=True)
class InvocationParameter:
    """One header, query or body parameter a connection adds to every request.

    Attributes:
        key: The header name, query key or top-level body key.
        value: The value; a :class:`Secret` when the connection marks it ``IsValueSecret``
            (or when it is the authorization itself).
    """

    key: str
    value: str | Secret

    @property
    def secret(self) -> bool:
        """True when the value must be masked wherever the request is shown."""
        return isinstance(self.value, Secret)

    def plaintext(self) -> str:
        """The value to write into the request."""
        value = self.value
        return value.reveal() if isinstance(value, Secret) else value


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection pacing (a stepline extension), shared by every execution in a process.

    Attributes:
        rate_per_second: Sustained requests per second; ``None`` for no rate limit.
        burst: Requests that may go at once after a quiet period (token-bucket size);
            defaults to ``max(1, rate_per_second)``.
        max_concurrency: Requests in flight at once; ``None`` for no cap.
    """

    rate_per_second: float | None = None
    burst: int | None = None
    max_concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class ResolvedConnection:
    """A usable connection, ready to be applied to one request.

    Attributes:
        arn: The connection ARN.
        name: The connection name.
        authorization: Headers the authorization type adds (``Authorization: Basic …``, the
            API key header, ``Authorization: Bearer …``); values are secrets.
        headers: ``InvocationHttpParameters.HeaderParameters``.
        query: ``InvocationHttpParameters.QueryStringParameters``.
        body: ``InvocationHttpParameters.BodyParameters``.
        tls: Extension: CA bundle / client certificate for this connection's requests.
        limits: Extension: rate limit and concurrency cap for this connection.
        oauth_generation: For OAuth connections, which cached token this is: pass it back to
            ``Connections.token_rejected`` after a 401/407 so that only a stale token is
            refreshed (concurrent callers coalesce on one refresh). ``None`` otherwise.
    """

    arn: str
    name: str
    authorization: tuple[InvocationParameter, ...] = ()
    headers: tuple[InvocationParameter, ...] = ()
    query: tuple[InvocationParameter, ...] = ()
    body: tuple[InvocationParameter, ...] = ()
    tls: TlsOptions | None = None
    limits: ConnectionLimits | None = None
    oauth_generation: int | None = None
