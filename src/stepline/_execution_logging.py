"""Execution logs for the library: ``StateMachine(..., logging=ExecutionLogging(...))``.

The service honours a state machine's ``loggingConfiguration``; a library user gets the same
records — CloudWatch Logs' JSON lines, one per history event, filtered by level (``ALL``,
``ERROR``, ``FATAL``, ``OFF``) and without inputs, outputs and parameters unless
``include_execution_data`` — from :class:`ExecutionLogging`, written to a sink of their
choice: a file path (appended to, created ``0600``: it may hold execution data), a stream, or
a callable taking each record as a ``str``. The formatter is the service's
(:mod:`stepline._log_records`).

An execution's records are written when it ends (its children's when each child ends), in
one write per execution. They carry exactly what the history carries, which the HTTP Task keeps
free of credentials: a connection's secrets never reach a log.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import orjson

from stepline._log_records import LEVELS, LogSettings, log_lines
from stepline.engine._history import DETAILS_MEMBER

if TYPE_CHECKING:
    from stepline.engine import HistoryEvent

__all__ = ["ExecutionLogging"]

_FILE_MODE: Final = 0o600
_MINIMUM_RANK: Final = {"ALL": 0, "ERROR": 1, "FATAL": 2}

Sink = str | os.PathLike[str] | IO[str] | IO[bytes] | Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class _Record:
    """An engine event as the formatter reads it (details as JSON text)."""

    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: str | None


class ExecutionLogging:
    """What to log of each execution, and where (AWS's ``loggingConfiguration`` in-process).

    Args:
        level: ``ALL``, ``ERROR`` (failures of any kind, and ``FailStateEntered``), ``FATAL``
            (the execution's failure, abort or time-out only) or ``OFF``.
        include_execution_data: Log inputs, outputs, task parameters and assigned variables
            (``includeExecutionData``); left out by default, as on AWS.
        sink: A file path (records appended, one per line), a text or binary stream, or a
            callable given each record as a ``str`` (one JSON object, no newline).
        log_group: The name the records' log group would have on AWS (kept for symmetry with
            the service; not part of a record).

    Raises:
        ValueError: An unknown level or a sink of another kind.
    """

    __slots__ = ("_lock", "include_execution_data", "level", "settings", "sink")

    def __init__(
        self,
        level: str = "ALL",
        *,
        include_execution_data: bool = False,
        sink: Sink,
        log_group: str = "stepline",
    ) -> None:
        if level not in LEVELS:
            raise ValueError(
                f"Unknown logging level {level!r}; use one of {', '.join(LEVELS)} "
                "(AWS's loggingConfiguration levels)."
            )
        if not (isinstance(sink, str | os.PathLike) or hasattr(sink, "write") or callable(sink)):
            raise ValueError(
                f"The log sink must be a file path, a stream or a callable; got "
                f"{type(sink).__name__}."
            )
        self.level = level
        self.include_execution_data = include_execution_data
        self.sink = sink
        self.settings: LogSettings | None = (
            None
            if level == "OFF"
            else LogSettings(level, _MINIMUM_RANK[level], include_execution_data, log_group)
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"ExecutionLogging(level={self.level!r}, "
            f"include_execution_data={self.include_execution_data!r})"
        )

    def write(
        self, execution_arn: str, events: Iterable[HistoryEvent], *, redrive_count: int = 0
    ) -> None:
        """Log an execution's events (those its level logs), in order."""
        settings = self.settings
        if settings is None:
            return
        records = (_record(event) for event in events)
        lines = log_lines(settings, execution_arn, redrive_count, records)
        if not lines:
            return
        sink = self.sink
        with self._lock:  # runs of several threads never interleave their lines
            if isinstance(sink, str | os.PathLike):
                _append(Path(sink), lines)
            elif hasattr(sink, "write"):
                _to_stream(sink, lines)
            else:
                for line in lines:
                    sink(line[:-1].decode("utf-8", "surrogatepass"))


def _record(event: HistoryEvent) -> _Record:
    """The event with its details member shaped as ``GetExecutionHistory`` shows it."""
    member = DETAILS_MEMBER.get(event.type)
    text = None
    if member is not None and event.details is not None:
        text = orjson.dumps(event.to_aws()[member]).decode()
    return _Record(event.id, event.previous_event_id, event.timestamp, event.type, text)


def _append(path: Path, lines: list[bytes]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _FILE_MODE)
    with os.fdopen(descriptor, "ab") as file:
        file.write(b"".join(lines))


def _to_stream(stream: Any, lines: list[bytes]) -> None:
    data = b"".join(lines)
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        stream.write(data)
    else:
        stream.write(data.decode("utf-8", "surrogatepass"))
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()
