"""Redrive in the engine: a closed, unsuccessful execution continues from its unsuccessful
state(s) — the history goes on, successful states are not run again, inline Map and Parallel
rerun only what did not succeed, retry counters and the execution timeout start afresh, and the
redrive point survives a snapshot round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _engine_snapshot_kit import IDENTITY, Clock, compiled, json_round_trip, res
from hypothesis import given, settings
from hypothesis import strategies as st

from stepline.engine import Execution, RedriveError, TaskEffect, TimerEffect

# A task's behaviour: effect -> (result, error, cause).
Behaviour = Callable[[TaskEffect], tuple[Any, str | None, str | None]]


def _drive(execution: Execution, clock: Clock, behaviour: Behaviour, calls: list[Any]) -> None:
    """Run until the execution ends: tasks answer at once, timers fire as the clock reaches
    them (bounded by a step count)."""
    timers: dict[int, float] = {}
    for _ in range(10_000):
        for effect in execution.advance():
            if isinstance(effect, TimerEffect):
                timers[effect.id] = effect.due
                continue
            calls.append((effect.state_name, effect.parameters))
            result, error, cause = behaviour(effect)
            execution.complete_task(effect.id, result, error=error, cause=cause)
        for effect_id in execution.take_cancelled():
            timers.pop(effect_id, None)
        if execution.done:
            return
        if timers and not execution._ready:
            effect_id = min(timers, key=timers.__getitem__)
            clock.value = max(clock.value, timers.pop(effect_id))
            execution.fire_timer(effect_id)
    raise AssertionError("the execution did not end")


def _fails_until_fixed(fixed: list[bool], failing: Callable[[TaskEffect], bool]) -> Behaviour:
    def behaviour(effect: TaskEffect) -> tuple[Any, str | None, str | None]:
        if not fixed[0] and failing(effect):
            return None, "Remote.Down", f"{effect.state_name} is down"
        return {"from": effect.state_name, "got": effect.parameters}, None, None

    return behaviour


def _types(execution: Execution) -> list[str]:
    return [event.type for event in execution.events]


LINE: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"order": 7}, "Next": "Call"},
        "Call": {
            "Type": "Task",
            "Resource": res("call"),
            "Parameters": {"order.$": "$.order", "redrives.$": "$$.Execution.RedriveCount"},
            "ResultPath": "$.call",
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def test_a_failed_task_reruns_from_the_failed_state_only() -> None:
    clock = Clock()
    fixed = [False]
    behaviour = _fails_until_fixed(fixed, lambda effect: True)
    execution = Execution(compiled(LINE), {}, IDENTITY, clock.now)
    calls: list[Any] = []
    _drive(execution, clock, behaviour, calls)
    assert execution.status == "FAILED"
    assert execution.redrivable
    failed_count = execution.event_count

    fixed[0] = True
    clock.value += 60
    execution.redrive()
    assert execution.status == "RUNNING"
    assert execution.error is None and execution.stop_time is None
    _drive(execution, clock, behaviour, calls)

    assert execution.status == "SUCCEEDED"
    assert execution.redrive_count == 1
    assert execution.output == {
        "order": 7,
        "call": {"from": "Call", "got": {"order": 7, "redrives": 1}},
    }
    events = execution.events
    redriven = events[failed_count]
    assert redriven.type == "ExecutionRedriven"
    assert redriven.id == failed_count + 1
    assert redriven.previous_event_id == failed_count
    assert redriven.details == {"redriveCount": 1}
    after = [event.type for event in events[failed_count + 1 :]]
    assert "PassStateEntered" in after  # Done
    assert after[0] == "TaskStateEntered"
    entered = [e.details["name"] for e in events[failed_count:] if e.type.endswith("Entered")]
    assert entered == ["Call", "Done"]  # Prepare is not run again
    assert [name for name, _ in calls] == ["Call", "Call"]
    # The state's original input: the Call state saw the same input both times.
    first_entered = [e for e in events if e.type == "TaskStateEntered"]
    assert first_entered[0].details["input"] == first_entered[1].details["input"]


def test_redrive_survives_a_snapshot_round_trip_and_can_repeat() -> None:
    clock = Clock()
    fixed = [False]
    behaviour = _fails_until_fixed(fixed, lambda effect: True)
    execution = Execution(compiled(LINE), {}, IDENTITY, clock.now, keep_events=False)
    calls: list[Any] = []
    _drive(execution, clock, behaviour, calls)
    execution.take_new_events()

    for count in (1, 2):
        restored = Execution.restore(
            execution.definition,
            json_round_trip(execution.snapshot()),
            IDENTITY,
            clock.now,
            keep_events=False,
        )
        assert restored.status == "FAILED" and restored.redrivable
        restored.redrive()
        assert restored.redrive_count == count
        new = restored.take_new_events()
        assert new[0].type == "ExecutionRedriven"
        assert new[0].details == {"redriveCount": count}
        if count == 2:
            fixed[0] = True
        _drive(restored, clock, behaviour, calls)
        execution = restored
    assert execution.status == "SUCCEEDED"
    assert [name for name, _ in calls] == ["Call", "Call", "Call"]
    assert calls[-1][1] == {"order": 7, "redrives": 2}


MAP: dict[str, Any] = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Double",
                "States": {
                    "Double": {"Type": "Pass", "Parameters": {"n.$": "$"}, "Next": "Work"},
                    "Work": {"Type": "Task", "Resource": res("work"), "End": True},
                },
            },
            "End": True,
        }
    },
}


def _item_of(effect: TaskEffect) -> Any:
    return effect.parameters["n"] if isinstance(effect.parameters, dict) else None


def test_an_inline_map_reruns_only_its_unsuccessful_iterations() -> None:
    clock = Clock()
    fixed = [False]
    behaviour = _fails_until_fixed(fixed, lambda effect: _item_of(effect) in (1, 3))
    execution = Execution(compiled(MAP), {"items": [0, 1, 2, 3]}, IDENTITY, clock.now)
    calls: list[Any] = []
    _drive(execution, clock, behaviour, calls)
    assert execution.status == "FAILED"
    failed_count = execution.event_count
    ran_before = len(calls)

    fixed[0] = True
    execution.redrive()
    _drive(execution, clock, behaviour, calls)
    assert execution.status == "SUCCEEDED"
    assert execution.output == [{"from": "Work", "got": {"n": n}} for n in range(4)]
    rerun = [params["n"] for _, params in calls[ran_before:]]
    # Iteration 0 succeeded before 1 failed; 1 failed; 2 and 3 were aborted by that failure.
    assert rerun == [1, 2, 3]
    after = execution.events[failed_count:]
    entered = [e.details["name"] for e in after if e.type.endswith("StateEntered")]
    assert "Each" not in entered and "Double" not in entered  # resumed where they stopped
    assert [e.type for e in after][-3:] == [
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


def test_a_tolerated_failure_map_over_threshold_reruns_the_failed_iterations() -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                **MAP["States"]["Each"],
                "ToleratedFailureCount": 1,
            }
        },
    }
    clock = Clock()
    fixed = [False]
    behaviour = _fails_until_fixed(fixed, lambda effect: _item_of(effect) in (0, 2, 3))
    execution = Execution(compiled(definition), {"items": [0, 1, 2, 3]}, IDENTITY, clock.now)
    calls: list[Any] = []
    _drive(execution, clock, behaviour, calls)
    assert execution.error == "States.ExceedToleratedFailureThreshold"
    fixed[0] = True
    restored = Execution.restore(
        execution.definition, json_round_trip(execution.snapshot()), IDENTITY, clock.now
    )
    restored.redrive()
    before = len(calls)
    _drive(restored, clock, behaviour, calls)
    assert restored.status == "SUCCEEDED"
    assert restored.output == [{"from": "Work", "got": {"n": n}} for n in range(4)]
    assert 1 not in [params["n"] for _, params in calls[before:]]


PARALLEL: dict[str, Any] = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Left",
                    "States": {"Left": {"Type": "Task", "Resource": res("left"), "End": True}},
                },
                {
                    "StartAt": "Step",
                    "States": {
                        "Step": {"Type": "Pass", "Result": "r", "Next": "Right"},
                        "Right": {"Type": "Task", "Resource": res("right"), "End": True},
                    },
                },
            ],
            "End": True,
        }
    },
}


def test_a_parallel_state_reruns_only_the_failed_branch_from_its_failed_state() -> None:
    clock = Clock()
    fixed = [False]
    behaviour = _fails_until_fixed(fixed, lambda effect: effect.state_name == "Right")
    execution = Execution(compiled(PARALLEL), {}, IDENTITY, clock.now)
    calls: list[Any] = []
    _drive(execution, clock, behaviour, calls)
    assert execution.status == "FAILED"
    failed_count = execution.event_count
    fixed[0] = True
    execution.redrive()
    before = len(calls)
    _drive(execution, clock, behaviour, calls)
    assert execution.status == "SUCCEEDED"
    assert [name for name, _ in calls[before:]] == ["Right"]
    entered = [
        e.details["name"]
        for e in execution.events[failed_count:]
        if e.type.endswith("StateEntered")
    ]
    assert entered == ["Right"]
    assert execution.output == [
        {"from": "Left", "got": {}},
        {"from": "Right", "got": "r"},
    ]


def test_retry_counters_start_again_on_redrive() -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": res("call"),
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                "End": True,
            }
        },
    }
    clock = Clock()
    execution = Execution(compiled(definition), {}, IDENTITY, clock.now)
    calls: list[Any] = []
    down = _fails_until_fixed([False], lambda effect: True)
    _drive(execution, clock, down, calls)
    assert len(calls) == 2  # the attempt and its one retry
    execution.redrive()
    _drive(execution, clock, down, calls)
    assert len(calls) == 4  # the retry is available again
    assert execution.status == "FAILED" and execution.redrive_count == 1


def test_the_execution_timeout_counts_again_from_the_redrive() -> None:
    definition = {
        "TimeoutSeconds": 30,
        "StartAt": "Hold",
        "States": {"Hold": {"Type": "Wait", "Seconds": 20, "End": True}},
    }
    clock = Clock()
    execution = Execution(compiled(definition), {}, IDENTITY, clock.now)
    execution.advance()
    clock.value += 30
    execution.time_out()
    assert execution.status == "TIMED_OUT" and execution.redrivable
    clock.value += 100
    execution.redrive()
    assert execution.deadline == clock.value + 30
    effects = execution.advance()
    assert [type(effect) for effect in effects] == [TimerEffect]  # the Wait runs again
    assert effects[0].due == clock.value + 20
    execution.fire_timer(effects[0].id)
    execution.advance()
    assert execution.status == "SUCCEEDED"


def test_an_execution_stopped_outside_the_engine_redrives_from_its_last_step() -> None:
    """A durable driver's StopExecution writes ExecutionAborted itself: the last snapshot
    is still RUNNING, and the redrive continues after the stored events."""
    clock = Clock()
    execution = Execution(compiled(LINE), {}, IDENTITY, clock.now, keep_events=False)
    [task] = execution.advance()
    assert isinstance(task, TaskEffect)
    stored = execution.take_new_events()
    snapshot = json_round_trip(execution.snapshot())
    aborted_id = stored[-1].id + 1  # the store's ExecutionAborted

    restored = Execution.restore(
        execution.definition, snapshot, IDENTITY, clock.now, keep_events=False
    )
    with pytest.raises(RedriveError, match="RUNNING"):
        restored.redrive()
    restored.redrive(1, previous_event_id=aborted_id)
    new = restored.take_new_events()
    assert (new[0].id, new[0].previous_event_id, new[0].type) == (
        aborted_id + 1,
        aborted_id,
        "ExecutionRedriven",
    )
    calls: list[Any] = []
    _drive(restored, clock, _fails_until_fixed([True], lambda effect: False), calls)
    assert restored.status == "SUCCEEDED"
    assert [name for name, _ in calls] == ["Call"]
    assert restored.take_new_events()[0].id == aborted_id + 2


def test_an_aborted_execution_reruns_the_task_that_was_in_flight() -> None:
    clock = Clock()
    execution = Execution(compiled(MAP), {"items": [0, 1]}, IDENTITY, clock.now)
    effects = execution.advance()
    execution.complete_task(effects[0].id, {"done": 0})
    execution.advance()
    execution.abort("Operator.Stop", "stopped for maintenance")
    assert execution.status == "ABORTED"
    execution.redrive()
    calls: list[Any] = []
    _drive(execution, clock, _fails_until_fixed([True], lambda effect: False), calls)
    assert execution.status == "SUCCEEDED"
    assert [params["n"] for _, params in calls] == [1]
    assert execution.output == [{"done": 0}, {"from": "Work", "got": {"n": 1}}]


def test_a_succeeded_or_running_execution_cannot_be_redriven() -> None:
    clock = Clock()
    running = Execution(compiled(LINE), {}, IDENTITY, clock.now)
    running.advance()
    with pytest.raises(RedriveError, match="RUNNING"):
        running.redrive()
    done = Execution(
        compiled({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        {},
        IDENTITY,
        clock.now,
    )
    done.advance()
    assert not done.redrivable
    with pytest.raises(RedriveError, match="SUCCEEDED"):
        done.redrive()


def test_a_fail_state_fails_again_and_a_choice_is_evaluated_again() -> None:
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Stop"}],
            },
            "Stop": {"Type": "Fail", "Error": "Stopped", "Cause": "on purpose"},
        },
    }
    clock = Clock()
    execution = Execution(compiled(definition), {"go": False}, IDENTITY, clock.now)
    execution.advance()
    assert execution.error == "States.NoChoiceMatched"
    execution.redrive()
    execution.advance()
    assert execution.error == "States.NoChoiceMatched"  # the same input, evaluated again
    assert _types(execution).count("ChoiceStateEntered") == 2


def test_a_map_that_failed_with_data_limit_exceeded_runs_again_whole() -> None:
    clock = Clock()
    big = [False]

    def behaviour(effect: TaskEffect) -> tuple[Any, str | None, str | None]:
        if big[0] and _item_of(effect) == 1:
            return None, "States.DataLimitExceeded", "too big"
        return effect.parameters, None, None

    big[0] = True
    execution = Execution(compiled(MAP), {"items": [0, 1, 2]}, IDENTITY, clock.now)
    calls: list[Any] = []
    _drive(execution, clock, behaviour, calls)
    assert execution.error == "States.DataLimitExceeded"
    big[0] = False
    before = len(calls)
    execution.redrive()
    _drive(execution, clock, behaviour, calls)
    assert execution.status == "SUCCEEDED"
    assert sorted(params["n"] for _, params in calls[before:]) == [0, 1, 2]


NESTED: dict[str, Any] = {
    "StartAt": "Prep",
    "States": {
        "Prep": {"Type": "Pass", "Next": "Outer"},
        "Outer": {
            "Type": "Map",
            "ItemsPath": "$.groups",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "Inner",
                "States": {
                    "Inner": {
                        "Type": "Parallel",
                        "Branches": [
                            {
                                "StartAt": "A",
                                "States": {
                                    "A": {
                                        "Type": "Task",
                                        "Resource": res("a"),
                                        "Retry": [
                                            {"ErrorEquals": ["Remote.Down"], "MaxAttempts": 1}
                                        ],
                                        "End": True,
                                    }
                                },
                            },
                            {
                                "StartAt": "B",
                                "States": {
                                    "B": {"Type": "Task", "Resource": res("b"), "End": True}
                                },
                            },
                        ],
                        "End": True,
                    }
                },
            },
            "Next": "After",
        },
        "After": {"Type": "Pass", "End": True},
    },
}


@settings(max_examples=40, deadline=None)
@given(
    groups=st.lists(st.integers(0, 9), min_size=1, max_size=5),
    down=st.sets(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 9)), max_size=6),
    round_trip=st.booleans(),
)
def test_redriving_after_transient_failures_gives_the_output_of_a_run_that_never_failed(
    groups: list[int], down: set[tuple[str, int]], round_trip: bool
) -> None:
    """Whatever fails (and however often a redrive fails again), redriving once the failures
    are gone ends with exactly the output of a run that never failed."""

    def answer(effect: TaskEffect) -> Any:
        return {"state": effect.state_name, "input": effect.parameters}

    clean_clock = Clock()
    clean = Execution(compiled(NESTED), {"groups": groups}, IDENTITY, clean_clock.now)
    _drive(clean, clean_clock, lambda e: (answer(e), None, None), [])
    assert clean.status == "SUCCEEDED"

    clock = Clock()
    failures = set(down)

    def flaky(effect: TaskEffect) -> tuple[Any, str | None, str | None]:
        key = (effect.state_name, effect.parameters)
        if key in failures:
            failures.discard(key)  # each failure is transient: it happens once
            return None, "Remote.Down", "try later"
        return answer(effect), None, None

    execution = Execution(compiled(NESTED), {"groups": groups}, IDENTITY, clock.now)
    _drive(execution, clock, flaky, [])
    for _ in range(len(down) + 1):
        if execution.status == "SUCCEEDED":
            break
        if round_trip:
            execution = Execution.restore(
                execution.definition, json_round_trip(execution.snapshot()), IDENTITY, clock.now
            )
        execution.redrive()
        _drive(execution, clock, flaky, [])
    assert execution.status == "SUCCEEDED"
    assert execution.output == clean.output


def test_an_execution_stopped_before_its_first_state_redrives_from_the_start() -> None:
    """A durable driver with no snapshot yet rebuilds the execution from its input: the
    redrive then runs from StartAt, after the stored ExecutionStarted and ExecutionAborted."""
    clock = Clock()
    execution = Execution(compiled(LINE), {}, IDENTITY, clock.now, keep_events=False)
    execution.take_new_events()  # ExecutionStarted, stored already
    execution.redrive(1, previous_event_id=2)
    new = execution.take_new_events()
    assert [(e.id, e.type) for e in new] == [(3, "ExecutionRedriven")]
    calls: list[Any] = []
    _drive(execution, clock, _fails_until_fixed([True], lambda effect: False), calls)
    assert execution.status == "SUCCEEDED"
    entered = [e.details["name"] for e in execution.take_new_events() if e.type.endswith("Entered")]
    assert entered == ["Prepare", "Call", "Done"]
