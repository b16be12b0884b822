"""The ports through which the engine asks for effects, and the effects themselves.

The engine never performs I/O. It returns :class:`TaskEffect` ("call this resource with these
parameters") and :class:`TimerEffect` ("wake me at this time") to whoever drives it — the
in-process driver today, a worker claiming work from a store later — and is told the outcome.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stepline.engine._execution import ExecutionIdentity

__all__ = [
    "Clock",
    "SystemClock",
    "TaskEffect",
    "TaskInvoker",
    "TimerEffect",
    "VirtualClock",
]


@dataclass(frozen=True, slots=True)
class TaskEffect:
    """A request to run a Task state's resource.

    Attributes:
        id: Unique within the execution; pass it back to ``Execution.complete_task``.
        resource: The state's ``Resource`` ARN.
        parameters: The effective parameters (after InputPath and Parameters).
        state_name: The Task state's name.
        context: The context object (``$$``) as the state sees it.
        timeout_seconds: The task's time limit, if any.
        heartbeat_seconds: The longest allowed gap between heartbeats, if any.
        identity: The execution's ARNs and role (for tasks that act on its behalf, such as
            the HTTP Task's permission checks).
        region: The region the execution runs in (e.g. in the HTTP Task's ``User-Agent``).
        jsonata: Whether the state is a JSONata state (its parameters came from ``Arguments``,
            not ``Parameters``: error messages name the field the user wrote).
        task_token: The task token of a ``.waitForTaskToken`` task (also in ``context`` as
            ``Task.Token``) or of an activity task; the outcome then comes from
            ``SendTaskSuccess``/``SendTaskFailure`` with it, not from the resource's result.
    """

    id: int
    resource: str
    parameters: Any
    state_name: str
    context: dict[str, Any]
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    identity: ExecutionIdentity | None = None
    region: str = "us-east-1"
    jsonata: bool = False
    task_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class TimerEffect:
    """A request to call ``Execution.fire_timer(id)`` at time ``due`` (epoch seconds)."""

    id: int
    due: float


class Clock(Protocol):
    """Where the engine's notion of time comes from."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep_until(self, due: float) -> None:
        """Return once ``now() >= due``."""
        ...


class SystemClock:
    """Wall-clock time; ``Wait`` states and retry back-offs really wait."""

    # The builtin itself, not a wrapper: the engine reads the clock for every event.
    now = staticmethod(time.time)

    async def sleep_until(self, due: float) -> None:
        """Sleep for real until ``due``."""
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class VirtualClock:
    """Time that stands still except while tasks work, and jumps over every idle wait.

    When every frame waits on a Wait state, a retry back-off or the execution's deadline, the
    driver asks the clock to sleep and this clock jumps forward at once. While tasks run, the
    driver moves it forward by the real time that passed, so task time limits and the
    execution's deadline still hold. Between those moments it does not move at all, which
    makes the timestamps of a run without tasks exactly reproducible. Useful in tests and local
    runs, where a ``"Seconds": 3600`` Wait or a long back-off should show in the history
    without being sat through.

    Args:
        start: The initial time (epoch seconds); defaults to the current wall-clock time.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        """The virtual time."""
        return self._now

    async def sleep_until(self, due: float) -> None:
        """Jump forward to ``due`` (yielding once to the event loop)."""
        self._now = max(self._now, due)
        await asyncio.sleep(0)


class TaskInvoker(Protocol):
    """Runs the resource of a Task state: the tasks room implements this."""

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Run the task and return its result (any JSON value).

        Raises:
            StatesError: The task failed with an ASL error name and cause.
        """
        ...


class HeartbeatSink(Protocol):
    """Called by a running task to say it is alive (``HeartbeatSeconds``)."""

    def __call__(self) -> None:
        """Record a heartbeat now."""
        ...
