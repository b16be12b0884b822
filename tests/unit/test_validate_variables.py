"""Definition validation of workflow variables: Assign, variable names, paths, scopes, references.

The reference rule under test (see ``_validate_variables``): a variable read in a scope must be
assigned by some state of that scope or of an enclosing one, in any order; otherwise a WARNING
``UNDEFINED_VARIABLE`` at every place it is read (AWS accepts such a definition and fails the
state when it runs). Assigning an enclosing scope's variable inside a branch or an iteration is
a WARNING ``SHADOWED_VARIABLE``.
"""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl._validate import validate_definition

TASK_RESOURCE = "arn:aws:states:::lambda:invoke"


def found(definition: Any) -> list[tuple[str, str, str]]:
    """(severity, code, location) of every diagnostic, in order."""
    return [(d.severity, d.code, d.location) for d in validate_definition(definition)]


def chain(*states: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A machine running ``states`` in order as S0, S1, …; the last one ends it."""
    names = [f"S{index}" for index in range(len(states))]
    bodies: dict[str, Any] = {}
    for index, (name, state) in enumerate(zip(names, states, strict=True)):
        body = dict(state)
        if body["Type"] not in ("Succeed", "Fail", "Choice"):
            if index + 1 < len(names):
                body["Next"] = names[index + 1]
            else:
                body["End"] = True
        bodies[name] = body
    return {"StartAt": "S0", "States": bodies, **top}


def assign(values: Any, **fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", "Assign": values, **fields}


def read(**parameters: Any) -> dict[str, Any]:
    """A JSONPath Pass state whose Parameters read ``parameters``."""
    return {"Type": "Pass", "Parameters": parameters}


def output(value: Any) -> dict[str, Any]:
    """A JSONata Pass state with ``Output`` ``value``."""
    return {"Type": "Pass", "QueryLanguage": "JSONata", "Output": value}


# --- Assign and variable names ---------------------------------------------------------------


@pytest.mark.parametrize("value", [[], "x", 1, None, "{% {'x': 1} %}"])
def test_assign_is_an_object(value: Any) -> None:
    assert found(chain(assign(value))) == [
        ("ERROR", "SCHEMA_VALIDATION_FAILED", "/States/S0/Assign")
    ]


@pytest.mark.parametrize(
    "name", ["x", "orderId", "größe", "π", "Ωmega", "a1_b2", "x" * 80, "ﾃｽﾄ", "日本語"]
)
def test_valid_variable_names(name: str) -> None:
    assert validate_definition(chain(assign({name: 1}))) == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "cannot be empty"),
        ("1x", "starts with"),
        ("_x", "starts with"),  # '_' is ID_Continue, not ID_Start
        ("$x", "starts with"),
        ("a-b", "contains"),
        ("a b", "contains"),
        ("a.b", "contains"),
        ("x" * 81, "81 characters"),
        ("states", "reserved"),
    ],
)
def test_invalid_variable_names(name: str, words: str) -> None:
    diagnostics = validate_definition(chain(assign({name: 1})))
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S0/Assign/" + name.replace("~", "~0"))
    ]
    assert words in diagnostics[0].message


def test_a_jsonpath_key_ending_in_dollar_assigns_the_name_before_it() -> None:
    definition = chain(assign({"total.$": "$.cart.total"}), read(**{"t.$": "$total"}))
    assert validate_definition(definition) == []


def test_a_jsonpath_dynamic_value_must_be_a_path_or_intrinsic() -> None:
    definition = chain(assign({"a.$": "$.x[", "b.$": 3, "c.$": "States.Nope()"}))
    assert [(code, location) for _, code, location in found(definition)] == [
        ("INVALID_JSON_PATH", "/States/S0/Assign/a.$"),
        ("SCHEMA_VALIDATION_FAILED", "/States/S0/Assign/b.$"),
        ("INVALID_INTRINSIC", "/States/S0/Assign/c.$"),
    ]


def test_a_jsonpath_assign_is_a_payload_template_at_any_depth() -> None:
    definition = chain(assign({"order": {"id.$": "$.id", "bad.$": "nope"}}))
    assert [(code, location) for _, code, location in found(definition)] == [
        ("INVALID_JSON_PATH", "/States/S0/Assign/order/bad.$")
    ]


def test_a_variable_cannot_be_assigned_twice_by_one_assign() -> None:
    diagnostics = validate_definition(chain(assign({"x": 1, "x.$": "$.x"})))
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S0/Assign/x.$")
    ]
    assert "assigned twice" in diagnostics[0].message


def test_in_jsonata_a_key_is_never_a_path() -> None:
    state = {"Type": "Pass", "Assign": {"x.$": "$.a"}}
    diagnostics = validate_definition(chain(state, QueryLanguage="JSONata"))
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S0/Assign/x.$")
    ]
    assert "drop '.$'" in diagnostics[0].message


@pytest.mark.parametrize("state_type", ["Pass", "Wait", "Choice", "Task", "Parallel", "Map"])
@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_every_state_but_succeed_and_fail_may_assign(state_type: str, language: str) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "Pass": {"Type": "Pass"},
        "Wait": {"Type": "Wait", "Seconds": 0},
        "Choice": {"Type": "Choice", "Choices": [{"Next": "S1", **(
            {"Condition": True} if language == "JSONata" else {"Variable": "$.a", "IsNull": True}
        )}], "Default": "S1"},
        "Task": {"Type": "Task", "Resource": TASK_RESOURCE},
        "Parallel": {"Type": "Parallel", "Branches": [
            {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]},
        "Map": {"Type": "Map", "ItemProcessor": {
            "StartAt": "M", "States": {"M": {"Type": "Succeed"}}}},
    }  # fmt: skip
    body = {**bodies[state_type], "Assign": {"x": 1}}
    definition = chain(body, {"Type": "Succeed"}, QueryLanguage=language)
    assert validate_definition(definition) == []


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_choice_rules_and_catchers_may_assign(language: str) -> None:
    rule: dict[str, Any] = (
        {"Condition": "{% $x %}"} if language == "JSONata" else {"Variable": "$x", "IsNull": True}
    )
    definition = {
        "QueryLanguage": language,
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": TASK_RESOURCE, "Next": "Route",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Route",
                                "Assign": {"x": 1}}]},
            "Route": {"Type": "Choice", "Choices": [{**rule, "Assign": {"y": 2}, "Next": "Done"}],
                      "Default": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }  # fmt: skip
    assert validate_definition(definition) == []


def test_a_nested_choice_rule_cannot_assign() -> None:
    rule = {"Not": {"Variable": "$.a", "IsNull": True, "Assign": {"x": 1}}, "Next": "S1"}
    definition = chain({"Type": "Choice", "Choices": [rule]}, {"Type": "Succeed"})
    assert found(definition) == [
        ("ERROR", "SCHEMA_VALIDATION_FAILED", "/States/S0/Choices/0/Not/Assign")
    ]


def test_a_choice_rule_assign_is_checked_like_a_state_assign() -> None:
    rule = {"Variable": "$.a", "IsNull": True, "Assign": {"bad name": 1}, "Next": "S1"}
    definition = chain({"Type": "Choice", "Choices": [rule]}, {"Type": "Succeed"})
    assert found(definition) == [
        ("ERROR", "SCHEMA_VALIDATION_FAILED", "/States/S0/Choices/0/Assign/bad name")
    ]


# --- JSONPath reads variables; ResultPath cannot --------------------------------------------

JSONPATH_READS = [
    ({"Type": "Pass", "Parameters": {"v.$": "$x.field[0]"}}, "/States/S1/Parameters/v.$"),
    ({"Type": "Pass", "Parameters": {"v.$": "States.Format('{}', $x)"}},
     "/States/S1/Parameters/v.$"),
    ({"Type": "Pass", "Parameters": {"n": {"v.$": "States.ArrayLength($x.items)"}}},
     "/States/S1/Parameters/n/v.$"),
    ({"Type": "Pass", "InputPath": "$x"}, "/States/S1/InputPath"),
    ({"Type": "Pass", "OutputPath": "$x.a"}, "/States/S1/OutputPath"),
    ({"Type": "Wait", "SecondsPath": "$x"}, "/States/S1/SecondsPath"),
    ({"Type": "Wait", "TimestampPath": "$x"}, "/States/S1/TimestampPath"),
    ({"Type": "Task", "Resource": TASK_RESOURCE, "TimeoutSecondsPath": "$x"},
     "/States/S1/TimeoutSecondsPath"),
    ({"Type": "Fail", "ErrorPath": "$x"}, "/States/S1/ErrorPath"),
    ({"Type": "Fail", "CausePath": "States.Format('{}', $x)"}, "/States/S1/CausePath"),
    ({"Type": "Map", "ItemsPath": "$x", "MaxConcurrencyPath": "$x",
      "ItemProcessor": {"StartAt": "M", "States": {"M": {"Type": "Succeed"}}}},
     "/States/S1/ItemsPath"),
    ({"Type": "Choice", "Choices": [{"Variable": "$x", "StringEqualsPath": "$x",
                                     "Next": "S2"}]}, "/States/S1/Choices/0/Variable"),
    ({"Type": "Choice", "Choices": [{"Not": {"Variable": "$.a", "NumericEqualsPath": "$x"},
                                     "Next": "S2"}]}, "/States/S1/Choices/0/Not/NumericEqualsPath"),
    ({"Type": "Task", "Resource": TASK_RESOURCE, "Credentials": {"RoleArn.$": "$x"}},
     "/States/S1/Credentials/RoleArn.$"),
]  # fmt: skip


@pytest.mark.parametrize(("state", "location"), JSONPATH_READS)
def test_jsonpath_paths_may_read_variables(state: dict[str, Any], location: str) -> None:
    after = [] if state["Type"] == "Fail" else [{"Type": "Succeed"}]
    assert validate_definition(chain(assign({"x": {}}), state, *after)) == []
    # The same state without the Assign reads a variable nothing assigns.
    assert ("WARNING", "UNDEFINED_VARIABLE", location) in found(
        chain({"Type": "Pass"}, state, *after)
    )


@pytest.mark.parametrize(
    ("state", "location"),
    [
        ({"Type": "Pass", "ResultPath": "$x"}, "/States/S1/ResultPath"),
        ({"Type": "Task", "Resource": TASK_RESOURCE, "Catch": [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$x.e", "Next": "S1"}]},
         "/States/S1/Catch/0/ResultPath"),
    ],
)  # fmt: skip
def test_result_path_cannot_reference_a_variable(state: dict[str, Any], location: str) -> None:
    diagnostics = validate_definition(chain(assign({"x": {}}), state))
    assert [(d.code, d.location) for d in diagnostics] == [("SCHEMA_VALIDATION_FAILED", location)]
    assert "cannot reference a workflow variable ('$x')" in diagnostics[0].message


def test_the_context_object_and_state_data_are_not_variables() -> None:
    state = read(**{"a.$": "$", "b.$": "$.x", "c.$": "$$.Execution.Id", "d.$": "$['x']"})
    assert validate_definition(chain(state)) == []


# --- the reference check ---------------------------------------------------------------------


def test_a_variable_nothing_assigns_is_a_warning_where_it_is_read() -> None:
    definition = chain(read(**{"a.$": "$nope"}), output({"b": "{% $nope & $also %}"}))
    diagnostics = validate_definition(definition)
    assert [(d.severity, d.code, d.location) for d in diagnostics] == [
        ("WARNING", "UNDEFINED_VARIABLE", "/States/S0/Parameters/a.$"),
        ("WARNING", "UNDEFINED_VARIABLE", "/States/S1/Output/b"),
        ("WARNING", "UNDEFINED_VARIABLE", "/States/S1/Output/b"),
    ]
    assert "Variable '$also'" in diagnostics[1].message
    assert "Variable '$nope'" in diagnostics[2].message


def test_order_does_not_matter_within_a_scope() -> None:
    # S0 reads x on the second trip round the loop, after S1 assigned it.
    definition = {
        "StartAt": "S0",
        "States": {
            "S0": {"Type": "Choice", "Choices": [{"Variable": "$x", "IsPresent": True,
                                                  "Next": "Done"}], "Default": "S1"},
            "S1": {"Type": "Pass", "Assign": {"x": 1}, "Next": "S0"},
            "Done": {"Type": "Succeed"},
        },
    }  # fmt: skip
    assert validate_definition(definition) == []


def test_a_state_may_read_what_it_assigns_itself() -> None:
    assert validate_definition(chain(assign({"n.$": "States.MathAdd($n, 1)"}))) == []


def test_states_and_local_bindings_are_not_workflow_variables() -> None:
    value = "{% ($f := function($v) { $v * 2 }; $y := $f($states.input.n); $sum([$y])) %}"
    assert validate_definition(chain(output(value))) == []


def _map(processor_states: dict[str, Any], **fields: Any) -> dict[str, Any]:
    first = next(iter(processor_states))
    return {"Type": "Map", "ItemProcessor": {"StartAt": first, "States": processor_states},
            **fields}  # fmt: skip


def test_inner_scopes_read_outer_variables() -> None:
    inner = {"I": {**read(**{"f.$": "$factor", "m.$": "$mapped"}), "End": True}}
    definition = chain(assign({"factor": 10}), _map(inner, Assign={"mapped.$": "$"}))
    assert validate_definition(definition) == []


def test_what_an_iteration_assigns_is_not_visible_after_it() -> None:
    inner = {"I": {**assign({"inner": 1}), "End": True}}
    definition = chain(_map(inner), read(**{"v.$": "$inner"}))
    assert found(definition) == [("WARNING", "UNDEFINED_VARIABLE", "/States/S1/Parameters/v.$")]


def test_a_branch_does_not_see_another_branchs_variables() -> None:
    branches = [
        {"StartAt": "A", "States": {"A": {**assign({"a": 1}), "End": True}}},
        {"StartAt": "B", "States": {"B": {**output("{% $a %}"), "End": True}}},
    ]
    definition = chain({"Type": "Parallel", "Branches": branches})
    assert found(definition) == [
        ("WARNING", "UNDEFINED_VARIABLE", "/States/S0/Branches/1/States/B/Output")
    ]


def test_a_nested_scope_sees_every_enclosing_scope() -> None:
    deepest = {"D": {**read(**{"a.$": "$outer", "b.$": "$middle"}), "End": True}}
    middle = {"M": {**assign({"middle": 1}), "Next": "N"}, "N": {**_map(deepest), "End": True}}
    definition = chain(assign({"outer": 1}), _map(middle))
    assert validate_definition(definition) == []


def test_assigning_an_outer_variable_inside_an_iteration_is_a_warning() -> None:
    inner = {"I": {**assign({"x": 2, "own": 1}), "End": True}}
    definition = chain(assign({"x": 1}), _map(inner))
    diagnostics = validate_definition(definition)
    assert [(d.severity, d.code, d.location) for d in diagnostics] == [
        ("WARNING", "SHADOWED_VARIABLE", "/States/S1/ItemProcessor/States/I/Assign/x")
    ]
    assert "/States/S0/Assign/x" in diagnostics[0].message


def test_the_enclosing_states_own_assign_belongs_to_the_outer_scope() -> None:
    # The States Language's own example: the Map state assigns `outer` (in the outer scope,
    # like "Get Greeting" before it) while its iterations read it.
    inner = {"Begin": {**assign({"inner": "world", "hi": "{% $outer %}"}),
                       "QueryLanguage": "JSONata", "End": True}}  # fmt: skip
    definition = chain(assign({"outer": "hello"}), _map(inner, Assign={"outer": 2}))
    assert validate_definition(definition) == []


def test_the_reserved_states_variable_is_never_reported() -> None:
    assert validate_definition(chain(read(**{"s.$": "$states.input"}))) == []
