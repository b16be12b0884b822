"""Task resources: what a Task state's ``Resource`` runs.

Python callables registered by the library user, and the HTTP Task
(``arn:aws:states:::http:invoke``). Activities, callbacks and nested executions join this
registry as one module each.

:class:`HttpTask` and :class:`HttpExchange` are imported on first use: they bring in aiohttp and
the cryptography stack, which a workflow without HTTP Tasks should not pay for.
"""

from __future__ import annotations

import typing

from stepline.tasks._python import TaskContext, TaskHandler, TaskRegistry
from stepline.tasks._resources import HTTP_INVOKE

if typing.TYPE_CHECKING:
    from stepline.tasks._http import HttpExchange, HttpTask

__all__ = ["HTTP_INVOKE", "HttpExchange", "HttpTask", "TaskContext", "TaskHandler", "TaskRegistry"]

_LAZY = frozenset({"HttpExchange", "HttpTask"})


def __getattr__(name: str) -> typing.Any:
    if name in _LAZY:
        from stepline.tasks import _http

        return getattr(_http, name)
    raise AttributeError(f"module 'stepline.tasks' has no attribute {name!r}")
