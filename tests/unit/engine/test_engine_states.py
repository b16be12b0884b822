"""Each simple state type (Pass, Task, Choice, Wait, Succeed, Fail) against AWS semantics.

AWS references: the developer guide's pages "Pass", "Task", "Choice", "Wait", "Succeed" and
"Fail workflow state", and "Handling errors" for ``States.NoChoiceMatched``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _engine_kit import (
    T0,
    Recorder,
    chain,
    detail,
    events,
    failed,
    machine,
    res,
    run,
    single,
    succeeded,
    task,
    times,
    types,
)

from stepline import StatesError, TaskContext

# ------------------------------------------------------------------------------------ Pass


def test_pass_history_is_entered_then_exited() -> None:
    result = run(single({"Type": "Pass", "Result": 1}), {"a": 1})
    assert types(result) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    entered, exited = result.history[1], result.history[2]
    assert detail(entered, "input") == {"a": 1}
    assert detail(exited, "output") == 1
    assert entered.details["name"] == exited.details["name"] == "S"


# ------------------------------------------------------------------------------------ Task


def test_task_sync_handler_result_becomes_output() -> None:
    assert succeeded(run(single(task()), {"a": 1}, {"work": lambda p: {"echo": p}})) == {
        "echo": {"a": 1}
    }


def test_task_async_handler() -> None:
    async def handler(parameters: Any) -> Any:
        await asyncio.sleep(0)
        return parameters["n"] * 2

    assert succeeded(run(single(task()), {"n": 21}, {"work": handler})) == 42


def test_task_handler_gets_task_context() -> None:
    seen: list[Any] = []

    def handler(parameters: Any, ctx: TaskContext) -> str:
        seen.append((ctx.state_name, ctx.resource, ctx.context["State"]["Name"]))
        return "ok"

    succeeded(run(single(task(), name="Charge"), {}, {"work": handler}))
    assert seen == [("Charge", res("work"), "Charge")]


def test_task_states_error_becomes_task_failure() -> None:
    def handler(_: Any) -> Any:
        raise StatesError("CardDeclined", "insufficient funds")

    result = run(single(task()), {}, {"work": handler})
    failed(result, "CardDeclined")
    assert result.cause == "insufficient funds"
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "ExecutionFailed",
    ]
    task_failed = events(result, "TaskFailed")[0]
    assert task_failed.details["error"] == "CardDeclined"
    assert task_failed.details["cause"] == "insufficient funds"
    assert events(result, "ExecutionFailed")[0].details == {
        "error": "CardDeclined",
        "cause": "insufficient funds",
    }


def test_task_python_exception_becomes_error_named_after_class() -> None:
    def handler(_: Any) -> Any:
        raise KeyError("customer")

    result = run(single(task()), {}, {"work": handler})
    failed(result, "KeyError", "customer")


def test_task_custom_exception_class_name() -> None:
    class PaymentGatewayDownError(Exception):
        pass

    async def handler(_: Any) -> Any:
        raise PaymentGatewayDownError("503 from gateway")

    result = run(single(task()), {}, {"work": handler})
    failed(result, "PaymentGatewayDownError", "503 from gateway")


def test_task_success_history() -> None:
    result = run(single(task(), name="T"), {"x": 1}, {"work": lambda p: [1, 2]})
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert detail(events(result, "TaskSucceeded")[0], "output") == [1, 2]
    assert detail(events(result, "TaskScheduled")[0], "parameters") == {"x": 1}


# ---------------------------------------------------------------------------------- Choice


def _choice(default: str | None = "Other", **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Medium"},
        ],
        **extra,
    }
    states: dict[str, Any] = {
        "C": state,
        "Big": {"Type": "Pass", "Result": "big", "End": True},
        "Medium": {"Type": "Pass", "Result": "medium", "End": True},
    }
    if default is not None:
        state["Default"] = default
        states[default] = {"Type": "Pass", "Result": "other", "End": True}
    return {"StartAt": "C", "States": states}


@pytest.mark.parametrize(("n", "expected"), [(11, "big"), (7, "medium"), (1, "other")])
def test_choice_first_matching_rule_then_default(n: int, expected: str) -> None:
    assert succeeded(run(_choice(), {"n": n})) == expected


def test_choice_without_default_and_no_match_fails() -> None:
    result = run(_choice(default=None), {"n": 1})
    failed(result, "States.NoChoiceMatched")
    assert types(result) == ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]


def test_choice_history_and_output_paths() -> None:
    definition = _choice(InputPath="$.inner", OutputPath="$.keep")
    definition["States"]["Big"] = {"Type": "Pass", "End": True}
    result = run(definition, {"inner": {"n": 20, "keep": {"k": 1}}, "outer": 0})
    assert succeeded(result) == {"k": 1}
    assert types(result)[:3] == ["ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited"]
    assert detail(events(result, "ChoiceStateExited")[0], "output") == {"k": 1}


def test_choice_passes_its_input_through_unchanged() -> None:
    definition = _choice()
    definition["States"]["Big"] = {"Type": "Pass", "End": True}
    assert succeeded(run(definition, {"n": 99, "x": [1]})) == {"n": 99, "x": [1]}


def test_choice_rule_on_context_object() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$$.Execution.Name", "StringEquals": "special", "Next": "Yes"}
                ],
                "Default": "No",
            },
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }
    assert succeeded(run(definition, {}, name="special")) == "yes"
    assert succeeded(run(definition, {}, name="plain")) == "no"


# ------------------------------------------------------------------------------------ Wait


def test_wait_seconds_is_visible_in_timestamps() -> None:
    result = run(chain(("W", {"Type": "Wait", "Seconds": 3600}), ("P", {"Type": "Pass"})), {"a": 1})
    assert succeeded(result) == {"a": 1}
    assert types(result) == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert times(result, "WaitStateEntered") == [0]
    assert times(result, "WaitStateExited") == [3600]


def test_wait_seconds_zero_exits_immediately() -> None:
    result = run(single({"Type": "Wait", "Seconds": 0}), {})
    assert times(result, "WaitStateExited") == [0]


def test_wait_timestamp_in_future() -> None:
    # T0 is 2023-11-14T22:13:20Z
    result = run(single({"Type": "Wait", "Timestamp": "2023-11-14T22:15:00Z"}), {})
    succeeded(result)
    assert times(result, "WaitStateExited") == [100]


def test_wait_timestamp_with_offset() -> None:
    result = run(single({"Type": "Wait", "Timestamp": "2023-11-14T23:15:00+01:00"}), {})
    assert times(result, "WaitStateExited") == [100]


def test_wait_timestamp_in_past_exits_immediately() -> None:
    result = run(single({"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z"}), {})
    succeeded(result)
    assert times(result, "WaitStateExited") == [0]


def test_wait_seconds_path() -> None:
    result = run(single({"Type": "Wait", "SecondsPath": "$.delay"}), {"delay": 42})
    assert succeeded(result) == {"delay": 42}
    assert times(result, "WaitStateExited") == [42]


def test_wait_seconds_path_after_input_path_and_output_path() -> None:
    state = {"Type": "Wait", "InputPath": "$.w", "SecondsPath": "$.s", "OutputPath": "$.s"}
    result = run(single(state), {"w": {"s": 7}})
    assert succeeded(result) == 7
    assert times(result, "WaitStateExited") == [7]


def test_wait_timestamp_path() -> None:
    result = run(single({"Type": "Wait", "TimestampPath": "$.at"}), {"at": "2023-11-14T22:13:30Z"})
    succeeded(result)
    assert times(result, "WaitStateExited") == [10]


@pytest.mark.parametrize("bad", [-1, "10", None, True, {"s": 1}])
def test_wait_seconds_path_bad_value_is_runtime_error(bad: Any) -> None:
    result = run(single({"Type": "Wait", "SecondsPath": "$.delay"}), {"delay": bad})
    failed(result, "States.Runtime", "$.delay")


def test_wait_seconds_path_missing_is_runtime_error() -> None:
    failed(run(single({"Type": "Wait", "SecondsPath": "$.delay"}), {}), "States.Runtime")


@pytest.mark.parametrize(
    "bad",
    [
        "not a date",
        "2016-03-14",
        "2016-03-14T01:59:00",  # no time zone
        "2016-03-14 01:59:00Z",  # AWS: an uppercase T must separate date and time
        "2016-03-14t01:59:00z",  # AWS: uppercase T and Z
        12345,
        None,
    ],
)
def test_wait_timestamp_path_bad_value_is_runtime_error(bad: Any) -> None:
    result = run(single({"Type": "Wait", "TimestampPath": "$.at"}), {"at": bad})
    failed(result, "States.Runtime", "$.at")


def test_wait_runtime_error_is_not_caught_by_enclosing_parallel_catch() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "W",
                        "States": {"W": {"Type": "Wait", "SecondsPath": "$.d", "End": True}},
                    }
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    failed(run(definition, {"d": "soon"}), "States.Runtime")


# --------------------------------------------------------------------------------- Succeed


def test_succeed_applies_input_and_output_path() -> None:
    state = {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}
    result = run(single(state), {"a": {"b": [1]}})
    assert succeeded(result) == [1]
    assert types(result) == [
        "ExecutionStarted",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_succeed_stops_the_chain() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"v": 1}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    assert succeeded(run(definition, {})) == {"v": 1}


# ------------------------------------------------------------------------------------ Fail


def test_fail_with_error_and_cause() -> None:
    result = run(single({"Type": "Fail", "Error": "Oops", "Cause": "it broke"}), {"a": 1})
    failed(result, "Oops")
    assert result.cause == "it broke"
    assert result.output is None
    assert types(result) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert events(result, "ExecutionFailed")[0].details == {"error": "Oops", "cause": "it broke"}


def test_fail_without_error_or_cause() -> None:
    result = run(single({"Type": "Fail"}), {})
    assert result.status == "FAILED"
    assert result.error is None
    assert result.cause is None
    assert events(result, "ExecutionFailed")[0].details == {}


def test_fail_error_path_and_cause_path() -> None:
    state = {"Type": "Fail", "ErrorPath": "$.err.name", "CausePath": "$.err.why"}
    result = run(single(state), {"err": {"name": "Custom.Err", "why": "because"}})
    failed(result, "Custom.Err")
    assert result.cause == "because"


def test_fail_paths_with_intrinsics() -> None:
    state = {
        "Type": "Fail",
        "ErrorPath": "States.Format('E{}', $.code)",
        "CausePath": "States.Format('Order {} failed: {}', $.order, $.reason)",
    }
    result = run(single(state), {"code": 42, "order": "o-1", "reason": "stock"})
    failed(result, "E42")
    assert result.cause == "Order o-1 failed: stock"


def test_fail_paths_can_read_context() -> None:
    state = {"Type": "Fail", "Error": "X", "CausePath": "$$.Execution.Name"}
    result = run(single(state), {}, name="my-run")
    failed(result, "X")
    assert result.cause == "my-run"


@pytest.mark.parametrize("bad", [42, None, {"a": 1}])
def test_fail_error_path_not_a_string_is_runtime_error(bad: Any) -> None:
    result = run(single({"Type": "Fail", "ErrorPath": "$.e"}), {"e": bad})
    failed(result, "States.Runtime", "$.e")


def test_fail_cause_path_missing_is_runtime_error() -> None:
    failed(run(single({"Type": "Fail", "CausePath": "$.nope"}), {}), "States.Runtime")


# --------------------------------------------------------------------- transitions & misc


def test_transitions_count_entered_states() -> None:
    definition = chain(
        ("A", {"Type": "Pass"}), ("B", {"Type": "Wait", "Seconds": 1}), ("C", {"Type": "Pass"})
    )
    assert run(definition, {}).transitions == 3


def test_start_and_stop_dates_follow_the_clock() -> None:
    result = run(single({"Type": "Wait", "Seconds": 5}), {})
    assert result.start_date.timestamp() == T0
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == T0 + 5


def test_a_machine_can_run_many_times() -> None:
    sm = machine(single(task()), {"work": Recorder(fn=lambda p: p["n"] + 1)})
    assert [sm.run({"n": n}).output for n in range(3)] == [1, 2, 3]
