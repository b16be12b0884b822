"""Nested workflows: the Task resource ``arn:aws:states:::states:startExecution``.

Three integration patterns, as on AWS:

- request-response (``…:startExecution``): start the child and return StartExecution's
  answer, ``{"ExecutionArn", "StartDate"}``;
- ``.sync`` / ``.sync:2``: start the child and wait for it to end; the result is the child's
  DescribeExecution answer (PascalCase members) with ``Input``/``Output`` as JSON text
  (``.sync``) or as JSON values (``.sync:2``). A child that does not succeed fails the task
  with ``States.TaskFailed`` and that answer, as JSON, for the cause;
- ``.waitForTaskToken``: the worker calls the request-response form with the token in the
  parameters (the usual callback path); whoever holds the token (the child, typically)
  completes the task with SendTaskSuccess/SendTaskFailure.

Parameters: ``StateMachineArn`` (a state machine, version or alias ARN), ``Input`` (a JSON
value, or JSON text) and ``Name``; the child records its parent (``parent_execution_arn``).
StartExecution's errors become task errors named ``StepFunctions.<code>`` (for example
``StepFunctions.StateMachineDoesNotExist``), as AWS names ``StepFunctions.ExecutionLimitExceeded``.

The child's name, when none is given, is derived from the parent execution and the task
attempt (its effect id): a task re-run after a restart (at-least-once) finds the child it
started before instead of starting a second one. A ``.sync`` task waits for its child while its
run holds the parent's lease; a parent that ends meanwhile (stopped: StopExecution cancels that
run, or its lease renewal fails elsewhere; failed or timed out by another branch) stops the
child, and so on down the tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Final

from stepline.api import ServiceError
from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import dumps_text, loads
from stepline.engine import TaskEffect
from stepline.engine._ports import HeartbeatSink
from stepline.service._context import ServiceContext
from stepline.service._exec_ends import stop_execution, wait_until_ended
from stepline.service._exec_start import (
    StartTarget,
    check_input,
    execution_name,
    resolve_target,
    start_standard,
)
from stepline.service._express import ExpressOutcome, run_express, start_express_async
from stepline.store import ExecutionRecord

__all__ = [
    "START_EXECUTION",
    "START_EXECUTION_SYNC",
    "START_EXECUTION_SYNC2",
    "NestedExecutions",
    "register_nested",
]

START_EXECUTION: Final = "arn:aws:states:::states:startExecution"
START_EXECUTION_SYNC: Final = f"{START_EXECUTION}.sync"
START_EXECUTION_SYNC2: Final = f"{START_EXECUTION}.sync:2"

TASK_FAILED: Final = "States.TaskFailed"
_ERROR_PREFIX: Final = "StepFunctions."
_PARAMETERS: Final = frozenset({"StateMachineArn", "Input", "Name", "TraceHeader"})
_PARENT_END_GRACE_SECONDS: Final = 5.0
_NAME_NAMESPACE: Final = uuid.UUID("5d7c1a40-8a53-4f0e-9d8e-6a1f2b3c4d5e")

_log = logging.getLogger("stepline.service.nested")

# Tasks that stop a child after its parent was stopped (kept so they are not collected).
_STOPPING: Final[set[asyncio.Task[None]]] = set()


def register_nested(context: ServiceContext) -> None:
    """Serve the three ``startExecution`` resources in ``context.tasks``."""
    nested = NestedExecutions(context)
    for resource in (START_EXECUTION, START_EXECUTION_SYNC, START_EXECUTION_SYNC2):
        context.tasks.register(resource, nested)


class NestedExecutions:
    """The ``startExecution`` task invoker (the engine's ``TaskInvoker`` port).

    Args:
        context: The service whose state machines the children run.
    """

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Start the child execution; for ``.sync`` patterns, wait for it and describe it.

        Raises:
            StatesError: Bad parameters (``States.Runtime``), StartExecution refused
                (``StepFunctions.<code>``), or the ``.sync`` child did not succeed
                (``States.TaskFailed``).
        """
        resource = effect.resource
        wait = resource in (START_EXECUTION_SYNC, START_EXECUTION_SYNC2)
        arn, name, input_text, value, trace_header = _read_parameters(effect)
        parent = effect.identity.execution_arn if effect.identity is not None else None
        context = self.context
        try:
            target = await resolve_target(context, arn)
            name = _child_name(parent, effect) if name is None else execution_name(name)
            input_text, value = check_input(context, input_text)
        except ServiceError as refused:
            raise _task_error(refused, effect) from None
        if target.state_machine.type == "EXPRESS":
            return await self._express(target, name, value, effect, wait=wait)
        child = await self._start(
            target, name, input_text, effect, trace_header=trace_header, parent=parent
        )
        if not wait:
            return {"ExecutionArn": child.arn, "StartDate": _millis(child.start_date)}
        try:
            ended = await wait_until_ended(context, child.arn)
        except asyncio.CancelledError:
            if parent is not None:
                _stop_if_parent_stopped(context, parent, child.arn)
            raise
        if ended is None:
            raise StatesError(
                TASK_FAILED,
                f"The child execution '{child.arn}' of state '{effect.state_name}' is gone "
                "(deleted with its state machine?).",
            )
        described = _describe(ended, json_values=resource == START_EXECUTION_SYNC2)
        if ended.status != "SUCCEEDED":
            raise StatesError(TASK_FAILED, dumps_text(described))
        return described

    async def _start(
        self,
        target: StartTarget,
        name: str,
        input_text: str,
        effect: TaskEffect,
        *,
        trace_header: str | None,
        parent: str | None,
    ) -> ExecutionRecord:
        """Start a Standard child (or find the one this very task started before a restart)."""
        context = self.context
        try:
            return await start_standard(
                context,
                target,
                name,
                input_text,
                trace_header=trace_header,
                parent_execution_arn=parent,
            )
        except ServiceError as refused:
            if refused.code == "ExecutionAlreadyExists" and parent is not None:
                arn = f"{context.arn_prefix}execution:{target.state_machine.name}:{name}"
                existing = await context.store.get_execution(arn)
                if existing is not None and existing.parent_execution_arn == parent:
                    return existing
            raise _task_error(refused, effect) from None

    async def _express(
        self, target: StartTarget, name: str, value: Any, effect: TaskEffect, *, wait: bool
    ) -> Any:
        """An Express child: started in the background, or (``.sync``) run to its end here."""
        context = self.context
        if not wait:
            arn, started = start_express_async(context, target, name, value)
            return {"ExecutionArn": arn, "StartDate": int(started.timestamp() * 1000)}
        outcome = await run_express(context, target, name, value)
        described = _describe_express(
            outcome,
            target,
            value,
            json_values=effect.resource == START_EXECUTION_SYNC2,
        )
        if outcome.status != "SUCCEEDED":
            raise StatesError(TASK_FAILED, dumps_text(described))
        return described


def _read_parameters(effect: TaskEffect) -> tuple[str, str | None, str | None, Any, str | None]:
    """``(StateMachineArn, Name, input text, input value, TraceHeader)`` from the parameters."""
    parameters = effect.parameters
    where = f"the parameters of state '{effect.state_name}' (resource '{effect.resource}')"
    if not isinstance(parameters, dict):
        raise StatesError(
            RUNTIME,
            f"{where} must be a JSON object with StateMachineArn (and Input, Name); "
            f"got {type(parameters).__name__}.",
        )
    unknown = sorted(set(parameters) - _PARAMETERS)
    if unknown:
        raise StatesError(
            RUNTIME,
            f"{where} have unknown fields {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(_PARAMETERS))}.",
        )
    arn = parameters.get("StateMachineArn")
    if not isinstance(arn, str) or not arn:
        raise StatesError(
            RUNTIME, f"{where} need StateMachineArn: the ARN of the state machine to start."
        )
    name = parameters.get("Name")
    if name is not None and not isinstance(name, str):
        raise StatesError(RUNTIME, f"Name in {where} must be a string.")
    trace_header = parameters.get("TraceHeader")
    if trace_header is not None and not isinstance(trace_header, str):
        raise StatesError(RUNTIME, f"TraceHeader in {where} must be a string.")
    if "Input" not in parameters:
        return arn, name, None, {}, trace_header
    given = parameters["Input"]
    # A string is the input's JSON text (AWS accepts both forms); anything else is the value.
    text = given if isinstance(given, str) else dumps_text(given)
    return arn, name, text, given, trace_header


def _child_name(parent: str | None, effect: TaskEffect) -> str:
    """A child's name when none is given: stable for one task attempt of one parent.

    A redriven parent starts a new child (as AWS does): the redrive count is part of the name.
    """
    if parent is None:
        return str(uuid.uuid4())
    execution = effect.context.get("Execution") if isinstance(effect.context, dict) else None
    redrives = execution.get("RedriveCount", 0) if isinstance(execution, dict) else 0
    attempt = f"{parent}#{effect.id}" if not redrives else f"{parent}#{effect.id}#r{redrives}"
    return str(uuid.uuid5(_NAME_NAMESPACE, attempt))


def _task_error(refused: ServiceError, effect: TaskEffect) -> StatesError:
    return StatesError(
        f"{_ERROR_PREFIX}{refused.code}",
        f"State '{effect.state_name}' could not start the child execution: {refused.message}",
    )


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def _payload(text: str | None, *, json_values: bool) -> Any:
    if text is None or not json_values:
        return text
    return loads(text)


def _describe(record: ExecutionRecord, *, json_values: bool) -> dict[str, Any]:
    """The child's DescribeExecution answer with AWS's PascalCase members (task output)."""
    out: dict[str, Any] = {
        "ExecutionArn": record.arn,
        "StateMachineArn": record.state_machine_arn,
        "Name": record.name,
        "Status": record.status,
        "StartDate": _millis(record.start_date),
    }
    if record.stop_date is not None:
        out["StopDate"] = _millis(record.stop_date)
    out["Input"] = _payload(record.input, json_values=json_values)
    out["InputDetails"] = {"Included": True}
    if record.output is not None:
        out["Output"] = _payload(record.output, json_values=json_values)
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


def _describe_express(
    outcome: ExpressOutcome, target: StartTarget, value: Any, *, json_values: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ExecutionArn": outcome.execution_arn,
        "StateMachineArn": target.state_machine.arn,
        "Name": outcome.name,
        "Status": outcome.status,
        "StartDate": _millis(outcome.start),
        "StopDate": _millis(outcome.stop),
        "Input": value if json_values else dumps_text(value),
        "InputDetails": {"Included": True},
    }
    if outcome.output is not None:
        out["Output"] = _payload(outcome.output, json_values=json_values)
        out["OutputDetails"] = {"Included": True}
    if outcome.error is not None:
        out["Error"] = outcome.error
    if outcome.cause is not None:
        out["Cause"] = outcome.cause
    return out


def _stop_if_parent_stopped(context: ServiceContext, parent: str, child: str) -> None:
    """After a ``.sync`` wait was cancelled: stop the child once its parent no longer runs.

    StopExecution marks the parent ``ABORTED`` before it cancels the wait. A parent that fails
    or times out cancels its tasks in the step that it then commits as ended, so a parent still
    running is watched for a short while. A cancelled wait also happens at shutdown or when
    the task's branch is cancelled while the parent goes on: the parent still runs then, and
    the child is left alone (a later claim of the parent waits for it again).
    """

    async def check() -> None:
        try:
            record = await context.store.get_execution(parent)
            if record is not None and record.status == "RUNNING":
                try:
                    record = await asyncio.wait_for(
                        wait_until_ended(context, parent), _PARENT_END_GRACE_SECONDS
                    )
                except TimeoutError:
                    return
            cause = f"Stopped with its parent execution '{parent}', which no longer runs."
            _, stopped = await stop_execution(context, child, error=None, cause=cause)
            if stopped:
                _log.debug("stopped child %s of ended parent %s", child, parent)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the store closing at shutdown, most likely
            _log.debug("could not stop child %s of parent %s: %s", child, parent, exc)

    with contextlib.suppress(RuntimeError):  # no running loop any more (shutdown)
        task = asyncio.get_running_loop().create_task(check())
        _STOPPING.add(task)
        task.add_done_callback(_STOPPING.discard)
