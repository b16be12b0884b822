"""The engine core: one execution, stepped without I/O.

:class:`Execution` walks the compiled definition, records history events and, when it needs the
outside world, returns effects (:class:`TaskEffect`, :class:`TimerEffect`) and waits to be told
their outcome. Everything that needs no effect — Pass, Choice, Succeed, Fail, the bookkeeping
of Parallel and Map — runs in one :meth:`Execution.advance` call, in a tight loop.
"""

from __future__ import annotations

import gc
import math
import random
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

from orjson import dumps as _orjson_dumps

from stepline.asl._errors import (
    DATA_LIMIT_EXCEEDED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    StatesError,
)
from stepline.asl._json import dumps_bytes
from stepline.asl._model import (
    CompiledDefinition,
    State,
)
from stepline.asl._paths import set_at_path
from stepline.engine._durable import DurableMixin
from stepline.engine._event_log import EventLog, EventTuple
from stepline.engine._fanout import FanoutMixin
from stepline.engine._frames import BLOCKED, CONTINUE, ENDED, Frame, ScopedContext
from stepline.engine._history import HistoryEvent
from stepline.engine._jsonata_states import JsonataStatesMixin
from stepline.engine._map_runs import MapRunMixin
from stepline.engine._ports import TaskEffect, TimerEffect
from stepline.engine._recovery import (
    TERMINAL_ERRORS,
    find_catcher,
    find_retrier,
    retry_delay,
)
from stepline.engine._redrive import RedriveMixin
from stepline.engine._simple import SimpleStatesMixin
from stepline.engine._tasks import TaskMixin

__all__ = ["DEFAULT_MAX_PAYLOAD_BYTES", "Execution", "ExecutionIdentity", "Status"]

_SHARED_RNG: Final = random.Random()
_STATE_PREFIX: Final = "An error occurred while executing the state "

DEFAULT_MAX_PAYLOAD_BYTES: Final = 256 * 1024
"""AWS's payload quota (256 KiB) for inputs, outputs and task results."""

Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class ExecutionIdentity:
    """Names and ARNs an execution is known by (they appear in ``$$``).

    Args:
        state_machine_arn: ARN of the state machine.
        execution_arn: ARN of this execution.
        role_arn: The execution role.
    """

    __slots__ = ("execution_arn", "name", "role_arn", "state_machine_arn", "state_machine_name")

    def __init__(self, state_machine_arn: str, execution_arn: str, role_arn: str) -> None:
        self.state_machine_arn = state_machine_arn
        self.execution_arn = execution_arn
        self.role_arn = role_arn
        self.state_machine_name = state_machine_arn.rsplit(":", 1)[-1]
        self.name = execution_arn.rsplit(":", 1)[-1]


_iso_second: list[Any] = [None, ""]  # (whole second, its "YYYY-MM-DDTHH:MM:SS." prefix)


def iso_time(timestamp: float) -> str:
    """AWS's timestamp form in ``$$``: ``2024-01-02T03:04:05.678Z``.

    Runs for every state that reads ``$$`` and every task, so the date part is formatted once
    per second and kept (``strftime`` costs more than the rest of the context object).
    """
    fraction, whole = math.modf(timestamp)
    # The same rounding as datetime.fromtimestamp: to the microsecond, half to even.
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole += 1
        micros -= 1_000_000
    elif micros < 0:
        whole -= 1
        micros += 1_000_000
    cached = _iso_second
    if cached[0] != whole:
        prefix = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        cached[0], cached[1] = whole, prefix
    return f"{cached[1]}{micros // 1000:03d}Z"


class Execution(
    SimpleStatesMixin,
    JsonataStatesMixin,
    TaskMixin,
    FanoutMixin,
    MapRunMixin,
    DurableMixin,
    RedriveMixin,
):
    """One run of a compiled definition, advanced step by step by a driver.

    Args:
        definition: The compiled definition.
        execution_input: The execution's input (any JSON value).
        identity: ARNs and names for the context object.
        now: The clock the engine reads (seconds since the epoch).
        max_payload_bytes: The payload quota; AWS's 256 KiB by default.
        rng: Randomness for retry jitter (seedable for tests).
        keep_events: Whether the execution keeps every event in memory (the default). A
            durable driver that stores events as it takes them (:meth:`take_new_events`)
            passes ``False`` to bound the memory of long executions.

    Raises:
        StatesError: ``States.DataLimitExceeded`` when the input is over the quota.
    """

    def __init__(
        self,
        definition: CompiledDefinition,
        execution_input: Any,
        identity: ExecutionIdentity,
        now: Callable[[], float],
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        rng: random.Random | None = None,
        keep_events: bool = True,
    ) -> None:
        self._setup(definition, identity, now, max_payload_bytes, rng=rng, keep_events=keep_events)
        self.start_time = now()
        self.deadline: float | None = (
            self.start_time + definition.timeout_seconds
            if definition.timeout_seconds is not None
            else None
        )
        self.input: Any = execution_input
        input_json = self._encode(execution_input, "execution input")
        started = self._emit(
            0,
            "ExecutionStarted",
            {
                "input": input_json,
                "roleArn": identity.role_arn,
            },
        )
        self._ready.append(Frame(definition.graph, execution_input, None, 0, started))

    def _setup(
        self,
        definition: CompiledDefinition,
        identity: ExecutionIdentity,
        now: Callable[[], float],
        max_payload_bytes: int,
        *,
        rng: random.Random | None,
        keep_events: bool,
    ) -> None:
        """Every attribute of a new execution, before its first event (shared with restore)."""
        self.definition = definition
        self.identity = identity
        self.now = now
        self.max_payload_bytes = max_payload_bytes
        self.rng = rng or _SHARED_RNG
        self._events: list[EventTuple] = [] if keep_events else EventLog()
        self._keep_events = keep_events
        self._taken = 0
        self.status: Status = "RUNNING"
        self.output: Any = None
        self.output_json: str | None = None
        self.error: str | None = None
        self.cause: str | None = None
        self.transitions = 0
        self.redrive_count = 0
        self._redrive_root: Frame | None = None
        self.start_time = 0.0
        self.stop_time: float | None = None
        self.deadline = None
        self.input = None
        self._ready: deque[Frame] = deque()
        self._effects: list[TaskEffect | TimerEffect] = []
        self._cancelled: list[int] = []
        self._next_effect_id = 1
        self._tasks: dict[int, tuple[Frame, State, Any, Any, TaskEffect]] = {}
        self._timers: dict[int, tuple[Frame, str, float]] = {}
        self._task_progress: dict[int, str] = {}
        self._execution_context: dict[str, Any] | None = None
        self._snapshot_facts: tuple[str, dict[int, list[Any]], CompiledDefinition] | None = None

    # ----------------------------------------------------------------- the driver's interface

    @property
    def done(self) -> bool:
        """True once the execution has ended, whatever the status."""
        return self.status != "RUNNING"

    def advance(self) -> list[TaskEffect | TimerEffect]:
        """Run every frame that can run; return the effects newly requested.

        Call :meth:`take_cancelled` afterwards to learn of effects no longer wanted.
        """
        ready = self._ready
        # The loop allocates many short-lived objects and creates no reference cycles (see
        # _HANDLERS); pausing the cyclic GC while it runs saves ~8% on Map-heavy work.
        # Collection resumes as soon as the call returns.
        pause_gc = gc.isenabled()
        if pause_gc:
            gc.disable()
        try:
            while ready and self.status == "RUNNING":
                frame = ready.popleft()
                if not frame.aborted:
                    self._run_frame(frame)
        finally:
            if pause_gc:
                gc.enable()
        effects, self._effects = self._effects, []
        return effects

    def take_cancelled(self) -> list[int]:
        """Ids of effects whose outcome is no longer wanted (aborted branches, ended run)."""
        cancelled, self._cancelled = self._cancelled, []
        if self.status != "RUNNING":
            cancelled.extend(self._tasks)
            cancelled.extend(self._timers)
            self._tasks.clear()
            self._timers.clear()
            self._task_progress.clear()
        return cancelled

    def fire_timer(self, effect_id: int) -> None:
        """A :class:`TimerEffect` is due: resume the Wait or retry that asked for it."""
        entry = self._timers.pop(effect_id, None)
        if entry is None or self.status != "RUNNING":
            return
        frame, kind, _due = entry
        frame.pending_effect = None
        if frame.aborted:
            return
        frame.resume = ("timer", None) if kind == "wait" else None
        self._ready.append(frame)

    def time_out(self) -> None:
        """The execution's ``TimeoutSeconds`` has passed: end it as ``TIMED_OUT``."""
        if self.status != "RUNNING":
            return
        self._finish(
            "TIMED_OUT",
            "ExecutionTimedOut",
            {
                "error": "States.Timeout",
                "cause": "The execution ran longer than the TimeoutSeconds of its state machine.",
            },
        )

    def abort(self, error: str | None = None, cause: str | None = None) -> None:
        """Stop the execution from outside (``StopExecution``)."""
        if self.status != "RUNNING":
            return
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        self.error, self.cause = error, cause
        self._finish("ABORTED", "ExecutionAborted", details)

    # ------------------------------------------------------------------------- the frame loop

    def _run_frame(self, frame: Frame) -> None:
        states = frame.graph.states
        handlers = _HANDLERS
        events = self._events
        now = self.now
        while True:
            state = states[frame.state_name]
            try:
                if frame.fresh:
                    frame.fresh = False
                    frame.retry_counts = None
                    frame.redrive = None
                    frame.entered_at = entered_at = now()
                    input_json = frame.input_json
                    if input_json is None:
                        input_json = frame.input_json = self._encode(frame.input, "state input")
                    # The Entered event, appended inline: the hottest lines of the engine.
                    events.append(
                        (
                            frame.last_event_id,
                            entered_at,
                            state.type + "StateEntered",
                            {"name": state.name, "input": input_json},
                        )
                    )
                    frame.entered_event_id = frame.last_event_id = len(events)
                    self.transitions += 1
                outcome = handlers[state.handler](self, frame, state)
            except StatesError as failure:
                outcome = self._state_failed(
                    frame,
                    state,
                    failure.error,
                    failure.cause,
                    failure.location,
                    min_delay=failure.retry_after,
                )
            if outcome != CONTINUE or self.status != "RUNNING":
                return

    def _emit(
        self,
        previous: int,
        event_type: str,
        details: dict[str, Any] | None,
        timestamp: float | None = None,
    ) -> int:
        # Events are stored as tuples on the hot path; `history` turns them into objects.
        events = self._events
        events.append(
            (previous, self.now() if timestamp is None else timestamp, event_type, details)
        )
        return len(events)

    @property
    def events(self) -> list[HistoryEvent]:
        """The history so far, in order: the events held in memory (all of them, unless the
        execution was restored or created with ``keep_events=False``)."""
        events = self._events
        first = len(events) - list.__len__(events) + 1
        return [
            HistoryEvent(index, previous, timestamp, event_type, details)
            for index, (previous, timestamp, event_type, details) in enumerate(events, first)
        ]

    @property
    def event_count(self) -> int:
        """How many events the history holds."""
        return len(self._events)

    def _emit_in(self, frame: Frame, event_type: str, details: dict[str, Any] | None) -> int:
        frame.last_event_id = self._emit(frame.last_event_id, event_type, details)
        return frame.last_event_id

    def _encode(self, value: Any, what: str) -> str:
        """JSON text of a payload, enforcing the payload quota (``States.DataLimitExceeded``)."""
        try:
            encoded = _orjson_dumps(value)
        except TypeError:
            try:
                encoded = dumps_bytes(value)
            except (TypeError, ValueError) as exc:
                raise StatesError(
                    RUNTIME,
                    f"The {what} is not JSON-serialisable ({exc}). Return only JSON values.",
                ) from None
        if len(encoded) > self.max_payload_bytes:
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The {what} is {len(encoded)} bytes, over the payload limit of "
                f"{self.max_payload_bytes} bytes. Pass large data by reference instead.",
            )
        return encoded.decode()

    def context_object(self, frame: Frame, state: State) -> ScopedContext:
        """The context object ``$$`` as the state sees it now (with the frame's variables)."""
        execution = self._execution_context
        if execution is None:
            # Built on first use: most states never read `$$`.
            identity = self.identity
            execution = self._execution_context = {
                "Id": identity.execution_arn,
                "Input": self.input,
                "Name": identity.name,
                "RoleArn": identity.role_arn,
                "StartTime": iso_time(self.start_time),
                "RedriveCount": self.redrive_count,
            }
        counts = frame.retry_counts
        return ScopedContext(
            {
                "Execution": execution,
                "StateMachine": {
                    "Id": self.identity.state_machine_arn,
                    "Name": self.identity.state_machine_name,
                },
                "State": {
                    "EnteredTime": iso_time(frame.entered_at),
                    "Name": state.name,
                    "RetryCount": sum(counts) if counts else 0,
                },
            },
            frame.variables,
        )

    def _context(self, frame: Frame, state: State) -> Any:
        return self.context_object(frame, state) if state.uses_context else None

    def _exit(
        self,
        frame: Frame,
        state: State,
        output: Any,
        assigned: dict[str, str] | None = None,
        target: str | Literal[False] | None = False,
    ) -> int:
        """Record the state's exit with its output (and assigned variables); move on.

        Args:
            frame: The frame leaving the state.
            state: The state.
            output: The state's output.
            assigned: Variables the state assigned, as JSON text, for the history.
            target: Where to go (``None`` ends the frame); by default the state's ``Next``.
        """
        events = self._events
        # A state that passes its input through need not encode it a second time.
        output_json = (
            frame.input_json if output is frame.input else self._encode(output, "state output")
        )
        details = {"name": state.name, "output": output_json}
        if assigned:
            details["assignedVariables"] = assigned  # type: ignore[assignment]
        events.append((frame.last_event_id, self.now(), state.type + "StateExited", details))
        frame.last_event_id = len(events)
        return self._transition(
            frame, state, state.next if target is False else target, output, output_json
        )

    def _assign(self, frame: Frame, assign: Any, value: Any, context: Any) -> dict[str, str]:
        """Evaluate an ``Assign`` and make its variables visible to the frame from now on.

        Every value is computed from the variables as they were before the state (the whole
        ``Assign`` is evaluated before any of it is applied), as AWS specifies.

        Returns:
            The assigned variables as JSON text, for the ``…StateExited`` event.
        """
        return self._assign_values(frame, assign(value, context))

    def _assign_values(self, frame: Frame, values: Mapping[str, Any]) -> dict[str, str]:
        """Make evaluated ``Assign`` values the frame's variables; return them as JSON text."""
        assigned = {name: self._encode(item, f"variable '{name}'") for name, item in values.items()}
        total = sum(len(text) for text in assigned.values())
        if total > self.max_payload_bytes:
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The variables assigned by the state are {total} bytes together, over the "
                f"limit of {self.max_payload_bytes} bytes per Assign.",
            )
        frame.variables = {**frame.variables, **values}
        return assigned

    def _transition(
        self,
        frame: Frame,
        state: State,
        target: str | None,
        output: Any,
        output_json: str | None = None,
    ) -> int:
        if target is None:
            return self._end_frame(frame, output, output_json)
        frame.state_name = target
        frame.input = output
        frame.input_json = output_json
        frame.fresh = True
        return CONTINUE

    def _start_timer(self, frame: Frame, due: float, kind: str) -> None:
        effect_id = self._next_effect_id
        self._next_effect_id += 1
        self._timers[effect_id] = (frame, kind, due)
        frame.pending_effect = effect_id
        self._effects.append(TimerEffect(effect_id, due))

    # ------------------------------------------------------------- errors, retries, catches

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
        """A state raised an ASL error: retry it, catch it, or fail the frame.

        ``min_delay`` is a lower bound for a retry's back-off that the failed call asked for
        (an HTTP ``Retry-After``): the wait is never shorter than the rule's own back-off.

        A JSONata evaluation failure raised by the state's own field (``location``) is recorded
        first as an ``EvaluationFailed`` event, and its cause gets AWS's prefix naming the state.
        """
        if error == QUERY_EVALUATION_ERROR and not cause.startswith(_STATE_PREFIX):
            cause = self._prefixed(frame, state, cause)
            if location is not None:
                self._emit_in(
                    frame,
                    "EvaluationFailed",
                    {"error": error, "cause": cause, "location": location, "state": state.name},
                )
        if error not in TERMINAL_ERRORS:
            if state.retry:
                index = find_retrier(state.retry, error)
                if index is not None:
                    counts = frame.retry_counts or [0] * len(state.retry)
                    retrier = state.retry[index]
                    if counts[index] < retrier.max_attempts:
                        delay = retry_delay(retrier, counts[index], self.rng)
                        if min_delay is not None and min_delay > delay:
                            delay = min_delay
                        counts[index] += 1
                        frame.retry_counts = counts
                        frame.resume = None
                        frame.redrive = None  # the retry runs the whole state again
                        self._start_timer(frame, self.now() + delay, "retry")
                        return BLOCKED
            if state.catch:
                catcher = find_catcher(state.catch, error)
                if catcher is not None:
                    error_output = {"Error": error, "Cause": cause}
                    if state.jsonata:
                        try:
                            return self.catch_jsonata(frame, state, catcher, error_output)
                        except StatesError as failure:
                            return self._fail_frame(frame, failure.error, failure.cause)
                    keys = catcher.result_path
                    try:
                        assigned = None
                        if catcher.assign is not None:
                            context = self.context_object(frame, state)
                            assigned = self._assign(frame, catcher.assign, error_output, context)
                        if keys is None:
                            output = frame.input
                        elif not keys:
                            output = error_output
                        else:
                            output = set_at_path(frame.input, keys, error_output)
                        return self._exit(frame, state, output, assigned, catcher.next)
                    except StatesError as failure:
                        # The catcher itself cannot apply (its ResultPath, Assign or the
                        # payload quota): that ends the frame, uncaught.
                        return self._fail_frame(frame, failure.error, failure.cause)
        elif error == RUNTIME:
            cause = self._prefixed(frame, state, cause)
        return self._fail_frame(frame, error, cause)

    def _prefixed(self, frame: Frame, state: State, cause: str) -> str:
        """AWS's preamble for errors of the state's own making."""
        return (
            f"{_STATE_PREFIX}'{state.name}' (entered at the event id "
            f"#{frame.entered_event_id}). {cause}"
        )

    def _fail_frame(self, frame: Frame, error: str | None, cause: str | None) -> int:
        if frame.parent is None:
            self.error, self.cause = error, cause
            details: dict[str, Any] = {}
            if error is not None:
                details["error"] = error
            if cause is not None:
                details["cause"] = cause
            self._finish("FAILED", "ExecutionFailed", details, frame.last_event_id, frame)
        else:
            self._child_failed(frame, error or "", cause or "")
        return ENDED

    def _end_frame(self, frame: Frame, output: Any, output_json: str | None = None) -> int:
        if frame.parent is None:
            if output_json is None:
                output_json = self._encode(output, "execution output")
            self.output = output
            self.output_json = output_json
            self._finish(
                "SUCCEEDED",
                "ExecutionSucceeded",
                {"output": output_json},
                frame.last_event_id,
            )
        else:
            self._child_succeeded(frame, output)
        return ENDED

    def _finish(
        self,
        status: Status,
        event_type: str,
        details: dict[str, Any],
        previous: int | None = None,
        failed: Frame | None = None,
    ) -> None:
        if status != "SUCCEEDED":
            self._keep_redrive_point(failed)
        self.status = status
        if status != "SUCCEEDED" and self.error is None:
            self.error = details.get("error")
            self.cause = details.get("cause")
        self.stop_time = self.now()
        self._emit(len(self._events) if previous is None else previous, event_type, details)
        self._ready.clear()


# Plain functions, not bound methods kept on each execution: a bound method would make every
# execution a reference cycle that only the cyclic GC can free.
_HANDLERS: Final[dict[str, Callable[[Execution, Frame, Any], int]]] = {
    "Pass": Execution._run_pass,
    "Task": Execution._run_task,
    "Choice": Execution._run_choice,
    "Wait": Execution._run_wait,
    "Succeed": Execution._run_succeed,
    "Fail": Execution._run_fail,
    "Parallel": Execution._run_parallel,
    "Map": Execution._run_map,
    "Pass/JSONata": Execution._run_pass_jsonata,
    "Task/JSONata": Execution._run_task_jsonata,
    "Choice/JSONata": Execution._run_choice_jsonata,
    "Wait/JSONata": Execution._run_wait_jsonata,
    "Succeed/JSONata": Execution._run_succeed_jsonata,
    "Fail/JSONata": Execution._run_fail_jsonata,
    "Parallel/JSONata": Execution._run_parallel_jsonata,
    "Map/JSONata": Execution._run_map_jsonata,
}
