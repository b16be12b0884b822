"""Durable executions: snapshot, restore, the effects still awaited, and events as they come.

Part of :class:`~stepline.engine._execution.Execution` (as a mixin). A durable driver claims an
execution, restores it from its last committed snapshot (:meth:`DurableMixin.restore`),
re-issues what it still waits on (:meth:`DurableMixin.outstanding`), and after each step
commits the new events (:meth:`DurableMixin.take_new_events`) together with a new snapshot
(:meth:`DurableMixin.snapshot`). The snapshot format is described in
:mod:`stepline.engine._snapshot`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

from stepline.asl._model import CompiledDefinition
from stepline.engine._event_log import EventLog
from stepline.engine._history import HistoryEvent
from stepline.engine._mixin_base import ExecutionMixin
from stepline.engine._ports import TaskEffect, TimerEffect
from stepline.engine._snapshot import restore_into, take_snapshot

if TYPE_CHECKING:
    from stepline.engine._execution import ExecutionIdentity

__all__ = ["DurableMixin"]

# The same default as the constructor's (kept here to avoid an import cycle).
_DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024


def _effect_id(effect: TaskEffect | TimerEffect) -> int:
    return effect.id


class DurableMixin(ExecutionMixin):
    """What a durable driver needs of :class:`~stepline.engine._execution.Execution`."""

    if TYPE_CHECKING:
        _keep_events: bool
        _taken: int

        def _setup(
            self,
            definition: CompiledDefinition,
            identity: ExecutionIdentity,
            now: Callable[[], float],
            max_payload_bytes: int,
            *,
            rng: random.Random | None,
            keep_events: bool,
        ) -> None: ...

    @classmethod
    def restore(
        cls,
        definition: CompiledDefinition,
        snapshot: Mapping[str, Any],
        identity: ExecutionIdentity,
        now: Callable[[], float],
        *,
        max_payload_bytes: int = _DEFAULT_MAX_PAYLOAD_BYTES,
        rng: random.Random | None = None,
        keep_events: bool = True,
    ) -> Self:
        """Rebuild an execution from :meth:`snapshot` (after a JSON round trip, in any process).

        The restored execution holds no events from before the snapshot (the store has them);
        new events continue their numbering. Call :meth:`outstanding` for the tasks and timers
        it still waits on, and re-issue them.

        Args:
            definition: The very definition the execution started with.
            snapshot: What :meth:`snapshot` returned.
            identity: The execution's ARNs and role.
            now: The clock.
            max_payload_bytes: The payload quota.
            rng: Randomness for retry jitter from now on.
            keep_events: As for the constructor.

        Raises:
            SnapshotError: The snapshot has an unknown format version, was taken with another
                definition or of another execution, or is damaged.
        """
        execution = cls.__new__(cls)
        execution._setup(
            definition, identity, now, max_payload_bytes, rng=rng, keep_events=keep_events
        )
        restore_into(execution, snapshot)  # type: ignore[arg-type]
        return execution

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue this execution, as JSON values (format version 1).

        Take it between calls (after :meth:`advance`, :meth:`complete_task`,
        :meth:`fire_timer`…), together with :meth:`take_new_events`: the two describe the same
        moment. See :mod:`stepline.engine._snapshot` for the format.
        """
        return take_snapshot(self)  # type: ignore[arg-type]

    def outstanding(self) -> list[TaskEffect | TimerEffect]:
        """The effects the execution still waits on, by id: tasks scheduled without an outcome
        (to be run again after a restore, with their original ids and parameters) and timers
        with their due times. Empty once the execution has ended."""
        if self.status != "RUNNING":
            return []
        effects: list[TaskEffect | TimerEffect] = [entry[4] for entry in self._tasks.values()]
        effects.extend(
            TimerEffect(effect_id, due) for effect_id, (_, _, due) in self._timers.items()
        )
        effects.sort(key=_effect_id)
        return effects

    def take_new_events(self) -> list[HistoryEvent]:
        """The events recorded since the last call (since creation or restore at first).

        With ``keep_events=False`` the execution then forgets them, so a long execution driven
        durably holds only the events of its current step in memory.
        """
        events = self._events
        held = list.__len__(events)
        first = len(events) - held  # id of the first held event, minus one
        taken = self._taken
        new = [
            HistoryEvent(first + position + 1, *events[position])
            for position in range(taken - first, held)
        ]
        self._taken = first + held
        if not self._keep_events:
            assert isinstance(events, EventLog)
            events.drop_held()
        return new
