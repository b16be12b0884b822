"""The engine: steps executions of compiled definitions and asks for effects through ports.

:class:`Execution` is the sans-I/O core; :func:`drive` performs its effects in-process with
asyncio. Durable drivers (SQLite, PostgreSQL workers) reuse the same core.
"""

from __future__ import annotations

from stepline.engine._callbacks import ActivityTask, TaskTokenError, TaskTokens, WaitingTask
from stepline.engine._driver import drive
from stepline.engine._execution import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    Execution,
    ExecutionIdentity,
    Status,
)
from stepline.engine._history import HistoryEvent
from stepline.engine._ports import (
    Clock,
    HeartbeatSink,
    SystemClock,
    TaskEffect,
    TaskInvoker,
    TimerEffect,
    VirtualClock,
)
from stepline.engine._recovery import error_matches
from stepline.engine._redrive import RedriveError

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "ActivityTask",
    "Clock",
    "Execution",
    "ExecutionIdentity",
    "HeartbeatSink",
    "HistoryEvent",
    "RedriveError",
    "Status",
    "SystemClock",
    "TaskEffect",
    "TaskInvoker",
    "TaskTokenError",
    "TaskTokens",
    "TimerEffect",
    "VirtualClock",
    "WaitingTask",
    "drive",
    "error_matches",
]
