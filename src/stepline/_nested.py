"""Nested workflows in the library: ``states:startExecution`` against in-process machines.

A :class:`~stepline.StateMachine` serves ``arn:aws:states:::states:startExecution`` (and its
``.sync``, ``.sync:2`` and ``.waitForTaskToken`` forms) with the state machines registered on it
(``StateMachine(..., machines=...)``; a machine may always start itself). The child runs in the
same event loop as its parent:

- request-response starts the child in the background and answers ``{"ExecutionArn",
  "StartDate"}``; the parent's ``run``/``run_async`` returns once such children have ended
  too (nothing else would keep them running once ``run`` returns);
- ``.sync``/``.sync:2`` wait for the child and answer its description (the service's shape,
  :func:`~stepline.tasks._nested.describe_execution`); a child that did not succeed fails the
  task with ``States.TaskFailed`` and that description as the cause. A ``.sync`` wait that is
  cancelled (its parent failed, timed out, or a sibling branch failed) aborts the child;
- ``.waitForTaskToken`` starts the child as request-response does, with the token in its
  input; the task waits until Python code completes the token on the parent's
  :class:`~stepline.TaskTokens` (share one registry between the machines so that a child's
  task can call ``send_task_success`` on any of them).

Every child's :class:`~stepline.ExecutionResult` is in its parent's ``children`` (start order)
with ``parent_execution_arn`` set.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from stepline.asl._errors import StatesError
from stepline.asl._json import dumps_text, loads
from stepline.tasks._nested import (
    ERROR_PREFIX,
    START_EXECUTION_SYNC2,
    SYNC_RESOURCES,
    TASK_FAILED,
    describe_execution,
    millis,
    read_start_request,
)

if TYPE_CHECKING:
    from stepline._statemachine import ExecutionResult, StateMachine
    from stepline.engine import Execution, HeartbeatSink, TaskEffect

__all__ = ["LocalExecutions"]

_QUALIFIED: Final = 8  # arn:aws:states:REGION:ACCOUNT:stateMachine:NAME:QUALIFIER


@dataclass(slots=True)
class _Family:
    """The children one parent execution started, and those still running."""

    children: list[ExecutionResult] = field(default_factory=list)
    running: set[asyncio.Task[Any]] = field(default_factory=set)


class LocalExecutions:
    """The ``startExecution`` invoker of one :class:`~stepline.StateMachine` (``TaskInvoker``).

    Args:
        owner: The state machine whose executions start children.
    """

    def __init__(self, owner: StateMachine) -> None:
        self.owner = owner
        self._families: dict[str, _Family] = {}

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Start the child; for ``.sync`` patterns, wait for it and describe it.

        Raises:
            StatesError: Bad parameters (``States.Runtime``), an unknown state machine or an
                unusable input or name (``StepFunctions.<code>``), or the ``.sync`` child did
                not succeed (``States.TaskFailed``).
        """
        request = read_start_request(effect)
        machine = self._find(request.state_machine_arn, effect)
        try:
            value = {} if request.input_text is None else loads(request.input_text)
        except ValueError as exc:
            raise _error(
                "InvalidExecutionInput", effect, f"Input is not JSON text ({exc})."
            ) from None
        from stepline._statemachine import InvalidExecutionInput

        try:
            execution = machine.start(value, name=request.name, clock=self.owner.clock)
        except InvalidExecutionInput as exc:
            code = "InvalidName" if request.name is not None and "name" in str(exc) else None
            raise _error(code or "InvalidExecutionInput", effect, str(exc)) from None
        parent = effect.identity.execution_arn if effect.identity is not None else ""
        family = self._families.setdefault(parent, _Family())
        child = asyncio.ensure_future(self._run_child(family, machine, execution, parent))
        family.running.add(child)
        child.add_done_callback(family.running.discard)
        if effect.resource not in SYNC_RESOURCES:
            return {
                "ExecutionArn": execution.identity.execution_arn,
                "StartDate": millis(execution.start_time),
            }
        result = await child  # cancelling this wait cancels the child, which aborts it
        described = describe_result(result, json_values=effect.resource == START_EXECUTION_SYNC2)
        if not result.succeeded:
            raise StatesError(TASK_FAILED, dumps_text(described))
        return described

    def _find(self, arn: str, effect: TaskEffect) -> StateMachine:
        owner = self.owner
        machine = owner.machines.get(arn)
        if machine is None and arn == owner.arn:
            machine = owner
        if machine is not None:
            return machine
        parts = arn.split(":")
        hint = (
            "versions and aliases are not served locally; name the state machine itself"
            if len(parts) == _QUALIFIED
            else f"register it with StateMachine(..., machines=[...]) (or "
            f"'stepline run --machine NAME=FILE'); known: "
            f"{', '.join(sorted(owner.machines)) or 'none'}"
        )
        raise _error("StateMachineDoesNotExist", effect, f"No state machine '{arn}': {hint}.")

    async def _run_child(
        self, family: _Family, machine: StateMachine, execution: Execution, parent: str
    ) -> ExecutionResult:
        from stepline._statemachine import ExecutionResult

        cause = f"Stopped with its parent execution '{parent}', which no longer waits for it."
        try:
            result = await machine._finish(
                execution, clock=self.owner.clock, parent_execution_arn=parent, cause=cause
            )
        except asyncio.CancelledError:  # aborted (and logged) by _finish
            family.children.append(ExecutionResult(execution, parent_execution_arn=parent))
            raise
        family.children.append(result)
        return result

    async def settle(self, parent: str) -> tuple[ExecutionResult, ...]:
        """Wait for the children ``parent`` started that still run; all its children, in
        start order."""
        family = self._families.get(parent)
        if family is None:
            return ()
        while family.running:
            await asyncio.gather(*family.running, return_exceptions=True)
        del self._families[parent]
        return tuple(sorted(family.children, key=lambda child: child.start_date))


def describe_result(result: ExecutionResult, *, json_values: bool) -> dict[str, Any]:
    """A child's description (the ``.sync`` task output) from its result."""
    execution = result.execution
    stop = execution.stop_time
    return describe_execution(
        execution_arn=result.execution_arn,
        state_machine_arn=execution.identity.state_machine_arn,
        name=execution.identity.name,
        status=result.status,
        start_date=execution.start_time,
        input_text=dumps_text(execution.input),
        json_values=json_values,
        stop_date=stop,
        output_text=execution.output_json if result.succeeded else None,
        error=result.error,
        cause=result.cause,
    )


def _error(code: str, effect: TaskEffect, message: str) -> StatesError:
    return StatesError(
        f"{ERROR_PREFIX}{code}",
        f"State '{effect.state_name}' could not start the child execution: {message}",
    )
