"""RedriveExecution and the redrive status that DescribeExecution shows.

AWS's rules (Standard executions only):

- An execution can be redriven when it ended ``FAILED``, ``TIMED_OUT`` or ``ABORTED``, its
  state machine is not being deleted, it stopped less than 14 days ago, it started less than a
  year ago, and its history has room for ``ExecutionRedriven`` and one more event (fewer than
  ``max_history_events - 1`` events; AWS: 24,999 of 25,000). Otherwise RedriveExecution answers
  ``ExecutionNotRedrivable`` and DescribeExecution shows ``NOT_REDRIVABLE`` with AWS's reason.
- A child execution of a Distributed Map run is ``REDRIVABLE_BY_MAP_RUN``: it is redriven by
  redriving its parent (which redrives the map run), not directly.
- A redrive stores ``ExecutionRedriven`` (``redriveCount``), sets the execution ``RUNNING``
  again (no stop date, output, error or cause), and wakes the worker, which restores the
  engine from the snapshot of the execution's end and continues from its unsuccessful
  state(s) (:meth:`stepline.engine.Execution.redrive`). The write is conditional on the status
  and the redrive count, so of two concurrent redrives one wins; the other is answered as for a
  running execution.
- ``clientToken``: a request whose token was used for one of the execution's last ten redrives,
  within 15 minutes, answers that redrive's date and changes nothing.

Distributed Map: AWS redrives a parent's failed Map Run (its unsuccessful child executions)
when the parent is redriven. That needs nothing here: the redriven engine asks again for the
Distributed Map state's map run, and :class:`~stepline.service._map_run_start.MapRunStarter`
redrives the earlier one (``MapRunRedriven``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Final

import orjson

from stepline.api import Handler, RequestContext, ServiceError
from stepline.service._arns import invalid_arn, parse_execution_arn
from stepline.service._context import ServiceContext
from stepline.service._exec_shapes import timestamp
from stepline.store import (
    ExecutionRecord,
    HistoryEventRecord,
    PendingEvent,
    RecordNotFound,
    StateMachineRecord,
)

__all__ = [
    "current_redrive_status",
    "handlers",
    "log_redrive",
    "redrive_status",
    "redriven_event",
    "with_redrive_status",
]

REDRIVABLE_PERIOD_SECONDS: Final = 14 * 24 * 3600
"""How long after its stop an execution can be redriven (AWS: 14 days)."""

MAX_OPEN_SECONDS: Final = 365 * 24 * 3600
"""How long after its start an execution can be redriven at most (AWS: one year)."""

_CLOSED_UNSUCCESSFUL: Final = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_DELETING: Final = "State machine is in DELETING status."
_HISTORY_FULL: Final = "Execution history event limit exceeded."
_TOO_OLD: Final = "Execution has exceeded the max execution time."
_PERIOD_OVER: Final = "Execution redrivable period exceeded."
_BY_MAP_RUN: Final = (
    "The execution is a child of the Map Run {map_run}; redrive its parent execution, which "
    "redrives the Map Run's unsuccessful child executions."
)
_ADVICE: Final = {
    "RUNNING": "Wait for it to end, or stop it (StopExecution) and redrive it then.",
    "SUCCEEDED": "Start a new execution to run it again.",
    _DELETING: "Its state machine is being deleted; start a new execution of another one.",
    _HISTORY_FULL: "Start a new execution; split long loops into nested executions.",
    _TOO_OLD: "Start a new execution.",
    _PERIOD_OVER: "Executions can be redriven for 14 days after they stop; start a new one.",
}


def redriven_event(redrive_count: int, now: float) -> PendingEvent:
    """The ``ExecutionRedriven`` event of an execution's ``redrive_count``-th redrive."""
    return PendingEvent(
        now, "ExecutionRedriven", orjson.dumps({"redriveCount": redrive_count}).decode()
    )


async def log_redrive(
    context: ServiceContext, execution: ExecutionRecord, event: PendingEvent
) -> None:
    """Write ``event`` (:func:`redriven_event`), just stored as ``execution``'s last event, to
    its execution log."""
    last = execution.last_event_id
    await context.execution_logs.log_stored(
        context.store,
        execution,
        HistoryEventRecord(last, last - 1, event.timestamp, event.type, event.details),
    )


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The redrive operation, by ``states:<Op>`` key."""
    ops = _RedriveOps(context)
    return {"states:RedriveExecution": ops.redrive}


def redrive_status(
    record: ExecutionRecord,
    machine: StateMachineRecord | None,
    *,
    now: float,
    history_limit: int,
) -> tuple[str, str | None]:
    """``(redriveStatus, redriveStatusReason)`` of an execution now, by AWS's rules."""
    status = record.status
    if status not in _CLOSED_UNSUCCESSFUL:
        return "NOT_REDRIVABLE", f"Execution is {status} and cannot be redriven"
    if record.map_run_arn is not None:
        return "REDRIVABLE_BY_MAP_RUN", None
    if machine is None or machine.status == "DELETING":
        return "NOT_REDRIVABLE", _DELETING
    if record.last_event_id >= history_limit - 1:
        return "NOT_REDRIVABLE", _HISTORY_FULL
    if now - record.start_date > MAX_OPEN_SECONDS:
        return "NOT_REDRIVABLE", _TOO_OLD
    if record.stop_date is not None and now - record.stop_date > REDRIVABLE_PERIOD_SECONDS:
        return "NOT_REDRIVABLE", _PERIOD_OVER
    return "REDRIVABLE", None


async def current_redrive_status(
    context: ServiceContext, record: ExecutionRecord, now: float
) -> tuple[str, str | None]:
    """:func:`redrive_status` of ``record`` at ``now``, reading its state machine if needed."""
    machine = None
    if record.status in _CLOSED_UNSUCCESSFUL:
        machine = await context.store.get_state_machine(record.state_machine_arn)
    return redrive_status(record, machine, now=now, history_limit=context.config.max_history_events)


async def with_redrive_status(context: ServiceContext, record: ExecutionRecord) -> ExecutionRecord:
    """``record`` with its redrive status as of now (for DescribeExecution)."""
    status, reason = await current_redrive_status(context, record, time.time())
    return replace(record, redrive_status=status, redrive_status_reason=reason)  # type: ignore[arg-type]


def _not_redrivable(arn: str, status: str, reason: str | None, map_run: str | None) -> ServiceError:
    if status == "REDRIVABLE":
        explanation = (
            "another RedriveExecution redrove it meanwhile. Describe it (DescribeExecution) "
            "and redrive it again if it is still unsuccessful."
        )
    elif status == "REDRIVABLE_BY_MAP_RUN" or reason is None:
        explanation = _BY_MAP_RUN.format(map_run=map_run)
    else:
        advice = next((text for key, text in _ADVICE.items() if key in reason), "")
        explanation = f"{reason.rstrip('.')}. {advice}".strip()
    return ServiceError(
        "ExecutionNotRedrivable",
        f"Execution '{arn}' cannot be redriven: {explanation}",
    )


class _RedriveOps:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.store = context.store

    async def redrive(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        arn = request["executionArn"]
        if parse_execution_arn(arn).express:
            raise invalid_arn(
                "Resource type not valid in this context: express",
                "RedriveExecution is for Standard executions only (AWS does not support it "
                "for EXPRESS state machines).",
            )
        record = await self.store.get_execution(arn)
        if record is None:
            raise ServiceError(
                "ExecutionDoesNotExist",
                f"Execution Does Not Exist: '{arn}'. Check the ARN, or list the state "
                "machine's executions (ListExecutions).",
            )
        token = request.get("clientToken")
        now = time.time()
        status, reason = await current_redrive_status(self.context, record, now)
        redrivable = status == "REDRIVABLE"
        if not redrivable and token is None:
            raise _not_redrivable(arn, status, reason, record.map_run_arn)
        # With a client token the store is asked even so: the token may be that of an earlier
        # redrive, which it answers for. An expected count of -1 never matches: it only looks.
        count = record.redrive_count + 1
        event = redriven_event(count, now)
        try:
            updated, date = await self.store.redrive_execution(
                arn,
                redrive_count=record.redrive_count if redrivable else -1,
                redrive_date=now,
                events=(event,),
                client_token=token,
            )
        except RecordNotFound:
            raise ServiceError(
                "ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'."
            ) from None
        if date is None:
            # Running again (another redrive won), or never redrivable: say why, as of now.
            if redrivable:
                status, reason = await current_redrive_status(self.context, updated, now)
            raise _not_redrivable(arn, status, reason, updated.map_run_arn)
        if date == now and updated.redrive_count == count:
            # The store signalled the execution runnable: a worker (here or elsewhere) claims
            # and redrives it at once.
            await log_redrive(self.context, updated, event)
        return {"redriveDate": timestamp(date)}
