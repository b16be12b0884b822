"""Execution logging: ``loggingConfiguration`` honoured for Standard and Express executions.

:class:`ExecutionLogs` is the service's one logging object (``ServiceContext.execution_logs``).
For each execution the worker or the Express runner asks it for an :class:`ExecutionLog`
(:meth:`ExecutionLogs.for_revision`); ``None`` means nothing is logged — the level is ``OFF``
or the operator turned execution logs off — so an execution that does not log pays one dict
look-up when it is loaded and one ``is None`` test per step. Events handed to an
:class:`ExecutionLog` are those the store has committed (Standard) or the engine recorded
(Express); the level filter, the record shape (:mod:`stepline._log_records`) and the
writing (:mod:`stepline.service._logs_sink`) happen on the writer's thread.

Log records carry exactly what the history carries, which the HTTP Task keeps free of
credentials: a connection's secrets never reach a log.

Which configuration applies: the one of the state machine revision the execution runs, the one
it was started with (``UpdateStateMachine`` makes a new revision; running executions keep
theirs, as they keep their definition).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from stepline._log_records import LogSettings, log_lines, settings_from_text
from stepline.service._exec_events import event_record, execution_started_details
from stepline.service._logs_sink import LogSink, LogWriter, parse_sink
from stepline.store import ExecutionRecord, HistoryEventRecord, StateMachineRevisionRecord

if TYPE_CHECKING:
    from stepline.engine import Execution, HistoryEvent
    from stepline.store import Store

__all__ = ["EXECUTION_LOGS_ENV", "ExecutionLog", "ExecutionLogs", "default_directory"]

EXECUTION_LOGS_ENV: Final = "STEPLINE_EXECUTION_LOGS"
DEFAULT_DIRECTORY_NAME: Final = "execution-logs"
# How often a running Express execution's new events are handed to the writer.
EXPRESS_DRAIN_SECONDS: Final = 1.0
_SETTINGS_CACHE_SIZE: Final = 1024


class ExecutionLog:
    """The log of one execution: hands its events to the writer.

    Attributes:
        settings: What its state machine's logging configuration asks for.
        execution_arn: The execution.
        redrive_count: How many times it was redriven (``redrive_count`` of each record).
    """

    __slots__ = ("_writer", "execution_arn", "redrive_count", "settings")

    def __init__(
        self,
        writer: LogWriter,
        settings: LogSettings,
        execution_arn: str,
        redrive_count: int = 0,
    ) -> None:
        self._writer = writer
        self.settings = settings
        self.execution_arn = execution_arn
        self.redrive_count = redrive_count

    def records(self, events: Sequence[HistoryEventRecord]) -> None:
        """Log committed events (the store's records), in order."""
        if not events:
            return
        settings, arn, redrives = self.settings, self.execution_arn, self.redrive_count
        self._writer.submit(settings.log_group, lambda: log_lines(settings, arn, redrives, events))

    def events(self, events: Sequence[HistoryEvent]) -> None:
        """Log engine events (an Express execution's), in order."""
        if not events:
            return
        settings, arn, redrives = self.settings, self.execution_arn, self.redrive_count
        self._writer.submit(
            settings.log_group,
            lambda: log_lines(settings, arn, redrives, [event_record(e) for e in events]),
        )

    def started(self, execution: ExecutionRecord, role_arn: str) -> None:
        """Log the ``ExecutionStarted`` event StartExecution stored (rebuilt from the record:
        the same details, as JSON text)."""
        details = execution_started_details(
            execution.input,
            role_arn,
            version_arn=execution.state_machine_version_arn,
            alias_arn=execution.state_machine_alias_arn,
        )
        self.records((HistoryEventRecord(1, 0, execution.start_date, "ExecutionStarted", details),))

    def timed_out(self, execution: Execution, timestamp: float, error: str, cause: str) -> None:
        """Log an Express execution's end at its time limit: the ``ExecutionTimedOut`` event
        its history would end with (the engine was cut off before it could record one)."""
        self.events(execution.take_new_events())
        last = execution.event_count
        self.records(
            (
                HistoryEventRecord(
                    last + 1,
                    last,
                    timestamp,
                    "ExecutionTimedOut",
                    _error_details(error, cause),
                ),
            )
        )

    async def drive(self, execution: Execution, running: Awaitable[None], timeout: float) -> None:
        """Await ``running`` (an Express execution being driven) for at most ``timeout``
        seconds, logging its new events every second meanwhile and at the end.

        Raises:
            TimeoutError: ``running`` did not finish in time (it is cancelled).
        """
        task = asyncio.ensure_future(running)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    raise TimeoutError
                await asyncio.wait((task,), timeout=min(EXPRESS_DRAIN_SECONDS, left))
                self.events(execution.take_new_events())
                if task.done():
                    task.result()
                    return
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def _error_details(error: str | None, cause: str | None) -> str:
    import orjson

    details: dict[str, str] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return orjson.dumps(details).decode()


def default_directory(environ: Mapping[str, str] | None = None) -> Path:
    """The default ``dir:`` sink: ``execution-logs`` in the data directory."""
    from stepline.connections import default_data_dir

    return default_data_dir(environ) / DEFAULT_DIRECTORY_NAME


class ExecutionLogs:
    """Execution logging for a whole service: settings per revision, one writer, one sink.

    Args:
        sink: Where records go; ``None`` turns execution logging off.
    """

    def __init__(self, sink: LogSink | None) -> None:
        self.sink = sink
        self._writer = LogWriter(sink) if sink is not None else None
        # Logging configuration text -> settings; a handful of distinct texts in practice.
        self._settings: dict[str | None, LogSettings | None] = {}
        # Revision id -> settings, for callers that hold a record, not the revision.
        self._by_revision: dict[str, LogSettings | None] = {}

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, in_memory: bool = False
    ) -> ExecutionLogs:
        """The sink ``STEPLINE_EXECUTION_LOGS`` names; by default ``dir:`` the data directory's
        ``execution-logs`` (``stdout`` for an in-memory database, which writes no file).

        Raises:
            ValueError: The variable names no sink.
        """
        env = os.environ if environ is None else environ
        spec = env.get(EXECUTION_LOGS_ENV, "").strip()
        if not spec:
            spec = "stdout" if in_memory else f"dir:{default_directory(env)}"
        return cls(parse_sink(spec, variable=EXECUTION_LOGS_ENV))

    @classmethod
    def to(cls, spec: str) -> ExecutionLogs:
        """Logging to the sink ``spec`` names (``stdout``, ``file:PATH``, ``dir:PATH``, ``off``)."""
        return cls(parse_sink(spec, variable="execution log sink"))

    @property
    def enabled(self) -> bool:
        """Whether any record can be written (the sink is not ``off``)."""
        return self._writer is not None

    def describe(self) -> str:
        """Where records go, for the operator (no payloads)."""
        return self.sink.description if self.sink is not None else "off"

    def settings_for(self, revision: StateMachineRevisionRecord) -> LogSettings | None:
        """What ``revision``'s logging configuration asks for; ``None``: nothing logged."""
        if self._writer is None:
            return None
        text = revision.logging_configuration
        try:
            settings = self._settings[text]
        except KeyError:
            settings = settings_from_text(text)
            if len(self._settings) >= _SETTINGS_CACHE_SIZE:
                self._settings.clear()
            self._settings[text] = settings
        if revision.revision_id not in self._by_revision:
            if len(self._by_revision) >= _SETTINGS_CACHE_SIZE:
                self._by_revision.clear()
            self._by_revision[revision.revision_id] = settings
        return settings

    def for_revision(
        self,
        revision: StateMachineRevisionRecord,
        execution_arn: str,
        *,
        redrive_count: int = 0,
    ) -> ExecutionLog | None:
        """The log of an execution running ``revision``; ``None`` when it logs nothing."""
        settings = self.settings_for(revision)
        if settings is None:
            return None
        assert self._writer is not None
        return ExecutionLog(self._writer, settings, execution_arn, redrive_count)

    async def log_aborted(
        self,
        store: Store,
        execution: ExecutionRecord,
        timestamp: float,
        error: str | None,
        cause: str | None,
    ) -> None:
        """Log the ``ExecutionAborted`` event ``StopExecution`` stored as ``execution``'s last.

        Reads the execution's revision only when it is not known here yet and logging is on.
        """
        last = execution.last_event_id
        await self.log_stored(
            store,
            execution,
            HistoryEventRecord(
                last, last - 1, timestamp, "ExecutionAborted", _error_details(error, cause)
            ),
        )

    async def log_stored(
        self, store: Store, execution: ExecutionRecord, event: HistoryEventRecord
    ) -> None:
        """Log one event an operation stored itself (``ExecutionAborted``,
        ``ExecutionRedriven``), as the worker logs the events it commits."""
        if self._writer is None:
            return
        if execution.revision_id in self._by_revision:
            settings = self._by_revision[execution.revision_id]
        else:
            revision = await store.get_revision(execution.revision_id)
            settings = self.settings_for(revision) if revision is not None else None
        if settings is None:
            return
        ExecutionLog(self._writer, settings, execution.arn, execution.redrive_count).records(
            (event,)
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every record handed over so far is written; whether it was in time."""
        return self._writer.flush(timeout) if self._writer is not None else True

    def close(self) -> None:
        """Write what is queued, flush and close (blocks; see :meth:`aclose`)."""
        if self._writer is not None:
            self._writer.close()

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop (the server's shutdown)."""
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
