"""Workflow variables named like JSONata functions, through whole executions on both engines.

JSONata looks ``$name`` up in the evaluation's bindings before its function library
(jsonata-js; AWS passes the workflow variables as bindings), so once a state assigns
``count``, a later ``$count`` is that value, wherever an expression sits: Output, Arguments,
a Choice Condition, a Map's ItemSelector, a later Assign, a Catch's Assign. Until then, and in
definitions that never assign it, ``$count`` is the function. JSONPath states read ``$count``
through their own path walker, where no function exists.
"""

from __future__ import annotations

from typing import Any

import pytest
from _engine_kit import Recorder, chain, failed, run, succeeded, task

from stepline import StatesError

pytestmark = pytest.mark.usefixtures("jsonata_engine")  # each test runs on both engines


def jsonata(definition: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **definition}


def test_output_reads_a_variable_named_count() -> None:
    definition = jsonata(
        chain(
            ("A", {"Type": "Pass", "Assign": {"count": 5}}),
            ("B", {"Type": "Pass", "Output": "{% $count + 1 %}"}),
        )
    )
    assert succeeded(run(definition)) == 6


def test_variables_named_sum_string_keys_in_values_and_paths() -> None:
    definition = jsonata(
        chain(
            (
                "A",
                {
                    "Type": "Pass",
                    "Assign": {
                        "sum": {"total": 10, "lines": [3, 7]},
                        "string": "id-",
                        "keys": ["a", "b", "c"],
                    },
                },
            ),
            (
                "B",
                {
                    "Type": "Pass",
                    "Output": {
                        "total": "{% $sum.total %}",
                        "second": "{% $sum.lines[1] %}",
                        "label": "{% $string & $keys[0] %}",
                        "n": "{% $count($keys) %}",  # count is not assigned: the function
                    },
                },
            ),
        )
    )
    assert succeeded(run(definition)) == {"total": 10, "second": 7, "label": "id-a", "n": 3}


def test_a_choice_condition_and_a_later_assign_read_the_variable() -> None:
    definition = jsonata(
        {
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"count": 0}, "Next": "Check"},
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $count < 3 %}", "Next": "Step"}],
                    "Default": "Done",
                },
                "Step": {"Type": "Pass", "Assign": {"count": "{% $count + 1 %}"}, "Next": "Check"},
                "Done": {"Type": "Pass", "Output": {"count": "{% $count %}"}, "End": True},
            },
        }
    )
    assert succeeded(run(definition)) == {"count": 3}


def test_a_map_item_selector_and_iterations_read_the_variable() -> None:
    definition = jsonata(
        chain(
            ("Init", {"Type": "Pass", "Assign": {"sum": 100}}),
            (
                "Each",
                {
                    "Type": "Map",
                    "Items": "{% [1, 2] %}",
                    "ItemSelector": {"v": "{% $states.context.Map.Item.Value + $sum %}"},
                    "ItemProcessor": {
                        "StartAt": "In",
                        "States": {
                            "In": {
                                "Type": "Pass",
                                "Output": "{% $states.input.v * 2 + $sum %}",
                                "End": True,
                            }
                        },
                    },
                },
            ),
        )
    )
    assert succeeded(run(definition)) == [302, 304]


def test_task_arguments_read_the_variable() -> None:
    rec = Recorder(fn=lambda p: {"seen": p})
    definition = jsonata(
        chain(
            ("Init", {"Type": "Pass", "Assign": {"merge": {"a": 1}}}),
            ("Call", task("echo", Arguments={"m": "{% $merge.a %}"}, Output="{% $merge %}")),
        )
    )
    assert succeeded(run(definition, tasks={"echo": rec})) == {"a": 1}
    assert rec.calls == [{"m": 1}]


def _boom(_: Any) -> Any:
    raise StatesError("Card.Declined", "expired card")


def test_a_catch_assign_reads_and_writes_the_variable() -> None:
    definition = jsonata(
        chain(
            ("Init", {"Type": "Pass", "Assign": {"count": 1}}),
            (
                "Pay",
                task(
                    "boom",
                    Catch=[
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Assign": {
                                "count": "{% $count + 1 %}",
                                "string": "{% $states.errorOutput.Error %}",
                            },
                            "Next": "After",
                        }
                    ],
                    End=True,
                ),
            ),
            ("After", {"Type": "Pass", "Output": "{% $string & ' ' & $count %}", "End": True}),
        )
    )
    assert succeeded(run(definition, tasks={"boom": _boom})) == "Card.Declined 2"


def test_calling_the_variable_fails_the_state_as_calling_a_non_function() -> None:
    definition = jsonata(
        chain(
            ("A", {"Type": "Pass", "Assign": {"count": 5}}),
            ("B", {"Type": "Pass", "Output": {"n": "{% $count([1, 2]) %}"}}),
        )
    )
    cause = failed(run(definition), "States.QueryEvaluationError")
    assert cause == (
        "An error occurred while executing the state 'B' (entered at the event id #4). "
        "The JSONata expression '$count([1, 2])' specified for the field 'Output/n' threw an "
        "error during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_before_the_assignment_the_name_is_still_the_function() -> None:
    definition = jsonata(
        chain(
            ("A", {"Type": "Pass", "Output": "{% $count([1, 2, 3]) %}"}),
            ("B", {"Type": "Pass", "Assign": {"count": "{% $states.input %}"}}),
            ("C", {"Type": "Pass", "Output": "{% $count * 10 %}"}),
        )
    )
    assert succeeded(run(definition)) == 30


def test_without_such_a_variable_the_functions_work() -> None:
    definition = jsonata(
        chain(
            ("A", {"Type": "Pass", "Assign": {"items": [1, 2, 3]}}),
            (
                "B",
                {
                    "Type": "Pass",
                    "Output": {
                        "count": "{% $count($items) %}",
                        "sum": "{% $sum($items) %}",
                        "string": "{% $string($sum($items)) %}",
                        "keys": "{% $keys({'k': 1}) %}",
                    },
                },
            ),
        )
    )
    assert succeeded(run(definition)) == {"count": 3, "sum": 6, "string": "6", "keys": "k"}


def test_a_lambda_parameter_and_a_block_variable_of_the_same_name_stay_local() -> None:
    definition = jsonata(
        chain(
            ("A", {"Type": "Pass", "Assign": {"count": 5}}),
            (
                "B",
                {
                    "Type": "Pass",
                    "Output": {
                        "parameter": "{% $map([1, 2], function($count) { $count * 10 }) %}",
                        "block": "{% ($count := 1; $count) + $count %}",
                        "outer": "{% $map([1, 2], function($v) { $v + $count }) %}",
                    },
                },
            ),
        )
    )
    assert succeeded(run(definition)) == {"parameter": [10, 20], "block": 6, "outer": [6, 7]}


def test_a_jsonpath_state_reads_the_variable_and_a_jsonata_state_after_it() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Assign": {"count": 5, "sum": {"a": [1, 2]}}}),
        ("B", {"Type": "Pass", "Parameters": {"n.$": "$count", "first.$": "$sum.a[0]"}}),
        ("C", {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $count + $sum.a[1] %}"}),
    )
    assert succeeded(run(definition)) == 7


def test_a_jsonpath_one_member_variable_path() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Assign": {"sum": {"a": 1}}}),
        ("B", {"Type": "Pass", "Parameters": {"n.$": "$sum.a"}}),
    )
    assert succeeded(run(definition)) == {"n": 1}


def test_a_jsonpath_intrinsic_argument_variable() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Assign": {"count": 5}}),
        ("B", {"Type": "Pass", "Parameters": {"n.$": "States.Format('n={}', $count)"}}),
    )
    assert succeeded(run(definition)) == {"n": "n=5"}


def test_a_jsonpath_variable_path_that_selects_nothing_names_the_variable() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Assign": {"sum": {"a": 1}}}),
        ("B", {"Type": "Pass", "Parameters": {"n.$": "$sum.b"}}),
    )
    result = run(definition)
    assert result.error == "States.Runtime"
    assert "could not be found in the variable '$sum' '{\"a\":1}'" in (result.cause or "")
