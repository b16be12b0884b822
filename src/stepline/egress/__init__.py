"""Egress: the only way stepline reaches the network (HTTP Task calls, OAuth token requests).

Secure by default: only public HTTPS destinations are reachable until an operator allows more
with ``STEPLINE_HTTP_ALLOW`` (see :class:`EgressSettings`). Everything goes through a
:class:`Transport`: :class:`AiohttpTransport` for real, :class:`MockTransport` in workflow
tests. :class:`ConnectionPacer` applies a connection's rate limit and concurrency cap.
"""

from __future__ import annotations

from stepline.egress._aiohttp import AiohttpTransport
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

__all__ = [
    "AiohttpTransport",
    "AllowRule",
    "ConnectionPacer",
    "EgressError",
    "EgressFailed",
    "EgressRefused",
    "EgressSettings",
    "EgressTimeout",
    "HttpRequest",
    "HttpResponse",
    "MockTransport",
    "TlsOptions",
    "Transport",
]
