"""Task tokens in process: ``.waitForTaskToken`` callbacks and activities for the library.

A :class:`TaskTokens` registry is what ``SendTaskSuccess``/``SendTaskFailure``/
``SendTaskHeartbeat`` and ``GetActivityTask`` are to the service, for executions driven in this
process (``StateMachine.run_async``, ``stepline run``): the in-process driver registers every
task token the engine makes, and Python code completes it with :meth:`TaskTokens.send_task_success`
and friends — from the event loop's thread or any other.

Rules (AWS's): a token is single-use; completing, failing or heartbeating a token whose task is
closed (completed, timed out, its execution ended) raises :class:`TaskTokenError` with code
``TaskTimedOut``; an unknown token ``TaskDoesNotExist``; a value that cannot be a token
``InvalidToken``; an output that is not JSON ``InvalidOutput``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from stepline.asl._errors import StatesError
from stepline.asl._json import json_problem
from stepline.engine._ports import HeartbeatSink, TaskEffect, TaskInvoker
from stepline.engine._tasks import base_resource, is_activity

if TYPE_CHECKING:
    from stepline.engine._execution import Execution

__all__ = ["ActivityTask", "TaskTokenError", "TaskTokens", "WaitingTask"]

_MAX_TOKEN_LENGTH: Final = 2048  # AWS's TaskToken shape
_CLOSED_KEPT: Final = 10_000  # closed tokens remembered (TaskTimedOut, not TaskDoesNotExist)


class TaskTokenError(Exception):
    """A task token operation was refused, with AWS's error code.

    Attributes:
        code: ``TaskDoesNotExist``, ``TaskTimedOut``, ``InvalidToken`` or ``InvalidOutput``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class WaitingTask:
    """A task that waits for its token (see :meth:`TaskTokens.waiting`).

    Attributes:
        task_token: The token (pass it to ``send_task_success``…).
        execution_arn: The execution the task belongs to.
        state_name: The Task state.
        resource: The state's ``Resource``.
        input: The task's effective parameters.
    """

    task_token: str = field(repr=False)
    execution_arn: str
    state_name: str
    resource: str
    input: Any = field(repr=False)


@dataclass(frozen=True, slots=True)
class ActivityTask:
    """What :meth:`TaskTokens.get_activity_task` hands to a worker.

    Attributes:
        task_token: Complete the task with it.
        input: The task's input (a JSON value).
    """

    task_token: str = field(repr=False)
    input: Any = field(repr=False)


class _Pending:
    __slots__ = ("future", "heartbeat", "loop", "started", "task")

    def __init__(self, task: WaitingTask, loop: asyncio.AbstractEventLoop) -> None:
        self.task = task
        self.loop = loop
        self.future: asyncio.Future[tuple[Any, str | None, str | None]] = loop.create_future()
        self.heartbeat: HeartbeatSink | None = None
        self.started: asyncio.Future[str | None] | None = None


def _check_token(token: object) -> str:
    if not isinstance(token, str) or not 1 <= len(token) <= _MAX_TOKEN_LENGTH:
        raise TaskTokenError(
            "InvalidToken",
            "Invalid Token: a task token is a string of 1 to 2048 characters, as the task "
            "received it ($$.Task.Token or GetActivityTask).",
        )
    return token


class TaskTokens:
    """The task tokens of executions driven in this process, and their activity queues.

    Pass one to :class:`~stepline.StateMachine` (``tokens=``) or use the state machine's own
    (``machine.tokens``); it may be shared by several state machines.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._activities: dict[str, deque[str]] = {}
        self._changed: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}

    # -------------------------------------------------------------------- for workers/users

    def waiting(self) -> list[WaitingTask]:
        """The tasks waiting for their token now (activities not yet taken excluded)."""
        with self._lock:
            return [
                pending.task
                for pending in self._pending.values()
                if pending.started is None or pending.started.done()
            ]

    def send_task_success(self, task_token: str, output: Any) -> None:
        """Complete a task successfully with ``output`` (a JSON value).

        Raises:
            TaskTokenError: ``InvalidToken``, ``TaskDoesNotExist``, ``TaskTimedOut`` (closed
                already), ``InvalidOutput`` (not JSON).
        """
        problem = json_problem(output)
        if problem is not None:
            raise TaskTokenError(
                "InvalidOutput", f"The task output is not JSON: {problem}. Send JSON values only."
            )
        self._close(task_token, (output, None, None))

    def send_task_failure(
        self, task_token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """Fail a task with ``error`` and ``cause`` (Retry and Catch apply to ``error``).

        Raises:
            TaskTokenError: ``InvalidToken``, ``TaskDoesNotExist``, ``TaskTimedOut``.
        """
        self._close(task_token, (None, error or "", cause))

    def send_task_heartbeat(self, task_token: str) -> None:
        """Tell a task's ``HeartbeatSeconds`` clock that its worker is alive.

        Raises:
            TaskTokenError: ``InvalidToken``, ``TaskDoesNotExist``, ``TaskTimedOut``.
        """
        with self._lock:
            pending = self._open(task_token)
            beat = pending.heartbeat
        if beat is not None:
            _call_in(pending.loop, beat)

    async def get_activity_task(
        self, activity_arn: str, *, worker_name: str | None = None, timeout: float = 60.0
    ) -> ActivityTask | None:
        """Take the oldest task scheduled for an activity, waiting up to ``timeout`` seconds.

        Each task is handed to exactly one caller. Call it on the event loop that runs the
        executions.

        Returns:
            The task, or ``None`` when none came within ``timeout`` (AWS answers an empty
            token after 60 seconds).
        """
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        event = self._changed.setdefault(loop, asyncio.Event())
        while True:
            with self._lock:
                taken = self._take(activity_arn)
            if taken is not None:
                assert taken.started is not None
                taken.started.set_result(worker_name)
                return ActivityTask(taken.task.task_token, taken.task.input)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ---------------------------------------------------------------------- for the driver

    def _register(
        self, execution: Execution, effect: TaskEffect, *, activity: bool
    ) -> tuple[str, _Pending]:
        token = effect.task_token
        assert token is not None
        loop = asyncio.get_running_loop()
        task = WaitingTask(
            token,
            execution.identity.execution_arn,
            effect.state_name,
            effect.resource,
            effect.parameters,
        )
        pending = _Pending(task, loop)
        with self._lock:
            self._pending[token] = pending
            if activity:
                pending.started = loop.create_future()
                self._activities.setdefault(effect.resource, deque()).append(token)
        if activity:
            event = self._changed.get(loop)
            if event is not None:
                event.set()
        return token, pending

    def _forget(self, token: str) -> None:
        """The task ended (outcome fed, timed out, cancelled): the token is closed."""
        with self._lock:
            self._pending.pop(token, None)
            self._remember_closed(token)

    def _take(self, activity_arn: str) -> _Pending | None:
        queue = self._activities.get(activity_arn)
        while queue:
            pending = self._pending.get(queue.popleft())
            if pending is not None and pending.started is not None and not pending.started.done():
                return pending
        return None

    def _open(self, token: str) -> _Pending:
        _check_token(token)
        pending = self._pending.get(token)
        if pending is None or pending.future.done():
            if pending is not None or token in self._closed:
                raise TaskTokenError(
                    "TaskTimedOut",
                    "Task Timed Out: the task of this token is closed already (completed, "
                    "timed out, or its execution ended). A token can be used once.",
                )
            raise TaskTokenError(
                "TaskDoesNotExist",
                "Task Does Not Exist: no task waits for this token in this process. Pass "
                "the token the task received, while its execution runs.",
            )
        return pending

    def _close(self, token: str, outcome: tuple[Any, str | None, str | None]) -> None:
        with self._lock:
            pending = self._open(token)
            if pending.started is not None and not pending.started.done():
                # An activity completes only once a worker took it.
                raise TaskTokenError(
                    "TaskDoesNotExist",
                    "Task Does Not Exist: the activity task has not been taken by a worker "
                    "(GetActivityTask) yet.",
                )
            self._remember_closed(token)
            future = pending.future

            def resolve() -> None:
                if not future.done():
                    future.set_result(outcome)

            # Marked closed under the lock, resolved on the loop that waits: a second call
            # from any thread sees TaskTimedOut at once.
            _call_in(pending.loop, resolve)
            del self._pending[token]

    def _remember_closed(self, token: str) -> None:
        closed = self._closed
        closed[token] = None
        if len(closed) > _CLOSED_KEPT:
            closed.popitem(last=False)


def _call_in(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback()
    else:
        loop.call_soon_threadsafe(callback)


class TokenTasks:
    """The driver's invoker: runs ordinary tasks through ``invoker``, and the tasks that wait
    for a token (callbacks, activities) through ``tokens``.

    Args:
        invoker: Runs Task resources (for a callback: its base resource).
        tokens: Where tokens are registered and completed.
        execution: The execution (its history records submission and activity starts).
    """

    __slots__ = ("execution", "invoker", "tokens")

    def __init__(self, invoker: TaskInvoker, tokens: TaskTokens, execution: Execution) -> None:
        self.invoker = invoker
        self.tokens = tokens
        self.execution = execution

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Run the task; for a token task, until its token is completed."""
        if effect.task_token is None:
            return await self.invoker.invoke(effect, heartbeat)
        activity = is_activity(effect.resource)
        if activity and _serves(self.invoker, effect.resource):
            # A Python handler registered for the activity is its worker, in process.
            self.execution.task_started(effect.id)
            return await self.invoker.invoke(effect, heartbeat)
        token, pending = self.tokens._register(self.execution, effect, activity=activity)
        pending.heartbeat = heartbeat
        try:
            if activity:
                assert pending.started is not None
                worker_name = await pending.started
                heartbeat()  # the heartbeat clock starts when a worker takes the task
                self.execution.task_started(effect.id, worker_name)
            elif self.execution.task_progress(effect.id) is None:
                base = replace(effect, resource=base_resource(effect.resource))
                response = await self.invoker.invoke(base, heartbeat)
                self.execution.task_submitted(effect.id, response)
            result, error, cause = await pending.future
        finally:
            self.tokens._forget(token)
        if error is not None:
            raise StatesError(error, cause or "")
        return result


def _serves(invoker: TaskInvoker, resource: str) -> bool:
    try:
        return resource in invoker  # type: ignore[operator]
    except TypeError:
        return False
