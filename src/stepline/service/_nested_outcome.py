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
from typing import Any

from stepline.asl._json import dumps_text
from stepline.engine import Execution, TaskEffect
from stepline.service._context import ServiceContext
from stepline.store import ExecutionRecord, TaskTokenRecord
from stepline.tasks._nested import START_EXECUTION_SYNC2, TASK_FAILED, describe_execution

__all__ = ["child_outcomes", "describe_child"]


def describe_child(record: ExecutionRecord, *, json_values: bool) -> dict[str, Any]:
    """The child's DescribeExecution answer with AWS's PascalCase members (the task output)."""
    return describe_execution(
        execution_arn=record.arn,
        state_machine_arn=record.state_machine_arn,
        name=record.name,
        status=record.status,
        start_date=record.start_date,
        input_text=record.input,
        json_values=json_values,
        stop_date=record.stop_date,
        output_text=record.output,
        error=record.error,
        cause=record.cause,
        extra={
            "StateMachineVersionArn": record.state_machine_version_arn,
            "StateMachineAliasArn": record.state_machine_alias_arn,
            "TraceHeader": record.trace_header,
        },
    )


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
