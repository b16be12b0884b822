"""A deterministic, step-by-step driver for the snapshot tests.

It plays the part of a durable worker without asyncio or a store: it advances an
:class:`Execution`, takes its new events, keeps the effects it waits on, and decides what
happens next (a task finishes, a timer fires, the deadline passes) from a seeded chooser and a
task-outcome function of the effect alone. Run twice with the same seed — once uninterrupted,
once snapshotting, JSON round-tripping and restoring — both runs must make the same choices
and record the same history, unless the engine loses something in the snapshot.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from stepline.asl import CompiledDefinition, compile_definition
from stepline.engine import Execution, ExecutionIdentity, TaskEffect, TimerEffect

T0 = 1_700_000_000.0
SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Snap"
IDENTITY = ExecutionIdentity(
    SM_ARN,
    "arn:aws:states:us-east-1:123456789012:execution:Snap:run-1",
    "arn:aws:iam::123456789012:role/snap",
)
MAX_STEPS = 2_000

# (result, error, cause) of a task, decided from its effect.
Outcome = tuple[Any, str | None, str | None]


def res(name: str) -> str:
    """A Task resource ARN (the engine only passes it through to the driver)."""
    return f"arn:aws:states:::stepline:{name}"


class Clock:
    """A clock that moves only when the driver moves it."""

    def __init__(self) -> None:
        self.value = T0

    def now(self) -> float:
        return self.value


def json_round_trip(snapshot: Mapping[str, Any]) -> Any:
    """The snapshot as a store would give it back: through JSON text."""
    return orjson.loads(orjson.dumps(snapshot))


def seeded_outcome(seed: int) -> Callable[[TaskEffect], Outcome]:
    """Task outcomes that depend on the seed and the effect's id and parameters only."""

    def outcome(effect: TaskEffect) -> Outcome:
        key = orjson.dumps([seed, effect.id, effect.state_name, effect.parameters])
        pick = random.Random(key).random()
        if pick < 0.6:
            return ({"ok": effect.id, "n": pick}, None, None)
        if pick < 0.8:
            return (None, "Boom", f"attempt {effect.id} failed")
        if pick < 0.9:
            return (None, "States.Timeout", "The task did not finish in time.")
        return (None, "Other.Error", "something else")

    return outcome


@dataclass
class Run:
    """What a drive produced."""

    execution: Execution
    history: list[tuple[int, int, float, str, Any]] = field(default_factory=list)
    snapshots: int = 0
    restored_effects: list[list[TaskEffect | TimerEffect]] = field(default_factory=list)

    def summary(self) -> tuple[Any, ...]:
        ex = self.execution
        return (ex.status, ex.output, ex.error, ex.cause, ex.transitions, ex.stop_time)


@dataclass
class Driver:
    """Drives one execution to its end (see the module docstring).

    Args:
        definition: The compiled definition.
        execution_input: The execution input.
        seed: Seeds the choices and the task outcomes.
        restore_when: Called after every step with the step number; when it says yes, the
            execution is snapshotted, sent through JSON and restored (and the driver forgets
            everything it knew about pending effects: it re-learns them from ``outstanding()``).
        outcome: Task outcomes (by default :func:`seeded_outcome` of the seed).
        keep_events: Passed to the execution (and to every restore).
    """

    definition: CompiledDefinition
    execution_input: Any
    seed: int = 0
    restore_when: Callable[[int], bool] = lambda step: False
    outcome: Callable[[TaskEffect], Outcome] | None = None
    keep_events: bool = True
    on_restore: Callable[[Execution, Any], None] | None = None

    def run(self) -> Run:
        clock = Clock()
        rng = random.Random(self.seed)  # retry jitter: one generator across restores
        chooser = random.Random(self.seed + 1)
        outcome = self.outcome or seeded_outcome(self.seed)
        execution = Execution(
            self.definition,
            self.execution_input,
            IDENTITY,
            clock.now,
            rng=rng,
            keep_events=self.keep_events,
        )
        run = Run(execution)
        tasks: dict[int, TaskEffect] = {}
        timers: dict[int, float] = {}

        def take(effects: list[TaskEffect | TimerEffect]) -> None:
            for effect in effects:
                if isinstance(effect, TimerEffect):
                    timers[effect.id] = effect.due
                else:
                    tasks[effect.id] = effect
            for effect_id in execution.take_cancelled():
                tasks.pop(effect_id, None)
                timers.pop(effect_id, None)
            for event in execution.take_new_events():
                run.history.append(
                    (event.id, event.previous_event_id, event.timestamp, event.type, event.details)
                )

        def checkpoint(step: int) -> None:
            nonlocal execution
            take([])
            if not self.restore_when(step):
                return
            snapshot = json_round_trip(execution.snapshot())
            execution = Execution.restore(
                self.definition,
                snapshot,
                IDENTITY,
                clock.now,
                rng=rng,
                keep_events=self.keep_events,
            )
            # Nothing is lost in the round trip: the restored execution describes itself the
            # same way, and waits on exactly what the driver was waiting for.
            assert json_round_trip(execution.snapshot()) == snapshot
            outstanding = execution.outstanding()
            assert {e.id for e in outstanding if isinstance(e, TaskEffect)} == set(tasks)
            assert {e.id: e.due for e in outstanding if isinstance(e, TimerEffect)} == timers
            for effect in outstanding:
                if isinstance(effect, TaskEffect):
                    before = tasks[effect.id]
                    assert effect.parameters == before.parameters
                    assert effect.state_name == before.state_name
                    assert dict(effect.context) == dict(before.context)
                    assert effect.timeout_seconds == before.timeout_seconds
            tasks.clear()
            timers.clear()
            for effect in outstanding:  # a new worker knows only what the snapshot says
                if isinstance(effect, TimerEffect):
                    timers[effect.id] = effect.due
                else:
                    tasks[effect.id] = effect
            run.snapshots += 1
            run.restored_effects.append(outstanding)
            run.execution = execution
            if self.on_restore is not None:
                self.on_restore(execution, snapshot)

        step = 0
        take(execution.advance())
        checkpoint(step)
        while not execution.done:
            step += 1
            assert step < MAX_STEPS, "the execution does not end"
            assert tasks or timers, "running, but waiting on nothing"
            deadline = execution.deadline
            next_due = min(timers.values()) if timers else None
            if deadline is not None and clock.value >= deadline:
                execution.time_out()
            elif tasks and (not timers or chooser.random() < 0.7):
                effect_id = chooser.choice(sorted(tasks))
                effect = tasks.pop(effect_id)
                clock.value += chooser.choice([0.0, 0.25, 1.5])
                if deadline is not None and clock.value >= deadline:
                    tasks[effect_id] = effect  # still running when time ran out
                    execution.time_out()
                else:
                    result, error, cause = outcome(effect)
                    execution.complete_task(effect_id, result, error=error, cause=cause)
            else:
                assert next_due is not None
                if deadline is not None and next_due >= deadline:
                    clock.value = max(clock.value, deadline)
                    execution.time_out()
                else:
                    effect_id = min(timers, key=lambda i: (timers[i], i))
                    del timers[effect_id]
                    clock.value = max(clock.value, next_due)
                    execution.fire_timer(effect_id)
            checkpoint(step)
            if execution.done:
                break
            step += 1
            take(execution.advance())
            checkpoint(step)
        take([])
        run.execution = execution
        return run


def compiled(definition: Mapping[str, Any]) -> CompiledDefinition:
    """Compile a definition (it must be valid)."""
    return compile_definition(definition)
