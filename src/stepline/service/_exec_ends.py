"""Executions ending: waiting for one to end, hearing of it in this process, and stopping one.

A ``.sync`` nested workflow waits for its child execution to end (:mod:`stepline.service._nested`).
The parts of this process that end a Standard execution (the worker's terminal commit,
StopExecution) call :func:`execution_ended`, which wakes such waiters at once; waiters also
re-read the store now and then, so a child ended by another process is seen too.

:func:`stop_execution` is StopExecution's core, shared by the operation and by a parent that
stops its ``.sync`` children.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Final

import orjson

from stepline.service._context import ServiceContext
from stepline.service._exec_hub import hub_of
from stepline.service._map_run_driver import wake_map_runs
from stepline.service._sm_common import remove_if_idle
from stepline.store import ExecutionRecord, PendingEvent

__all__ = ["execution_ended", "stop_execution", "wait_until_ended"]

_FIRST_POLL_SECONDS: Final = 0.05
_MAX_POLL_SECONDS: Final = 2.0

_WAITERS: Final[weakref.WeakKeyDictionary[ServiceContext, dict[str, set[asyncio.Event]]]] = (
    weakref.WeakKeyDictionary()
)


def execution_ended(context: ServiceContext, execution_arn: str) -> None:
    """Tell this process's waiters that ``execution_arn`` has ended (it is committed)."""
    if "/" in execution_arn.rsplit(":", 2)[-2]:
        # A Distributed Map child (…:execution:<machine>/<label>:<name>): its map run looks.
        wake_map_runs(context)
    waiters = _WAITERS.get(context)
    if not waiters:
        return
    for event in waiters.get(execution_arn, ()):
        event.set()


async def wait_until_ended(context: ServiceContext, execution_arn: str) -> ExecutionRecord | None:
    """Wait until the execution is no longer ``RUNNING``; its record (``None``: it is gone).

    Woken at once by :func:`execution_ended` in this process; otherwise the store is read
    again with a growing pause (up to two seconds), for an execution another process ends.
    """
    waiters = _WAITERS.setdefault(context, {})
    event = asyncio.Event()
    waiters.setdefault(execution_arn, set()).add(event)
    pause = _FIRST_POLL_SECONDS
    try:
        while True:
            event.clear()
            record = await context.store.get_execution(execution_arn)
            if record is None or record.status != "RUNNING":
                return record
            try:
                await asyncio.wait_for(event.wait(), pause)
            except TimeoutError:
                pause = min(pause * 2, _MAX_POLL_SECONDS)
    finally:
        mine = waiters.get(execution_arn)
        if mine is not None:
            mine.discard(event)
            if not mine:
                del waiters[execution_arn]


async def stop_execution(
    context: ServiceContext, arn: str, *, error: str | None, cause: str | None
) -> tuple[ExecutionRecord, bool]:
    """Abort a running Standard execution (``ExecutionAborted``), cancel its run here, log it.

    Returns:
        The execution and whether this call stopped it (``False``: it had ended already).

    Raises:
        RecordNotFound: No such execution.
    """
    details: dict[str, str] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    now = time.time()
    events = [PendingEvent(now, "ExecutionAborted", orjson.dumps(details).decode())]
    if await _has_running_map_run(context, arn):
        events.insert(0, PendingEvent(now, "MapRunAborted"))
    record, stopped = await context.store.stop_execution(
        arn, stop_date=now, error=error, cause=cause, events=events
    )
    if stopped:
        wake_map_runs(context)  # the execution's map runs end with it
        hub_of(context).cancel_run(arn)
        execution_ended(context, arn)
        await context.execution_logs.log_aborted(context.store, record, now, error, cause)
        await remove_if_idle(context, record.state_machine_arn)
    return record, stopped


async def _has_running_map_run(context: ServiceContext, execution_arn: str) -> bool:
    """Whether a map run of the execution is RUNNING (its stop records ``MapRunAborted``)."""
    page = await context.store.list_map_runs(execution_arn, max_results=1)
    return any(run.status == "RUNNING" for run in page.items)
