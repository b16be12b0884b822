"""JSONata evaluation failures at run time: ``States.QueryEvaluationError``, its cause, history.

What AWS does, as recorded against the real service by LocalStack's snapshot tests
(``tests/aws/services/stepfunctions/v2/assign/test_assign_reference_variables.snapshot.json``,
``test_undefined_reference[BASE_UNDEFINED_*]``, recorded 2024-11-21):

* an expression that returns nothing fails the state, whether it is the whole field
  (``Output``, ``Arguments``) or one member nested in it (``Output/result``,
  ``Arguments/FunctionName``, ``Assign/result``) — the member is not dropped;
* the cause reads ``An error occurred while executing the state 'State0' (entered at the event
  id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result'
  returned nothing (undefined).``;
* the history has an ``EvaluationFailed`` event (botocore's ``evaluationFailedEventDetails``:
  ``error``, ``cause``, ``location``, ``state``) between the ``…StateEntered`` event and
  ``ExecutionFailed``.

A production log of a real execution shows the same for a deeper member:
``… specified for the field 'Arguments/Input/pushLocation' returned nothing (undefined).``
Evaluation errors read ``… threw an error during evaluation. <CODE>: <message>``. The field
names of Choice rules and Catch clauses (``Choices[1]/Condition``, ``Catch[1]/Output/v``) are
those the Floci emulator's tests record as measured on AWS.
"""

from __future__ import annotations

from typing import Any

import pytest
from _engine_kit import (
    Recorder,
    Script,
    chain,
    detail,
    events,
    failed,
    run,
    single,
    subsequence,
    succeeded,
    task,
    times,
    types,
)

QEE = "States.QueryEvaluationError"
pytestmark = pytest.mark.usefixtures("jsonata_engine")  # each test runs on both engines


def jsonata(definition: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **definition}


def prefix(state: str, entered: int = 2) -> str:
    """The start AWS gives the cause of an error raised while a state runs."""
    return (
        f"An error occurred while executing the state '{state}' "
        f"(entered at the event id #{entered}). "
    )


def nothing(expression: str, field: str) -> str:
    """AWS's text for an expression that returned nothing."""
    return (
        f"The JSONata expression '{expression}' specified for the field '{field}' "
        "returned nothing (undefined)."
    )


def evaluation_failed(result: Any) -> list[dict[str, Any]]:
    return [
        event["evaluationFailedEventDetails"]
        for event in result.history_events()
        if event["type"] == "EvaluationFailed"
    ]


# ---------------------------------------------------------- an expression returning nothing


def test_a_whole_output_returning_nothing_is_an_error_with_awss_cause() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": "{% $states.input.missing %}"}, "S"))
    result = run(definition, {})
    failed(result, QEE, nothing("$states.input.missing", "Output"))


def test_a_nested_output_member_returning_nothing_is_an_error_not_a_dropped_member() -> None:
    # AWS (LocalStack snapshot BASE_UNDEFINED_OUTPUT_FIELD):
    # Output {"result": "{% $doesNotExist %}"} fails with "... specified for the field
    # 'Output/result' returned nothing (undefined)."
    definition = jsonata(
        single({"Type": "Pass", "Output": {"v": "{% $states.input.missing %}", "w": 1}}, "S")
    )
    result = run(definition, {})
    failed(result, QEE, nothing("$states.input.missing", "Output/v"))


def test_a_deeply_nested_argument_returning_nothing_is_an_error() -> None:
    rec = Recorder(result="never")
    state = task(Arguments={"Input": {"pushLocation": "{% $states.input.pushLocation %}"}})
    result = run(jsonata(single(state, "Push")), {}, {"work": rec})
    failed(result, QEE, nothing("$states.input.pushLocation", "Arguments/Input/pushLocation"))
    assert rec.calls == []
    assert "TaskScheduled" not in types(result)


def test_an_assign_value_returning_nothing_is_an_error() -> None:
    definition = jsonata(
        single({"Type": "Pass", "Assign": {"result": "{% $states.input.missing %}"}}, "S")
    )
    failed(run(definition, {}), QEE, nothing("$states.input.missing", "Assign/result"))


def test_the_cause_names_the_state_and_its_entered_event() -> None:
    definition = jsonata(
        chain(
            ("First", {"Type": "Pass"}),
            ("Second", {"Type": "Pass"}),
            ("Third", {"Type": "Pass", "Output": "{% $states.input.missing %}"}),
        )
    )
    result = run(definition, {})
    entered = events(result, "PassStateEntered")[-1]
    assert entered.id == 6
    assert result.cause == prefix("Third", 6) + nothing("$states.input.missing", "Output")


def test_exact_cause_for_a_whole_field() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": "{% $states.input.missing %}"}, "S"))
    result = run(definition, {})
    assert result.cause == prefix("S") + nothing("$states.input.missing", "Output")


def test_exact_cause_for_a_nested_member() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}}, "S"))
    result = run(definition, {})
    assert result.cause == prefix("S") + nothing("$doesNotExist", "Output/result")


def test_an_evaluation_failure_is_recorded_as_an_evaluation_failed_event() -> None:
    # AWS (LocalStack snapshot BASE_UNDEFINED_OUTPUT): PassStateEntered, EvaluationFailed
    # {error, cause, location: "Output", state}, ExecutionFailed {error, cause}.
    definition = jsonata(single({"Type": "Pass", "Output": "{% $doesNotExist %}"}, "S"))
    result = run(definition, {})
    assert types(result) == [
        "ExecutionStarted",
        "PassStateEntered",
        "EvaluationFailed",
        "ExecutionFailed",
    ]
    cause = prefix("S") + nothing("$doesNotExist", "Output")
    assert evaluation_failed(result) == [
        {"error": QEE, "cause": cause, "location": "Output", "state": "S"}
    ]
    failed_event = result.history_events()[-1]["executionFailedEventDetails"]
    assert failed_event == {"error": QEE, "cause": cause}


def test_an_evaluation_failure_in_task_arguments_is_recorded_before_the_state_fails() -> None:
    # AWS (LocalStack snapshot BASE_UNDEFINED_ARGUMENTS): no TaskScheduled, location "Arguments".
    state = task(Arguments="{% $doesNotExist %}")
    result = run(jsonata(single(state, "T")), {}, {"work": Recorder(result=1)})
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "EvaluationFailed",
        "ExecutionFailed",
    ]
    assert evaluation_failed(result) == [
        {
            "error": QEE,
            "cause": prefix("T") + nothing("$doesNotExist", "Arguments"),
            "location": "Arguments",
            "state": "T",
        }
    ]


def test_an_evaluation_failure_that_throws_is_recorded_too() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": "{% $number('x') %}"}, "S"))
    result = run(definition, {})
    details = evaluation_failed(result)
    assert len(details) == 1
    assert details[0]["location"] == "Output"
    assert details[0]["state"] == "S"
    assert details[0]["cause"] == result.cause


def test_nested_array_element_returning_nothing_is_an_error() -> None:
    # An array element that returns nothing cannot be left out silently either: the state fails.
    definition = jsonata(
        single({"Type": "Pass", "Output": {"a": [1, "{% $states.input.missing %}"]}}, "S")
    )
    failed(run(definition, {}), QEE, "returned nothing (undefined)")


def test_a_nested_null_is_a_value_not_nothing() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": {"v": "{% $states.input.n %}"}}))
    assert succeeded(run(definition, {"n": None})) == {"v": None}


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Wait", "Seconds": "{% $states.input.missing %}"}, "Seconds"),
        ({"Type": "Fail", "Error": "{% $states.input.missing %}", "Cause": "c"}, "Error"),
        ({"Type": "Fail", "Error": "E", "Cause": "{% $states.input.missing %}"}, "Cause"),
        (
            {
                "Type": "Map",
                "Items": "{% $states.input.missing %}",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            },
            "Items",
        ),
        (
            {
                "Type": "Map",
                "Items": [1],
                "MaxConcurrency": "{% $states.input.missing %}",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            },
            "MaxConcurrency",
        ),
        (task(TimeoutSeconds="{% $states.input.missing %}"), "TimeoutSeconds"),
    ],
    ids=["wait-seconds", "fail-error", "fail-cause", "map-items", "map-concurrency", "timeout"],
)
def test_scalar_fields_returning_nothing(state: dict[str, Any], field: str) -> None:
    result = run(jsonata(single(state, "S")), {}, {"work": Recorder(result=1)})
    failed(result, QEE, nothing("$states.input.missing", field))


# -------------------------------------------------------------------- evaluation errors


def test_an_expression_that_throws_gives_the_jsonata_code() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": {"v": "{% $sum(['a']) %}"}}, "S"))
    result = run(definition, {})
    failed(result, QEE)
    assert result.cause is not None
    assert result.cause.startswith(
        prefix("S") + "The JSONata expression '$sum(['a'])' specified for the field 'Output/v' "
        "threw an error during evaluation. T0412"
    )


@pytest.mark.parametrize(
    ("expression", "code"),
    [
        ("$number('not-a-number')", "D3030"),
        ("$eval('1')", "T1006"),  # AWS removes $eval ("use $parse instead")
        ("$error('custom')", "D3137"),
        ("'a' + 1", "T2001"),
    ],
)
def test_evaluation_errors_are_query_evaluation_errors(expression: str, code: str) -> None:
    definition = jsonata(single({"Type": "Pass", "Output": f"{{% {expression} %}}"}, "S"))
    result = run(definition, {})
    failed(result, QEE, f"The JSONata expression '{expression}' specified for the field 'Output'")
    assert f"threw an error during evaluation. {code}" in (result.cause or "")


def test_aws_added_function_misuse_is_a_query_evaluation_error() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": "{% $hash('x', 'SHA-999') %}"}))
    failed(run(definition, {}), QEE, "threw an error during evaluation")


# ----------------------------------------------------------- Choice and Catch field names


def test_a_choice_condition_returning_nothing_names_the_rule() -> None:
    definition = jsonata(
        {
            "StartAt": "Pick",
            "States": {
                "Pick": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% false %}", "Next": "Done"},
                        {"Condition": "{% $states.input.missing %}", "Next": "Done"},
                    ],
                    "Default": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    result = run(definition, {})
    failed(result, QEE, nothing("$states.input.missing", "Choices[1]/Condition"))


def test_a_choice_rule_assign_returning_nothing_names_the_rule() -> None:
    definition = jsonata(
        {
            "StartAt": "Pick",
            "States": {
                "Pick": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% true %}",
                            "Assign": {"x": "{% $states.input.missing %}"},
                            "Next": "Done",
                        }
                    ],
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    failed(run(definition, {}), QEE, nothing("$states.input.missing", "Choices[0]/Assign/x"))


def test_a_catch_output_returning_nothing_names_the_clause() -> None:
    def boom(_: Any) -> Any:
        from stepline import StatesError

        raise StatesError("Boom", "b")

    state = task(
        "boom",
        Catch=[
            {"ErrorEquals": ["Other"], "Next": "Done"},
            {
                "ErrorEquals": ["States.ALL"],
                "Output": "{% $states.input.missing %}",
                "Next": "Done",
            },
        ],
    )
    definition = jsonata(
        {"StartAt": "T", "States": {"T": {**state, "End": True}, "Done": {"Type": "Succeed"}}}
    )
    result = run(definition, {}, {"boom": boom})
    failed(result, QEE, nothing("$states.input.missing", "Catch[1]/Output"))


# ------------------------------------------------------------------------ Retry and Catch


def _bad_arguments(**fields: Any) -> dict[str, Any]:
    return task(Arguments={"n": "{% $number($states.input.text) %}"}, **fields)


def test_retry_on_query_evaluation_error_reevaluates_the_state() -> None:
    rec = Recorder(result="never")
    retrier = {
        "ErrorEquals": [QEE],
        "IntervalSeconds": 2,
        "MaxAttempts": 2,
        "BackoffRate": 1.0,
    }
    result = run(jsonata(single(_bad_arguments(Retry=[retrier]))), {"text": "x"}, {"work": rec})
    failed(result, QEE, "D3030")
    assert rec.calls == []
    assert times(result, "ExecutionFailed") == [4.0]


def test_states_all_retries_and_catches_query_evaluation_error() -> None:
    definition = jsonata(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    **_bad_arguments(
                        Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                    ),
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )
    result = run(definition, {"text": "x"}, {"work": Recorder(result=1)})
    output = succeeded(result)
    assert output["Error"] == QEE
    assert set(output) == {"Error", "Cause"}
    assert "$number($states.input.text)" in output["Cause"]
    assert times(result, "TaskStateExited") == [1.0]


def test_a_caught_evaluation_failure_history() -> None:
    definition = jsonata(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    **_bad_arguments(Catch=[{"ErrorEquals": [QEE], "Next": "Handled"}]),
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )
    result = run(definition, {"text": "x"}, {"work": Recorder(result=1)})
    succeeded(result)
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "EvaluationFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert detail(events(result, "TaskStateExited")[0], "output")["Error"] == QEE


def test_an_output_error_after_a_successful_task_can_be_caught() -> None:
    definition = jsonata(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    **task(
                        Output={"v": "{% $number('x' & $states.result.present) %}"},
                        Catch=[
                            {
                                "ErrorEquals": [QEE],
                                "Output": {
                                    "error": "{% $states.errorOutput.Error %}",
                                    "in": "{% $states.input %}",
                                },
                                "Next": "Handled",
                            }
                        ],
                    ),
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )
    result = run(definition, {"a": 1}, {"work": lambda p: {"present": 1}})
    assert succeeded(result) == {"error": QEE, "in": {"a": 1}}
    assert subsequence(["TaskSucceeded", "TaskStateExited", "PassStateEntered"], types(result))


def test_a_branch_evaluation_failure_is_caught_by_the_parallel() -> None:
    branch = single({"Type": "Pass", "Output": "{% $states.input.missing %}"}, "Undef")
    definition = jsonata(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [branch],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )
    result = run(definition, {"x": "a"})
    output = succeeded(result)
    assert output == {
        "Error": QEE,
        "Cause": prefix("Undef", 4) + nothing("$states.input.missing", "Output"),
    }


def test_task_errors_keep_their_own_names_in_jsonata_states() -> None:
    script = Script(("raise", "Card.Declined", "expired"), ("return", {"ok": True}))
    retrier = {"ErrorEquals": ["Card.Declined"], "MaxAttempts": 1, "IntervalSeconds": 1}
    definition = jsonata(single(task("pay", Retry=[retrier], Output="{% $states.result.ok %}")))
    result = run(definition, {}, {"pay": script})
    assert succeeded(result) is True
    assert script.calls == 2
