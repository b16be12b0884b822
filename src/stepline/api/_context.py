"""What a handler is and what it knows about its request besides the input.

:class:`RequestContext` carries the request id, the operation, the Host header and the caller
(or, without authentication, the unverified region of the signature); :data:`Handler` is the
shape every operation handler has; :class:`RequestIds` mints the ids every response reports in
``x-amzn-RequestId``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from stepline.api._sigv4 import parse_credential_scope

__all__ = ["Handler", "RequestContext", "RequestIds"]


class RequestContext:
    """What a handler knows about the request besides its input.

    Attributes:
        request_id: The id reported in ``x-amzn-RequestId`` (and in error bodies).
        operation: The handler key (``states:StartSyncExecution``).
        host: The Host header as sent (``sync-localhost:8083`` for boto3's sync calls).
        access_key_id: The verified caller's access key id; None without authentication.
    """

    __slots__ = (
        "_authorization",
        "_verified_region",
        "access_key_id",
        "host",
        "operation",
        "request_id",
    )

    def __init__(
        self,
        *,
        request_id: str,
        operation: str,
        host: str,
        access_key_id: str | None = None,
        verified_region: str | None = None,
        authorization: str = "",
    ) -> None:
        self.request_id = request_id
        self.operation = operation
        self.host = host
        self.access_key_id = access_key_id
        self._verified_region = verified_region
        self._authorization = authorization

    def __repr__(self) -> str:
        return (
            f"RequestContext(request_id={self.request_id!r}, operation={self.operation!r}, "
            f"host={self.host!r}, region={self.region!r}, access_key_id={self.access_key_id!r})"
        )

    @property
    def region(self) -> str | None:
        """The region of the request's SigV4 credential scope, when it is signed.

        Without authentication the scope is read (not verified) from the Authorization header,
        on first use only: most handlers never ask.
        """
        if self._verified_region is not None:
            return self._verified_region
        if not self._authorization:
            return None
        scope = parse_credential_scope(self._authorization)
        return scope.region if scope is not None else None

    @property
    def sync_host(self) -> bool:
        """Whether the request came to the ``sync-`` host boto3 uses for synchronous calls."""
        return self.host.startswith("sync-")


#: A handler: the checked input (model member names, Python types) → the output dict.
Handler = Callable[[dict[str, Any], RequestContext], Awaitable[dict[str, Any] | None]]


class RequestIds:
    """UUID-shaped request ids: a random per-process prefix and a counter.

    Unique within a process by the counter and across processes by 64 random bits, at a
    fraction of ``uuid4``'s cost (which reads the OS random source on every request).
    """

    __slots__ = ("_count", "_prefix")

    def __init__(self) -> None:
        random = uuid.uuid4().hex
        self._prefix = f"{random[:8]}-{random[8:12]}-{random[12:16]}-{random[16:20]}-"
        self._count = int(random[20:], 16)

    def next(self) -> str:
        """The next request id."""
        self._count = (self._count + 1) & 0xFFFFFFFFFFFF
        return f"{self._prefix}{self._count:012x}"
