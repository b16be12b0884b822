"""Nested workflows: the Task resource ``arn:aws:states:::states:startExecution``.

Three integration patterns, as on AWS:

- request-response (``…:startExecution``): start the child and return StartExecution's
  answer, ``{"ExecutionArn", "StartDate"}``;
- ``.sync`` / ``.sync:2``: start the child and wait for it to end; the result is the child's
  DescribeExecution answer (see :mod:`stepline.service._nested_outcome`). The wait is durable
  and holds no lease: the worker gives the task a token, this invoker is its "submission" (it
  stores the child linked to that token and answers like request-response, recorded as
  ``TaskSubmitted``), and the child's end completes the token in the store;
- ``.waitForTaskToken``: the worker calls the request-response form with the token in the
  parameters (the usual callback path); whoever holds the token (the child, typically)
  completes the task with SendTaskSuccess/SendTaskFailure.

Parameters: ``StateMachineArn`` (a state machine, version or alias ARN), ``Input`` (a JSON
value, or JSON text) and ``Name``; the child records its parent (``parent_execution_arn``).
StartExecution's errors become task errors named ``StepFunctions.<code>`` (for example
``StepFunctions.StateMachineDoesNotExist``), as AWS names ``StepFunctions.ExecutionLimitExceeded``.

The child's name, when none is given, is derived from the parent execution and the task
attempt (its effect id): a task re-run after a restart (at-least-once) finds the child it
started before instead of starting a second one. An Express child of a ``.sync`` task runs to
its end inside the submission (Express executions are not stored).
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from stepline.api import ServiceError
from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import dumps_text
from stepline.engine import TaskEffect
from stepline.engine._ports import HeartbeatSink
from stepline.service._context import ServiceContext
from stepline.service._exec_start import (
    StartTarget,
    check_input,
    execution_name,
    resolve_target,
    start_standard,
)
from stepline.service._express import ExpressOutcome, run_express, start_express_async
from stepline.service._worker_tasks import Settled
from stepline.store import ExecutionRecord, TaskClosed
from stepline.tasks._nested import (
    ERROR_PREFIX,
    START_EXECUTION_RESOURCES,
    START_EXECUTION_SYNC2,
    SYNC_RESOURCES,
    TASK_FAILED,
    describe_execution,
    millis,
    read_start_request,
)

__all__ = ["NestedExecutions", "register_nested"]

_NAME_NAMESPACE: Final = uuid.UUID("5d7c1a40-8a53-4f0e-9d8e-6a1f2b3c4d5e")


def register_nested(context: ServiceContext) -> None:
    """Serve the three ``startExecution`` resources in ``context.tasks``."""
    nested = NestedExecutions(context)
    for resource in START_EXECUTION_RESOURCES:
        context.tasks.register(resource, nested)


class NestedExecutions:
    """The ``startExecution`` task invoker (the engine's ``TaskInvoker`` port).

    Args:
        context: The service whose state machines the children run.
    """

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Start the child execution (for ``.sync`` patterns, linked to the task's token).

        Returns:
            StartExecution's answer; for an Express ``.sync`` child, a :class:`Settled` with
            that answer and the child's outcome.

        Raises:
            StatesError: Bad parameters (``States.Runtime``), StartExecution refused
                (``StepFunctions.<code>``), or the task no longer waits
                (``States.TaskFailed``).
        """
        resource = effect.resource
        wait = resource in SYNC_RESOURCES
        if wait and effect.task_token is None:
            raise StatesError(
                RUNTIME,
                f"State '{effect.state_name}' ({resource}) needs the service's worker, which "
                "gives the task the token its child completes.",
            )
        request = read_start_request(effect)
        name, input_text = request.name, request.input_text
        parent = effect.identity.execution_arn if effect.identity is not None else None
        context = self.context
        try:
            target = await resolve_target(context, request.state_machine_arn)
            name = _child_name(parent, effect) if name is None else execution_name(name)
            input_text, value = check_input(context, input_text)
        except ServiceError as refused:
            raise _task_error(refused, effect) from None
        if target.state_machine.type == "EXPRESS":
            return await self._express(target, name, value, effect, wait=wait)
        child = await self._start(
            target,
            name,
            input_text,
            effect,
            trace_header=request.trace_header,
            parent=parent,
            wait_token=effect.task_token if wait else None,
        )
        return {"ExecutionArn": child.arn, "StartDate": millis(child.start_date)}

    async def _start(
        self,
        target: StartTarget,
        name: str,
        input_text: str,
        effect: TaskEffect,
        *,
        trace_header: str | None,
        parent: str | None,
        wait_token: str | None,
    ) -> ExecutionRecord:
        """Start a Standard child (or find the one this very task started before a restart)."""
        context = self.context
        try:
            child = await start_standard(
                context,
                target,
                name,
                input_text,
                trace_header=trace_header,
                parent_execution_arn=parent,
                parent_task_token=wait_token,
            )
        except ServiceError as refused:
            if refused.code == "ExecutionAlreadyExists" and parent is not None:
                arn = f"{context.arn_prefix}execution:{target.state_machine.name}:{name}"
                existing = await context.store.get_execution(arn)
                if existing is not None and existing.parent_execution_arn == parent:
                    return existing
            raise _task_error(refused, effect) from None
        except TaskClosed:
            raise StatesError(
                TASK_FAILED,
                f"State '{effect.state_name}' no longer waits for a child execution (it was "
                "cancelled, timed out, or its execution ended); the child was not started.",
            ) from None
        if wait_token is not None and child.parent_execution_arn != parent:
            # StartExecution's idempotent answer: a running execution of that name and input
            # that another execution started; this task is not linked to it.
            raise StatesError(
                f"{ERROR_PREFIX}ExecutionAlreadyExists",
                f"State '{effect.state_name}' could not start the child execution: "
                f"'{child.arn}' is running already, started by another execution. Give the "
                "child another Name (or none).",
            )
        return child

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
        submitted = {"ExecutionArn": outcome.execution_arn, "StartDate": millis(outcome.start)}
        if outcome.status != "SUCCEEDED":
            return Settled(submitted, error=TASK_FAILED, cause=dumps_text(described))
        return Settled(submitted, result=described)


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
        f"{ERROR_PREFIX}{refused.code}",
        f"State '{effect.state_name}' could not start the child execution: {refused.message}",
    )


def _describe_express(
    outcome: ExpressOutcome, target: StartTarget, value: Any, *, json_values: bool
) -> dict[str, Any]:
    return describe_execution(
        execution_arn=outcome.execution_arn,
        state_machine_arn=target.state_machine.arn,
        name=outcome.name,
        status=outcome.status,
        start_date=outcome.start,
        input_text=dumps_text(value),
        json_values=json_values,
        stop_date=outcome.stop,
        output_text=outcome.output,
        error=outcome.error,
        cause=outcome.cause,
    )
