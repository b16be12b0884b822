"""Execution snapshots: targeted cases (mid-Map, mid-Parallel, back-off, tasks in flight, Wait,
variables, the execution deadline), the event feed, and the refusals (other definition, other
execution, unknown version, damaged snapshot)."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from _engine_snapshot_kit import (
    IDENTITY,
    T0,
    Clock,
    Driver,
    compiled,
    json_round_trip,
    res,
)

from stepline.engine import Execution, ExecutionIdentity, TaskEffect, TimerEffect
from stepline.engine._snapshot import SnapshotError, decode_snapshot, encode_snapshot


def _always(result: Any) -> Any:
    return lambda effect: (result, None, None)


def _same_as_uninterrupted(definition: dict[str, Any], execution_input: Any, **kwargs: Any) -> Any:
    """Run uninterrupted and restored after every step; assert the runs agree; return both."""
    machine = compiled(definition)
    plain = Driver(machine, execution_input, **kwargs).run()
    every = Driver(machine, execution_input, restore_when=lambda step: True, **kwargs).run()
    assert every.history == plain.history
    assert every.summary() == plain.summary()
    return plain, every


def _start(definition: dict[str, Any], execution_input: Any, clock: Clock) -> Execution:
    return Execution(compiled(definition), execution_input, IDENTITY, clock.now)


def _restore(execution: Execution, clock: Clock, **kwargs: Any) -> Execution:
    snapshot = json_round_trip(execution.snapshot())
    return Execution.restore(execution.definition, snapshot, IDENTITY, clock.now, **kwargs)


MAP_OF_TASKS: dict[str, Any] = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ToleratedFailureCount": 1,
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": res("work"), "End": True}},
            },
            "End": True,
        }
    },
}


def test_restore_mid_map_with_iterations_done_running_and_waiting() -> None:
    clock = Clock()
    execution = _start(MAP_OF_TASKS, {"items": [1, 2, 3, 4, 5]}, clock)
    first, second = execution.advance()
    assert isinstance(first, TaskEffect) and isinstance(second, TaskEffect)
    execution.complete_task(first.id, {"done": 1})
    execution.advance()  # iteration 2 starts as iteration 0 ends
    execution.complete_task(second.id, error="Boom", cause="tolerated")
    execution.advance()

    snapshot = json_round_trip(execution.snapshot())
    (fanout_frame,) = [f for f in snapshot["frames"] if "fanout" in f]
    fanout = fanout_frame["fanout"]
    assert fanout["results"][:2] == [{"done": 1}, {"Error": "Boom", "Cause": "tolerated"}]
    assert [index for index, _ in fanout["waiting"]] == [4]
    assert fanout["failures"] == 1 and fanout["running"] == 2

    restored = Execution.restore(execution.definition, snapshot, IDENTITY, clock.now)
    outstanding = restored.outstanding()
    assert [e.id for e in outstanding] == [e.id for e in execution.outstanding()]
    assert [e.parameters for e in outstanding] == [3, 4]
    for effect in outstanding:
        restored.complete_task(effect.id, effect.parameters * 10)
        restored.advance()
    (last,) = restored.outstanding()
    assert last.parameters == 5
    restored.complete_task(last.id, 50)
    restored.advance()
    assert restored.status == "SUCCEEDED"
    assert restored.output == [{"done": 1}, {"Error": "Boom", "Cause": "tolerated"}, 30, 40, 50]
    assert restored.events[0].id == snapshot["events"] + 1


def test_map_with_concurrency_and_tolerance_matches_the_uninterrupted_run() -> None:
    for seed in range(5):
        _same_as_uninterrupted(MAP_OF_TASKS, {"items": list(range(6))}, seed=seed)


def test_restore_mid_parallel() -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {
                            "A": {"Type": "Task", "Resource": res("a"), "Next": "A2"},
                            "A2": {"Type": "Wait", "Seconds": 5, "End": True},
                        },
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Task", "Resource": res("b"), "End": True}},
                    },
                ],
                "ResultPath": "$.both",
                "End": True,
            }
        },
    }
    clock = Clock()
    execution = _start(definition, {"x": 1}, clock)
    task_a, task_b = execution.advance()
    execution.complete_task(task_a.id, "a")
    (timer,) = execution.advance()
    assert isinstance(timer, TimerEffect)
    restored = _restore(execution, clock)
    assert {e.id for e in restored.outstanding()} == {task_b.id, timer.id}
    restored.complete_task(task_b.id, "b")
    assert restored.advance() == []
    clock.value = timer.due
    restored.fire_timer(timer.id)
    restored.advance()
    assert restored.status == "SUCCEEDED"
    assert restored.output == {"x": 1, "both": ["a", "b"]}
    _same_as_uninterrupted(definition, {"x": 1}, outcome=_always("r"))


RETRYING_TASK: dict[str, Any] = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": res("flaky"),
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 4, "MaxAttempts": 3}],
            "End": True,
        }
    },
}


def test_restore_mid_retry_back_off_keeps_the_timer_and_the_count() -> None:
    clock = Clock()
    execution = _start(RETRYING_TASK, {}, clock)
    (first,) = execution.advance()
    clock.value += 1
    execution.complete_task(first.id, error="Boom", cause="try again")
    (timer,) = execution.advance()
    assert isinstance(timer, TimerEffect) and timer.due == T0 + 1 + 4

    restored = _restore(execution, clock)
    assert restored.outstanding() == [TimerEffect(timer.id, T0 + 5)]
    clock.value = timer.due
    restored.fire_timer(timer.id)
    (second,) = restored.advance()
    assert second.id == timer.id + 1
    assert second.context["State"]["RetryCount"] == 1
    restored.complete_task(second.id, error="Boom", cause="again")
    (timer2,) = restored.advance()
    assert isinstance(timer2, TimerEffect)
    assert timer2.due == T0 + 5 + 8  # the back-off doubled: the retry count survived


def test_task_in_flight_is_reissued_with_its_id_and_parameters_and_completes() -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": res("work"),
                "Parameters": {"order.$": "$.order", "name.$": "$$.Execution.Name"},
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 10,
                "ResultPath": "$.result",
                "End": True,
            }
        },
    }
    clock = Clock()
    execution = _start(definition, {"order": 7}, clock)
    (effect,) = execution.advance()
    assert isinstance(effect, TaskEffect)
    restored = _restore(execution, clock)
    (again,) = restored.outstanding()
    assert isinstance(again, TaskEffect)
    assert (again.id, again.resource, again.state_name) == (effect.id, effect.resource, "Call")
    assert again.parameters == {"order": 7, "name": "run-1"}
    assert (again.timeout_seconds, again.heartbeat_seconds) == (30, 10)
    assert dict(again.context) == dict(effect.context)
    assert again.identity is IDENTITY
    restored.complete_task(again.id, {"paid": True})
    assert restored.advance() == []
    assert restored.output == {"order": 7, "result": {"paid": True}}
    types = [event.type for event in restored.events]
    assert types == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]


def test_outcome_reported_but_not_yet_advanced_survives() -> None:
    clock = Clock()
    execution = _start(RETRYING_TASK, {}, clock)
    (effect,) = execution.advance()
    execution.complete_task(effect.id, {"v": 1})
    restored = _restore(execution, clock)
    assert restored.outstanding() == []
    restored.advance()
    assert restored.output == {"v": 1}


def test_wait_timer_survives() -> None:
    definition = {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "ok", "End": True},
        },
    }
    clock = Clock()
    execution = _start(definition, {}, clock)
    (timer,) = execution.advance()
    restored = _restore(execution, clock)
    assert restored.outstanding() == [TimerEffect(timer.id, T0 + 60)]
    clock.value = T0 + 60
    restored.fire_timer(timer.id)
    restored.advance()
    assert restored.output == "ok"
    _same_as_uninterrupted(definition, {})


def test_variables_in_scopes_survive() -> None:
    definition = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"total": 100, "tag": "outer"}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Mine",
                    "States": {
                        "Mine": {
                            "Type": "Pass",
                            "Assign": {"tag.$": "States.Format('item {}', $)"},
                            "Next": "Work",
                        },
                        "Work": {
                            "Type": "Task",
                            "Resource": res("work"),
                            "Parameters": {"tag.$": "$tag", "total.$": "$total"},
                            "End": True,
                        },
                    },
                },
                "ResultPath": "$.results",
                "Next": "After",
            },
            "After": {"Type": "Pass", "Parameters": {"tag.$": "$tag"}, "End": True},
        },
    }
    clock = Clock()
    execution = _start(definition, {"items": [1, 2]}, clock)
    execution.advance()
    snapshot = json_round_trip(execution.snapshot())
    by_state = {frame["state"]: frame for frame in snapshot["frames"]}
    assert by_state["Each"]["variables"] == {"total": 100, "tag": "outer"}
    assert by_state["Work"]["variables"] == {"total": 100, "tag": "item 1"}
    restored = Execution.restore(execution.definition, snapshot, IDENTITY, clock.now)
    (again,) = restored.outstanding()
    assert isinstance(again, TaskEffect)
    assert again.parameters == {"tag": "item 1", "total": 100}
    restored.complete_task(again.id, "one")
    (second,) = restored.advance()
    assert isinstance(second, TaskEffect)
    assert second.parameters == {"tag": "item 2", "total": 100}
    restored = _restore(restored, clock)
    restored.complete_task(second.id, "two")
    restored.advance()
    assert restored.output == {"tag": "outer"}
    _same_as_uninterrupted(definition, {"items": [1, 2, 3]}, outcome=_always("r"))


def test_execution_deadline_survives() -> None:
    definition = {
        "TimeoutSeconds": 10,
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 60, "End": True}},
    }
    clock = Clock()
    execution = _start(definition, {}, clock)
    execution.advance()
    restored = _restore(execution, clock)
    assert restored.deadline == T0 + 10
    assert restored.start_time == T0
    plain, _ = _same_as_uninterrupted(definition, {})
    assert plain.execution.status == "TIMED_OUT"


def test_jsonata_map_with_batches_and_variables_matches_the_uninterrupted_run() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"base": 10}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value + $base %}"},
                "ItemBatcher": {"MaxItemsPerBatch": 2},
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": res("work"),
                            "Arguments": {"batch": "{% $states.input.Items %}"},
                            "End": True,
                        }
                    },
                },
                "End": True,
            },
        },
    }
    plain, _ = _same_as_uninterrupted(
        definition, {"items": [1, 2, 3, 4, 5]}, outcome=lambda e: (e.parameters, None, None)
    )
    assert plain.execution.output == [
        {"batch": [{"v": 11}, {"v": 12}]},
        {"batch": [{"v": 13}, {"v": 14}]},
        {"batch": [{"v": 15}]},
    ]


def test_jitter_draws_continue_from_the_generator_given_to_restore() -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": res("work"),
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 4, "JitterStrategy": "FULL"}
                ],
                "End": True,
            }
        },
    }
    _same_as_uninterrupted(definition, {}, outcome=lambda e: (None, "Boom", "no"))


# ----------------------------------------------------------------------------- the event feed


def test_take_new_events_feeds_each_event_once_and_numbering_continues_after_restore() -> None:
    clock = Clock()
    execution = Execution(compiled(RETRYING_TASK), {}, IDENTITY, clock.now, keep_events=False)
    (effect,) = execution.advance()
    taken = execution.take_new_events()
    assert [e.type for e in taken][:2] == ["ExecutionStarted", "TaskStateEntered"]
    assert execution.take_new_events() == []
    assert execution.events == []  # dropped once taken
    assert execution.event_count == len(taken)
    restored = _restore(execution, clock, keep_events=False)
    restored.complete_task(effect.id, "done")
    restored.advance()
    more = restored.take_new_events()
    ids = [e.id for e in taken + more]
    assert ids == list(range(1, len(ids) + 1))
    assert more[0].previous_event_id == taken[-1].id


def test_keeping_events_after_a_restore_holds_only_the_new_ones() -> None:
    clock = Clock()
    execution = _start(RETRYING_TASK, {}, clock)
    (effect,) = execution.advance()
    count = execution.event_count
    restored = _restore(execution, clock)
    restored.complete_task(effect.id, "x")
    restored.advance()
    assert [e.id for e in restored.events] == list(range(count + 1, restored.event_count + 1))
    assert [e.id for e in restored.take_new_events()] == [e.id for e in restored.events]


def test_finished_execution_round_trips() -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    clock = Clock()
    execution = _start(definition, {"a": [1, 2.5, None]}, clock)
    execution.advance()
    restored = _restore(execution, clock)
    assert (restored.status, restored.output, restored.output_json) == (
        "SUCCEEDED",
        {"a": [1, 2.5, None]},
        execution.output_json,
    )
    assert restored.outstanding() == []
    assert restored.stop_time == execution.stop_time


def test_snapshot_bytes_keep_wide_integers_exact() -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    clock = Clock()
    wide = 123456789012345678901234567890
    execution = _start(definition, {"id": wide}, clock)
    execution.advance()
    data = encode_snapshot(execution.snapshot())
    snapshot = decode_snapshot(data)
    assert snapshot["input"] == {"id": wide}
    restored = Execution.restore(execution.definition, snapshot, IDENTITY, clock.now)
    (timer,) = restored.outstanding()
    assert isinstance(timer, TimerEffect)
    clock.value = timer.due
    restored.fire_timer(timer.id)
    restored.advance()
    assert restored.output == {"id": wide}
    assert decode_snapshot(orjson.dumps({"v": 1})) == {"v": 1}


# ------------------------------------------------------------------------------ refusals


def _snapshot_of(definition: dict[str, Any]) -> tuple[Any, Clock]:
    clock = Clock()
    execution = _start(definition, {}, clock)
    execution.advance()
    return json_round_trip(execution.snapshot()), clock


def test_another_definition_is_refused_clearly() -> None:
    snapshot, clock = _snapshot_of(RETRYING_TASK)
    renamed = {"StartAt": "Other", "States": {"Other": RETRYING_TASK["States"]["Call"]}}
    with pytest.raises(SnapshotError, match="different state machine definition"):
        Execution.restore(compiled(renamed), snapshot, IDENTITY, clock.now)


def test_another_execution_is_refused() -> None:
    snapshot, clock = _snapshot_of(RETRYING_TASK)
    other = ExecutionIdentity(IDENTITY.state_machine_arn, IDENTITY.execution_arn + "x", "r")
    with pytest.raises(SnapshotError, match="belongs to the execution"):
        Execution.restore(compiled(RETRYING_TASK), snapshot, other, clock.now)


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_unknown_versions_are_refused(version: Any) -> None:
    snapshot, clock = _snapshot_of(RETRYING_TASK)
    snapshot["v"] = version
    with pytest.raises(SnapshotError, match=r"format version .* reads version 1 only"):
        Execution.restore(compiled(RETRYING_TASK), snapshot, IDENTITY, clock.now)


def test_damaged_snapshot_is_refused() -> None:
    snapshot, clock = _snapshot_of(RETRYING_TASK)
    snapshot["frames"][0]["state"] = "Nowhere"
    with pytest.raises(SnapshotError, match="damaged"):
        Execution.restore(compiled(RETRYING_TASK), snapshot, IDENTITY, clock.now)
    with pytest.raises(SnapshotError, match="JSON object"):
        decode_snapshot(b"[1]")


def test_restore_at_every_step_with_a_seeded_rng_matches_for_many_seeds() -> None:
    rng = random.Random(5)
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "M", "States": {"M": MAP_OF_TASKS["States"]["Each"]}},
                    {"StartAt": "R", "States": {"R": RETRYING_TASK["States"]["Call"]}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    for _ in range(10):
        _same_as_uninterrupted(definition, {"items": [1, 2, 3]}, seed=rng.randrange(1000))
