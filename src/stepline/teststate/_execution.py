"""The engine, watched: an :class:`Execution` that records what TestState's inspection shows.

Nothing of ASL is re-implemented here. The state under test runs in the real engine, and what
``inspectionData`` shows is taken from it as it happens, in two ways that cost the engine
nothing when it is not being tested:

* **the state's own compiled fields are wrapped** (:func:`instrument`): its ``InputPath``,
  ``Parameters``, ``ResultSelector``, ``OutputPath``, ``ItemsPath`` and ``Arguments`` are
  replaced, in a copy of the state, by callables that call the original and note what went in
  or came out. So a value shown is the value the engine used (a ``States.UUID()`` in
  ``Parameters`` shows the same UUID the output holds);
* **the execution's own methods are overridden** (:class:`InspectingExecution`): the task's
  effective parameters, its raw result, a failure and whether a retrier took it (and its
  back-off), where the state went next, and the variables it left.

The run stops as soon as the state under test is done: its exit ends the execution (the
``Next`` placeholders of ``_definition`` are never entered), and a retry ends the test as
``RETRIABLE`` with the back-off the engine computed.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from stepline.asl._errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    QUERY_EVALUATION_ERROR,
    StatesError,
)
from stepline.asl._json import json_type
from stepline.asl._model import CompiledDefinition, MapState, ParallelState, State, StateGraph
from stepline.asl._paths import CompiledPath
from stepline.engine import Execution, ExecutionIdentity
from stepline.engine._execution import _STATE_PREFIX
from stepline.engine._frames import Frame, ScopedContext
from stepline.engine._jsonata_states import Bindings, item_bindings
from stepline.engine._recovery import find_retrier
from stepline.teststate._errors import VALIDATION_EXCEPTION, TestStateError
from stepline.teststate._request import MockSpec

__all__ = ["InspectingExecution", "Recorder", "instrument"]


class Recorder:
    """What the state under test did, noted while it ran.

    Attributes:
        values: Inspection values by AWS's field name (``afterInputPath``, ``result``, …), as
            JSON values, in the order they were produced.
        exited: True once the state left normally or through a Catch.
        next_state: Where it went (``None``: the state ends the workflow).
        failure: ``(error, cause)`` of the error the state raised, if any.
        caught: True when a Catch handled that error.
        retry_delay: The back-off of the retry a retrier scheduled, in seconds.
        variables: The variables when the state exited.
    """

    __slots__ = (
        "caught",
        "exited",
        "failure",
        "next_state",
        "retry_delay",
        "values",
        "variables",
    )

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.exited = False
        self.next_state: str | None = None
        self.failure: tuple[str, str] | None = None
        self.caught = False
        self.retry_delay: float | None = None
        self.variables: Mapping[str, Any] | None = None

    def note(self, field: str, value: Any) -> None:
        """Record an inspection value (the first one wins: a state evaluates each once)."""
        self.values.setdefault(field, value)


# --------------------------------------------------------------------------- instrumenting


def _watched_path(
    path: CompiledPath, recorder: Recorder, field: str, *, seen: bool
) -> CompiledPath:
    """A copy of ``path`` that records what it selected (``seen=False``) or what it was given
    (``seen=True``, for OutputPath: its input is the output after ResultPath)."""
    clone = copy.copy(path)
    evaluate = path.evaluate

    def watched(data: Any, context: Any) -> Any:
        if seen:
            recorder.note(field, data)
        value = evaluate(data, context)
        if not seen:
            recorder.note(field, value)
        return value

    clone.evaluate = watched
    return clone


def _watched_evaluator(
    evaluate: Callable[..., Any], recorder: Recorder, field: str
) -> Callable[..., Any]:
    def watched(*args: Any) -> Any:
        value = evaluate(*args)
        recorder.note(field, value)
        return value

    return watched


def _null_output_path(recorder: Recorder) -> CompiledPath:
    """Stands in for ``"OutputPath": null``: records its input, then yields ``{}`` as AWS does."""
    path = CompiledPath("$", False, ())

    def evaluate(data: Any, context: Any) -> Any:
        recorder.note("afterResultPath", data)
        return {}

    path.evaluate = evaluate
    return path


def instrument(compiled: CompiledDefinition, name: str, recorder: Recorder) -> CompiledDefinition:
    """The definition with its state ``name`` replaced by a copy that records its I/O steps."""
    state = compiled.graph.states[name]
    changes: dict[str, Any] = {}
    if state.input_path is not None:
        changes["input_path"] = _watched_path(
            state.input_path, recorder, "afterInputPath", seen=False
        )
    if state.parameters is not None:
        changes["parameters"] = _watched_evaluator(state.parameters, recorder, "afterParameters")
    if state.result_selector is not None:
        changes["result_selector"] = _watched_evaluator(
            state.result_selector, recorder, "afterResultSelector"
        )
    if state.output_path is not None:
        changes["output_path"] = _watched_path(
            state.output_path, recorder, "afterResultPath", seen=True
        )
    elif state.output_path_null and state.type in ("Pass", "Task", "Map", "Parallel"):
        changes["output_path"] = _null_output_path(recorder)
        changes["output_path_null"] = False
    if state.jsonata and state.arguments is not None:
        changes["arguments"] = _watched_evaluator(state.arguments, recorder, "afterArguments")
    if isinstance(state, MapState) and state.items_path is not None:
        changes["items_path"] = _watched_path(
            state.items_path, recorder, "afterItemsPath", seen=False
        )
    if not changes:
        return compiled
    watched = replace(state, **changes)
    graph = StateGraph(compiled.graph.start_at, {**compiled.graph.states, name: watched})
    return replace(compiled, graph=graph)


class _UpperBound(random.Random):
    """Retry jitter that always picks the full back-off: TestState reports a figure a test
    can assert on, not a random one."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --------------------------------------------------------------------------- the execution


class InspectingExecution(Execution):
    """An execution of the one-state machine that records what TestState shows.

    Args:
        definition: The instrumented one-state machine.
        state_input: The state's input.
        identity: ARNs and role for ``$$`` and the HTTP Task's permission checks.
        now: The clock.
        tested: The name of the state under test.
        recorder: Where to note what happens.
        variables: The workflow variables the state sees.
        context: Members of the Context object that replace the engine's (``$$.Map`` …).
        mock: The mock (Map and Parallel states consume it here; Task mocks are applied by the
            caller, which completes the task effect with them).
        map_failures: ``stateConfiguration.mapIterationFailureCount``.
        retry_count: ``stateConfiguration.retrierRetryCount``: retries already used.
    """

    def __init__(
        self,
        definition: CompiledDefinition,
        state_input: Any,
        identity: ExecutionIdentity,
        now: Callable[[], float],
        *,
        tested: str,
        recorder: Recorder,
        variables: Mapping[str, Any],
        context: Mapping[str, Any] | None,
        mock: MockSpec | None,
        map_failures: int | None,
        retry_count: int | None,
    ) -> None:
        super().__init__(definition, state_input, identity, now, rng=_UpperBound())
        self._tested = tested
        self._recorder = recorder
        self._context_members = context
        self._mock = mock
        self._map_failures = map_failures
        self._retry_count = retry_count
        self._ready[0].variables = variables

    def _is_tested(self, frame: Frame, state: State) -> bool:
        return frame.parent is None and state.name == self._tested

    # ---------------------------------------------------------------------- what it sees

    def context_object(self, frame: Frame, state: State) -> ScopedContext:
        """The engine's context object, with the request's members laid over it."""
        scoped = super().context_object(frame, state)
        if self._context_members and frame.parent is None:
            scoped.update(self._context_members)  # a fresh object per call: safe to change
        return scoped

    # ----------------------------------------------------------------- what it produces

    def _schedule_task(
        self,
        frame: Frame,
        state: Any,
        effective: Any,
        *,
        timeout: int | None,
        heartbeat: int | None,
        context: Any,
        token: str | None = None,
    ) -> int:
        if self._is_tested(frame, state):
            self._recorder.note("afterArguments" if state.jsonata else "afterParameters", effective)
        return super()._schedule_task(
            frame,
            state,
            effective,
            timeout=timeout,
            heartbeat=heartbeat,
            context=context,
            token=token,
        )

    def _finish_with_result(self, frame: Frame, state: State, result: Any, context: Any) -> int:
        if self._is_tested(frame, state):
            self._recorder.note("result", result)
        return super()._finish_with_result(frame, state, result, context)

    def _finish_jsonata(self, frame: Frame, state: State, result: Any) -> int:
        if self._is_tested(frame, state):
            self._recorder.note("result", result)
        return super()._finish_jsonata(frame, state, result)

    def _transition(
        self,
        frame: Frame,
        state: State,
        target: str | None,
        output: Any,
        output_json: str | None = None,
    ) -> int:
        if not self._is_tested(frame, state):
            return super()._transition(frame, state, target, output, output_json)
        recorder = self._recorder
        recorder.exited = True
        recorder.next_state = target
        recorder.variables = frame.variables
        recorder.caught = recorder.failure is not None
        # The test ends where the workflow would move on: the output is the execution's.
        return self._end_frame(frame, output, output_json)

    # ------------------------------------------------------------------------ its errors

    def _state_failed(
        self,
        frame: Frame,
        state: State,
        error: str,
        cause: str,
        location: str | None = None,
        *,
        min_delay: float | None = None,
    ) -> int:
        if self._is_tested(frame, state):
            if error == QUERY_EVALUATION_ERROR and not cause.startswith(_STATE_PREFIX):
                shown = self._prefixed(frame, state, cause)  # as the engine words it
            else:
                shown = cause
            self._recorder.failure = (error, shown)
            count = self._retry_count
            if count and state.retry and frame.retry_counts is None:
                # The retries already used (stateConfiguration.retrierRetryCount) are the
                # engine's own counter for the retrier that takes this error.
                index = find_retrier(state.retry, error)
                if index is not None:
                    counts = [0] * len(state.retry)
                    counts[index] = count
                    frame.retry_counts = counts
        return super()._state_failed(frame, state, error, cause, location, min_delay=min_delay)

    def _start_timer(self, frame: Frame, due: float, kind: str) -> None:
        super()._start_timer(frame, due, kind)
        if kind == "retry" and frame.parent is None:
            self._recorder.retry_delay = due - self.now()

    # --------------------------------------------------------- mocked Map and Parallel

    def _start_parallel(self, frame: Frame, state: ParallelState, effective: Any) -> int:
        if not self._is_tested(frame, state):
            return super()._start_parallel(frame, state, effective)
        self._recorder.note("afterArguments" if state.jsonata else "afterParameters", effective)
        return self._mocked_fanout(frame, state, len(state.branches), "branch")

    def _start_map(
        self,
        frame: Frame,
        state: MapState,
        items: Any,
        *,
        effective: Any,
        context: Any,
        limits: tuple[int, int | None, float | None],
    ) -> int:
        if not self._is_tested(frame, state):
            return super()._start_map(
                frame, state, items, effective=effective, context=context, limits=limits
            )
        if not isinstance(items, list):
            # The engine's own check, with its own words.
            return super()._start_map(
                frame, state, items, effective=effective, context=context, limits=limits
            )
        recorder = self._recorder
        if not state.jsonata and state.items_path is None:
            recorder.note("afterItemsPath", effective)
        if state.batcher is not None:
            recorder.note("afterItemBatcher", items)
        else:
            selected = self._selected_items(state, items, effective, context)
            if selected is not None:
                recorder.note("afterItemSelector", selected)
        concurrency, count, percentage = limits
        recorder.note("maxConcurrency", concurrency)
        if count is not None:
            recorder.note("toleratedFailureCount", count)
        if percentage is not None:
            recorder.note("toleratedFailurePercentage", percentage)
        failures = self._map_failures
        if failures:
            self._check_failures(state, failures, len(items), count, percentage)
        return self._mocked_fanout(frame, state, len(items), "item")

    def _selected_items(
        self, state: MapState, items: list[Any], effective: Any, context: Any
    ) -> list[Any] | None:
        """Each iteration's input after ItemSelector, as the engine would start it."""
        if state.jsonata:
            selector = state.expressions.get("ItemSelector")
            if selector is None or not isinstance(context, Bindings):
                return None
            return [selector(item_bindings(context, i, item)) for i, item in enumerate(items)]
        if state.item_selector is None:
            return None
        return [
            state.item_selector(
                effective, context.with_map_item(i, item) if context is not None else None
            )
            for i, item in enumerate(items)
        ]

    def _check_failures(
        self,
        state: MapState,
        failures: int,
        total: int,
        count: int | None,
        percentage: float | None,
    ) -> None:
        if failures > total:
            raise TestStateError(
                VALIDATION_EXCEPTION,
                f"stateConfiguration.mapIterationFailureCount is {failures}, but the Map state "
                f"'{state.name}' has only {total} iteration(s) for this input.",
            )
        if count is None and percentage is None:
            over = True  # no threshold: any failed iteration fails the Map
        else:
            over = (count is not None and failures > count) or (
                percentage is not None and failures * 100.0 > percentage * total
            )
        if over:
            raise StatesError(
                EXCEED_TOLERATED_FAILURE_THRESHOLD,
                f"The Map state '{state.name}' failed because {failures} of {total} iterations "
                "failed, more than its tolerated failure threshold allows.",
            )

    def _mocked_fanout(
        self, frame: Frame, state: MapState | ParallelState, expected: int, unit: str
    ) -> int:
        mock = self._mock
        if mock is None:  # the request check requires a mock; never run children here
            raise TestStateError(
                VALIDATION_EXCEPTION, f"The {state.type} state '{state.name}' needs a mock."
            )
        if not mock.has_result:
            raise StatesError(mock.error or "", mock.cause)
        result = mock.result
        _check_fanout_result(state, result, expected, unit, mock.field_validation_mode)
        if state.jsonata:
            return self._finish_jsonata(frame, state, result)
        return self._finish_with_result(frame, state, result, self._context(frame, state))


def _check_fanout_result(
    state: State,
    result: Any,
    expected: int,
    unit: str,
    mode: Literal["STRICT", "PRESENT", "NONE"],
) -> None:
    """A Map's or Parallel's result is an array, one element per item or branch: ``STRICT``
    checks both, ``PRESENT`` that it is an array, ``NONE`` nothing."""
    if mode == "NONE":
        return
    if not isinstance(result, list):
        raise TestStateError(
            VALIDATION_EXCEPTION,
            f"The mocked result of the {state.type} state '{state.name}' must be a JSON array "
            f"(one element per {unit}), not {json_type(result)}. Use fieldValidationMode NONE "
            "to mock any value.",
        )
    if mode == "STRICT" and len(result) != expected:
        raise TestStateError(
            VALIDATION_EXCEPTION,
            f"The mocked result of the {state.type} state '{state.name}' has {len(result)} "
            f"element(s), but the state has {expected} {unit}{'es' if unit == 'branch' else 's'} "
            "for this input. Mock one element each, or use fieldValidationMode PRESENT.",
        )
