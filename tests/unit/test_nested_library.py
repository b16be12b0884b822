"""Nested workflows in the library: ``states:startExecution`` against registered machines."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from stepline import StateMachine, TaskTokens

NESTED = "arn:aws:states:::states:startExecution"
ADD_ONE = {
    "StartAt": "Add",
    "States": {
        "Add": {"Type": "Pass", "Parameters": {"t.$": "States.MathAdd($.n, 1)"}, "End": True}
    },
}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "why"}}}
REPORT = "arn:aws:states:::stepline:report"
PAUSE = "arn:aws:states:::stepline:pause"
LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}


def task(resource: str, arn: str, **parameters: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {"StateMachineArn": arn, **parameters},
        "End": True,
    }


def parent(resource: str, child: StateMachine, **parameters: Any) -> StateMachine:
    definition = {"StartAt": "C", "States": {"C": task(resource, child.arn, **parameters)}}
    return StateMachine(definition, name="Parent", machines=[child])


def test_sync_answers_the_childs_description_with_output_as_text() -> None:
    child = StateMachine(ADD_ONE, name="Child")
    result = parent(f"{NESTED}.sync", child, Input={"n.$": "$.n"}, Name="kid").run({"n": 1})
    assert result.succeeded, result
    out = result.output
    assert out["ExecutionArn"] == "arn:aws:states:us-east-1:123456789012:execution:Child:kid"
    assert out["StateMachineArn"] == child.arn and out["Name"] == "kid"
    assert out["Status"] == "SUCCEEDED"
    assert json.loads(out["Input"]) == {"n": 1} and json.loads(out["Output"]) == {"t": 2}
    assert isinstance(out["StartDate"], int) and out["StopDate"] >= out["StartDate"]
    (kid,) = result.children
    assert kid.output == {"t": 2} and kid.parent_execution_arn == result.execution_arn
    types = [event.type for event in result.history]
    assert types.count("TaskSucceeded") == 1


def test_sync2_answers_json_values_and_a_failed_child_fails_the_task() -> None:
    child = StateMachine(ADD_ONE, name="Child")
    result = parent(f"{NESTED}.sync:2", child, Input='{"n": 5}').run()
    assert result.output["Output"] == {"t": 6} and result.output["Input"] == {"n": 5}
    failing = StateMachine(FAIL, name="Failing")
    failed = parent(f"{NESTED}.sync:2", failing).run()
    assert failed.status == "FAILED" and failed.error == "States.TaskFailed"
    cause = json.loads(failed.cause or "")
    assert cause["Status"] == "FAILED" and cause["Error"] == "Bad" and cause["Cause"] == "why"


def test_request_response_returns_at_once_and_run_waits_for_the_child() -> None:
    child = StateMachine(ADD_ONE, name="Child")
    result = parent(NESTED, child, Input={"n": 3}).run()
    assert result.succeeded
    assert set(result.output) == {"ExecutionArn", "StartDate"}
    (kid,) = result.children
    assert kid.execution_arn == result.output["ExecutionArn"] and kid.output == {"t": 4}


def test_wait_for_task_token_is_completed_through_the_shared_registry() -> None:
    tokens = TaskTokens()
    seen: list[str] = []

    def report(payload: Any) -> Any:
        seen.append(payload["token"])
        tokens.send_task_success(payload["token"], {"child": "says hi"})
        return {}

    child = StateMachine(
        {"StartAt": "R", "States": {"R": {"Type": "Task", "Resource": REPORT, "End": True}}},
        name="Reporter",
        tasks={REPORT: report},
        tokens=tokens,
    )
    definition = {
        "StartAt": "C",
        "States": {
            "C": task(f"{NESTED}.waitForTaskToken", child.arn, Input={"token.$": "$$.Task.Token"})
        },
    }
    result = StateMachine(definition, machines=[child], tokens=tokens).run()
    assert result.succeeded, result
    assert result.output == {"child": "says hi"} and len(seen) == 1
    assert "TaskSubmitted" in [event.type for event in result.history]


def test_a_parent_failing_elsewhere_aborts_its_sync_child() -> None:
    child = StateMachine(LONG, name="Long")
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "C", "States": {"C": task(f"{NESTED}.sync", child.arn)}},
                    {
                        "StartAt": "Pause",
                        "States": {
                            "Pause": {"Type": "Task", "Resource": PAUSE, "Next": "Boom"},
                            "Boom": {"Type": "Fail", "Error": "Sibling"},
                        },
                    },
                ],
            }
        },
    }

    async def pause(_: Any) -> Any:
        await asyncio.sleep(0.05)  # the child starts meanwhile
        return {}

    result = StateMachine(definition, machines=[child], tasks={PAUSE: pause}).run()
    assert result.status == "FAILED" and result.error == "Sibling"
    (kid,) = result.children
    assert kid.status == "ABORTED"
    assert result.execution_arn in (kid.cause or "")


@pytest.mark.parametrize(
    ("arn", "code", "hint"),
    [
        (
            "arn:aws:states:us-east-1:123456789012:stateMachine:Nope",
            "StateMachineDoesNotExist",
            "machines=",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:stateMachine:Child:1",
            "StateMachineDoesNotExist",
            "versions",
        ),
    ],
)
def test_unknown_machines_fail_the_task_with_a_step_functions_error(
    arn: str, code: str, hint: str
) -> None:
    child = StateMachine(ADD_ONE, name="Child")
    definition = {"StartAt": "C", "States": {"C": task(f"{NESTED}.sync", arn)}}
    result = StateMachine(definition, machines={"child": child}).run()
    assert result.error == f"StepFunctions.{code}"
    assert hint in (result.cause or "") and arn in (result.cause or "")


def test_bad_input_and_names_are_step_functions_errors() -> None:
    child = StateMachine(ADD_ONE, name="Child")
    bad_input = parent(f"{NESTED}.sync", child, Input="{not json").run()
    assert bad_input.error == "StepFunctions.InvalidExecutionInput"
    bad_name = parent(f"{NESTED}.sync", child, Name="a b").run()
    assert bad_name.error == "StepFunctions.InvalidName"


def test_a_machine_may_start_itself_and_children_nest() -> None:
    countdown = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Again"}],
                "Default": "Done",
            },
            "Again": {
                "Type": "Task",
                "Resource": f"{NESTED}.sync:2",
                "Parameters": {
                    "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Down",
                    "Input": {"n.$": "States.MathAdd($.n, -1)"},
                },
                "OutputPath": "$.Output",
                "End": True,
            },
            "Done": {"Type": "Pass", "Result": "liftoff", "End": True},
        },
    }
    result = StateMachine(countdown, name="Down").run({"n": 2})
    assert result.output == "liftoff"
    assert len(result.children) == 1 and len(result.children[0].children) == 1


def test_run_async_inside_a_loop() -> None:
    child = StateMachine(ADD_ONE, name="Child")
    machine = parent(f"{NESTED}.sync:2", child, Input={"n": 9})
    result = asyncio.run(machine.run_async())
    assert result.output["Output"] == {"t": 10}
