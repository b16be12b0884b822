"""Distributed Map states run as *map runs*: child executions outside the execution itself.

In-process (the library, ``stepline run``) a Distributed Map runs its iterations as frames,
like an inline Map. A durable driver that runs child executions (the service) sets
:attr:`MapRunMixin.distributed_map_runs`; a Distributed Map state then asks for ONE effect, a
:class:`~stepline.engine.TaskEffect` with resource :data:`MAP_RUN_RESOURCE` and a task token,
whose parameters hold every child's input (``ItemSelector`` and ``ItemBatcher`` applied) and
the run's limits. The driver starts the map run with it (its answer, ``{"mapRunArn"}``, is the
submission: ``MapRunStarted``) and reports the map run's end through the token: the children's
outputs in item order (``MapRunSucceeded``, then ``MapStateSucceeded`` and the state's
ResultSelector/ResultPath/Output), or an error (``MapRunFailed``, ``MapStateFailed``, then the
state's Retry/Catch).
"""

from __future__ import annotations

from typing import Any, Final

from stepline.asl._errors import StatesError
from stepline.asl._model import MapState
from stepline.engine._frames import BLOCKED, Frame
from stepline.engine._jsonata_states import item_bindings
from stepline.engine._mixin_base import ExecutionMixin
from stepline.engine._ports import TaskEffect
from stepline.engine._tasks import MAP_RUN_FAMILY, new_task_token

__all__ = ["MAP_RUN_FAMILY", "MAP_RUN_RESOURCE", "MapRunMixin"]

MAP_RUN_RESOURCE: Final = "stepline:mapRun"
"""The resource of a map-run effect (never a state's ``Resource``: it is not an ARN)."""


class MapRunMixin(ExecutionMixin):
    """The Distributed-Map part of :class:`~stepline.engine._execution.Execution`."""

    distributed_map_runs: bool = False
    """Whether Distributed Map states become map-run effects (set by a driver that runs
    child executions); ``False`` runs them in-process like inline Maps."""

    def _child_inputs(
        self, state: MapState, items: list[Any], effective: Any, context: Any
    ) -> list[Any]:
        """Every child's input: ItemSelector applied per item (batches are final already)."""
        if state.batcher is not None:
            return items
        if state.jsonata:
            selector = state.expressions.get("ItemSelector")
            if selector is None:
                return items
            return [
                selector(item_bindings(context, index, item)) for index, item in enumerate(items)
            ]
        if state.item_selector is None:
            return items
        select = state.item_selector
        if context is None:
            return [select(effective, None) for _ in items]
        return [
            select(effective, context.with_map_item(index, item))
            for index, item in enumerate(items)
        ]

    def _start_map_run(
        self,
        frame: Frame,
        state: MapState,
        items: list[Any],
        *,
        effective: Any,
        context: Any,
        limits: tuple[int, int | None, float | None],
    ) -> int:
        """Ask the driver for a map run over ``items``; the frame waits for its outcome."""
        inputs = self._child_inputs(state, items, effective, context)
        self._emit_in(frame, "MapStateStarted", {"length": len(inputs)})
        concurrency, count, percentage = limits
        parameters = {
            "items": inputs,
            "stateName": state.name,
            "maxConcurrency": concurrency,
            "toleratedFailureCount": count if count is not None else 0,
            "toleratedFailurePercentage": float(percentage) if percentage is not None else 0.0,
        }
        effect_id = self._next_effect_id
        self._next_effect_id += 1
        effect = TaskEffect(
            id=effect_id,
            resource=MAP_RUN_RESOURCE,
            parameters=parameters,
            state_name=state.name,
            context={},
            identity=self.identity,
            region=getattr(self, "region", "us-east-1"),
            jsonata=state.jsonata,
            task_token=new_task_token(),
        )
        self._tasks[effect_id] = (frame, state, MAP_RUN_FAMILY, MAP_RUN_RESOURCE, effect)
        frame.pending_effect = effect_id
        self._effects.append(effect)
        return BLOCKED

    def _map_run_ended(self, frame: Frame, state: MapState) -> int:
        """The map run reported back (``frame.resume``): leave the Map state accordingly."""
        resume = frame.resume
        assert resume is not None
        frame.resume = None
        kind, value = resume
        if kind == "error":
            self._emit_in(frame, "MapStateFailed", None)
            raise StatesError(value[0], value[1])
        self._emit_in(frame, "MapStateSucceeded", None)
        if state.jsonata:
            return self._finish_jsonata(frame, state, value)
        return self._finish_with_result(frame, state, value, self._context(frame, state))
