"""Running states whose query language is JSONata.

Each expression sees ``$states`` — ``input`` (the state's input), ``context`` (the context
object), ``result`` (after a Task, Map or Parallel produced one) and ``errorOutput`` (in a
Catch) — and the workflow variables, all as they were when the state was entered. ``Output``
defaults to the result (Task, Map, Parallel) or to the input (other states).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from stepline.asl._errors import NO_CHOICE_MATCHED, QUERY_EVALUATION_ERROR, StatesError
from stepline.asl._json import json_type
from stepline.asl._model import (
    ChoiceState,
    FailState,
    ItemBatcher,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from stepline.asl._timestamps import parse_timestamp
from stepline.engine._batching import MAX_BATCH_BYTES, group_into_batches
from stepline.engine._frames import BLOCKED, Frame
from stepline.engine._mixin_base import ExecutionMixin

__all__ = ["Bindings", "JsonataStatesMixin", "item_bindings"]


_STATE_ASSIGN: Any = object()  # "use the state's own Assign" (a Choice rule passes its own)


class Bindings(Mapping[str, Any]):
    """What a JSONata expression can read: ``$states`` and the workflow variables.

    A view, not a copy: building it costs two attribute stores however many variables exist.
    """

    __slots__ = ("states", "variables")

    def __init__(self, states: dict[str, Any], variables: Mapping[str, Any]) -> None:
        self.states = states
        self.variables = variables

    def __getitem__(self, name: str) -> Any:
        if name == "states":
            return self.states
        return self.variables[name]

    def __contains__(self, name: object) -> bool:
        return name == "states" or name in self.variables

    def __iter__(self) -> Iterator[str]:
        yield "states"
        yield from self.variables

    def __len__(self) -> int:
        return 1 + len(self.variables)


def item_bindings(bindings: Bindings, index: int, item: Any) -> Bindings:
    """The Map state's bindings as ``ItemSelector`` sees them for one item: the same, with
    ``$states.context.Map.Item`` set (when the Map's expressions read the context at all)."""
    states = bindings.states
    if "context" in states:
        states = dict(states)
        states["context"] = states["context"].with_map_item(index, item)
    return Bindings(states, bindings.variables)


def _query_error(state: State, field: str, message: str) -> StatesError:
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The value of the field '{field}' of the state '{state.name}' {message}",
    )


class JsonataStatesMixin(ExecutionMixin):
    """The JSONata-mode handlers of :class:`~stepline.engine._execution.Execution`."""

    # -------------------------------------------------------------------------- shared parts

    def bindings(self, frame: Frame, state: State, **states: Any) -> Bindings:
        """``$states`` for the state now: ``input``, ``context`` (only for the states whose
        expressions read it, see ``State.uses_context``), plus ``states``."""
        members = {"input": frame.input, **states}
        if state.uses_context:
            members["context"] = self.context_object(frame, state)
        return Bindings(members, frame.variables)

    def _leave(
        self,
        frame: Frame,
        state: State,
        bindings: Bindings,
        default_output: Any,
        *,
        target: str | Literal[False] | None = False,
        assign: Any = _STATE_ASSIGN,
        output: Any = None,
    ) -> int:
        """Evaluate ``Assign`` and ``Output`` (both on the state's entry values) and exit."""
        if assign is _STATE_ASSIGN:
            assign = state.assign
        values = assign(bindings) if assign is not None else None
        output = output or state.output
        output = output(bindings) if output is not None else default_output
        assigned = self._assign_values(frame, values) if values else None
        return self._exit(frame, state, output, assigned, target)

    def _scalar(self, state: State, field: str, static: Any, bindings: Bindings) -> Any:
        expression = state.expressions.get(field)
        return static if expression is None else expression(bindings)

    def _whole_number(
        self,
        state: State,
        field: str,
        static: Any,
        bindings: Bindings,
        minimum: int,
        *,
        maximum: int | None = None,
    ) -> int | None:
        value = self._scalar(state, field, static, bindings)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if type(value) is not int or value < minimum or (maximum is not None and value > maximum):
            limits = (
                f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            )
            raise _query_error(state, field, f"must be an integer {limits}, got {value!r}.")
        return value

    # ---------------------------------------------------------------------------- handlers

    def _run_pass_jsonata(self, frame: Frame, state: PassState) -> int:
        if state.passthrough:
            return self._exit(frame, state, frame.input)
        return self._leave(frame, state, self.bindings(frame, state), frame.input)

    def _run_succeed_jsonata(self, frame: Frame, state: SucceedState) -> int:
        return self._leave(frame, state, self.bindings(frame, state), frame.input)

    def _run_choice_jsonata(self, frame: Frame, state: ChoiceState) -> int:
        bindings = self.bindings(frame, state)
        for branch in state.choices:
            verdict = branch.condition(bindings)
            if type(verdict) is not bool:
                raise _query_error(state, "Condition", f"must be a boolean, got {verdict!r}.")
            if verdict:
                return self._leave(
                    frame,
                    state,
                    bindings,
                    frame.input,
                    target=branch.next,
                    assign=branch.assign,
                    output=branch.output,
                )
        if state.default is None:
            raise StatesError(
                NO_CHOICE_MATCHED,
                f"No Choice rule of the state '{state.name}' matched, and the state has no "
                "Default. Add a Default or a rule that covers this input.",
            )
        return self._leave(frame, state, bindings, frame.input, target=state.default)

    def _run_wait_jsonata(self, frame: Frame, state: WaitState) -> int:
        bindings = self.bindings(frame, state)
        if frame.resume is None:
            due = self._wait_due(state, bindings)
            if due > self.now():
                self._start_timer(frame, due, "wait")
                return BLOCKED
        frame.resume = None
        return self._leave(frame, state, bindings, frame.input)

    def _wait_due(self, state: WaitState, bindings: Bindings) -> float:
        if "Timestamp" in state.expressions or state.timestamp is not None:
            moment = state.timestamp
            if "Timestamp" in state.expressions:
                text = state.expressions["Timestamp"](bindings)
                moment = parse_timestamp(text) if isinstance(text, str) else None
                if moment is None:
                    raise _query_error(
                        state,
                        "Timestamp",
                        f"must be an ISO 8601 timestamp such as '2026-01-31T12:00:00Z', "
                        f"got {text!r}.",
                    )
            assert moment is not None
            return float(int(moment.timestamp()))
        seconds = self._whole_number(state, "Seconds", state.seconds, bindings, 0)
        return self.now() + (seconds or 0)

    def _run_fail_jsonata(self, frame: Frame, state: FailState) -> int:
        bindings = self.bindings(frame, state)
        error = self._scalar(state, "Error", state.error, bindings)
        cause = self._scalar(state, "Cause", state.cause, bindings)
        for field, value in (("Error", error), ("Cause", cause)):
            if value is not None and not isinstance(value, str):
                raise _query_error(state, field, f"must be a string, got {value!r}.")
        return self._fail_frame(frame, error, cause)

    def _run_task_jsonata(self, frame: Frame, state: TaskState) -> int:
        resume = frame.resume
        if resume is not None:
            frame.resume = None
            kind, value = resume
            if kind == "error":
                raise StatesError(value[0], value[1], retry_after=value[2])
            return self._finish_jsonata(frame, state, value)
        bindings = self.bindings(frame, state)
        token = self._task_token(state, bindings.states["context"])
        arguments = state.arguments(bindings) if state.arguments is not None else frame.input
        timeout = self._whole_number(state, "TimeoutSeconds", state.timeout_seconds, bindings, 1)
        heartbeat = self._whole_number(
            state, "HeartbeatSeconds", state.heartbeat_seconds, bindings, 1
        )
        return self._schedule_task(
            frame,
            state,
            arguments,
            timeout=timeout,
            heartbeat=heartbeat,
            context=bindings.states["context"],
            token=token,
        )

    def _finish_jsonata(self, frame: Frame, state: State, result: Any) -> int:
        """Exit a Task, Map or Parallel state with its result (``$states.result``)."""
        return self._leave(frame, state, self.bindings(frame, state, result=result), result)

    def _run_parallel_jsonata(self, frame: Frame, state: ParallelState) -> int:
        if frame.fanout is not None:  # the branches are done
            return self._fanout_done(frame, state, frame.fanout)
        bindings = self.bindings(frame, state)
        branch_input = state.arguments(bindings) if state.arguments is not None else frame.input
        return self._start_parallel(frame, state, branch_input)

    def _run_map_jsonata(self, frame: Frame, state: MapState) -> int:
        if frame.fanout is not None:  # the iterations are done
            return self._fanout_done(frame, state, frame.fanout)
        if frame.resume is not None:  # a map run (Distributed Map) reported back
            return self._map_run_ended(frame, state)
        bindings = self.bindings(frame, state)
        items = self._scalar(state, "Items", frame.input, bindings)
        if not isinstance(items, list):
            text = getattr(state.expressions.get("Items"), "expression_text", None)
            what = f"The JSONata expression '{text}'" if text else "The value"
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"{what} specified for the field 'Items' returned an unexpected result type. "
                f"Expected 'array', but was '{json_type(items)}'",
                "Items",
            )
        if state.batcher is not None:
            items = self._batch_jsonata(state, state.batcher, items, bindings)
        concurrency = self._whole_number(
            state, "MaxConcurrency", state.max_concurrency, bindings, 0
        )
        count = self._whole_number(
            state, "ToleratedFailureCount", state.tolerated_failure_count, bindings, 0
        )
        percentage = self._scalar(
            state, "ToleratedFailurePercentage", state.tolerated_failure_percentage, bindings
        )
        if percentage is not None and (
            isinstance(percentage, bool)
            or not isinstance(percentage, int | float)
            or not 0 <= percentage <= 100
        ):
            raise _query_error(
                state,
                "ToleratedFailurePercentage",
                f"must be a number from 0 to 100, got {percentage!r}.",
            )
        return self._start_map(
            frame,
            state,
            items,
            effective=frame.input,
            context=bindings,
            limits=(concurrency or 0, count, None if percentage is None else float(percentage)),
        )

    def _batch_jsonata(
        self, state: MapState, batcher: ItemBatcher, items: list[Any], bindings: Bindings
    ) -> list[Any]:
        """Group the items as ``ItemBatcher`` says (``ItemSelector`` applies to each item
        first, as in JSONPath); ``BatchInput`` is evaluated once, on the Map state's bindings."""
        max_items = self._whole_number(
            state, "ItemBatcher/MaxItemsPerBatch", batcher.max_items, bindings, 1
        )
        max_bytes = self._whole_number(
            state,
            "ItemBatcher/MaxInputBytesPerBatch",
            batcher.max_bytes,
            bindings,
            1,
            maximum=MAX_BATCH_BYTES,
        )
        batch_input_value = state.expressions.get("ItemBatcher/BatchInput")
        batch_input = batch_input_value(bindings) if batch_input_value is not None else None
        selector = state.expressions.get("ItemSelector")
        if selector is not None:
            items = [
                selector(item_bindings(bindings, index, item)) for index, item in enumerate(items)
            ]
        return group_into_batches(items, max_items, max_bytes, batch_input)

    def catch_jsonata(self, frame: Frame, state: State, catcher: Any, error_output: Any) -> int:
        """Leave a JSONata state through a Catch (``$states.errorOutput`` is the error)."""
        bindings = self.bindings(frame, state, errorOutput=error_output)
        values = catcher.assign(bindings) if catcher.assign is not None else None
        output = catcher.output(bindings) if catcher.output is not None else error_output
        assigned = self._assign_values(frame, values) if values else None
        return self._exit(frame, state, output, assigned, catcher.next)
