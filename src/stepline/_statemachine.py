"""The library API: ``StateMachine(definition).run(input)``.

This is the front door for library users and for the CLI: compile once, run many times, with
Python callables as Task resources and a choice of clock.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from stepline._execution_logging import ExecutionLogging
from stepline._nested import LocalExecutions
from stepline.asl import CompiledDefinition, StatesError, compile_definition
from stepline.asl._json import json_problem
from stepline.engine import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    ActivityTask,
    Clock,
    Execution,
    ExecutionIdentity,
    HistoryEvent,
    SystemClock,
    TaskTokens,
    drive,
)
from stepline.tasks import TaskHandler, TaskRegistry
from stepline.tasks._nested import START_EXECUTION_RESOURCES
from stepline.tasks._resources import HTTP_INVOKE

if TYPE_CHECKING:
    from stepline.connections import Connections
    from stepline.engine import HeartbeatSink, TaskEffect, TimerEffect
    from stepline.policy import Roles
    from stepline.tasks import HttpTask

__all__ = ["ExecutionResult", "InvalidExecutionInput", "StateMachine"]

_DEFAULT_INPUT: Final[Any] = object()
# AWS's rule for execution names: 1-80 characters, none of these, no whitespace or controls.
_VALID_NAME = re.compile(r'[^\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}')


class InvalidExecutionInput(ValueError):
    """The input or the name given to start an execution is not acceptable.

    Raised before anything runs (no history is recorded), as AWS's ``StartExecution`` answers
    ``InvalidExecutionInput`` / ``InvalidName``.
    """


class ExecutionResult:
    """How an execution ended.

    Attributes:
        status: ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``.
        output: The execution's output (a JSON value) when it succeeded, else ``None``.
        error: The ASL error name when it did not succeed.
        cause: The error's cause.
        execution_arn: The execution's ARN.
        start_date: When it started (UTC).
        stop_date: When it ended (UTC).
        transitions: How many states were entered.
        children: The executions this one started with ``states:startExecution`` (nested
            workflows), in start order.
        parent_execution_arn: The execution that started this one, if any.
        redrive_count: How many times the execution had been redriven
            (:meth:`StateMachine.redrive`).
    """

    __slots__ = (
        "_execution",
        "_history",
        "cause",
        "children",
        "error",
        "execution_arn",
        "output",
        "parent_execution_arn",
        "redrive_count",
        "start_date",
        "status",
        "stop_date",
        "transitions",
    )

    def __init__(
        self,
        execution: Execution,
        *,
        children: tuple[ExecutionResult, ...] = (),
        parent_execution_arn: str | None = None,
    ) -> None:
        stop = execution.stop_time
        self._execution = execution
        self._history: list[HistoryEvent] | None = None
        self.status: str = execution.status
        self.output: Any = execution.output
        self.error: str | None = execution.error
        self.cause: str | None = execution.cause
        self.execution_arn = execution.identity.execution_arn
        self.start_date = datetime.fromtimestamp(execution.start_time, UTC)
        self.stop_date = datetime.fromtimestamp(stop, UTC) if stop is not None else None
        self.transitions = execution.transitions
        self.children = children
        self.parent_execution_arn = parent_execution_arn
        self.redrive_count = execution.redrive_count

    @property
    def execution(self) -> Execution:
        """The engine's execution (its input, identity and output JSON text)."""
        return self._execution

    @property
    def history(self) -> list[HistoryEvent]:
        """Every event of the execution, in order (built on first access)."""
        if self._history is None:
            self._history = self._execution.events
        return self._history

    @property
    def succeeded(self) -> bool:
        """True when the status is ``SUCCEEDED``."""
        return self.status == "SUCCEEDED"

    def history_events(self) -> list[dict[str, Any]]:
        """The history in botocore's ``GetExecutionHistory`` ``events`` shape."""
        return [event.to_aws() for event in self.history]

    def __repr__(self) -> str:
        return (
            f"ExecutionResult(status={self.status!r}, output={self.output!r}, "
            f"error={self.error!r}, cause={self.cause!r})"
        )


class StateMachine:
    """A compiled state machine that runs in this process.

    Args:
        definition: The ASL definition, as a mapping or JSON text.
        name: The state machine's name (it appears in ARNs and ``$$.StateMachine``).
        tasks: ``{resource ARN: callable}`` serving the Task states (see :class:`TaskRegistry`).
        region: Region used in ARNs and history.
        account: Account id used in ARNs.
        role_arn: The execution role recorded in history and ``$$.Execution.RoleArn``.
        max_payload_bytes: Payload quota for inputs, outputs and task results (AWS: 256 KiB).
        clock: Time source; :class:`~stepline.engine.VirtualClock` skips Wait and retry delays.
        connections: The EventBridge-style connections HTTP Tasks may use (an empty registry
            when omitted: every HTTP Task then fails with
            ``Events.ConnectionResource.ResourceNotFound``).
        roles: IAM roles whose policies the HTTP Task enforces for ``role_arn`` (unchecked
            when the role is unknown, unless ``STEPLINE_IAM=strict``).
        http: A ready :class:`~stepline.tasks.HttpTask` to serve ``http:invoke`` (to share
            one transport, pacing and settings between state machines); built from
            ``connections`` and ``roles`` on first use when omitted. A handler registered in
            ``tasks`` for ``arn:aws:states:::http:invoke`` takes precedence over both.
        tokens: Where the tasks that wait for a token (``.waitForTaskToken`` callbacks,
            activities) of this state machine's runs register it; a new registry when
            omitted. Complete tokens with :meth:`send_task_success` and friends (or on the
            registry itself, which several state machines may share).
        machines: The state machines this one may start with ``states:startExecution``
            (nested workflows), as a list or a mapping whose values are the machines; the
            ``StateMachineArn`` parameter names one by its ARN. A machine may always start
            itself. More can be added later to :attr:`machines` (ARN → machine).
        logging: Execution logs as the service writes them for a ``loggingConfiguration``
            (level, ``includeExecutionData``, and a file, stream or callable as the sink);
            none when omitted.

    Raises:
        InvalidDefinition: With every problem found in the definition.
    """

    def __init__(
        self,
        definition: Mapping[str, Any] | str | bytes,
        *,
        name: str = "StateMachine",
        tasks: Mapping[str, TaskHandler] | TaskRegistry | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        role_arn: str | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        clock: Clock | None = None,
        connections: Connections | None = None,
        roles: Roles | None = None,
        http: HttpTask | None = None,
        tokens: TaskTokens | None = None,
        machines: Mapping[str, StateMachine] | Iterable[StateMachine] | None = None,
        logging: ExecutionLogging | None = None,
    ) -> None:
        self.compiled: CompiledDefinition = compile_definition(definition)
        self.logging = logging
        self.tokens = tokens if tokens is not None else TaskTokens()
        self.name = name
        self.region = region
        self.account = account
        self.arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/stepline-local"
        self.max_payload_bytes = max_payload_bytes
        self.clock: Clock = clock or SystemClock()
        self.tasks = tasks if isinstance(tasks, TaskRegistry) else TaskRegistry(tasks)
        if HTTP_INVOKE not in self.tasks:
            self.tasks.register(
                HTTP_INVOKE,
                http if http is not None else _DeferredHttpTask(self, connections, roles),
            )
        listed = machines.values() if isinstance(machines, Mapping) else machines or ()
        self.machines: dict[str, StateMachine] = {machine.arn: machine for machine in listed}
        """The state machines ``states:startExecution`` may start, by ARN."""
        self._nested = LocalExecutions(self)
        for resource in START_EXECUTION_RESOURCES:
            if resource not in self.tasks:
                self.tasks.register(resource, self._nested)

    @property
    def definition(self) -> Mapping[str, Any]:
        """The definition as given (parsed)."""
        return self.compiled.definition

    def task(self, resource: str) -> Callable[[TaskHandler], TaskHandler]:
        """Decorator registering a callable as the handler of a Task resource."""

        def register(fn: TaskHandler) -> TaskHandler:
            self.tasks.register(resource, fn)
            return fn

        return register

    # ----------------------------------------------------------------- task tokens (AWS API)

    def send_task_success(self, task_token: str, output: Any) -> None:
        """Complete the task waiting for ``task_token`` with ``output`` (a JSON value), as
        AWS's ``SendTaskSuccess``. Safe to call from any thread.

        Raises:
            TaskTokenError: ``code`` is ``TaskDoesNotExist``, ``TaskTimedOut`` (the task is
                closed: tokens are single-use), ``InvalidToken`` or ``InvalidOutput``.
        """
        self.tokens.send_task_success(task_token, output)

    def send_task_failure(
        self, task_token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """Fail the task waiting for ``task_token`` (``SendTaskFailure``); Retry and Catch
        apply to ``error``.

        Raises:
            TaskTokenError: As for :meth:`send_task_success`.
        """
        self.tokens.send_task_failure(task_token, error, cause)

    def send_task_heartbeat(self, task_token: str) -> None:
        """Reset the ``HeartbeatSeconds`` clock of the task (``SendTaskHeartbeat``).

        Raises:
            TaskTokenError: As for :meth:`send_task_success`.
        """
        self.tokens.send_task_heartbeat(task_token)

    async def get_activity_task(
        self, activity_arn: str, *, worker_name: str | None = None, timeout: float = 60.0
    ) -> ActivityTask | None:
        """Take a task of an activity (``GetActivityTask``), waiting up to ``timeout`` s.

        Returns:
            The task (its ``task_token`` and ``input``), or ``None`` when none came in time.
        """
        return await self.tokens.get_activity_task(
            activity_arn, worker_name=worker_name, timeout=timeout
        )

    def start(
        self,
        execution_input: Any = _DEFAULT_INPUT,
        *,
        name: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> Execution:
        """Create an execution without running it (for drivers and step-by-step tests).

        Raises:
            InvalidExecutionInput: The input is not JSON, is over the payload quota, or the
                name is invalid.
        """
        if execution_input is _DEFAULT_INPUT:
            execution_input = {}
        problem = json_problem(execution_input)
        if problem is not None:
            raise InvalidExecutionInput(f"The execution input is not JSON: {problem}.")
        if name is None:
            name = str(uuid.uuid4())
        elif not _VALID_NAME.fullmatch(name):
            raise InvalidExecutionInput(
                f"Invalid execution name {name!r}: use 1 to 80 characters without whitespace, "
                'control characters or any of < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /.'
            )
        identity = ExecutionIdentity(
            self.arn,
            f"arn:aws:states:{self.region}:{self.account}:execution:{self.name}:{name}",
            self.role_arn,
        )
        clock = clock or self.clock
        try:
            execution = Execution(
                self.compiled,
                execution_input,
                identity,
                clock.now,
                max_payload_bytes=self.max_payload_bytes,
                rng=rng,
            )
        except StatesError as exc:
            raise InvalidExecutionInput(exc.cause) from None
        execution.region = self.region
        return execution

    def run(
        self,
        execution_input: Any = _DEFAULT_INPUT,
        *,
        name: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> ExecutionResult:
        """Run an execution to its end and return how it ended.

        Not for use inside a running event loop: use :meth:`run_async` there.

        Args:
            execution_input: The input (any JSON value); ``{}`` when omitted.
            name: The execution name (a UUID when omitted).
            clock: Overrides the state machine's clock for this run.
            rng: Randomness for retry jitter.
        """
        _refuse_running_loop("run")
        clock = clock or self.clock
        execution = self.start(execution_input, name=name, clock=clock, rng=rng)
        effects = execution.advance()
        if execution.done:
            # Only executions that wait on a task or a timer need an event loop at all.
            return self._ended(execution)
        return asyncio.run(self._finish(execution, effects, clock=clock))

    async def run_async(
        self,
        execution_input: Any = _DEFAULT_INPUT,
        *,
        name: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> ExecutionResult:
        """Like :meth:`run`, awaited inside an event loop."""
        clock = clock or self.clock
        execution = self.start(execution_input, name=name, clock=clock, rng=rng)
        return await self._finish(execution, execution.advance(), clock=clock)

    async def _finish(
        self,
        execution: Execution,
        effects: list[Any] | None = None,
        *,
        clock: Clock | None = None,
        parent_execution_arn: str | None = None,
        cause: str = "The run was cancelled.",
        logged: int = 0,
    ) -> ExecutionResult:
        """Drive a started execution to its end, then wait for the children it started.

        Cancelled, the execution is aborted (``ExecutionAborted`` with ``cause``) — how a
        ``.sync`` parent that stops waiting stops its child. ``logged``: how many of its first
        events were logged already (a redriven execution's).
        """
        if effects is None:
            effects = execution.advance()
        try:
            if not execution.done:
                await drive(execution, self.tasks, clock or self.clock, effects, self.tokens)
        except asyncio.CancelledError:
            execution.abort(None, cause)
            self._ended(execution, parent_execution_arn=parent_execution_arn, logged=logged)
            raise
        children = await self._nested.settle(execution.identity.execution_arn)
        return self._ended(execution, children, parent_execution_arn, logged=logged)

    def _ended(
        self,
        execution: Execution,
        children: tuple[ExecutionResult, ...] = (),
        parent_execution_arn: str | None = None,
        *,
        logged: int = 0,
    ) -> ExecutionResult:
        """Log the ended execution's events after the first ``logged`` (when configured) and
        describe how it ended."""
        if self.logging is not None:
            self.logging.write(
                execution.identity.execution_arn,
                execution.events[logged:],
                redrive_count=execution.redrive_count,
            )
        return ExecutionResult(
            execution, children=children, parent_execution_arn=parent_execution_arn
        )

    # -- redrive ----------------------------------------------------------------------------

    def redrive(self, result: ExecutionResult, *, clock: Clock | None = None) -> ExecutionResult:
        """Redrive an execution that ended unsuccessfully, as AWS's RedriveExecution does.

        The execution continues from its unsuccessful state(s) with their original input; the
        states that succeeded are not run again (an inline Map or Parallel state reruns only
        its unsuccessful iterations or branches); its history goes on with
        ``ExecutionRedriven``. ``result`` keeps describing the ended run; the returned result
        describes the redriven one.

        Not for use inside a running event loop: use :meth:`redrive_async` there.

        Args:
            result: What :meth:`run` (or an earlier redrive) returned for this state machine.
            clock: Overrides the state machine's clock for this run.

        Raises:
            stepline.engine.RedriveError: The execution succeeded (nothing to redrive).
            ValueError: ``result`` is of another state machine's execution.
        """
        _refuse_running_loop("redrive")
        clock = clock or self.clock
        logged = len(result.history)  # the ended run's events, logged when it ended
        execution, effects = self._redriven(result)
        if execution.done:
            return self._ended(execution, logged=logged)
        return asyncio.run(self._finish(execution, effects, clock=clock, logged=logged))

    async def redrive_async(
        self, result: ExecutionResult, *, clock: Clock | None = None
    ) -> ExecutionResult:
        """Like :meth:`redrive`, awaited inside an event loop."""
        clock = clock or self.clock
        logged = len(result.history)
        execution, effects = self._redriven(result)
        return await self._finish(execution, effects, clock=clock, logged=logged)

    def _redriven(
        self, result: ExecutionResult
    ) -> tuple[Execution, list[TaskEffect | TimerEffect]]:
        execution = result._execution
        if execution.definition is not self.compiled:
            raise ValueError(
                f"The execution {result.execution_arn!r} ran another state machine's "
                "definition; redrive it with the StateMachine that ran it."
            )
        if result._history is None:
            result._history = execution.events  # the result keeps describing its own run
        execution.redrive()
        return execution, execution.advance()


def _refuse_running_loop(method: str) -> None:
    """The blocking ``run``/``redrive`` start their own event loop: refuse inside one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"StateMachine.{method}() was called inside a running event loop; "
        f"use 'await StateMachine.{method}_async(...)' there."
    )


class _DeferredHttpTask:
    """Builds the state machine's :class:`~stepline.tasks.HttpTask` when an HTTP Task first runs.

    Most state machines never call an HTTP API: they should not pay for importing aiohttp and
    the cryptography stack, nor read the egress settings from the environment.
    """

    __slots__ = ("_connections", "_machine", "_roles", "_task")

    def __init__(
        self, machine: StateMachine, connections: Connections | None, roles: Roles | None
    ) -> None:
        self._machine = machine
        self._connections = connections
        self._roles = roles
        self._task: HttpTask | None = None

    @property
    def task(self) -> HttpTask:
        """The HTTP Task, built on first use."""
        task = self._task
        if task is None:
            from stepline.connections import Connections
            from stepline.policy import PolicyEnforcer, Roles
            from stepline.tasks import HttpTask

            machine = self._machine
            connections = self._connections or Connections(
                region=machine.region, account=machine.account
            )
            roles = self._roles or Roles(account=machine.account)
            task = self._task = HttpTask(connections, policy=PolicyEnforcer.from_env(roles))
        return task

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Run the HTTP Task (the engine's ``TaskInvoker`` port)."""
        return await self.task.invoke(effect, heartbeat)
