"""TestState's statuses: SUCCEEDED, FAILED, RETRIABLE (with its back-off) and CAUGHT_ERROR."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.teststate import test_state

TASK = "arn:aws:states:::stepline:work"


def mocked_error(
    state: dict[str, Any],
    error: str = "Boom",
    cause: str = "it broke",
    *,
    state_input: Any = None,
    retries: int | None = None,
    level: str = "DEBUG",
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "definition": json.dumps({"Type": "Task", "Resource": TASK, "Next": "After", **state}),
        "mock": {"errorOutput": {"error": error, "cause": cause}},
        "inspectionLevel": level,
        "input": json.dumps({"id": 1} if state_input is None else state_input),
    }
    if retries is not None:
        request["stateConfiguration"] = {"retrierRetryCount": retries}
    return test_state(request)


RETRY = [
    {"ErrorEquals": ["Other"], "IntervalSeconds": 9},
    {"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 3},
]


@pytest.mark.parametrize(("used", "backoff"), [(None, 2), (0, 2), (1, 4), (2, 8)])
def test_retriable_reports_the_retrier_and_its_backoff(used: int | None, backoff: int) -> None:
    response = mocked_error({"Retry": RETRY}, retries=used)
    assert response["status"] == "RETRIABLE"
    assert (response["error"], response["cause"]) == ("Boom", "it broke")
    assert "output" not in response
    assert "nextState" not in response
    assert response["inspectionData"]["errorDetails"] == {
        "retryIndex": 1,
        "retryBackoffIntervalSeconds": backoff,
    }


def test_retries_used_up_fall_through_to_the_catch() -> None:
    response = mocked_error(
        {"Retry": RETRY, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]},
        retries=3,
    )
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "Handle"


def test_retries_used_up_without_catch_fail() -> None:
    response = mocked_error({"Retry": RETRY}, retries=5)
    assert response["status"] == "FAILED"
    assert (response["error"], response["cause"]) == ("Boom", "it broke")
    assert "errorDetails" not in response["inspectionData"]


def test_backoff_is_capped_by_max_delay_and_ignores_jitter() -> None:
    retry = [
        {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 3,
            "BackoffRate": 3.0,
            "MaxDelaySeconds": 20,
            "JitterStrategy": "FULL",
            "MaxAttempts": 10,
        }
    ]
    figures = [
        mocked_error({"Retry": retry}, retries=count)["inspectionData"]["errorDetails"][
            "retryBackoffIntervalSeconds"
        ]
        for count in range(4)
    ]
    assert figures == [3, 9, 20, 20]


def test_fractional_backoff_is_rounded_half_up() -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1.5}]
    response = mocked_error({"Retry": retry}, retries=1)
    assert response["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 2


def test_max_attempts_zero_never_retries() -> None:
    response = mocked_error({"Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}]})
    assert response["status"] == "FAILED"


def test_caught_error_places_the_error_output_with_result_path() -> None:
    response = mocked_error(
        {
            "Catch": [
                {"ErrorEquals": ["Other"], "Next": "Elsewhere"},
                {"ErrorEquals": ["Boom"], "ResultPath": "$.failure", "Next": "Handle"},
            ]
        }
    )
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "Handle"
    assert (response["error"], response["cause"]) == ("Boom", "it broke")
    output = {"id": 1, "failure": {"Error": "Boom", "Cause": "it broke"}}
    assert json.loads(response["output"]) == output
    inspection = response["inspectionData"]
    assert inspection["errorDetails"] == {"catchIndex": 1}
    assert json.loads(inspection["afterResultPath"]) == output
    assert "result" not in inspection


def test_caught_error_with_result_path_null_keeps_the_input() -> None:
    response = mocked_error(
        {"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "H"}]}
    )
    assert json.loads(response["output"]) == {"id": 1}


def test_caught_error_in_jsonata_uses_the_catchers_output_and_assign() -> None:
    response = test_state(
        {
            "definition": json.dumps(
                {
                    "Type": "Task",
                    "QueryLanguage": "JSONata",
                    "Resource": TASK,
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Output": {"why": "{% $states.errorOutput.Cause %}"},
                            "Assign": {"failed": True},
                            "Next": "Handle",
                        }
                    ],
                    "End": True,
                }
            ),
            "mock": {"errorOutput": {"error": "E", "cause": "C"}},
            "variables": '{"kept": 1}',
            "inspectionLevel": "DEBUG",
        }
    )
    assert response["status"] == "CAUGHT_ERROR"
    assert json.loads(response["output"]) == {"why": "C"}
    assert json.loads(response["inspectionData"]["variables"]) == {"kept": 1, "failed": True}


def test_runtime_errors_are_neither_retried_nor_caught() -> None:
    response = test_state(
        {
            "definition": json.dumps(
                {
                    "Type": "Pass",
                    "InputPath": "$.missing",
                    "Next": "N",
                }
            ),
            "input": "{}",
        }
    )
    assert response["status"] == "FAILED"
    assert response["error"] == "States.Runtime"
    assert "TestState" in response["cause"]


def test_task_failed_matches_any_error_but_timeout() -> None:
    catch = [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}]
    assert mocked_error({"Catch": catch})["status"] == "CAUGHT_ERROR"
    assert mocked_error({"Catch": catch}, error="States.Timeout")["status"] == "FAILED"


def test_jsonata_evaluation_error_can_be_caught_with_the_engines_cause() -> None:
    response = test_state(
        {
            "definition": json.dumps(
                {
                    "Type": "Pass",
                    "QueryLanguage": "JSONata",
                    "Output": "{% $states.input.nothing.deeper %}",
                    "Next": "N",
                }
            ),
            "input": "{}",
        }
    )
    assert response["status"] == "FAILED"
    assert response["error"] == "States.QueryEvaluationError"
    task = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": TASK,
        "Arguments": "{% $error('bad') %}",
        "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "H"}],
        "End": True,
    }
    response = test_state({"definition": json.dumps(task), "mock": {"result": "{}"}})
    assert response["status"] == "CAUGHT_ERROR"
    assert response["cause"].startswith("An error occurred while executing the state")
    assert json.loads(response["output"])["Cause"] == response["cause"]


def test_info_level_status_has_no_details() -> None:
    response = mocked_error({"Retry": RETRY}, level="INFO")
    assert response == {"error": "Boom", "cause": "it broke", "status": "RETRIABLE"}
