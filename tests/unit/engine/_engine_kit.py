"""Shared helpers for the engine's AWS-semantics tests (imported by the test modules here).

Every helper builds on the public library API (``stepline.StateMachine``); nothing here reaches
into the engine's internals, so the tests check behaviour, not implementation.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stepline import ExecutionResult, StateMachine, VirtualClock

T0 = 1_700_000_000.0
"""Start of every virtual clock: 2023-11-14T22:13:20Z."""


def res(name: str) -> str:
    """A Task resource ARN served by a Python callable (the README's form)."""
    return f"arn:aws:states:::stepline:{name}"


def machine(
    definition: Mapping[str, Any] | str,
    tasks: Mapping[str, Callable[..., Any]] | None = None,
    *,
    start: float = T0,
    **kwargs: Any,
) -> StateMachine:
    """A StateMachine on a VirtualClock starting at ``start``; ``tasks`` keys are short names."""
    handlers = {res(name): fn for name, fn in (tasks or {}).items()}
    return StateMachine(definition, tasks=handlers, clock=VirtualClock(start), **kwargs)


def run(
    definition: Mapping[str, Any] | str,
    execution_input: Any = None,
    tasks: Mapping[str, Callable[..., Any]] | None = None,
    **kwargs: Any,
) -> ExecutionResult:
    """Run a definition once on a VirtualClock (``None`` input means ``{}``)."""
    run_kwargs = {k: kwargs.pop(k) for k in ("name", "rng") if k in kwargs}
    sm = machine(definition, tasks, **kwargs)
    return sm.run({} if execution_input is None else execution_input, **run_kwargs)


def chain(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A definition whose states run in the order given (``Next`` filled in, last one ``End``)."""
    body: dict[str, Any] = {}
    for index, (name, given) in enumerate(states):
        state = dict(given)
        if state["Type"] not in ("Choice", "Succeed", "Fail") and not (
            "Next" in state or "End" in state
        ):
            if index + 1 < len(states):
                state["Next"] = states[index + 1][0]
            else:
                state["End"] = True
        body[name] = state
    return {"StartAt": states[0][0], "States": body}


def single(state: dict[str, Any], name: str = "S") -> dict[str, Any]:
    """A definition of one state."""
    return chain((name, state))


_NAMES = itertools.count(1)


def inner(state: dict[str, Any]) -> dict[str, Any]:
    """A one-state scope (Parallel branch, Map processor) with a process-unique state name."""
    return single(state, name=f"{state['Type']}{next(_NAMES)}")


def task(name: str = "work", **fields: Any) -> dict[str, Any]:
    """A Task state calling ``res(name)``."""
    return {"Type": "Task", "Resource": res(name), **fields}


def types(result: ExecutionResult) -> list[str]:
    """The history's event types, in order."""
    return [event.type for event in result.history]


def events(result: ExecutionResult, event_type: str) -> list[Any]:
    """The history events of one type."""
    return [event for event in result.history if event.type == event_type]


def times(result: ExecutionResult, event_type: str) -> list[float]:
    """Timestamps (seconds after T0) of the events of one type."""
    return [round(event.timestamp - T0, 6) for event in events(result, event_type)]


def retry_gaps(result: ExecutionResult) -> list[float]:
    """Seconds between each TaskFailed/TaskTimedOut and the next TaskScheduled."""
    gaps: list[float] = []
    failed_at: float | None = None
    for event in result.history:
        if event.type in ("TaskFailed", "TaskTimedOut"):
            failed_at = event.timestamp
        elif event.type == "TaskScheduled" and failed_at is not None:
            gaps.append(round(event.timestamp - failed_at, 6))
            failed_at = None
    return gaps


def detail(event: Any, key: str) -> Any:
    """A member of an event's details; ``input``/``output``/``parameters`` JSON-decoded."""
    value = event.details[key]
    if key in ("input", "output", "parameters"):
        return json.loads(value)
    return value


def succeeded(result: ExecutionResult) -> Any:
    """Assert the run succeeded and return its output."""
    assert result.status == "SUCCEEDED", (result.status, result.error, result.cause)
    return result.output


def failed(result: ExecutionResult, error: str, cause_part: str | None = None) -> str:
    """Assert the run failed with ``error`` (and a cause containing ``cause_part``)."""
    assert result.status == "FAILED", (result.status, result.output)
    assert result.error == error, (result.error, result.cause)
    cause = result.cause or ""
    if cause_part is not None:
        assert cause_part in cause, cause
    return cause


class Recorder:
    """A sync task handler recording its parameters; returns ``result`` or ``fn(parameters)``."""

    def __init__(self, result: Any = None, fn: Callable[[Any], Any] | None = None) -> None:
        self.calls: list[Any] = []
        self._result = result
        self._fn = fn

    def __call__(self, parameters: Any) -> Any:
        self.calls.append(parameters)
        if self._fn is not None:
            return self._fn(parameters)
        return self._result


class Script:
    """A task handler playing a script: each call raises the next error or returns the next value.

    Items of ``steps`` are ``("raise", error, cause)`` or ``("return", value)``; the last one
    repeats once the script runs out.
    """

    def __init__(self, *steps: tuple[Any, ...]) -> None:
        self.steps = list(steps)
        self.calls = 0
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, parameters: Any, ctx: Any) -> Any:
        from stepline import StatesError

        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        self.contexts.append(ctx.context)
        if step[0] == "raise":
            raise StatesError(step[1], step[2] if len(step) > 2 else "")
        return step[1]


class ConcurrencyProbe:
    """An async task that counts how many copies of itself run at once."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.seen: list[Any] = []

    async def __call__(self, parameters: Any) -> Any:
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.seen.append(parameters)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        return parameters


def chain_ok(result: ExecutionResult) -> None:
    """Check history invariants: ids 1..n in order, previousEventId points backwards."""
    history = result.history
    assert [event.id for event in history] == list(range(1, len(history) + 1))
    assert history[0].type == "ExecutionStarted"
    assert history[0].previous_event_id == 0
    for event in history[1:]:
        assert 0 <= event.previous_event_id < event.id, event
    stamps = [event.timestamp for event in history]
    assert stamps == sorted(stamps)


def subsequence(needle: Iterable[str], haystack: Iterable[str]) -> bool:
    """Whether ``needle`` occurs in ``haystack`` in order (not necessarily contiguously)."""
    it = iter(haystack)
    return all(any(item == wanted for item in it) for wanted in needle)
