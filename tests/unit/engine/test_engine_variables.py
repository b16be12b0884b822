"""Workflow variables in JSONPath states: Assign, `$name` references, scoping, history."""

from __future__ import annotations

from typing import Any

import pytest

from stepline import StateMachine, StatesError, VirtualClock


def run(definition: dict[str, Any], execution_input: Any = None, **tasks: Any) -> Any:
    handlers = {f"arn:aws:states:::test:{name}": fn for name, fn in tasks.items()}
    machine = StateMachine(definition, tasks=handlers, clock=VirtualClock())
    return machine.run({} if execution_input is None else execution_input)


def assigned(result: Any, state: str) -> dict[str, str]:
    for event in result.history_events():
        details = event.get("stateExitedEventDetails")
        if details and details["name"] == state:
            assert details.get("assignedVariablesDetails", {"truncated": False}) == {
                "truncated": False
            }
            return details.get("assignedVariables", {})
    raise AssertionError(f"no exit of {state}")


def test_assign_static_and_path_values_and_read_them_later() -> None:
    result = run(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "Assign": {
                        "label": "static",
                        "id.$": "$.order.id",
                        "run.$": "$$.Execution.Name",
                    },
                    "Next": "B",
                },
                "B": {
                    "Type": "Pass",
                    "Parameters": {"label.$": "$label", "id.$": "$id", "run.$": "$run"},
                    "End": True,
                },
            },
        },
        {"order": {"id": "o-1"}},
    )
    assert result.status == "SUCCEEDED"
    assert result.output["label"] == "static"
    assert result.output["id"] == "o-1"
    assert result.output["run"] == result.execution_arn.rsplit(":", 1)[-1]
    assert assigned(result, "A") == {
        "label": '"static"',
        "id": '"o-1"',
        "run": f'"{result.output["run"]}"',
    }


def test_every_assignment_of_a_state_sees_the_values_from_before_it() -> None:
    result = run(
        {
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 10}, "Next": "Swap"},
                "Swap": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "Show"},
                "Show": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": True},
            },
        }
    )
    assert result.output == {"x": 10, "y": 1}


def test_variable_paths_reach_into_values_and_work_in_intrinsics_and_choice() -> None:
    result = run(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "Assign": {"cart": {"items": [1, 2, 3], "n": 3}},
                    "Next": "C",
                },
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$cart.n", "NumericGreaterThan": 2, "Next": "Big"}],
                    "Default": "Small",
                },
                "Big": {
                    "Type": "Pass",
                    "Parameters": {
                        "second.$": "$cart.items[1]",
                        "count.$": "States.ArrayLength($cart.items)",
                        "msg.$": "States.Format('{} items', $cart.n)",
                    },
                    "End": True,
                },
                "Small": {"Type": "Fail", "Error": "Small"},
            },
        }
    )
    assert result.output == {"second": 2, "count": 3, "msg": "3 items"}


def test_task_assign_sees_the_result_after_result_selector() -> None:
    result = run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::test:charge",
                    "ResultSelector": {"charge.$": "$.id"},
                    "Assign": {"chargeId.$": "$.charge"},
                    "ResultPath": "$.result",
                    "Next": "Show",
                },
                "Show": {"Type": "Pass", "Parameters": {"id.$": "$chargeId"}, "End": True},
            },
        },
        {"amount": 5},
        charge=lambda parameters: {"id": "ch_1", "amount": parameters["amount"]},
    )
    assert result.output == {"id": "ch_1"}
    assert assigned(result, "T") == {"chargeId": '"ch_1"'}


def test_catch_assign_sees_the_error_output() -> None:
    def boom(_: Any) -> Any:
        raise StatesError("CardDeclined", "expired")

    result = run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::test:boom",
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Assign": {"why.$": "$.Cause", "what.$": "$.Error"},
                            "ResultPath": null_result_path(),
                            "Next": "Show",
                        }
                    ],
                    "End": True,
                },
                "Show": {
                    "Type": "Pass",
                    "Parameters": {"why.$": "$why", "what.$": "$what"},
                    "End": True,
                },
            },
        },
        boom=boom,
    )
    assert result.output == {"why": "expired", "what": "CardDeclined"}
    assert assigned(result, "T") == {"why": '"expired"', "what": '"CardDeclined"'}


def null_result_path() -> None:
    return None


def test_choice_rule_assign_or_state_assign_for_default() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.n",
                        "NumericEquals": 1,
                        "Assign": {"path": "one"},
                        "Next": "Show",
                    }
                ],
                "Default": "Show",
                "Assign": {"path": "default"},
            },
            "Show": {"Type": "Pass", "Parameters": {"path.$": "$path"}, "End": True},
        },
    }
    assert run(definition, {"n": 1}).output == {"path": "one"}
    assert run(definition, {"n": 2}).output == {"path": "default"}


def test_wait_assign_after_the_wait() -> None:
    result = run(
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": 5, "Assign": {"waited.$": "$.s"}, "Next": "Show"},
                "Show": {"Type": "Pass", "Parameters": {"w.$": "$waited"}, "End": True},
            },
        },
        {"s": 5},
    )
    assert result.output == {"w": 5}


def test_map_iterations_read_outer_variables_and_cannot_leak_their_own() -> None:
    result = run(
        {
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"factor": 10, "inner": "outer"}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "StartAt": "Set",
                        "States": {
                            "Set": {"Type": "Pass", "Assign": {"inner.$": "$"}, "Next": "Read"},
                            "Read": {
                                "Type": "Pass",
                                "Parameters": {"item.$": "$inner", "factor.$": "$factor"},
                                "End": True,
                            },
                        },
                    },
                    "ResultPath": "$.mapped",
                    "Next": "After",
                },
                "After": {
                    "Type": "Pass",
                    "Parameters": {"inner.$": "$inner", "mapped.$": "$.mapped"},
                    "End": True,
                },
            },
        },
        {"items": [1, 2]},
    )
    assert result.output == {
        "inner": "outer",
        "mapped": [{"item": 1, "factor": 10}, {"item": 2, "factor": 10}],
    }


def test_parallel_branches_are_scoped_too() -> None:
    result = run(
        {
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"v": "outer"}, "Next": "P"},
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "B1",
                            "States": {
                                "B1": {"Type": "Pass", "Assign": {"v": "branch"}, "Next": "B2"},
                                "B2": {"Type": "Pass", "Parameters": {"v.$": "$v"}, "End": True},
                            },
                        },
                        {
                            "StartAt": "C1",
                            "States": {
                                "C1": {"Type": "Pass", "Parameters": {"v.$": "$v"}, "End": True}
                            },
                        },
                    ],
                    "ResultPath": "$.branches",
                    "Next": "After",
                },
                "After": {
                    "Type": "Pass",
                    "Parameters": {"v.$": "$v", "b.$": "$.branches"},
                    "End": True,
                },
            },
        }
    )
    assert result.output == {"v": "outer", "b": [{"v": "branch"}, {"v": "outer"}]}


def test_assigned_values_over_the_quota_fail_with_data_limit_exceeded() -> None:
    machine = StateMachine(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "Assign": {"big.$": "States.ArrayRange(1, $.n, 1)"},
                    "End": True,
                }
            },
        },
        clock=VirtualClock(),
        max_payload_bytes=100,
    )
    assert machine.run({"n": 10}).status == "SUCCEEDED"
    result = machine.run({"n": 60})
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert "variable 'big'" in (result.cause or "")


@pytest.mark.parametrize("field", ["Parameters", "Assign"])
def test_reading_a_variable_that_was_never_assigned_is_a_runtime_error(field: str) -> None:
    # AWS accepts such a definition (the validator warns, UNDEFINED_VARIABLE) and fails the
    # execution when the read happens.
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", field: {"x.$": "$nope"}, "End": True}},
    }
    result = StateMachine(definition, clock=VirtualClock()).run({})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "$nope" in (result.cause or "")
