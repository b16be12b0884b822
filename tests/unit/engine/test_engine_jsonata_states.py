"""JSONata states at run time: query language, ``$states``, Arguments/Output and the scalar fields.

AWS references: developer guide "Transforming data with JSONata in Step Functions" (the two
fields ``Arguments``/``Output`` replace the five JSONPath ones; a field may be one ``{% %}``
expression or hold expressions at any depth), "Passing data between states with variables"
(``$states.input`` is the state's original input in every field, ``$states.result`` the
task/sub-workflow result, ``$states.errorOutput`` only in a Catch, ``$states.context`` the
context object), the Choice/Map/Wait/Fail/Task state pages (the fields that take an
expression). Behaviour recorded against AWS by LocalStack's snapshot tests
(``tests/aws/services/stepfunctions/v2/outputdecl``, ``.../evaluate_jsonata``): a JSONata
state in a JSONPath machine reads variables assigned by a JSONPath state, ``$states.context``
as a whole is the context object, a matched Choice rule's own ``Output`` is the state output,
and a ``TimeoutSeconds`` expression shows up as ``timeoutInSeconds`` in ``TaskScheduled``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _engine_kit import (
    ConcurrencyProbe,
    Recorder,
    chain,
    detail,
    events,
    failed,
    run,
    single,
    succeeded,
    task,
    times,
    types,
)

from stepline import InvalidDefinition, StateMachine, VirtualClock

QEE = "States.QueryEvaluationError"
pytestmark = pytest.mark.usefixtures("jsonata_engine")  # each test runs on both engines


def jsonata(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with ``"QueryLanguage": "JSONata"`` at the top."""
    return {"QueryLanguage": "JSONata", **definition}


def pass_end(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", **fields}


def scope(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A Parallel branch / Map processor made of the given states, in order."""
    return chain(*states)


# ------------------------------------------------------------------------- QueryLanguage


def test_a_jsonpath_machine_runs_one_jsonata_state_among_jsonpath_ones() -> None:
    definition = chain(
        ("Shape", {"Type": "Pass", "Parameters": {"n.$": "$.a", "m": 2}}),
        (
            "Sum",
            {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": {"sum": "{% $states.input.n + $states.input.m %}"},
            },
        ),
        ("Pick", {"Type": "Pass", "OutputPath": "$.sum"}),
    )
    result = run(definition, {"a": 40})
    assert succeeded(result) == 42
    assert [detail(e, "output") for e in events(result, "PassStateExited")] == [
        {"n": 40, "m": 2},
        {"sum": 42},
        42,
    ]


def test_states_inside_map_and_parallel_take_the_machine_language() -> None:
    # The Map and the Parallel state are JSONata, the machine is JSONPath: the states of the
    # ItemProcessor and of the branches are JSONPath (they use Parameters and `$`).
    processor = scope(("Each", {"Type": "Pass", "Parameters": {"item.$": "$"}}))
    branch = scope(("Br", {"Type": "Pass", "Parameters": {"got.$": "$.x"}}))
    definition = chain(
        (
            "M",
            {
                "Type": "Map",
                "QueryLanguage": "JSONata",
                "Items": "{% $states.input.xs %}",
                "ItemProcessor": processor,
            },
        ),
        (
            "P",
            {
                "Type": "Parallel",
                "QueryLanguage": "JSONata",
                "Arguments": {"x": "{% $states.input %}"},
                "Branches": [branch],
            },
        ),
    )
    assert succeeded(run(definition, {"xs": [1, 2]})) == [{"got": [{"item": 1}, {"item": 2}]}]


def test_states_inside_map_of_a_jsonata_machine_are_jsonata() -> None:
    processor = scope(("Times", {"Type": "Pass", "Output": "{% $states.input * 10 %}"}))
    definition = jsonata(
        single({"Type": "Map", "Items": "{% $states.input.xs %}", "ItemProcessor": processor})
    )
    assert succeeded(run(definition, {"xs": [1, 2, 3]})) == [10, 20, 30]


def test_a_jsonata_machine_cannot_have_a_jsonpath_state() -> None:
    definition = jsonata(single({"Type": "Pass", "QueryLanguage": "JSONPath"}))
    with pytest.raises(InvalidDefinition, match="can not be 'JSONPath'"):
        StateMachine(definition, clock=VirtualClock())


# ------------------------------------------------------------------------------ $states


def test_states_input_is_the_state_input_in_every_field() -> None:
    rec = Recorder(result={"r": 1})
    definition = jsonata(
        single(
            task(
                Arguments={"echo": "{% $states.input.v %}"},
                Output={"in": "{% $states.input %}", "res": "{% $states.result %}"},
            )
        )
    )
    result = run(definition, {"v": "x"}, {"work": rec})
    assert rec.calls == [{"echo": "x"}]
    assert succeeded(result) == {"in": {"v": "x"}, "res": {"r": 1}}


def test_states_context_members() -> None:
    definition = jsonata(
        single(
            pass_end(
                Output={
                    "execution": "{% $states.context.Execution.Name %}",
                    "input": "{% $states.context.Execution.Input %}",
                    "state": "{% $states.context.State.Name %}",
                    "entered": "{% $states.context.State.EnteredTime %}",
                    "machine": "{% $states.context.StateMachine.Name %}",
                }
            ),
            name="Look",
        )
    )
    sm = StateMachine(definition, name="Machine", clock=VirtualClock(1_700_000_000.0))
    result = sm.run({"k": 1}, name="run-7")
    assert succeeded(result) == {
        "execution": "run-7",
        "input": {"k": 1},
        "state": "Look",
        "entered": "2023-11-14T22:13:20.000Z",
        "machine": "Machine",
    }


def test_states_context_as_a_whole_is_the_context_object() -> None:
    # LocalStack's AWS-recorded snapshot (outputdecl BASE_EXPR) has
    # "ja_states_context": "{% $states.context %}" evaluate to the whole context object.
    definition = jsonata(single(pass_end(Output={"ctx": "{% $states.context %}"}), name="Look"))
    result = run(definition, {"k": 1}, name="run-8")
    context = succeeded(result)["ctx"]
    assert context["Execution"]["Name"] == "run-8"
    assert context["Execution"]["Input"] == {"k": 1}
    assert context["State"]["Name"] == "Look"
    assert context["StateMachine"]["Id"].endswith(":stateMachine:StateMachine")


def test_states_context_as_a_whole_field() -> None:
    definition = jsonata(single(pass_end(Output="{% $states.context %}"), name="Look"))
    result = run(definition, {}, name="run-9")
    assert succeeded(result)["State"]["Name"] == "Look"


def test_map_item_index_and_value_in_item_selector() -> None:
    processor = scope(("Each", pass_end()))
    definition = jsonata(
        single(
            {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemSelector": {
                    "index": "{% $states.context.Map.Item.Index %}",
                    "value": "{% $states.context.Map.Item.Value %}",
                    "tag": "{% $states.input.tag %}",
                    "static": 1,
                },
                "ItemProcessor": processor,
            }
        )
    )
    result = run(definition, {"xs": ["a", {"b": 2}], "tag": "t"})
    assert succeeded(result) == [
        {"index": 0, "value": "a", "tag": "t", "static": 1},
        {"index": 1, "value": {"b": 2}, "tag": "t", "static": 1},
    ]


def test_states_result_in_task_output_and_assign() -> None:
    definition = jsonata(
        chain(
            (
                "T",
                task(
                    Assign={"charge": "{% $states.result.id %}"},
                    Output={"amount": "{% $states.result.amount %}"},
                ),
            ),
            ("Show", pass_end(Output={"charge": "{% $charge %}", "in": "{% $states.input %}"})),
        )
    )
    result = run(definition, {}, {"work": lambda p: {"id": "ch_1", "amount": 5}})
    assert succeeded(result) == {"charge": "ch_1", "in": {"amount": 5}}


def test_states_result_of_map_and_parallel() -> None:
    processor = scope(("Double", pass_end(Output="{% $states.input * 2 %}")))
    branch_a = scope(("A", pass_end(Output="a")))
    branch_b = scope(("B", pass_end(Output="{% [$states.input.sum, $states.input.n] %}")))
    definition = jsonata(
        chain(
            (
                "M",
                {
                    "Type": "Map",
                    "Items": [1, 2, 3],
                    "ItemProcessor": processor,
                    "Output": {
                        "sum": "{% $sum($states.result) %}",
                        "n": "{% $count($states.result) %}",
                    },
                    "Assign": {"doubled": "{% $states.result %}"},
                },
            ),
            (
                "P",
                {
                    "Type": "Parallel",
                    "Branches": [branch_a, branch_b],
                    "Output": {"branches": "{% $states.result %}", "doubled": "{% $doubled %}"},
                },
            ),
        )
    )
    assert succeeded(run(definition, {})) == {
        "branches": ["a", [12, 3]],
        "doubled": [2, 4, 6],
    }


# -------------------------------------------------------------------- Arguments / Output


def test_task_arguments_object_with_nested_expressions() -> None:
    rec = Recorder(result="ok")
    definition = jsonata(
        single(
            task(
                Arguments={
                    "id": "{% $states.input.order.id %}",
                    "lines": ["{% $states.input.order.n %}", 2, {"deep": "{% 'x' & 'y' %}"}],
                    "literal": "$.not.a.path",
                    "notExpr": " {% 1 %}",
                }
            )
        )
    )
    run(definition, {"order": {"id": "o-1", "n": 1}}, {"work": rec})
    assert rec.calls == [
        {
            "id": "o-1",
            "lines": [1, 2, {"deep": "xy"}],
            "literal": "$.not.a.path",
            "notExpr": " {% 1 %}",
        }
    ]


def test_task_arguments_as_one_whole_field_expression() -> None:
    rec = Recorder(result="ok")
    definition = jsonata(single(task(Arguments="{% $states.input.items[price > 5] %}")))
    result = run(definition, {"items": [{"price": 3}, {"price": 7}, {"price": 9}]}, {"work": rec})
    assert rec.calls == [[{"price": 7}, {"price": 9}]]
    assert detail(events(result, "TaskScheduled")[0], "parameters") == [{"price": 7}, {"price": 9}]
    assert succeeded(result) == "ok"


def test_task_without_arguments_gets_the_state_input() -> None:
    rec = Recorder(result=1)
    run(jsonata(single(task())), {"a": [1]}, {"work": rec})
    assert rec.calls == [{"a": [1]}]


def test_parallel_arguments_feed_every_branch() -> None:
    branch_a = scope(("A", pass_end(Output="{% $states.input.x + 1 %}")))
    branch_b = scope(("B", pass_end()))
    definition = jsonata(
        single(
            {
                "Type": "Parallel",
                "Arguments": "{% {'x': $states.input.a * 10} %}",
                "Branches": [branch_a, branch_b],
            }
        )
    )
    assert succeeded(run(definition, {"a": 2})) == [21, {"x": 20}]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (task(), {"from": "task"}),
        (pass_end(), {"in": 1}),
        ({"Type": "Wait", "Seconds": 1}, {"in": 1}),
        ({"Type": "Succeed"}, {"in": 1}),
    ],
    ids=["task-result", "pass-input", "wait-input", "succeed-input"],
)
def test_default_output(state: dict[str, Any], expected: Any) -> None:
    result = run(jsonata(single(state)), {"in": 1}, {"work": lambda p: {"from": "task"}})
    assert succeeded(result) == expected


def test_choice_default_output_is_its_input() -> None:
    definition = jsonata(
        {
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "E"}]},
                "E": {"Type": "Succeed"},
            },
        }
    )
    result = run(definition, {"in": 1})
    assert succeeded(result) == {"in": 1}
    assert detail(events(result, "ChoiceStateExited")[0], "output") == {"in": 1}


@pytest.mark.parametrize(
    "state",
    [
        pass_end(Output={"v": "{% $states.input.n + 1 %}"}),
        {"Type": "Wait", "Seconds": 0, "Output": {"v": "{% $states.input.n + 1 %}"}},
        {"Type": "Succeed", "Output": {"v": "{% $states.input.n + 1 %}"}},
        task(Output={"v": "{% $states.result + 1 %}"}),
    ],
    ids=["pass", "wait", "succeed", "task"],
)
def test_explicit_output(state: dict[str, Any]) -> None:
    result = run(jsonata(single(state)), {"n": 1}, {"work": lambda p: 1})
    assert succeeded(result) == {"v": 2}


@pytest.mark.parametrize("value", [None, 0, 0.5, True, "text", [], [1, "{% 2 %}"], {"k": []}])
def test_output_may_be_any_json_value(value: Any) -> None:
    expected = [1, 2] if value == [1, "{% 2 %}"] else value
    assert succeeded(run(jsonata(single(pass_end(Output=value))), {"x": 1})) == expected


def test_output_expression_returning_null_keeps_the_member() -> None:
    definition = jsonata(
        single(pass_end(Output={"v": "{% $states.input.bar %}", "l": ["{% null %}", 1]}))
    )
    assert succeeded(run(definition, {"bar": None})) == {"v": None, "l": [None, 1]}


def test_whole_output_returning_null_is_null() -> None:
    definition = jsonata(single(pass_end(Output="{% $states.input.bar %}")))
    assert succeeded(run(definition, {"bar": None})) is None


# ------------------------------------------------------------------------------- Choice


def _choice(rules: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return jsonata(
        {
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": rules, **fields},
                "Yes": pass_end(Output="yes", End=True),
                "No": pass_end(Output="no", End=True),
            },
        }
    )


@pytest.mark.parametrize(("n", "expected"), [(5, "yes"), (1, "no")])
def test_choice_condition_true_false_and_default(n: int, expected: str) -> None:
    definition = _choice([{"Condition": "{% $states.input.n > 3 %}", "Next": "Yes"}], Default="No")
    assert succeeded(run(definition, {"n": n})) == expected


def test_choice_rules_are_tried_in_order_and_later_ones_are_not_evaluated() -> None:
    definition = _choice(
        [
            {"Condition": "{% true %}", "Next": "Yes"},
            {"Condition": "{% $states.input.missing %}", "Next": "No"},
        ]
    )
    assert succeeded(run(definition, {})) == "yes"


def test_choice_with_no_match_and_no_default_is_no_choice_matched() -> None:
    definition = jsonata(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.n = 1 %}", "Next": "Yes"}],
                },
                "Yes": {"Type": "Succeed"},
            },
        }
    )
    result = run(definition, {"n": 2})
    failed(result, "States.NoChoiceMatched")
    assert types(result) == ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize("condition", ["{% 1 %}", "{% 'true' %}", "{% [true] %}", "{% null %}"])
def test_choice_condition_that_is_not_a_boolean_is_a_query_evaluation_error(
    condition: str,
) -> None:
    definition = _choice([{"Condition": condition, "Next": "Yes"}], Default="No")
    failed(run(definition, {}), QEE)


def test_choice_output_on_the_state_applies_to_default() -> None:
    definition = _choice(
        [{"Condition": "{% $states.input.ok %}", "Next": "Yes"}],
        Default="No",
        Output={"seen": "{% $states.input.ok %}"},
    )
    result = run(definition, {"ok": False})
    assert detail(events(result, "ChoiceStateExited")[0], "output") == {"seen": False}


def test_a_matched_choice_rule_uses_its_own_output() -> None:
    # Recorded against AWS (LocalStack outputdecl snapshot, test_output_in_choice): with a rule
    # Output "Condition Output block" and a state Output "Default Output block", the matched
    # rule's Output is the state output, the state's Output goes with Default.
    definition = jsonata(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% $states.input.ok %}",
                            "Next": "End",
                            "Output": {"by": "rule", "in": "{% $states.input.ok %}"},
                        }
                    ],
                    "Default": "End",
                    "Output": {"by": "default"},
                },
                "End": {"Type": "Succeed"},
            },
        }
    )
    assert succeeded(run(definition, {"ok": True})) == {"by": "rule", "in": True}
    assert succeeded(run(definition, {"ok": False})) == {"by": "default"}


# --------------------------------------------------------------------------------- Map


def _map(**fields: Any) -> dict[str, Any]:
    processor = scope(("Each", pass_end(Output="{% $states.input %}")))
    return jsonata(single({"Type": "Map", "ItemProcessor": processor, **fields}))


def test_map_items_literal_array() -> None:
    assert succeeded(run(_map(Items=[1, "{% 1 + 1 %}", [3]]), {})) == [1, 2, [3]]


def test_map_items_expression() -> None:
    result = run(_map(Items="{% $states.input.orders.id %}"), {"orders": [{"id": 1}, {"id": 2}]})
    assert succeeded(result) == [1, 2]
    assert events(result, "MapStateStarted")[0].details == {"length": 2}


def test_map_without_items_iterates_the_input() -> None:
    assert succeeded(run(_map(), [4, 5])) == [4, 5]


def test_map_items_empty_array() -> None:
    result = run(_map(Items="{% [] %}"), {})
    assert succeeded(result) == []
    assert types(result) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


@pytest.mark.parametrize(
    ("items", "kind"),
    [("{% {'a': 1} %}", "object"), ("{% 'abc' %}", "string"), ("{% 3 %}", "number")],
)
def test_map_items_that_are_not_an_array(items: str, kind: str) -> None:
    # AWS's cause, as users report it from real executions: "The JSONata expression
    # '$restorableJobs' specified for the field 'Items' returned an unexpected result type.
    # Expected 'array', but was 'object'" (LocalStack writes the same text).
    result = run(_map(Items=items), {})
    failed(
        result,
        QEE,
        f"specified for the field 'Items' returned an unexpected result type. "
        f"Expected 'array', but was '{kind}'",
    )


def test_map_max_concurrency_as_expression() -> None:
    probe = ConcurrencyProbe()
    processor = scope(("Work", task("probe")))
    definition = jsonata(
        single(
            {
                "Type": "Map",
                "Items": [1, 2, 3, 4],
                "MaxConcurrency": "{% $states.input.limit %}",
                "ItemProcessor": processor,
            }
        )
    )
    result = run(definition, {"limit": 1}, {"probe": probe})
    assert succeeded(result) == [1, 2, 3, 4]
    assert probe.peak == 1


def _failing_map(**limits: Any) -> dict[str, Any]:
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input = 2 %}", "Next": "Boom"}],
                "Default": "Fine",
            },
            "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "two"},
            "Fine": {"Type": "Succeed"},
        },
    }
    return jsonata(
        single({"Type": "Map", "Items": [1, 2, 3], "ItemProcessor": processor, **limits})
    )


@pytest.mark.parametrize(
    "limits",
    [
        {"ToleratedFailureCount": "{% $states.input.count %}"},
        {"ToleratedFailurePercentage": "{% $states.input.percent %}"},
    ],
    ids=["count", "percentage"],
)
def test_map_tolerated_failures_as_expressions(limits: dict[str, Any]) -> None:
    tolerant = run(_failing_map(**limits), {"count": 1, "percent": 50})
    output = succeeded(tolerant)
    assert (output[0], output[2]) == (1, 3)
    strict = run(_failing_map(**limits), {"count": 0, "percent": 0})
    failed(strict, "States.ExceedToleratedFailureThreshold")


def test_map_without_tolerance_fails_with_the_iteration_error() -> None:
    failed(run(_failing_map(), {}), "Item.Bad", "two")


@pytest.mark.parametrize(
    "limits",
    [
        {"MaxConcurrency": "{% -1 %}"},
        {"MaxConcurrency": "{% 'two' %}"},
        {"ToleratedFailureCount": "{% -1 %}"},
        {"ToleratedFailurePercentage": "{% 101 %}"},
        {"ToleratedFailurePercentage": "{% 'half' %}"},
    ],
)
def test_map_limits_of_the_wrong_kind_are_query_evaluation_errors(limits: dict[str, Any]) -> None:
    failed(run(_failing_map(**limits), {}), QEE)


# -------------------------------------------------------------------------------- Wait


def test_wait_seconds_expression_waits_that_long_on_the_virtual_clock() -> None:
    definition = jsonata(single({"Type": "Wait", "Seconds": "{% $states.input.s * 2 %}"}))
    result = run(definition, {"s": 5})
    assert succeeded(result) == {"s": 5}
    assert times(result, "WaitStateEntered") == [0.0]
    assert times(result, "WaitStateExited") == [10.0]


def test_wait_timestamp_expression() -> None:
    definition = jsonata(single({"Type": "Wait", "Timestamp": "{% $states.input.at %}"}))
    result = run(definition, {"at": "2023-11-14T22:14:00Z"})  # T0 + 40 s
    assert times(result, "WaitStateExited") == [40.0]


def test_wait_timestamp_computed_from_the_context() -> None:
    expression = "{% $fromMillis($toMillis($states.context.Execution.StartTime) + 90000) %}"
    result = run(jsonata(single({"Type": "Wait", "Timestamp": expression})), {})
    assert times(result, "WaitStateExited") == [90.0]


def test_wait_timestamp_in_the_past_does_not_wait() -> None:
    result = run(jsonata(single({"Type": "Wait", "Timestamp": "{% '2001-01-01T00:00:00Z' %}"})))
    assert times(result, "WaitStateExited") == [0.0]


@pytest.mark.parametrize(
    "field",
    [{"Seconds": "{% 'ten' %}"}, {"Seconds": "{% -1 %}"}, {"Timestamp": "{% 'yesterday' %}"}],
)
def test_wait_fields_of_the_wrong_kind_are_query_evaluation_errors(field: dict[str, Any]) -> None:
    failed(run(jsonata(single({"Type": "Wait", **field})), {}), QEE)


# ---------------------------------------------------------------------- Task timeouts


def test_task_timeout_and_heartbeat_as_expressions_are_scheduled() -> None:
    definition = jsonata(
        single(
            task(
                TimeoutSeconds="{% $states.input.t %}",
                HeartbeatSeconds="{% $states.input.t - 20 %}",
            )
        )
    )
    result = run(definition, {"t": 30}, {"work": lambda p: "ok"})
    assert succeeded(result) == "ok"
    scheduled = events(result, "TaskScheduled")[0].details
    assert scheduled["timeoutInSeconds"] == 30
    assert scheduled["heartbeatInSeconds"] == 10


def test_task_timeout_expression_times_the_task_out() -> None:
    async def slow(parameters: Any) -> Any:
        await asyncio.sleep(5)
        return "late"

    definition = jsonata(single(task("slow", TimeoutSeconds="{% 1 %}")))
    result = run(definition, {}, {"slow": slow})
    failed(result, "States.Timeout")
    assert "TaskTimedOut" in types(result)


@pytest.mark.parametrize("value", ["{% 0 %}", "{% 'soon' %}", "{% 1.5 %}"])
def test_task_timeout_of_the_wrong_kind_is_a_query_evaluation_error(value: str) -> None:
    rec = Recorder(result="never")
    result = run(jsonata(single(task(TimeoutSeconds=value))), {}, {"work": rec})
    failed(result, QEE)
    assert rec.calls == []
    assert "TaskScheduled" not in types(result)


# -------------------------------------------------------------------------------- Fail


def test_fail_error_and_cause_as_expressions() -> None:
    definition = jsonata(
        single(
            {
                "Type": "Fail",
                "Error": "{% 'Order.' & $states.input.kind %}",
                "Cause": "{% 'amount ' & $string($states.input.n) %}",
            }
        )
    )
    result = run(definition, {"kind": "Rejected", "n": 3})
    failed(result, "Order.Rejected", "amount 3")
    assert result.cause == "amount 3"
    assert types(result) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize("field", ["Error", "Cause"])
def test_fail_fields_that_are_not_strings_are_query_evaluation_errors(field: str) -> None:
    state = {"Type": "Fail", "Error": "E", "Cause": "c", field: "{% 42 %}"}
    failed(run(jsonata(single(state)), {}), QEE)


def test_fail_state_with_literal_error_and_cause_in_a_jsonata_machine() -> None:
    state = {"Type": "Fail", "Error": "Plain", "Cause": "not {% an expression"}
    failed(run(jsonata(single(state)), {}), "Plain", "not {% an expression")
