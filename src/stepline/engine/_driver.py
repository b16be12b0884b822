"""The in-process driver: performs an execution's effects with asyncio until it ends.

Tasks run concurrently as asyncio tasks with their ``TimeoutSeconds`` and ``HeartbeatSeconds``
enforced; timers are kept in a heap and fired in due order through the :class:`Clock` port, so
a :class:`VirtualClock` skips waits without reordering them. The durable service will drive the
same :class:`Execution` from a store instead.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from asyncio import FIRST_COMPLETED
from typing import Any

from stepline.asl._errors import HEARTBEAT_TIMEOUT, TIMEOUT, StatesError
from stepline.engine._callbacks import TaskTokens, TokenTasks
from stepline.engine._execution import Execution
from stepline.engine._ports import Clock, SystemClock, TaskEffect, TaskInvoker, TimerEffect

__all__ = ["drive"]

# (effect id, result, error, cause, retry_after)
Outcome = tuple[int, Any, str | None, str | None, float | None]


class _Heartbeat:
    """Given to a running task; each call pushes its heartbeat deadline forward."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self) -> None:
        self.last = time.monotonic()


async def _run_task(invoker: TaskInvoker, effect: TaskEffect) -> Outcome:
    """Run one task with its time limits.

    Limits are measured in real (monotonic) time whatever the execution's clock: a task is
    real work, and a :class:`VirtualClock` can only skip time in which nothing runs.
    """
    heartbeat = _Heartbeat()
    work = asyncio.ensure_future(invoker.invoke(effect, heartbeat))
    started = time.monotonic()
    try:
        while True:
            limits = []
            now = time.monotonic()
            if effect.timeout_seconds is not None:
                limits.append(started + effect.timeout_seconds - now)
            if effect.heartbeat_seconds is not None:
                limits.append(heartbeat.last + effect.heartbeat_seconds - now)
            wait = max(min(limits), 0.0) if limits else None
            done, _ = await asyncio.wait({work}, timeout=wait)
            if done:
                return (effect.id, work.result(), None, None, None)
            now = time.monotonic()
            if effect.timeout_seconds is not None and now >= started + effect.timeout_seconds:
                work.cancel()
                return (
                    effect.id,
                    None,
                    TIMEOUT,
                    f"The task did not finish within its TimeoutSeconds "
                    f"({effect.timeout_seconds} s).",
                    None,
                )
            if (
                effect.heartbeat_seconds is not None
                and now >= heartbeat.last + effect.heartbeat_seconds
            ):
                work.cancel()
                return (
                    effect.id,
                    None,
                    HEARTBEAT_TIMEOUT,
                    f"The task sent no heartbeat within its HeartbeatSeconds "
                    f"({effect.heartbeat_seconds} s).",
                    None,
                )
    except StatesError as failure:
        return (effect.id, None, failure.error, failure.cause, failure.retry_after)
    except asyncio.CancelledError:
        work.cancel()
        raise
    except Exception as exc:  # an invoker that broke its contract: still a task failure
        return (effect.id, None, type(exc).__name__, str(exc), None)


async def _run_inline(invoker: TaskInvoker, effect: TaskEffect) -> Outcome:
    """Run a task without time limits in the calling asyncio task.

    Without ``TimeoutSeconds`` or ``HeartbeatSeconds`` nothing has to watch the task while it
    runs, so it needs neither a task of its own nor ``asyncio.wait``.
    """
    try:
        return (effect.id, await invoker.invoke(effect, _Heartbeat()), None, None, None)
    except StatesError as failure:
        return (effect.id, None, failure.error, failure.cause, failure.retry_after)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an invoker that broke its contract: still a task failure
        return (effect.id, None, type(exc).__name__, str(exc), None)


async def drive(
    execution: Execution,
    invoker: TaskInvoker,
    clock: Clock,
    effects: list[TaskEffect | TimerEffect],
    tokens: TaskTokens | None = None,
) -> None:
    """Perform effects and feed outcomes back until the execution ends.

    Args:
        execution: An execution that has been advanced once.
        invoker: Runs Task resources.
        clock: Time source for timers and timeouts.
        effects: The effects returned by that first :meth:`Execution.advance`.
        tokens: Where the tasks that wait for a token (``.waitForTaskToken``, activities)
            register it, to be completed by Python code; a private registry when omitted
            (such tasks can then only time out).
    """
    token_tasks: TokenTasks | None = None

    def invoker_for(effect: TaskEffect) -> TaskInvoker:
        nonlocal token_tasks
        if effect.task_token is None:
            return invoker
        if token_tasks is None:
            token_tasks = TokenTasks(invoker, tokens or TaskTokens(), execution)
        return token_tasks

    running: dict[int, asyncio.Future[Outcome]] = {}
    timers: list[tuple[float, int]] = []
    try:
        while not execution.done:
            if len(effects) == 1 and not running and not timers and execution.deadline is None:
                effect = effects[0]
                if (
                    type(effect) is TaskEffect
                    and effect.timeout_seconds is None
                    and effect.heartbeat_seconds is None
                ):
                    # The common sequential case: one task, nothing else to wait for.
                    started, before = time.monotonic(), clock.now()
                    _, result, error, cause, retry_after = await _run_inline(
                        invoker_for(effect), effect
                    )
                    if type(clock) is not SystemClock:
                        # A VirtualClock moves by the real time the task took.
                        await clock.sleep_until(before + (time.monotonic() - started))
                    execution.complete_task(
                        effect.id, result, error=error, cause=cause, retry_after=retry_after
                    )
                    effects = execution.advance()
                    continue
            for effect in effects:
                if isinstance(effect, TimerEffect):
                    heapq.heappush(timers, (effect.due, effect.id))
                else:
                    running[effect.id] = asyncio.ensure_future(
                        _run_task(invoker_for(effect), effect)
                    )
            for effect_id in execution.take_cancelled():
                future = running.pop(effect_id, None)
                if future is not None:
                    future.cancel()
            effects = []
            if execution.done:
                break
            if not running and not timers:
                raise RuntimeError("execution is running but waits on nothing")  # a bug
            if _deadline_passed(execution, clock):
                execution.time_out()
                break
            due_timer = await _wait_for_something(execution, running, timers, clock)
            if due_timer is not None:
                execution.fire_timer(due_timer)
            for effect_id in [i for i, f in running.items() if f.done()]:
                _, result, error, cause, retry_after = running.pop(effect_id).result()
                execution.complete_task(
                    effect_id, result, error=error, cause=cause, retry_after=retry_after
                )
            effects = execution.advance()
    finally:
        for future in running.values():
            future.cancel()
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)


def _deadline_passed(execution: Execution, clock: Clock) -> bool:
    return execution.deadline is not None and clock.now() >= execution.deadline


async def _wait_for_something(
    execution: Execution,
    running: dict[int, asyncio.Future[Outcome]],
    timers: list[tuple[float, int]],
    clock: Clock,
) -> int | None:
    """Wait until a task finishes, the earliest timer is due, or the deadline passes.

    Returns:
        The id of a timer that became due (popped from the heap), else ``None``.
    """
    if timers and timers[0][0] <= clock.now():
        return heapq.heappop(timers)[1]
    wake_at = timers[0][0] if timers else None
    if execution.deadline is not None:
        wake_at = execution.deadline if wake_at is None else min(wake_at, execution.deadline)
    if not running:
        # Idle: only time can move the execution on. The clock sleeps (a VirtualClock jumps).
        if wake_at is not None:
            await clock.sleep_until(wake_at)
    else:
        # Tasks are working: wait for one of them, or for real time to reach the next timer,
        # then let the clock catch up with the real time that passed (a SystemClock already
        # has; a VirtualClock, which stands still otherwise, moves by exactly that much).
        timeout = None if wake_at is None else max(wake_at - clock.now(), 0.0)
        started, before = time.monotonic(), clock.now()
        await asyncio.wait(set(running.values()), timeout=timeout, return_when=FIRST_COMPLETED)
        await clock.sleep_until(before + (time.monotonic() - started))
    if _deadline_passed(execution, clock):
        execution.time_out()
        return None
    if timers and timers[0][0] <= clock.now():
        return heapq.heappop(timers)[1]
    return None
