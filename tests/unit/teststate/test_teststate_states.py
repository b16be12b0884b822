"""TestState runs every state type with the real engine: outputs, next states, data steps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.teststate import test_state

ROLE = "arn:aws:iam::123456789012:role/tester"
TASK = "arn:aws:states:::stepline:work"


def run(state: dict[str, Any], state_input: Any = None, **request: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"definition": json.dumps(state), "inspectionLevel": "DEBUG"}
    if state_input is not None:
        body["input"] = json.dumps(state_input)
    body.update(request)
    return test_state(body, tasks=TASKS)


def double(parameters: Any) -> Any:
    return {"doubled": parameters["n"] * 2}


def explode(parameters: Any) -> Any:
    raise ValueError("the handler refused")


TASKS = {TASK: double, "arn:aws:states:::stepline:explode": explode}


def data(response: dict[str, Any]) -> dict[str, Any]:
    """The inspection data with its JSON texts parsed."""
    return {
        key: json.loads(value) if isinstance(value, str) else value
        for key, value in response["inspectionData"].items()
    }


# --- Pass ------------------------------------------------------------------------------------


def test_pass_with_every_io_step() -> None:
    response = run(
        {
            "Type": "Pass",
            "InputPath": "$.order",
            "Parameters": {"id.$": "$.id", "fixed": 1},
            "ResultPath": "$.order.copy",
            "OutputPath": "$.order",
            "Next": "Ship",
        },
        {"order": {"id": 7}, "other": True},
    )
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "Ship"
    assert json.loads(response["output"]) == {"id": 7, "copy": {"id": 7, "fixed": 1}}
    inspection = data(response)
    assert inspection["input"] == {"order": {"id": 7}, "other": True}
    assert inspection["afterInputPath"] == {"id": 7}
    assert inspection["afterParameters"] == {"id": 7, "fixed": 1}
    assert inspection["result"] == {"id": 7, "fixed": 1}
    assert inspection["afterResultPath"] == {
        "order": {"id": 7, "copy": {"id": 7, "fixed": 1}},
        "other": True,
    }


def test_pass_result_field_is_the_result() -> None:
    response = run({"Type": "Pass", "Result": [1, 2], "ResultPath": "$.r", "End": True}, {})
    assert "nextState" not in response
    inspection = data(response)
    assert inspection["result"] == [1, 2]
    assert inspection["afterResultPath"] == {"r": [1, 2]}
    assert json.loads(response["output"]) == {"r": [1, 2]}


def test_uuid_in_parameters_shows_the_value_the_output_holds() -> None:
    response = run({"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "End": True}, {})
    assert data(response)["afterParameters"] == json.loads(response["output"])


def test_output_path_null_gives_empty_output_and_shows_the_step_before() -> None:
    response = run(
        {"Type": "Pass", "Result": 1, "ResultPath": "$.r", "OutputPath": None, "End": True},
        {"a": 1},
    )
    assert response["output"] == "{}"
    assert data(response)["afterResultPath"] == {"a": 1, "r": 1}


def test_info_level_has_no_inspection_data() -> None:
    response = test_state({"definition": '{"Type": "Pass", "End": true}'})
    assert response == {"output": "{}", "status": "SUCCEEDED"}


def test_jsonata_pass() -> None:
    response = run(
        {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": "{% $states.input.a + 1 %}",
            "Next": "N",
        },
        {"a": 41},
    )
    assert response["output"] == "42"
    assert response["nextState"] == "N"
    inspection = data(response)
    assert "afterInputPath" not in inspection
    assert "afterParameters" not in inspection


# --- Choice ----------------------------------------------------------------------------------

CHOICE = {
    "Type": "Choice",
    "InputPath": "$.order",
    "Choices": [
        {"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Review"},
        {"Variable": "$.total", "NumericLessThan": 0, "Next": "Refund"},
    ],
    "Default": "Ship",
}


@pytest.mark.parametrize(("total", "expected"), [(500, "Review"), (-1, "Refund"), (50, "Ship")])
def test_choice_next_state_is_the_matching_rule(total: int, expected: str) -> None:
    response = run(CHOICE, {"order": {"total": total}})
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == expected
    assert json.loads(response["output"]) == {"total": total}
    assert data(response)["afterInputPath"] == {"total": total}


def test_choice_without_match_or_default_fails() -> None:
    state = {key: value for key, value in CHOICE.items() if key != "Default"}
    response = run(state, {"order": {"total": 50}})
    assert response["status"] == "FAILED"
    assert response["error"] == "States.NoChoiceMatched"
    assert "nextState" not in response
    assert "output" not in response


def test_jsonata_choice() -> None:
    response = run(
        {
            "Type": "Choice",
            "QueryLanguage": "JSONata",
            "Choices": [
                {"Condition": "{% $states.input.n > 1 %}", "Next": "Big", "Output": {"big": True}}
            ],
            "Default": "Small",
        },
        {"n": 5},
    )
    assert response["nextState"] == "Big"
    assert json.loads(response["output"]) == {"big": True}


# --- Wait ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wait",
    [
        {"Seconds": 99999999},
        {"Timestamp": "2999-01-01T00:00:00Z"},
        {"SecondsPath": "$.s"},
        {"TimestampPath": "$.t"},
    ],
)
def test_wait_does_not_wait(wait: dict[str, Any]) -> None:
    state_input = {"s": 86400, "t": "2999-01-01T00:00:00Z"}
    response = run({"Type": "Wait", "Next": "Later", **wait}, state_input)
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "Later"
    assert json.loads(response["output"]) == state_input


def test_wait_with_a_bad_seconds_path_fails() -> None:
    response = run({"Type": "Wait", "SecondsPath": "$.s", "Next": "Later"}, {"s": "soon"})
    assert response["status"] == "FAILED"
    assert response["error"] == "States.Runtime"


# --- Succeed and Fail ------------------------------------------------------------------------


def test_succeed_applies_its_paths() -> None:
    response = run({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}, {"a": {"b": 2}})
    assert response == {
        "output": "2",
        "inspectionData": response["inspectionData"],
        "status": "SUCCEEDED",
    }


def test_fail_static_and_from_paths() -> None:
    response = run({"Type": "Fail", "Error": "Oops", "Cause": "why"})
    assert (response["status"], response["error"], response["cause"]) == ("FAILED", "Oops", "why")
    assert "output" not in response
    response = run(
        {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}, {"e": "Dyn", "c": "amic"}
    )
    assert (response["error"], response["cause"]) == ("Dyn", "amic")
    assert set(data(response)) == {"input", "variables"}


def test_jsonata_fail() -> None:
    response = run(
        {"Type": "Fail", "QueryLanguage": "JSONata", "Error": "{% $states.input.kind %}"},
        {"kind": "Bad"},
    )
    assert (response["status"], response["error"]) == ("FAILED", "Bad")


# --- Task ------------------------------------------------------------------------------------


def test_task_with_a_python_handler_and_every_step() -> None:
    response = run(
        {
            "Type": "Task",
            "Resource": TASK,
            "InputPath": "$.job",
            "Parameters": {"n.$": "$.n"},
            "ResultSelector": {"value.$": "$.doubled"},
            "ResultPath": "$.job.result",
            "OutputPath": "$.job",
            "Next": "Done",
        },
        {"job": {"n": 21}},
        roleArn=ROLE,
    )
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "Done"
    assert json.loads(response["output"]) == {"n": 21, "result": {"value": 42}}
    inspection = data(response)
    assert inspection["afterInputPath"] == {"n": 21}
    assert inspection["afterParameters"] == {"n": 21}
    assert inspection["result"] == {"doubled": 42}
    assert inspection["afterResultSelector"] == {"value": 42}
    assert inspection["afterResultPath"] == {"job": {"n": 21, "result": {"value": 42}}}


def test_jsonata_task_shows_arguments_and_result_only() -> None:
    response = run(
        {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": TASK,
            "Arguments": {"n": "{% $states.input.x %}"},
            "Output": "{% $states.result.doubled %}",
            "End": True,
        },
        {"x": 4},
        roleArn=ROLE,
    )
    assert response["output"] == "8"
    inspection = data(response)
    assert inspection["afterArguments"] == {"n": 4}
    assert inspection["result"] == {"doubled": 8}
    for field in ("afterInputPath", "afterParameters", "afterResultSelector", "afterResultPath"):
        assert field not in inspection


def test_task_handler_failure_is_failed_with_its_error() -> None:
    response = run(
        {"Type": "Task", "Resource": "arn:aws:states:::stepline:explode", "End": True},
        {},
        roleArn=ROLE,
    )
    assert response["status"] == "FAILED"
    assert (response["error"], response["cause"]) == ("ValueError", "the handler refused")


def test_task_without_a_handler_fails_with_runtime() -> None:
    response = test_state(
        {
            "definition": json.dumps(
                {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": True}
            ),
            "roleArn": ROLE,
        }
    )
    assert response["status"] == "FAILED"
    assert response["error"] == "States.Runtime"


def test_task_timeout_seconds_is_enforced() -> None:
    import time

    def slow(parameters: Any) -> Any:
        time.sleep(3)
        return {}

    response = test_state(
        {
            "definition": json.dumps(
                {"Type": "Task", "Resource": TASK, "TimeoutSeconds": 1, "End": True}
            ),
            "roleArn": ROLE,
        },
        tasks={TASK: slow},
    )
    assert (response["status"], response["error"]) == ("FAILED", "States.Timeout")


def test_teststate_time_limit_ends_a_task() -> None:
    import asyncio

    async def never(parameters: Any) -> Any:
        await asyncio.sleep(30)

    response = test_state(
        {
            "definition": json.dumps({"Type": "Task", "Resource": TASK, "End": True}),
            "roleArn": ROLE,
        },
        tasks={TASK: never},
        time_limit_seconds=0.2,
    )
    assert (response["status"], response["error"]) == ("FAILED", "States.Timeout")


# --- a state of a whole machine -------------------------------------------------------------

MACHINE = {
    "QueryLanguage": "JSONata",
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Output": {"n": 1}, "Next": "Loop"},
        "Loop": {
            "Type": "Map",
            "Items": "{% [1, 2] %}",
            "ItemProcessor": {
                "StartAt": "Inner",
                "States": {
                    "Inner": {
                        "Type": "Pass",
                        "Output": "{% [$states.context.Map.Item.Index, $states.input] %}",
                        "End": True,
                    }
                },
            },
            "End": True,
        },
    },
}


def test_state_name_picks_a_state_and_inherits_the_query_language() -> None:
    response = test_state({"definition": json.dumps(MACHINE), "stateName": "First", "input": "{}"})
    assert response == {"output": '{"n":1}', "nextState": "Loop", "status": "SUCCEEDED"}


def test_state_inside_a_map_sees_item_zero_by_default() -> None:
    response = test_state({"definition": json.dumps(MACHINE), "stateName": "Inner", "input": '"x"'})
    assert response["output"] == '[0,"x"]'


MOCKED_INNER_TASK = {
    "Type": "Task",
    "Resource": TASK,
    "Output": "{% [$states.context.Map.Item.Index, $states.result] %}",
    "End": True,
}


def test_state_inside_a_map_with_a_given_context() -> None:
    loop = {**MACHINE["States"]["Loop"]}
    loop["ItemProcessor"] = {"StartAt": "Inner", "States": {"Inner": MOCKED_INNER_TASK}}
    machine = {**MACHINE, "States": {**MACHINE["States"], "Loop": loop}}
    response = test_state(
        {
            "definition": json.dumps(machine),
            "stateName": "Inner",
            "mock": {"result": '"r"'},
            "context": json.dumps({"Map": {"Item": {"Index": 5, "Value": 1}}}),
        }
    )
    assert response["output"] == '[5,"r"]'


def test_context_members_replace_the_engines() -> None:
    response = test_state(
        {
            "definition": json.dumps(
                {
                    "Type": "Task",
                    "Resource": TASK,
                    "Parameters": {"who.$": "$$.Execution.Name", "state.$": "$$.State.Name"},
                    "End": True,
                }
            ),
            "mock": {"result": "{}"},
            "context": json.dumps({"Execution": {"Name": "given"}}),
            "inspectionLevel": "DEBUG",
        }
    )
    assert json.loads(response["inspectionData"]["afterParameters"]) == {
        "who": "given",
        "state": "TestState",
    }


def test_a_state_that_loops_to_itself() -> None:
    machine = {
        "StartAt": "Poll",
        "States": {
            "Poll": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": False, "Next": "Poll"}],
                "Default": "Finish",
            },
            "Finish": {"Type": "Succeed"},
        },
    }
    request = {"definition": json.dumps(machine), "stateName": "Poll"}
    assert test_state({**request, "input": '{"done": false}'})["nextState"] == "Poll"
    assert test_state({**request, "input": '{"done": true}'})["nextState"] == "Finish"
