"""What a ``.sync``/``.sync:2`` nested workflow task gets when its child ends.

The service waits for a ``.sync`` child durably, holding no lease: the engine gives the task a
token (``Execution.token_resources``), the step that schedules it stores that token as
``STARTED`` (like a callback's), and the child is stored linked to it
(``TaskTokenRecord.child_execution_arn``). The child's terminal commit completes the token in the
same transaction (``SUCCEEDED``, or ``FAILED`` for a child that failed, timed out or was
aborted) and wakes the parent; the parent's next claim turns the token into the task's outcome
here, from the child's record: its DescribeExecution answer with AWS's PascalCase members —
``Input``/``Output`` as JSON text for ``.sync``, as JSON values for ``.sync:2`` — or, for a
child that did not succeed, ``States.TaskFailed`` with that answer (JSON) as the cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Final

from stepline.asl._json import dumps_text, loads
from stepline.engine import Execution, TaskEffect
from stepline.service._context import ServiceContext
from stepline.store import ExecutionRecord, TaskTokenRecord

__all__ = [
    "START_EXECUTION",
    "START_EXECUTION_SYNC",
    "START_EXECUTION_SYNC2",
    "SYNC_RESOURCES",
    "TASK_FAILED",
    "child_outcomes",
    "describe_child",
    "millis",
    "payload",
]

START_EXECUTION: Final = "arn:aws:states:::states:startExecution"
START_EXECUTION_SYNC: Final = f"{START_EXECUTION}.sync"
START_EXECUTION_SYNC2: Final = f"{START_EXECUTION}.sync:2"
SYNC_RESOURCES: Final = frozenset({START_EXECUTION_SYNC, START_EXECUTION_SYNC2})
"""The resources whose tasks wait for their child execution (given a token by the worker)."""

TASK_FAILED: Final = "States.TaskFailed"


def millis(seconds: float) -> int:
    """Epoch seconds as integer epoch milliseconds (how the task output shows dates)."""
    return round(seconds * 1000)


def payload(text: str | None, *, json_values: bool) -> Any:
    """An input/output as the task shows it: JSON text (``.sync``) or its value (``.sync:2``)."""
    if text is None or not json_values:
        return text
    return loads(text)


def describe_child(record: ExecutionRecord, *, json_values: bool) -> dict[str, Any]:
    """The child's DescribeExecution answer with AWS's PascalCase members (the task output)."""
    out: dict[str, Any] = {
        "ExecutionArn": record.arn,
        "StateMachineArn": record.state_machine_arn,
        "Name": record.name,
        "Status": record.status,
        "StartDate": millis(record.start_date),
    }
    if record.stop_date is not None:
        out["StopDate"] = millis(record.stop_date)
    out["Input"] = payload(record.input, json_values=json_values)
    out["InputDetails"] = {"Included": True}
    if record.output is not None:
        out["Output"] = payload(record.output, json_values=json_values)
        out["OutputDetails"] = {"Included": True}
    if record.error is not None:
        out["Error"] = record.error
    if record.cause is not None:
        out["Cause"] = record.cause
    if record.state_machine_version_arn is not None:
        out["StateMachineVersionArn"] = record.state_machine_version_arn
    if record.state_machine_alias_arn is not None:
        out["StateMachineAliasArn"] = record.state_machine_alias_arn
    if record.trace_header is not None:
        out["TraceHeader"] = record.trace_header
    return out


def _settled(
    record: TaskTokenRecord, child: ExecutionRecord | None, effect: TaskEffect
) -> TaskTokenRecord:
    """The token with the outcome the task takes from its ended child."""
    if child is None:
        cause = (
            f"The child execution '{record.child_execution_arn}' of state '{effect.state_name}' "
            "is gone (its name was reused?)."
        )
        return replace(record, status="FAILED", error=TASK_FAILED, cause=cause)
    described = describe_child(child, json_values=effect.resource == START_EXECUTION_SYNC2)
    if child.status == "SUCCEEDED":
        return replace(record, status="SUCCEEDED", output=dumps_text(described))
    return replace(record, status="FAILED", error=TASK_FAILED, cause=dumps_text(described))


async def child_outcomes(
    context: ServiceContext, tokens: Iterable[TaskTokenRecord], execution: Execution
) -> tuple[TaskTokenRecord, ...]:
    """``tokens`` with each ended child's outcome filled in (one read per ended child).

    Tokens of effects the execution no longer awaits are left as they are (the worker closes
    them); so are all other tokens.
    """
    effects: dict[int, TaskEffect] | None = None
    settled = []
    for record in tokens:
        child_arn = record.child_execution_arn
        if child_arn is None or record.status not in ("SUCCEEDED", "FAILED"):
            settled.append(record)
            continue
        if effects is None:
            effects = {e.id: e for e in execution.outstanding() if isinstance(e, TaskEffect)}
        effect = effects.get(record.effect_id)
        if effect is None:
            settled.append(record)
            continue
        child = await context.store.get_execution(child_arn)
        settled.append(_settled(record, child, effect))
    return tuple(settled)
