"""Executions ending: hearing of it in this process, and stopping one.

The parts of this process that end a Standard execution (the worker's terminal commit,
StopExecution) call :func:`execution_ended`, which wakes the map runs of this process when the
execution is a Distributed Map child. (A ``.sync`` nested workflow does not wait here: its
child's end completes its task in the store, see :mod:`stepline.service._nested_outcome`.)

:func:`stop_execution` is StopExecution's core, shared by the operation and by
:func:`stop_orphaned_children`: a parent that ended, or whose ``.sync`` task stopped waiting
(cancelled, timed out), stops the children it no longer waits for — found through the store,
so whichever process runs them — and each stopped child does the same for its own children.
"""

from __future__ import annotations

import logging
import time

import orjson

from stepline.service._context import ServiceContext
from stepline.service._exec_hub import hub_of
from stepline.service._map_run_driver import wake_map_runs
from stepline.service._sm_common import remove_if_idle
from stepline.store import ExecutionRecord, PendingEvent, StoreError

__all__ = ["execution_ended", "stop_execution", "stop_orphaned_children"]

_log = logging.getLogger("stepline.service.executions")


def execution_ended(context: ServiceContext, execution_arn: str) -> None:
    """Tell this process that ``execution_arn`` has ended (it is committed)."""
    if "/" in execution_arn.rsplit(":", 2)[-2]:
        # A Distributed Map child (…:execution:<machine>/<label>:<name>): its map run looks.
        wake_map_runs(context)


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
        hub = hub_of(context)
        hub.cancel_run(arn)
        execution_ended(context, arn)
        if record.parent_execution_arn is not None:
            hub.wake()  # a .sync parent waiting for it is due now
        await context.execution_logs.log_aborted(context.store, record, now, error, cause)
        await remove_if_idle(context, record.state_machine_arn)
        await stop_orphaned_children(context, arn)
    return record, stopped


async def stop_orphaned_children(context: ServiceContext, parent_arn: str) -> None:
    """Stop the running ``.sync`` children that ``parent_arn`` no longer waits for.

    Request-response and ``.waitForTaskToken`` children are not linked to a waiting task, so
    they run on, as on AWS. A failure (the store closing at shutdown) is logged, not raised:
    the parent's own step is committed already.
    """
    try:
        children = await context.store.orphaned_children(parent_arn)
        for child in children:
            cause = (
                f"Stopped with its parent execution '{parent_arn}', which no longer waits for it."
            )
            await stop_execution(context, child, error=None, cause=cause)
    except StoreError as exc:
        _log.warning("could not stop the children of %s: %s", parent_arn, exc)


async def _has_running_map_run(context: ServiceContext, execution_arn: str) -> bool:
    """Whether a map run of the execution is RUNNING (its stop records ``MapRunAborted``)."""
    page = await context.store.list_map_runs(execution_arn, max_results=1)
    return any(run.status == "RUNNING" for run in page.items)
