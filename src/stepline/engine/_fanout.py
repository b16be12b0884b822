"""Parallel and Map states: start children, collect their outputs, fail or tolerate failures.

Children are frames of their own, run by the same loop as everything else. A Parallel state
fails as soon as one branch fails (the others are aborted) with that branch's error; a Map state
does the same unless its tolerated-failure threshold allows the failure, in which case the
iteration's error output ``{"Error", "Cause"}`` stands in its result slot.
"""

from __future__ import annotations

from typing import Any

from stepline.asl._errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    StatesError,
)
from stepline.asl._json import json_type
from stepline.asl._model import ItemBatcher, MapState, ParallelState
from stepline.engine._batching import group_into_batches
from stepline.engine._frames import BLOCKED, Fanout, Frame
from stepline.engine._io import apply_input_path, select
from stepline.engine._jsonata_states import item_bindings
from stepline.engine._mixin_base import ExecutionMixin

__all__ = ["FanoutMixin"]


class FanoutMixin(ExecutionMixin):
    """The Parallel- and Map-state part of :class:`~stepline.engine._execution.Execution`."""

    # ------------------------------------------------------------------------------ Parallel

    def _run_parallel(self, frame: Frame, state: ParallelState) -> int:
        fanout = frame.fanout
        if fanout is not None:
            return self._fanout_done(frame, state, fanout)
        context = self._context(frame, state)
        effective = apply_input_path(state, frame.input, context)
        if state.parameters is not None:
            effective = state.parameters(effective, context)
        return self._start_parallel(frame, state, effective)

    def _start_parallel(self, frame: Frame, state: ParallelState, effective: Any) -> int:
        """Start every branch on ``effective`` (the input after InputPath/Parameters or
        Arguments)."""
        self._emit_in(frame, "ParallelStateStarted", None)
        fanout = Fanout(state, frame.input, effective, len(state.branches))
        frame.fanout = fanout
        for index, branch in enumerate(state.branches):
            child = Frame(branch, effective, frame, index, frame.last_event_id)
            fanout.children[index] = child
            fanout.running += 1
            self._ready.append(child)
        return BLOCKED

    # ----------------------------------------------------------------------------------- Map

    def _run_map(self, frame: Frame, state: MapState) -> int:
        fanout = frame.fanout
        if fanout is not None:
            return self._fanout_done(frame, state, fanout)
        if frame.resume is not None:  # a map run (Distributed Map) reported back
            return self._map_run_ended(frame, state)
        context = self._context(frame, state)
        effective = apply_input_path(state, frame.input, context)
        items = effective
        if state.items_path is not None:
            items = select(state.items_path, "ItemsPath", effective, context)
        if not isinstance(items, list):
            where = state.items_path.text if state.items_path is not None else "$"
            raise StatesError(
                RUNTIME,
                f"The ItemsPath '{where}' of the Map state '{state.name}' must select an "
                f"array, but it selected a {type(items).__name__}.",
            )
        if state.batcher is not None:
            items = self._batch(state, state.batcher, items, effective, context)
        concurrency = self._map_number(
            state,
            state.max_concurrency,
            state.max_concurrency_path,
            "MaxConcurrencyPath",
            effective=effective,
            context=context,
        )
        count = None
        if state.tolerated_failure_count is not None or state.tolerated_failure_count_path:
            count = self._map_number(
                state,
                state.tolerated_failure_count or 0,
                state.tolerated_failure_count_path,
                "ToleratedFailureCountPath",
                effective=effective,
                context=context,
            )
        percentage = state.tolerated_failure_percentage
        if state.tolerated_failure_percentage_path is not None:
            percentage = self._map_percentage(state, effective, context)
        return self._start_map(
            frame,
            state,
            items,
            effective=effective,
            context=context,
            limits=(concurrency, count, percentage),
        )

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
        """Start the iterations over ``items``.

        Args:
            frame: The frame running the Map state.
            state: The Map state.
            items: What to iterate over (must be an array).
            effective: The input ItemSelector reads (JSONPath) / ``$states.input`` (JSONata).
            context: The context object (JSONPath) or the bindings (JSONata) of the state.
            limits: MaxConcurrency (0: none), tolerated failure count and percentage.
        """
        if not isinstance(items, list):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The Items of the Map state '{state.name}' must be an array, got "
                f"{json_type(items)}.",
            )
        if state.mode == "DISTRIBUTED" and self.distributed_map_runs:
            return self._start_map_run(
                frame, state, items, effective=effective, context=context, limits=limits
            )
        fanout = Fanout(state, frame.input, effective, len(items))
        fanout.concurrency, fanout.tolerated_count, fanout.tolerated_percentage = limits
        fanout.context = context
        self._emit_in(frame, "MapStateStarted", {"length": len(items)})
        frame.fanout = fanout
        if not items:
            return self._fanout_done(frame, state, fanout)
        fanout.waiting.extend(enumerate(items))
        limit = fanout.concurrency or len(items)
        while fanout.waiting and fanout.running < limit:
            self._start_iteration(frame, state, fanout)
        return BLOCKED

    def _batch(
        self, state: MapState, batcher: ItemBatcher, items: list[Any], effective: Any, context: Any
    ) -> list[Any]:
        """Group the items as ``ItemBatcher`` says; each batch becomes one child's input.

        ``ItemSelector`` applies to each item before batching, so the batches are final inputs
        and :meth:`_start_iteration` must not apply it again (it sees ``state.batcher``).
        """
        max_items = self._map_number(
            state,
            batcher.max_items or 0,
            batcher.max_items_path,
            "MaxItemsPerBatchPath",
            effective=effective,
            context=context,
        )
        max_bytes = self._map_number(
            state,
            batcher.max_bytes or 0,
            batcher.max_bytes_path,
            "MaxInputBytesPerBatchPath",
            effective=effective,
            context=context,
        )
        batch_input = (
            batcher.batch_input(effective, context) if batcher.batch_input is not None else None
        )
        selected = []
        for index, item in enumerate(items):
            if state.item_selector is None:
                selected.append(item)
                continue
            item_context = context.with_map_item(index, item) if context is not None else None
            selected.append(state.item_selector(effective, item_context))
        return group_into_batches(selected, max_items, max_bytes, batch_input)

    def _map_number(
        self,
        state: MapState,
        static: int,
        path: Any,
        field: str,
        *,
        effective: Any,
        context: Any,
    ) -> int:
        if path is None:
            return static
        value = select(path, field, effective, context)
        if type(value) is not int or value < 0:
            raise StatesError(
                RUNTIME,
                f"The {field} '{path.text}' of the Map state '{state.name}' must select a "
                f"non-negative integer, got {value!r}.",
            )
        return value

    def _map_percentage(self, state: MapState, effective: Any, context: Any) -> float:
        path = state.tolerated_failure_percentage_path
        assert path is not None
        value = select(path, "ToleratedFailurePercentagePath", effective, context)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise StatesError(
                RUNTIME,
                f"The ToleratedFailurePercentagePath '{path.text}' of the Map state "
                f"'{state.name}' must select a number from 0 to 100, got {value!r}.",
            )
        return float(value)

    def _start_iteration(self, frame: Frame, state: MapState, fanout: Fanout) -> None:
        index, item = fanout.waiting.popleft()
        if state.jsonata:
            selector = state.expressions.get("ItemSelector")
            if selector is None or state.batcher is not None:  # batches are final inputs
                iteration_input = item
            else:
                iteration_input = selector(item_bindings(fanout.context, index, item))
        elif state.item_selector is not None and state.batcher is None:
            context = fanout.context
            if context is not None:
                context = context.with_map_item(index, item)
            iteration_input = state.item_selector(fanout.effective_input, context)
        else:
            iteration_input = item
        events = self._events
        events.append(
            (
                frame.last_event_id,
                self.now(),
                "MapIterationStarted",
                {"name": state.name, "index": index},
            )
        )
        child = Frame(state.processor, iteration_input, frame, index, len(events))
        fanout.children[index] = child
        fanout.running += 1
        self._ready.append(child)

    # ------------------------------------------------------------- children reporting back

    def _child_succeeded(self, child: Frame, output: Any) -> None:
        parent = child.parent
        assert parent is not None
        fanout = parent.fanout
        if fanout is None or fanout.error is not None:
            return
        fanout.results[child.index] = output
        self._child_ended(parent, child, fanout, "MapIterationSucceeded")

    def _child_failed(self, child: Frame, error: str, cause: str) -> None:
        parent = child.parent
        assert parent is not None
        fanout = parent.fanout
        if fanout is None or fanout.error is not None:
            return
        state = fanout.state
        fanout.failed[child.index] = child  # a redrive runs it again from its failed state
        if isinstance(state, MapState):
            fanout.failures += 1
            if self._tolerated(fanout):
                fanout.results[child.index] = {"Error": error, "Cause": cause}
                self._child_ended(parent, child, fanout, "MapIterationFailed")
                return
            self._emit(
                child.last_event_id,
                "MapIterationFailed",
                {"name": state.name, "index": child.index},
            )
            if (
                fanout.tolerated_count is not None
                or fanout.tolerated_percentage is not None
                or state.mode == "DISTRIBUTED"  # a Map Run fails so even with no threshold set
            ):
                error = EXCEED_TOLERATED_FAILURE_THRESHOLD
                cause = (
                    f"The Map state '{state.name}' failed because {fanout.failures} of "
                    f"{fanout.total} iterations failed, more than its tolerated failure "
                    "threshold allows."
                )
        fanout.children.pop(child.index, None)
        fanout.error = (error, cause)
        self._abort_children(parent, fanout)
        self._ready.append(parent)

    def _tolerated(self, fanout: Fanout) -> bool:
        """Whether the failures so far are within every threshold set (AWS: exceeding either
        fails the Map)."""
        count, percentage = fanout.tolerated_count, fanout.tolerated_percentage
        if count is None and percentage is None:
            return False
        if count is not None and fanout.failures > count:
            return False
        return not (percentage is not None and fanout.failures * 100.0 > percentage * fanout.total)

    def _child_ended(self, parent: Frame, child: Frame, fanout: Fanout, event: str) -> None:
        state = fanout.state
        index = child.index
        if fanout.is_map:
            self._events.append(
                (child.last_event_id, self.now(), event, {"name": state.name, "index": index})
            )
        del fanout.children[index]
        fanout.running -= 1
        fanout.remaining -= 1
        if fanout.waiting:
            self._start_iteration(parent, state, fanout)  # type: ignore[arg-type]
        elif fanout.remaining == 0:
            self._ready.append(parent)

    def _abort_children(self, parent: Frame, fanout: Fanout) -> None:
        state = fanout.state
        for index, child in list(fanout.children.items()):
            self._abort_frame(child)
            fanout.failed[index] = child  # a redrive resumes it
            if isinstance(state, MapState):
                self._emit(
                    child.last_event_id, "MapIterationAborted", {"name": state.name, "index": index}
                )
        fanout.children.clear()
        # ``waiting`` stays: nothing starts from a failed fan-out, and a redrive starts these.

    def _abort_frame(self, frame: Frame) -> None:
        """Mark a frame and its descendants aborted and cancel what they wait on."""
        frame.aborted = True
        if frame.pending_effect is not None:
            effect_id = frame.pending_effect
            frame.pending_effect = None
            if (
                self._tasks.pop(effect_id, None) is not None
                or self._timers.pop(effect_id, None) is not None
            ):
                self._cancelled.append(effect_id)
        if frame.fanout is not None:
            for child in frame.fanout.children.values():
                self._abort_frame(child)

    def _fanout_done(self, frame: Frame, state: ParallelState | MapState, fanout: Fanout) -> int:
        frame.fanout = None
        kind = "Map" if isinstance(state, MapState) else "Parallel"
        if fanout.error is not None:
            frame.redrive = fanout
            self._emit_in(frame, kind + "StateFailed", None)
            raise StatesError(*fanout.error)
        self._emit_in(frame, kind + "StateSucceeded", None)
        if state.jsonata:
            return self._finish_jsonata(frame, state, fanout.results)
        context = self._context(frame, state)
        return self._finish_with_result(frame, state, fanout.results, context)
