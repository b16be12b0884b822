"""Workflow variables assigned and read by JSONata states, and across the two query languages.

AWS references: developer guide "Passing data between states with variables" (every
assignment of a state is evaluated with the variable values from before the state; Output is
evaluated with the same values, so a state never sees its own Assign; a Catch's Assign sees
``$states.errorOutput``; Map iterations and Parallel branches read outer variables and cannot
change them, results leave only through the output), "Choice workflow state" (a rule's own
``Assign`` when that rule matches), "Transforming data with JSONata" (the functions Step
Functions adds: ``$partition``, ``$range``, ``$hash``, ``$random`` with a seed, ``$uuid``,
``$parse``; ``$eval`` is not available). Recorded against AWS by LocalStack's snapshot tests:
``assign/test_assign_base`` (``test_assign_in_choice``: the matched rule's Assign, the state's
Assign with Default; ``assignedVariables`` as JSON text) and ``outputdecl/test_output``
(``BASE_EXPR``: a JSONata state reads variables a JSONPath state assigned).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from _engine_kit import Recorder, chain, events, failed, run, single, succeeded, task

from stepline import StatesError

pytestmark = pytest.mark.usefixtures("jsonata_engine")  # each test runs on both engines


def jsonata(definition: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **definition}


def assigned(result: Any, state: str) -> dict[str, Any] | None:
    """The ``assignedVariables`` (JSON text) of the first exit of ``state``, None when absent."""
    for event in result.history_events():
        details = event.get("stateExitedEventDetails")
        if details and details["name"] == state:
            if "assignedVariables" not in details:
                return None
            assert details["assignedVariablesDetails"] == {"truncated": False}
            return details["assignedVariables"]
    raise AssertionError(f"no exit of {state}")


def decoded(result: Any, state: str) -> dict[str, Any]:
    variables = assigned(result, state)
    assert variables is not None
    return {name: json.loads(text) for name, text in variables.items()}


# -------------------------------------------------------------------------- basics


def test_assign_literals_and_expressions_and_read_them_later() -> None:
    definition = jsonata(
        chain(
            (
                "Set",
                {
                    "Type": "Pass",
                    "Assign": {
                        "total": 42,
                        "name": "{% $states.input.who %}",
                        "obj": {"deep": ["{% $states.input.n * 2 %}", "lit"]},
                        "nothingSpecial": "$not.an.expression",
                    },
                },
            ),
            (
                "Read",
                {
                    "Type": "Pass",
                    "Output": {
                        "total": "{% $total %}",
                        "name": "{% $name %}",
                        "deep": "{% $obj.deep[0] %}",
                        "plain": "{% $nothingSpecial %}",
                    },
                },
            ),
        )
    )
    result = run(definition, {"who": "María", "n": 3})
    assert succeeded(result) == {
        "total": 42,
        "name": "María",
        "deep": 6,
        "plain": "$not.an.expression",
    }
    assert assigned(result, "Set") == {
        "total": "42",
        "name": '"María"',
        "obj": '{"deep":[6,"lit"]}',
        "nothingSpecial": '"$not.an.expression"',
    }
    # A state that assigns nothing has no assignedVariables member.
    assert assigned(result, "Read") is None


def test_assign_whole_value_null_is_a_value() -> None:
    definition = jsonata(
        chain(
            ("Set", {"Type": "Pass", "Assign": {"v": "{% $states.input.bar %}"}}),
            ("Read", {"Type": "Pass", "Output": {"v": "{% $v %}", "e": "{% $exists($v) %}"}}),
        )
    )
    result = run(definition, {"bar": None})
    assert succeeded(result) == {"v": None, "e": True}
    assert assigned(result, "Set") == {"v": "null"}


def test_variables_survive_states_that_replace_the_output() -> None:
    definition = jsonata(
        chain(
            ("Set", {"Type": "Pass", "Assign": {"keep": "k"}, "Output": {"t": 1}}),
            ("Replace", {"Type": "Pass", "Output": {"t": 2}}),
            ("Wait", {"Type": "Wait", "Seconds": 1}),
            (
                "Read",
                {"Type": "Pass", "Output": {"keep": "{% $keep %}", "t": "{% $states.input.t %}"}},
            ),
        )
    )
    assert succeeded(run(definition, {})) == {"keep": "k", "t": 2}


# ------------------------------------------------------------------- evaluation order


def test_assign_and_output_see_the_values_from_before_the_state() -> None:
    # The developer guide's example: from $x=3, $a=6, Assign {"x": "{% $a %}",
    # "nextX": "{% $x %}"} ends with $x=6 and $nextX=3; the state's own Output sees $x=3.
    definition = jsonata(
        chain(
            ("Seed", {"Type": "Pass", "Assign": {"x": 3, "a": 6}}),
            (
                "Swap",
                {
                    "Type": "Pass",
                    "Assign": {"x": "{% $a %}", "nextX": "{% $x %}"},
                    "Output": {"xSeen": "{% $x %}"},
                },
            ),
            (
                "After",
                {
                    "Type": "Pass",
                    "Output": {
                        "xSeen": "{% $states.input.xSeen %}",
                        "x": "{% $x %}",
                        "nextX": "{% $nextX %}",
                        "a": "{% $a %}",
                    },
                },
            ),
        )
    )
    result = run(definition, {})
    assert succeeded(result) == {"xSeen": 3, "x": 6, "nextX": 3, "a": 6}
    assert assigned(result, "Swap") == {"x": "6", "nextX": "3"}


def test_task_assign_and_output_both_see_the_result_and_the_old_values() -> None:
    definition = jsonata(
        chain(
            ("Seed", {"Type": "Pass", "Assign": {"total": 10}}),
            (
                "Charge",
                task(
                    Arguments={"add": "{% $total %}"},
                    Assign={
                        "total": "{% $total + $states.result.amount %}",
                        "last": "{% $states.result %}",
                    },
                    Output={"before": "{% $total %}", "result": "{% $states.result.amount %}"},
                ),
            ),
            (
                "Show",
                {
                    "Type": "Pass",
                    "Output": {
                        "total": "{% $total %}",
                        "last": "{% $last %}",
                        "in": "{% $states.input %}",
                    },
                },
            ),
        )
    )
    rec = Recorder(fn=lambda p: {"amount": p["add"] + 1})
    result = run(definition, {}, {"work": rec})
    assert rec.calls == [{"add": 10}]
    assert succeeded(result) == {
        "total": 21,
        "last": {"amount": 11},
        "in": {"before": 10, "result": 11},
    }


def test_wait_state_assign_with_the_context() -> None:
    definition = jsonata(
        chain(
            (
                "W",
                {
                    "Type": "Wait",
                    "Seconds": 3,
                    "Assign": {"at": "{% $states.context.State.EnteredTime %}"},
                },
            ),
            ("Read", {"Type": "Pass", "Output": "{% $at %}"}),
        )
    )
    assert succeeded(run(definition, {})) == "2023-11-14T22:13:20.000Z"


# ------------------------------------------------------------------------ Choice


def _choice_with_assign() -> dict[str, Any]:
    return jsonata(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% $states.input.condition %}",
                            "Next": "Report",
                            "Assign": {"assignment": "Condition assignment"},
                        }
                    ],
                    "Default": "Report",
                    "Assign": {"assignment": "Default Assignment"},
                },
                "Report": {"Type": "Pass", "Output": "{% $assignment %}", "End": True},
            },
        }
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [(True, "Condition assignment"), (False, "Default Assignment")],
)
def test_choice_rule_assign_or_state_assign_with_default(condition: bool, expected: str) -> None:
    result = run(_choice_with_assign(), {"condition": condition})
    assert succeeded(result) == expected
    assert assigned(result, "C") == {"assignment": json.dumps(expected)}


def test_choice_rule_assign_sees_the_old_values_and_the_input() -> None:
    definition = jsonata(
        {
            "StartAt": "Seed",
            "States": {
                "Seed": {"Type": "Pass", "Assign": {"n": 1}, "Next": "Loop"},
                "Loop": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% $n < 3 %}",
                            "Assign": {"n": "{% $n + 1 %}", "seen": "{% $append($seen, $n) %}"},
                            "Next": "Loop",
                        }
                    ],
                    "Default": "Done",
                },
                "Done": {
                    "Type": "Pass",
                    "Output": {"n": "{% $n %}", "seen": "{% $seen %}"},
                    "End": True,
                },
            },
        }
    )
    # `$seen` is undefined on the first pass; $append(undefined, 1) is [1] in JSONata.
    assert succeeded(run(definition, {})) == {"n": 3, "seen": [1, 2]}


# ------------------------------------------------------------------------- Catch


def _boom(_: Any) -> Any:
    raise StatesError("Card.Declined", "expired card")


def test_catch_assign_and_output_see_the_error_output_and_the_input() -> None:
    definition = jsonata(
        {
            "StartAt": "Seed",
            "States": {
                "Seed": {"Type": "Pass", "Assign": {"attempt": 1}, "Next": "Pay"},
                "Pay": {
                    **task(
                        "boom",
                        Assign={"never": "{% $states.result %}"},
                        Catch=[
                            {
                                "ErrorEquals": ["States.ALL"],
                                "Assign": {
                                    "why": "{% $states.errorOutput.Cause %}",
                                    "attempt": "{% $attempt + 1 %}",
                                    "order": "{% $states.input.order %}",
                                },
                                "Output": {
                                    "error": "{% $states.errorOutput.Error %}",
                                    "attemptSeen": "{% $attempt %}",
                                },
                                "Next": "Report",
                            }
                        ],
                    ),
                    "End": True,
                },
                "Report": {
                    "Type": "Pass",
                    "Output": {
                        "why": "{% $why %}",
                        "attempt": "{% $attempt %}",
                        "order": "{% $order %}",
                        "in": "{% $states.input %}",
                        "neverAssigned": "{% $exists($never) %}",
                    },
                    "End": True,
                },
            },
        }
    )
    result = run(definition, {"order": "o-1"}, {"boom": _boom})
    assert succeeded(result) == {
        "why": "expired card",
        "attempt": 2,
        "order": "o-1",
        "in": {"error": "Card.Declined", "attemptSeen": 1},
        "neverAssigned": False,
    }
    assert decoded(result, "Pay") == {"why": "expired card", "attempt": 2, "order": "o-1"}


def test_catch_without_output_passes_the_error_output_on() -> None:
    definition = jsonata(
        {
            "StartAt": "Pay",
            "States": {
                "Pay": {
                    **task(
                        "boom",
                        Catch=[
                            {
                                "ErrorEquals": ["Card.Declined"],
                                "Assign": {"e": "{% $states.errorOutput %}"},
                                "Next": "Report",
                            }
                        ],
                    ),
                    "End": True,
                },
                "Report": {
                    "Type": "Pass",
                    "Output": {"in": "{% $states.input %}", "e": "{% $e %}"},
                    "End": True,
                },
            },
        }
    )
    error_output = {"Error": "Card.Declined", "Cause": "expired card"}
    assert succeeded(run(definition, {}, {"boom": _boom})) == {
        "in": error_output,
        "e": error_output,
    }


# ---------------------------------------------------------------------- scoping


def test_map_iterations_read_outer_variables_and_keep_their_own() -> None:
    processor = chain(
        ("SetInner", {"Type": "Pass", "Assign": {"innerVar": "{% $outerVar * $states.input %}"}}),
        (
            "ReadInner",
            {"Type": "Pass", "Output": {"inner": "{% $innerVar %}", "outer": "{% $outerVar %}"}},
        ),
    )
    definition = jsonata(
        chain(
            ("SetOuter", {"Type": "Pass", "Assign": {"outerVar": 10}}),
            ("M", {"Type": "Map", "Items": [1, 2], "ItemProcessor": processor}),
            (
                "Check",
                {
                    "Type": "Pass",
                    "Output": {
                        "iterations": "{% $states.input %}",
                        "outer": "{% $outerVar %}",
                        "innerLeaked": "{% $exists($innerVar) %}",
                    },
                },
            ),
        )
    )
    assert succeeded(run(definition, {})) == {
        "iterations": [{"inner": 10, "outer": 10}, {"inner": 20, "outer": 10}],
        "outer": 10,
        "innerLeaked": False,
    }


def test_map_item_selector_and_items_read_variables() -> None:
    processor = single({"Type": "Pass"})
    definition = jsonata(
        chain(
            ("Set", {"Type": "Pass", "Assign": {"xs": [1, 2], "tag": "t"}}),
            (
                "M",
                {
                    "Type": "Map",
                    "Items": "{% $xs %}",
                    "ItemSelector": {
                        "v": "{% $states.context.Map.Item.Value %}",
                        "tag": "{% $tag %}",
                    },
                    "ItemProcessor": processor,
                },
            ),
        )
    )
    assert succeeded(run(definition, {})) == [{"v": 1, "tag": "t"}, {"v": 2, "tag": "t"}]


def test_parallel_branches_are_scoped() -> None:
    branch_a = chain(
        ("A1", {"Type": "Pass", "Assign": {"branchVar": "a"}}),
        ("A2", {"Type": "Pass", "Output": {"own": "{% $branchVar %}", "outer": "{% $v %}"}}),
    )
    branch_b = single(
        {"Type": "Pass", "Output": {"sees": "{% $exists($branchVar) %}", "outer": "{% $v %}"}}
    )
    definition = jsonata(
        chain(
            ("Init", {"Type": "Pass", "Assign": {"v": "outer"}}),
            ("P", {"Type": "Parallel", "Branches": [branch_a, branch_b]}),
            (
                "After",
                {
                    "Type": "Pass",
                    "Output": {
                        "v": "{% $v %}",
                        "b": "{% $states.input %}",
                        "leaked": "{% $exists($branchVar) %}",
                    },
                },
            ),
        )
    )
    assert succeeded(run(definition, {})) == {
        "v": "outer",
        "b": [{"own": "a", "outer": "outer"}, {"sees": False, "outer": "outer"}],
        "leaked": False,
    }


def test_map_state_assign_runs_in_the_outer_scope() -> None:
    processor = single({"Type": "Pass", "Output": "{% $states.input + 1 %}"})
    definition = jsonata(
        chain(
            (
                "M",
                {
                    "Type": "Map",
                    "Items": [1, 2],
                    "ItemProcessor": processor,
                    "Assign": {"out": "{% $states.result %}"},
                },
            ),
            ("Read", {"Type": "Pass", "Output": "{% $out %}"}),
        )
    )
    assert succeeded(run(definition, {})) == [2, 3]


# ------------------------------------------------------------ across query languages


def test_jsonata_state_reads_variables_assigned_by_a_jsonpath_state() -> None:
    definition = chain(
        ("Init", {"Type": "Pass", "Assign": {"inputValue.$": "$.input_value", "one": 1}}),
        (
            "Use",
            {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": {
                    "var": "{% $inputValue %}",
                    "sum": "{% $sum($states.input.input_values) + $one %}",
                },
            },
        ),
    )
    result = run(definition, {"input_value": "s", "input_values": [1, 2, 3]})
    assert succeeded(result) == {"var": "s", "sum": 7}


def test_jsonpath_state_reads_variables_assigned_by_a_jsonata_state() -> None:
    definition = chain(
        (
            "Init",
            {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": {"order": {"id": "{% $states.input.id %}", "lines": [1, 2]}, "n": 2},
            },
        ),
        (
            "Use",
            {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "$order.id",
                    "second.$": "$order.lines[1]",
                    "count.$": "States.ArrayLength($order.lines)",
                    "n.$": "$n",
                },
            },
        ),
        (
            "Decide",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$n", "NumericEquals": 2, "Next": "Done"}],
            },
        ),
        ("Done", {"Type": "Succeed"}),
    )
    assert succeeded(run(definition, {"id": "o-9"})) == {
        "id": "o-9",
        "second": 2,
        "count": 2,
        "n": 2,
    }


def test_jsonpath_task_result_assigned_then_read_by_jsonata() -> None:
    definition = chain(
        (
            "T",
            task(
                ResultSelector={"id.$": "$.id"},
                Assign={"chargeId.$": "$.id"},
                ResultPath="$.charge",
            ),
        ),
        (
            "Use",
            {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": {"id": "{% $chargeId %}", "kept": "{% $states.input.charge %}"},
            },
        ),
    )
    result = run(definition, {}, {"work": lambda p: {"id": "ch_1", "other": 0}})
    assert succeeded(result) == {"id": "ch_1", "kept": {"id": "ch_1"}}


# ------------------------------------------------------------ functions AWS adds


def test_partition_range_hash_parse_inside_states() -> None:
    definition = jsonata(
        chain(
            (
                "Set",
                {
                    "Type": "Pass",
                    "Assign": {
                        "chunks": "{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3) %}",
                        "evens": "{% $range(0, 10, 2) %}",
                        "down": "{% $range(3, 1, -1) %}",
                        "digest": "{% $hash($states.input.content, 'SHA-256') %}",
                        "md5": "{% $hash('abc', 'MD5') %}",
                        "parsed": "{% $parse($states.input.json) %}",
                    },
                },
            ),
            (
                "Show",
                {
                    "Type": "Pass",
                    "Output": {
                        "chunks": "{% $chunks %}",
                        "lastChunk": "{% $partition([1, 2, 3, 4, 5], 2)[-1] %}",
                        "evens": "{% $evens %}",
                        "down": "{% $down %}",
                        "digest": "{% $digest %}",
                        "md5": "{% $md5 %}",
                        "parsed": "{% $parsed.k[1] %}",
                    },
                },
            ),
        )
    )
    result = run(definition, {"content": "input data", "json": '{"k": [1, {"x": true}]}'})
    assert succeeded(result) == {
        "chunks": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
        "lastChunk": [5],
        "evens": [0, 2, 4, 6, 8, 10],
        "down": [3, 2, 1],
        "digest": hashlib.sha256(b"input data").hexdigest(),
        "md5": hashlib.md5(b"abc", usedforsecurity=False).hexdigest(),
        "parsed": {"x": True},
    }


def test_random_with_a_seed_is_repeatable_and_uuid_is_v4() -> None:
    definition = jsonata(
        single(
            {
                "Type": "Pass",
                "Output": {
                    "a": "{% $random(7) %}",
                    "b": "{% $random($states.input.seed) %}",
                    "free": "{% $random() %}",
                    "u1": "{% $uuid() %}",
                    "u2": "{% $uuid() %}",
                },
            }
        )
    )
    first = succeeded(run(definition, {"seed": 7}))
    second = succeeded(run(definition, {"seed": 7}))
    assert first["a"] == first["b"] == second["a"]
    for value in (first["a"], first["free"]):
        assert isinstance(value, float)
        assert 0 <= value < 1
    v4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert v4.match(first["u1"])
    assert v4.match(first["u2"])
    assert first["u1"] != first["u2"] != second["u1"]


def test_functions_used_in_task_arguments_and_choice() -> None:
    rec = Recorder(fn=lambda p: p)
    definition = jsonata(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    **task(Arguments={"batches": "{% $partition($states.input.ids, 2) %}"}),
                    "Next": "C",
                },
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% $count($states.input.batches) = 2 %}", "Next": "Ok"}
                    ],
                    "Default": "Bad",
                },
                "Ok": {"Type": "Succeed"},
                "Bad": {"Type": "Fail", "Error": "Bad"},
            },
        }
    )
    result = run(definition, {"ids": ["a", "b", "c"]}, {"work": rec})
    assert succeeded(result) == {"batches": [["a", "b"], ["c"]]}
    assert rec.calls == [{"batches": [["a", "b"], ["c"]]}]


def test_eval_is_not_available() -> None:
    definition = jsonata(single({"Type": "Pass", "Assign": {"x": "{% $eval('1 + 1') %}"}}))
    failed(run(definition, {}), "States.QueryEvaluationError", "T1006")


# ------------------------------------------------------------------------- limits


def test_assigned_values_over_the_quota_fail_with_data_limit_exceeded() -> None:
    from stepline import StateMachine, VirtualClock

    definition = jsonata(single({"Type": "Pass", "Assign": {"big": "{% [1..$states.input.n] %}"}}))
    sm = StateMachine(definition, clock=VirtualClock(), max_payload_bytes=100)
    assert sm.run({"n": 10}).status == "SUCCEEDED"
    result = sm.run({"n": 60})
    failed(result, "States.DataLimitExceeded", "big")
    assert not events(result, "PassStateExited")
