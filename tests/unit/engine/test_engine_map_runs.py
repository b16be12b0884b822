"""Distributed Map states: in-process (frames) and as map-run effects (for the service).

In-process a Distributed Map runs its iterations as frames, with a Map Run's failure rule: a
failed child fails the state with ``States.ExceedToleratedFailureThreshold`` even when no
threshold is set. With ``distributed_map_runs`` the state asks for ONE map-run effect carrying
every child's input (ItemSelector and ItemBatcher applied) and the limits; its submission
records ``MapRunStarted`` (``MapRunRedriven`` for a redriven map run), its outcome
``MapRunSucceeded``/``MapRunFailed``, and the state then ends as any Map state would.
"""

from __future__ import annotations

from typing import Any

import orjson
from _engine_kit import failed, run, succeeded, types
from _engine_snapshot_kit import IDENTITY, T0, compiled, json_round_trip

from stepline.engine import Execution, TaskEffect
from stepline.engine._map_runs import MAP_RUN_RESOURCE

CONFIG = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def _distributed(processor_states: dict[str, Any], **fields: Any) -> dict[str, Any]:
    first = next(iter(processor_states))
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": CONFIG,
                    "StartAt": first,
                    "States": processor_states,
                },
                **fields,
            },
            **({"Caught": {"Type": "Pass", "End": True}} if "Catch" in fields else {}),
        },
    }


def _end(definition: dict[str, Any]) -> dict[str, Any]:
    if "Next" not in definition["States"]["Fan"]:
        definition["States"]["Fan"]["End"] = True
    return definition


FAIL = {"Boom": {"Type": "Fail", "Error": "Bad", "Cause": "bad item"}}
ECHO = {"Echo": {"Type": "Pass", "End": True}}


def test_in_process_a_failed_child_exceeds_the_default_threshold() -> None:
    result = run(_end(_distributed(FAIL)), [1])
    failed(result, "States.ExceedToleratedFailureThreshold", "tolerated failure threshold")


def test_in_process_a_distributed_map_runs_its_items_as_frames() -> None:
    result = run(_end(_distributed(ECHO, ItemBatcher={"MaxItemsPerBatch": 2})), [1, 2, 3])
    assert succeeded(result) == [{"Items": [1, 2]}, {"Items": [3]}]
    assert "MapRunStarted" not in types(result)


def _started(definition: dict[str, Any], value: Any) -> tuple[Execution, TaskEffect]:
    execution = Execution(compiled(definition), value, IDENTITY, lambda: T0)
    execution.distributed_map_runs = True
    (effect,) = execution.advance()
    assert isinstance(effect, TaskEffect)
    return execution, effect


def test_a_map_run_effect_carries_the_child_inputs_and_limits() -> None:
    definition = _end(
        _distributed(
            ECHO,
            ItemsPath="$.items",
            ItemSelector={"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "k.$": "$.k"},
            MaxConcurrency=3,
            ToleratedFailurePercentage=10,
        )
    )
    execution, effect = _started(definition, {"items": ["a", "b"], "k": 1})
    assert effect.resource == MAP_RUN_RESOURCE
    assert effect.task_token
    assert effect.parameters == {
        "items": [{"v": "a", "i": 0, "k": 1}, {"v": "b", "i": 1, "k": 1}],
        "stateName": "Fan",
        "maxConcurrency": 3,
        "toleratedFailureCount": 0,
        "toleratedFailurePercentage": 10.0,
    }
    assert [e.type for e in execution.events] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
    ]


def test_a_map_run_reports_back_through_its_effect_across_a_snapshot() -> None:
    definition = _end(
        _distributed(
            ECHO,
            ItemsPath="$.items",
            ResultPath="$.out",
            ResultSelector={"n.$": "States.ArrayLength($)"},
        )
    )
    execution, effect = _started(definition, {"items": [1, 2]})
    execution.task_submitted(effect.id, {"mapRunArn": "arn:x"})
    snapshot = json_round_trip(execution.snapshot())
    restored = Execution.restore(execution.definition, snapshot, IDENTITY, lambda: T0 + 1)
    restored.distributed_map_runs = True
    (again,) = restored.outstanding()
    assert isinstance(again, TaskEffect) and again.resource == MAP_RUN_RESOURCE
    assert again.task_token == effect.task_token and again.parameters == effect.parameters
    restored.complete_task(effect.id, [1, 2])
    restored.advance()
    assert restored.status == "SUCCEEDED"
    assert orjson.loads(restored.output_json or "") == {"items": [1, 2], "out": {"n": 2}}
    kinds = [e.type for e in execution.events] + [e.type for e in restored.events]
    assert kinds[3:] == [
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert execution.events[3].details == {"mapRunArn": "arn:x"}


def test_a_failed_map_run_fails_the_state_and_catch_applies() -> None:
    definition = _end(
        _distributed(
            ECHO,
            Catch=[{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Caught"}],
        )
    )
    execution, effect = _started(definition, [1])
    execution.task_submitted(effect.id, {"mapRunArn": "arn:x", "redriveCount": 2})
    execution.complete_task(
        effect.id, error="States.ExceedToleratedFailureThreshold", cause="too many"
    )
    execution.advance()
    assert execution.status == "SUCCEEDED"
    assert execution.output == {
        "Error": "States.ExceedToleratedFailureThreshold",
        "Cause": "too many",
    }
    by_type = {e.type: e.details for e in execution.events}
    assert by_type["MapRunRedriven"] == {"mapRunArn": "arn:x", "redriveCount": 2}
    assert by_type["MapRunFailed"] == {
        "error": "States.ExceedToleratedFailureThreshold",
        "cause": "too many",
    }
    assert "MapStateFailed" in by_type
