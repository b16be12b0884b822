"""Workflow variables in TestState: supplied ones are visible, assigned ones are shown after."""

from __future__ import annotations

import json
from typing import Any

from stepline.teststate import test_state


def run(
    state: dict[str, Any], variables: Any = None, state_input: Any = None, **request: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "definition": json.dumps(state),
        "inspectionLevel": "DEBUG",
        "input": json.dumps({} if state_input is None else state_input),
        **request,
    }
    if variables is not None:
        body["variables"] = json.dumps(variables)
    return test_state(body)


def variables_after(response: dict[str, Any]) -> Any:
    return json.loads(response["inspectionData"]["variables"])


def test_jsonpath_state_reads_supplied_variables_and_assigns_new_ones() -> None:
    response = run(
        {
            "Type": "Pass",
            "Parameters": {"total.$": "$price", "qty.$": "$.qty"},
            "Assign": {"seen.$": "$.qty", "price": 0},
            "Next": "N",
        },
        {"price": 12, "untouched": "yes"},
        {"qty": 3},
    )
    assert json.loads(response["output"]) == {"total": 12, "qty": 3}
    assert variables_after(response) == {"price": 0, "untouched": "yes", "seen": 3}


def test_jsonata_state_reads_and_assigns() -> None:
    response = run(
        {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": {"n": "{% $n + 1 %}"},
            "Output": "{% $n %}",
            "End": True,
        },
        {"n": 1},
    )
    # Assign and Output both see the variables as they were when the state was entered.
    assert response["output"] == "1"
    assert variables_after(response) == {"n": 2}


def test_choice_rule_assign() -> None:
    response = run(
        {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericEquals": 1, "Assign": {"branch": "one"}, "Next": "One"}
            ],
            "Default": "Other",
            "Assign": {"branch": "default"},
        },
        None,
        {"n": 1},
    )
    assert response["nextState"] == "One"
    assert variables_after(response) == {"branch": "one"}


def test_task_assign_sees_the_selected_result() -> None:
    response = run(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "ResultSelector": {"id.$": "$.Payload.id"},
            "Assign": {"lastId.$": "$.id"},
            "End": True,
        },
        mock={"result": '{"Payload": {"id": "x-1"}}'},
    )
    assert variables_after(response) == {"lastId": "x-1"}


def test_failed_state_shows_the_supplied_variables_only() -> None:
    response = run(
        {"Type": "Pass", "Assign": {"a": 1}, "OutputPath": "$.missing", "End": True},
        {"kept": True},
    )
    assert response["status"] == "FAILED"
    assert variables_after(response) == {"kept": True}


def test_retriable_state_shows_the_supplied_variables_only() -> None:
    response = run(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Assign": {"a": 1},
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "End": True,
        },
        {"kept": True},
        mock={"errorOutput": {"error": "E"}},
    )
    assert response["status"] == "RETRIABLE"
    assert variables_after(response) == {"kept": True}


def test_catcher_assign_in_jsonpath() -> None:
    response = run(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Cause"}, "Next": "H"}],
            "End": True,
        },
        None,
        mock={"errorOutput": {"error": "E", "cause": "because"}},
    )
    assert response["status"] == "CAUGHT_ERROR"
    assert variables_after(response) == {"why": "because"}


def test_an_unset_variable_fails_the_state_like_the_engine() -> None:
    response = run(
        {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $nothing %}", "End": True}
    )
    assert response["status"] == "FAILED"
    assert response["error"] == "States.QueryEvaluationError"


def test_variables_are_empty_text_when_none_exist() -> None:
    response = run({"Type": "Pass", "End": True})
    assert response["inspectionData"]["variables"] == "{}"
