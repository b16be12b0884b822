"""Running one Task effect for the worker, with its ``TimeoutSeconds`` and ``HeartbeatSeconds``.

The same rules as the in-process driver (:mod:`stepline.engine._driver`): limits are measured
in real (monotonic) time from when the task starts here, a heartbeat pushes the heartbeat
deadline forward, and a task that raises :class:`~stepline.asl.StatesError` fails with its
error name and cause. A task re-run after a restore starts its limits afresh (at-least-once:
the first attempt's time is not known to the new worker).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from stepline.asl._errors import HEARTBEAT_TIMEOUT, TIMEOUT, StatesError
from stepline.engine import TaskEffect, TaskInvoker

__all__ = ["Outcome", "Settled", "run_task"]

# (effect id, result, error, cause, retry_after)
Outcome = tuple[int, Any, str | None, str | None, float | None]


@dataclass(frozen=True, slots=True)
class Settled:
    """Returned by the base call of a task that waits for its token when that call settled the
    whole task itself (a ``.sync`` nested workflow whose Express child ran to its end there):
    the worker records the submission, then the outcome, and uses the token up.

    Attributes:
        submitted: The base call's answer (``TaskSubmitted``'s output).
        result: The task's result when it succeeded.
        error: The task's error when it failed.
        cause: The cause that goes with ``error``.
    """

    submitted: Any
    result: Any = None
    error: str | None = None
    cause: str | None = None


class _Heartbeat:
    """Given to a running task; each call pushes its heartbeat deadline forward."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self) -> None:
        self.last = time.monotonic()


def _timed_out(effect: TaskEffect) -> Outcome:
    return (
        effect.id,
        None,
        TIMEOUT,
        f"The task did not finish within its TimeoutSeconds ({effect.timeout_seconds} s).",
        None,
    )


def _heartbeat_missed(effect: TaskEffect) -> Outcome:
    return (
        effect.id,
        None,
        HEARTBEAT_TIMEOUT,
        f"The task sent no heartbeat within its HeartbeatSeconds ({effect.heartbeat_seconds} s).",
        None,
    )


async def _invoke(invoker: TaskInvoker, effect: TaskEffect, heartbeat: _Heartbeat) -> Outcome:
    try:
        return (effect.id, await invoker.invoke(effect, heartbeat), None, None, None)
    except StatesError as failure:
        return (effect.id, None, failure.error, failure.cause, failure.retry_after)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an invoker that broke its contract: still a task failure
        return (effect.id, None, type(exc).__name__, str(exc), None)


async def run_task(invoker: TaskInvoker, effect: TaskEffect) -> Outcome:
    """Run ``effect`` to its outcome (never raises, except when cancelled)."""
    heartbeat = _Heartbeat()
    if effect.timeout_seconds is None and effect.heartbeat_seconds is None:
        return await _invoke(invoker, effect, heartbeat)
    work = asyncio.ensure_future(_invoke(invoker, effect, heartbeat))
    started = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            limits = []
            if effect.timeout_seconds is not None:
                limits.append(started + effect.timeout_seconds - now)
            if effect.heartbeat_seconds is not None:
                limits.append(heartbeat.last + effect.heartbeat_seconds - now)
            done, _ = await asyncio.wait({work}, timeout=max(min(limits), 0.0))
            if done:
                return work.result()
            now = time.monotonic()
            if effect.timeout_seconds is not None and now >= started + effect.timeout_seconds:
                return _timed_out(effect)
            if (
                effect.heartbeat_seconds is not None
                and now >= heartbeat.last + effect.heartbeat_seconds
            ):
                return _heartbeat_missed(effect)
    finally:
        if not work.done():
            work.cancel()
