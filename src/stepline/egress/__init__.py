"""Egress: the only way stepline reaches the network (HTTP Task calls, OAuth token requests).

Secure by default: only public HTTPS destinations are reachable until an operator allows more
with ``STEPLINE_HTTP_ALLOW`` (see :class:`EgressSettings`). Everything goes through a
:class:`Transport`: :class:`Http1Transport` (keep-alive HTTP/1.1 on asyncio and the llhttp
parser; the default, measured at over twice aiohttp's requests per second) or
:class:`AiohttpTransport` for real, :class:`MockTransport` in workflow tests.
:class:`ConnectionPacer` applies a connection's rate limit and concurrency cap.

:class:`AiohttpTransport` is imported on first use, so that stepline does not load aiohttp
unless it is asked for.
"""

from __future__ import annotations

import typing

from stepline.egress._http1 import Http1Transport
from stepline.egress._limits import ConnectionPacer
from stepline.egress._messages import (
    EgressError,
    EgressFailed,
    EgressRefused,
    EgressTimeout,
    HttpRequest,
    HttpResponse,
    TlsOptions,
    Transport,
)
from stepline.egress._mock import MockTransport
from stepline.egress._settings import AllowRule, EgressSettings

if typing.TYPE_CHECKING:
    from stepline.egress._aiohttp import AiohttpTransport

__all__ = [
    "AiohttpTransport",
    "AllowRule",
    "ConnectionPacer",
    "EgressError",
    "EgressFailed",
    "EgressRefused",
    "EgressSettings",
    "EgressTimeout",
    "Http1Transport",
    "HttpRequest",
    "HttpResponse",
    "MockTransport",
    "TlsOptions",
    "Transport",
]


def __getattr__(name: str) -> typing.Any:
    if name == "AiohttpTransport":
        from stepline.egress._aiohttp import AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module 'stepline.egress' has no attribute {name!r}")
