"""Mocks: Task results and errors, Map and Parallel states, and the field validation modes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.teststate import TestStateError, test_state

ITEMS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def run_mocked(
    state: dict[str, Any], mock: dict[str, Any], state_input: Any = None, **request: Any
) -> dict[str, Any]:
    return test_state(
        {
            "definition": json.dumps(state),
            "mock": mock,
            "input": json.dumps({} if state_input is None else state_input),
            "inspectionLevel": "DEBUG",
            **request,
        }
    )


def parsed(response: dict[str, Any], field: str) -> Any:
    return json.loads(response["inspectionData"][field])


# --- Task ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["STRICT", "PRESENT", "NONE"])
@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::aws-sdk:s3:getObject",
        "arn:aws:states:::http:invoke",
        "arn:aws:states:::stepline:custom",
        "arn:aws:states:us-east-1:123456789012:activity:review",
        "arn:aws:states:::ecs:runTask.sync",
    ],
)
def test_task_mock_result_is_the_tasks_result_in_every_mode(resource: str, mode: str) -> None:
    # stepline has no AWS API models: every mode accepts any JSON result (see the docs).
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "ResultPath": "$.r", "End": True}
    if resource.endswith("http:invoke"):
        state["Parameters"] = {
            "ApiEndpoint": "https://api.example.com/x",
            "Method": "GET",
            "Authentication": {
                "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"
            },
        }
    response = run_mocked(
        state,
        {"result": '{"anything": [1, 2]}', "fieldValidationMode": mode},
        {"a": 1},
    )
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {"a": 1, "r": {"anything": [1, 2]}}
    assert parsed(response, "result") == {"anything": [1, 2]}


def test_task_mock_error_without_handlers_fails() -> None:
    response = run_mocked(
        {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True},
        {"errorOutput": {"error": "Lambda.ServiceException"}},
    )
    assert response["status"] == "FAILED"
    assert response["error"] == "Lambda.ServiceException"
    assert response["cause"] == ""


def test_a_mocked_task_never_calls_its_handler() -> None:
    calls: list[Any] = []
    resource = "arn:aws:states:::stepline:counted"
    response = test_state(
        {
            "definition": json.dumps({"Type": "Task", "Resource": resource, "End": True}),
            "mock": {"result": "1"},
        },
        tasks={resource: calls.append},
    )
    assert response["output"] == "1"
    assert calls == []


# --- Map -------------------------------------------------------------------------------------

MAP = {
    "Type": "Map",
    "InputPath": "$.order",
    "ItemsPath": "$.lines",
    "ItemSelector": {
        "sku.$": "$$.Map.Item.Value.sku",
        "index.$": "$$.Map.Item.Index",
        "currency.$": "$.currency",
    },
    "MaxConcurrency": 2,
    "ToleratedFailureCount": 1,
    "ItemProcessor": ITEMS,
    "ResultSelector": {"count.$": "States.ArrayLength($)"},
    "ResultPath": "$.summary",
    "Next": "Ship",
}
ORDER = {"order": {"currency": "EUR", "lines": [{"sku": "a"}, {"sku": "b"}]}}


def test_mocked_map_shows_its_map_steps() -> None:
    response = run_mocked(MAP, {"result": '["x", "y"]'}, ORDER)
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "Ship"
    assert json.loads(response["output"]) == {**ORDER, "summary": {"count": 2}}
    data = response["inspectionData"]
    assert json.loads(data["afterInputPath"]) == ORDER["order"]
    assert json.loads(data["afterItemsPath"]) == ORDER["order"]["lines"]
    assert json.loads(data["afterItemSelector"]) == [
        {"sku": "a", "index": 0, "currency": "EUR"},
        {"sku": "b", "index": 1, "currency": "EUR"},
    ]
    assert json.loads(data["result"]) == ["x", "y"]
    assert json.loads(data["afterResultSelector"]) == {"count": 2}
    assert data["maxConcurrency"] == 2
    assert data["toleratedFailureCount"] == 1


def test_mocked_map_with_batcher_shows_the_batches() -> None:
    state = {
        "Type": "Map",
        "ItemBatcher": {"MaxItemsPerBatch": 2},
        "ItemProcessor": {
            **ITEMS,
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        },
        "End": True,
    }
    response = run_mocked(state, {"result": "[1, 2]"}, [1, 2, 3])
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["inspectionData"]["afterItemBatcher"]) == [
        {"Items": [1, 2]},
        {"Items": [3]},
    ]


@pytest.mark.parametrize(
    ("mode", "result", "accepted"),
    [
        ("STRICT", "[1, 2]", True),
        ("STRICT", "[1]", False),
        ("STRICT", '{"a": 1}', False),
        ("PRESENT", "[1]", True),
        ("PRESENT", '"text"', False),
        ("NONE", '"text"', True),
    ],
)
def test_map_mock_result_by_validation_mode(mode: str, result: str, accepted: bool) -> None:
    mock = {"result": result, "fieldValidationMode": mode}
    state = {key: value for key, value in MAP.items() if key != "ResultSelector"}
    if accepted:
        assert run_mocked(state, mock, ORDER)["status"] == "SUCCEEDED"
    else:
        with pytest.raises(TestStateError) as caught:
            run_mocked(state, mock, ORDER)
        assert caught.value.code == "ValidationException"
        assert "mocked result of the Map state" in caught.value.message


def test_map_items_not_an_array_fails_like_the_engine() -> None:
    response = run_mocked(MAP, {"result": "[]"}, {"order": {"lines": 3}})
    assert (response["status"], response["error"]) == ("FAILED", "States.Runtime")


@pytest.mark.parametrize(
    ("failures", "status"), [(0, "SUCCEEDED"), (1, "SUCCEEDED"), (2, "FAILED")]
)
def test_map_iteration_failures_against_the_threshold(failures: int, status: str) -> None:
    response = run_mocked(
        MAP,
        {"result": "[1, 2]"},
        ORDER,
        stateConfiguration={"mapIterationFailureCount": failures},
    )
    assert response["status"] == status
    if status == "FAILED":
        assert response["error"] == "States.ExceedToleratedFailureThreshold"


def test_map_iteration_failures_by_percentage_and_without_threshold() -> None:
    state = {**MAP, "ToleratedFailurePercentage": 50}
    del state["ToleratedFailureCount"]
    config = {"mapIterationFailureCount": 1}
    response = run_mocked(state, {"result": "[1, 2]"}, ORDER, stateConfiguration=config)
    assert response["status"] == "SUCCEEDED"
    assert response["inspectionData"]["toleratedFailurePercentage"] == 50.0
    plain = {key: value for key, value in MAP.items() if key != "ToleratedFailureCount"}
    response = run_mocked(plain, {"result": "[1, 2]"}, ORDER, stateConfiguration=config)
    assert response["error"] == "States.ExceedToleratedFailureThreshold"


def test_map_iteration_failures_over_the_item_count_are_refused() -> None:
    with pytest.raises(TestStateError) as caught:
        run_mocked(
            MAP, {"result": "[1, 2]"}, ORDER, stateConfiguration={"mapIterationFailureCount": 3}
        )
    assert caught.value.code == "ValidationException"


def test_mocked_map_error_is_retried_and_caught() -> None:
    state = {
        **MAP,
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 5}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
    }
    mock = {"errorOutput": {"error": "States.TaskFailed", "cause": "an item failed"}}
    response = run_mocked(state, mock, ORDER, stateConfiguration={"errorCausedByState": "P"})
    assert response["status"] == "RETRIABLE"
    assert response["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 5,
    }
    response = run_mocked(state, mock, ORDER, stateConfiguration={"retrierRetryCount": 3})
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "Recover"


def test_jsonata_map() -> None:
    state = {
        "Type": "Map",
        "QueryLanguage": "JSONata",
        "Items": "{% $states.input.xs %}",
        "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}"},
        "ItemProcessor": ITEMS,
        "Output": "{% $count($states.result) %}",
        "End": True,
    }
    response = run_mocked(state, {"result": "[1, 2, 3]"}, {"xs": [1, 2, 3]})
    assert response["output"] == "3"
    data = response["inspectionData"]
    assert json.loads(data["afterItemSelector"]) == [{"v": 10}, {"v": 20}, {"v": 30}]
    assert "afterItemsPath" not in data


# --- Parallel --------------------------------------------------------------------------------

PARALLEL = {
    "Type": "Parallel",
    "Parameters": {"x.$": "$.x"},
    "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
    ],
    "ResultPath": "$.both",
    "Next": "Join",
}


def test_mocked_parallel() -> None:
    response = run_mocked(PARALLEL, {"result": "[1, 2]"}, {"x": 1})
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "Join"
    assert json.loads(response["output"]) == {"x": 1, "both": [1, 2]}
    assert parsed(response, "afterParameters") == {"x": 1}
    assert parsed(response, "result") == [1, 2]


def test_parallel_mock_strict_needs_one_result_per_branch() -> None:
    with pytest.raises(TestStateError) as caught:
        run_mocked(PARALLEL, {"result": "[1]"}, {"x": 1})
    assert "2 branches" in caught.value.message
    response = run_mocked(PARALLEL, {"result": "[1]", "fieldValidationMode": "PRESENT"}, {"x": 1})
    assert response["status"] == "SUCCEEDED"


def test_mocked_parallel_error() -> None:
    response = run_mocked(
        PARALLEL,
        {"errorOutput": {"error": "States.BranchFailed", "cause": "B broke"}},
        {"x": 1},
        stateConfiguration={"errorCausedByState": "B"},
    )
    assert (response["status"], response["error"], response["cause"]) == (
        "FAILED",
        "States.BranchFailed",
        "B broke",
    )


def test_jsonata_parallel_shows_arguments() -> None:
    state = {
        "Type": "Parallel",
        "QueryLanguage": "JSONata",
        "Arguments": {"y": "{% $states.input.x + 1 %}"},
        "Branches": PARALLEL["Branches"],
        "End": True,
    }
    response = run_mocked(state, {"result": "[1, 2]"}, {"x": 1})
    assert parsed(response, "afterArguments") == {"y": 2}
    assert response["output"] == "[1,2]"
