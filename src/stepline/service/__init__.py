"""The service behind ``stepline serve``: AWS Step Functions' API over a durable store.

:func:`open_context` builds the shared parts (store, connections, roles, the HTTP Task) from a
:class:`ServiceConfig`; :func:`build_app` serves every operation as an ASGI application whose
lifespan runs the worker that drives executions; :func:`run_worker` runs a worker alone
(``stepline worker``), and :func:`close_context` closes what :func:`open_context` opened.
"""

from __future__ import annotations

from stepline.service._context import (
    DEFAULT_PORT,
    ServiceConfig,
    ServiceContext,
    default_database_url,
)
from stepline.service._server import build_app, close_context, open_context, run_worker

__all__ = [
    "DEFAULT_PORT",
    "ServiceConfig",
    "ServiceContext",
    "build_app",
    "close_context",
    "default_database_url",
    "open_context",
    "run_worker",
]
