"""Definition validation in JSONata: QueryLanguage, the fields of each language, expressions.

Variables (``Assign``, names, scopes, references) are in ``test_validate_variables.py``; the
lexical walk that finds top-level references in ``test_validate_jsonata_refs.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl._diagnostics import Diagnostic
from stepline.asl._validate import validate_definition

TASK_RESOURCE = "arn:aws:states:::lambda:invoke"
MISMATCH = (
    "The QueryLanguage is set to '{}', but field '{}' is only supported for the '{}' QueryLanguage"
)


def found(definition: Any) -> list[tuple[str, str, str]]:
    """(severity, code, location) of every diagnostic, in order."""
    return [(d.severity, d.code, d.location) for d in validate_definition(definition)]


def errors(definition: Any) -> list[tuple[str, str]]:
    return [(d.code, d.location) for d in validate_definition(definition) if d.severity == "ERROR"]


def only(definition: Any) -> Diagnostic:
    """The one diagnostic of ``definition``."""
    diagnostics = validate_definition(definition)
    assert len(diagnostics) == 1, diagnostics
    return diagnostics[0]


def jsonata(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A JSONata machine whose only state is ``A``."""
    return {"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": state}, **top}


def jsonpath(state: dict[str, Any]) -> dict[str, Any]:
    """A JSONPath machine (the default) whose only state is ``A``."""
    return {"StartAt": "A", "States": {"A": state}}


def choice(rules: list[Any], **top: Any) -> dict[str, Any]:
    """A machine whose Choice ``A`` has ``rules`` (each going to the Succeed state ``Done``)."""
    rules = [{"Next": "Done", **rule} if isinstance(rule, dict) else rule for rule in rules]
    return {
        "StartAt": "A",
        **top,
        "States": {"A": {"Type": "Choice", "Choices": rules}, "Done": {"Type": "Succeed"}},
    }


TASK = {"Type": "Task", "Resource": TASK_RESOURCE, "End": True}
PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
MAP = {"Type": "Map", "ItemProcessor": PROCESSOR, "End": True}
DISTRIBUTED_MAP = {
    "Type": "Map",
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        **PROCESSOR,
    },
    "End": True,
}


# --- QueryLanguage ---------------------------------------------------------------------------


def test_a_jsonpath_machine_may_have_jsonata_states() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "Next": "B"},
            "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.x %}",
                  "End": True},
        },
    }  # fmt: skip
    assert validate_definition(definition) == []


def test_a_jsonata_machine_may_not_have_jsonpath_states() -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONPath", "Output": {"v": "{% 1 %}"}, "End": True}
    diagnostic = only(jsonata(state))
    assert (diagnostic.code, diagnostic.location) == (
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/QueryLanguage",
    )
    # AWS's words; the state's JSONata-only Output is not reported on top of it.
    assert diagnostic.message.startswith(
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    )


def test_a_state_may_repeat_the_machine_language() -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {}, "End": True}
    assert validate_definition(jsonata(state)) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("jsonata", "Value should be one of the following: [JSONPath, JSONata]"),
        ("XPath", "Value should be one of the following: [JSONPath, JSONata]"),
        (3, "Expected value of type [STRING]"),
        (None, "Expected value of type [STRING]"),
    ],
)
def test_an_unknown_state_query_language_is_reported_and_means_jsonata(
    value: Any, words: str
) -> None:
    definition = jsonpath({"Type": "Pass", "QueryLanguage": value, "Parameters": {}, "End": True})
    diagnostics = validate_definition(definition)
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/QueryLanguage"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Parameters"),  # as in any JSONata state
    ]
    assert words in diagnostics[0].message


def test_an_unknown_machine_query_language_makes_every_state_jsonata() -> None:
    definition = {"QueryLanguage": "JSONPATH", "StartAt": "A",
                  "States": {"A": {"Type": "Pass", "Output": "{% 1 %}", "End": True}}}  # fmt: skip
    diagnostic = only(definition)
    assert (diagnostic.code, diagnostic.location) == ("SCHEMA_VALIDATION_FAILED", "/QueryLanguage")
    assert "Value should be one of the following: [JSONPath, JSONata]" in diagnostic.message


def test_nested_states_follow_the_machine_language_not_the_map() -> None:
    inner = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": 1, "End": True}}}
    state = {"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% [1, 2] %}",
             "ItemProcessor": inner, "End": True}  # fmt: skip
    diagnostic = only(jsonpath(state))
    assert (diagnostic.code, diagnostic.location) == (
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/ItemProcessor/States/P/Output",
    )
    assert diagnostic.message.startswith(MISMATCH.format("JSONPath", "Output", "JSONata"))


def test_nested_states_of_a_jsonata_machine_are_jsonata() -> None:
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {}, "End": True}}}
    state = {"Type": "Parallel", "Branches": [branch], "End": True}
    assert errors(jsonata(state)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Branches/0/States/B/Parameters")
    ]


@pytest.mark.parametrize("field", ["ItemProcessor", "Iterator"])
def test_a_processor_cannot_set_a_query_language(field: str) -> None:
    processor = {"QueryLanguage": "JSONata", **PROCESSOR}
    state = {"Type": "Map", field: processor, "End": True}
    diagnostic = only(jsonpath(state))
    assert (diagnostic.code, diagnostic.location) == (
        "SCHEMA_VALIDATION_FAILED",
        f"/States/A/{field}/QueryLanguage",
    )
    assert "Field 'QueryLanguage' is not supported" in diagnostic.message


# --- which fields each language allows ------------------------------------------------------

JSONPATH_ONLY = [
    ({"Type": "Pass", "End": True}, "InputPath", "$.a"),
    ({"Type": "Pass", "End": True}, "OutputPath", "$.a"),
    ({"Type": "Pass", "End": True}, "ResultPath", "$.a"),
    ({"Type": "Pass", "End": True}, "Parameters", {}),
    ({"Type": "Pass", "End": True}, "Result", {}),
    (TASK, "ResultSelector", {}),
    (TASK, "TimeoutSecondsPath", "$.t"),
    (TASK, "HeartbeatSecondsPath", "$.h"),
    ({"Type": "Wait", "Seconds": 1, "End": True}, "SecondsPath", "$.s"),
    ({"Type": "Wait", "Seconds": 1, "End": True}, "TimestampPath", "$.t"),
    ({"Type": "Fail"}, "ErrorPath", "$.e"),
    ({"Type": "Fail"}, "CausePath", "$.c"),
    (MAP, "ItemsPath", "$.items"),
    (MAP, "Parameters", {}),
    (MAP, "MaxConcurrencyPath", "$.m"),
    (DISTRIBUTED_MAP, "ToleratedFailureCountPath", "$.c"),
    (DISTRIBUTED_MAP, "ToleratedFailurePercentagePath", "$.p"),
]


@pytest.mark.parametrize(("state", "field", "value"), JSONPATH_ONLY)
def test_jsonpath_fields_are_refused_in_a_jsonata_state(
    state: dict[str, Any], field: str, value: Any
) -> None:
    diagnostic = only(jsonata({**state, field: value}))
    assert (diagnostic.code, diagnostic.location) == (
        "SCHEMA_VALIDATION_FAILED",
        f"/States/A/{field}",
    )
    assert diagnostic.message.startswith(MISMATCH.format("JSONata", field, "JSONPath"))


@pytest.mark.parametrize(
    ("state", "field", "value"),
    [
        (TASK, "Arguments", {}),
        ({"Type": "Pass", "End": True}, "Output", {}),
        ({"Type": "Succeed"}, "Output", {}),
        (MAP, "Items", [1]),
        ({"Type": "Pass", "End": True}, "Arguments", {}),  # a JSONata field, if not a Pass one
    ],
)
def test_jsonata_fields_are_refused_in_a_jsonpath_state(
    state: dict[str, Any], field: str, value: Any
) -> None:
    diagnostic = only(jsonpath({**state, field: value}))
    assert (diagnostic.code, diagnostic.location) == (
        "SCHEMA_VALIDATION_FAILED",
        f"/States/A/{field}",
    )
    assert diagnostic.message.startswith(MISMATCH.format("JSONPath", field, "JSONata"))


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "Output": {"a": 1}, "Assign": {"x": 1}, "End": True},
        {"Type": "Task", "Resource": TASK_RESOURCE, "Arguments": {"a": 1}, "Output": 1,
         "Assign": {}, "TimeoutSeconds": 10, "HeartbeatSeconds": 5,
         "Credentials": {"RoleArn": "arn:r"}, "End": True},
        {"Type": "Wait", "Timestamp": "2026-03-14T01:59:00Z", "Output": 1, "Assign": {},
         "End": True},
        {"Type": "Succeed", "Output": "done"},
        {"Type": "Fail", "Error": "E", "Cause": "c"},
        {"Type": "Parallel", "Branches": [PROCESSOR], "Arguments": [], "Output": 1,
         "Assign": {}, "End": True},
        {**MAP, "Items": [1, 2], "ItemSelector": {"v": 1}, "MaxConcurrency": 2, "Output": 1,
         "Assign": {}},
        {**DISTRIBUTED_MAP, "ToleratedFailureCount": 1, "ToleratedFailurePercentage": 5.5,
         "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"a": 1}}},
    ],
)  # fmt: skip
def test_the_fields_of_jsonata_states(state: dict[str, Any]) -> None:
    assert validate_definition(jsonata(state)) == []


@pytest.mark.parametrize(
    ("state", "field"),
    [({"Type": "Succeed"}, "Assign"), ({"Type": "Fail"}, "Assign"), ({"Type": "Fail"}, "Output")],
)
def test_succeed_and_fail_cannot_assign_and_fail_has_no_output(
    state: dict[str, Any], field: str
) -> None:
    assert errors(jsonata({**state, field: {}})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]


def test_catchers_output_is_jsonata_and_result_path_jsonpath() -> None:
    state = {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e",
                                "Output": 1, "Next": "A"}]}  # fmt: skip
    jsonata_found = validate_definition(jsonata(state))
    assert [(d.code, d.location) for d in jsonata_found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/ResultPath")
    ]
    assert jsonata_found[0].message.startswith(MISMATCH.format("JSONata", "ResultPath", "JSONPath"))
    assert errors(jsonpath(state)) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/Output")]


def test_item_batcher_path_fields_are_jsonpath_only() -> None:
    state = {**DISTRIBUTED_MAP, "ItemBatcher": {"MaxItemsPerBatchPath": "$.n"}}
    diagnostics = validate_definition(jsonata(state))
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/ItemBatcher/MaxItemsPerBatchPath")
    ]
    assert diagnostics[0].message.startswith(
        MISMATCH.format("JSONata", "MaxItemsPerBatchPath", "JSONPath")
    )


def test_credentials_role_arn_is_an_expression_in_jsonata() -> None:
    state = {**TASK, "Credentials": {"RoleArn": "{% $states.input.role %}"}}
    assert validate_definition(jsonata(state)) == []
    state = {**TASK, "Credentials": {"RoleArn.$": "$.role"}}
    assert errors(jsonata(state)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Credentials/RoleArn.$"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Credentials"),
    ]


def test_a_jsonata_wait_needs_seconds_or_timestamp() -> None:
    assert errors(jsonata({"Type": "Wait", "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A")
    ]
    both = {"Type": "Wait", "Seconds": 1, "Timestamp": "{% $t %}", "End": True}
    assert errors(jsonata(both)) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Timestamp")]


def test_a_jsonata_wait_with_a_jsonpath_form_is_one_finding() -> None:
    state = {"Type": "Wait", "SecondsPath": "$.s", "End": True}
    assert errors(jsonata(state)) == [("SCHEMA_VALIDATION_FAILED", "/States/A/SecondsPath")]


# --- expressions ----------------------------------------------------------------------------

BAD = "{% 1 + %}"


@pytest.mark.parametrize(
    ("state", "location"),
    [
        ({**TASK, "Arguments": {"body": {"id": BAD}}}, "/States/A/Arguments/body/id"),
        ({**TASK, "Arguments": BAD}, "/States/A/Arguments"),
        ({**TASK, "Arguments": {"list": [1, BAD]}}, "/States/A/Arguments/list/1"),
        ({"Type": "Pass", "Output": BAD, "End": True}, "/States/A/Output"),
        ({"Type": "Pass", "Output": {"a~b/c": BAD}, "End": True}, "/States/A/Output/a~0b~1c"),
        ({"Type": "Pass", "Assign": {"x": {"y": [BAD]}}, "End": True},
         "/States/A/Assign/x/y/0"),
        ({"Type": "Succeed", "Output": BAD}, "/States/A/Output"),
        ({**MAP, "Items": BAD}, "/States/A/Items"),
        ({**MAP, "Items": [BAD]}, "/States/A/Items/0"),
        ({**MAP, "ItemSelector": {"v": BAD}}, "/States/A/ItemSelector/v"),
        ({**MAP, "MaxConcurrency": BAD}, "/States/A/MaxConcurrency"),
        ({**DISTRIBUTED_MAP, "ToleratedFailureCount": BAD}, "/States/A/ToleratedFailureCount"),
        ({**DISTRIBUTED_MAP, "ToleratedFailurePercentage": BAD},
         "/States/A/ToleratedFailurePercentage"),
        ({**DISTRIBUTED_MAP, "ItemBatcher": {"MaxItemsPerBatch": BAD}},
         "/States/A/ItemBatcher/MaxItemsPerBatch"),
        ({**DISTRIBUTED_MAP,
          "ItemBatcher": {"MaxInputBytesPerBatch": 10, "BatchInput": {"b": BAD}}},
         "/States/A/ItemBatcher/BatchInput/b"),
        ({"Type": "Wait", "Seconds": BAD, "End": True}, "/States/A/Seconds"),
        ({"Type": "Wait", "Timestamp": BAD, "End": True}, "/States/A/Timestamp"),
        ({**TASK, "TimeoutSeconds": BAD}, "/States/A/TimeoutSeconds"),
        ({**TASK, "HeartbeatSeconds": BAD}, "/States/A/HeartbeatSeconds"),
        ({"Type": "Fail", "Error": BAD}, "/States/A/Error"),
        ({"Type": "Fail", "Cause": BAD}, "/States/A/Cause"),
        ({**TASK, "Catch": [{"ErrorEquals": ["E"], "Output": {"e": BAD}, "Next": "A"}]},
         "/States/A/Catch/0/Output/e"),
        ({**TASK, "Catch": [{"ErrorEquals": ["E"], "Assign": {"e": BAD}, "Next": "A"}]},
         "/States/A/Catch/0/Assign/e"),
        ({**TASK, "Credentials": {"RoleArn": BAD}}, "/States/A/Credentials/RoleArn"),
    ],
)  # fmt: skip
def test_a_syntax_error_is_reported_where_the_expression_is(
    state: dict[str, Any], location: str
) -> None:
    diagnostic = only(jsonata(state))
    assert (diagnostic.code, diagnostic.location) == ("INVALID_JSONATA_EXPRESSION", location)
    assert "Unexpected end of expression" in diagnostic.message
    assert '"1 +"' in diagnostic.message


def test_choice_conditions_are_expressions() -> None:
    definition = choice([{"Condition": BAD}], QueryLanguage="JSONata")
    assert found(definition) == [
        ("ERROR", "INVALID_JSONATA_EXPRESSION", "/States/A/Choices/0/Condition")
    ]


@pytest.mark.parametrize("text", ["{% %}", "{%%}", "{%   \n %}"])
def test_an_empty_expression_does_not_parse(text: str) -> None:
    assert errors(jsonata({"Type": "Pass", "Output": text, "End": True})) == [
        ("INVALID_JSONATA_EXPRESSION", "/States/A/Output")
    ]


@pytest.mark.parametrize("text", ["{% 1", "{%", "{%}", "{% $x %} "])
def test_a_string_that_opens_an_expression_must_close_it(text: str) -> None:
    diagnostic = only(jsonata({"Type": "Pass", "Output": {"v": [text]}, "End": True}))
    assert (diagnostic.code, diagnostic.location) == (
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Output/v/0",
    )
    assert "JSONata string must start with {% and end with %}" in diagnostic.message


@pytest.mark.parametrize("text", [" {% x %}", "1 %}", "{ % x % }", "plain", ""])
def test_other_strings_are_literal(text: str) -> None:
    assert validate_definition(jsonata({"Type": "Pass", "Output": text, "End": True})) == []


def test_expressions_in_jsonpath_states_are_literal_strings() -> None:
    state = {"Type": "Pass", "Parameters": {"a": "{% 1 + %}"}, "End": True}
    assert validate_definition(jsonpath(state)) == []


def test_the_same_expression_is_reported_everywhere_it_is_written() -> None:
    state = {"Type": "Pass", "Output": {"a": BAD, "b": BAD}, "End": True}
    assert errors(jsonata(state)) == [
        ("INVALID_JSONATA_EXPRESSION", "/States/A/Output/a"),
        ("INVALID_JSONATA_EXPRESSION", "/States/A/Output/b"),
    ]


# --- typed fields: the static type or an expression -----------------------------------------


@pytest.mark.parametrize(
    ("state", "field", "value"),
    [
        (TASK, "TimeoutSeconds", "10"),
        (TASK, "TimeoutSeconds", 0),
        (TASK, "HeartbeatSeconds", 1.5),
        ({"Type": "Wait", "End": True}, "Seconds", -1),
        ({"Type": "Wait", "End": True}, "Seconds", "$.s"),
        ({"Type": "Wait", "End": True}, "Timestamp", "tomorrow"),
        ({"Type": "Wait", "End": True}, "Timestamp", 5),
        (MAP, "MaxConcurrency", -1),
        (MAP, "MaxConcurrency", "4"),
        (MAP, "Items", "$.items"),
        (MAP, "Items", {"a": 1}),
        (DISTRIBUTED_MAP, "ToleratedFailurePercentage", 101),
        (DISTRIBUTED_MAP, "ToleratedFailurePercentage", "5"),
        (DISTRIBUTED_MAP, "ToleratedFailureCount", True),
        ({"Type": "Fail"}, "Error", 5),
        ({"Type": "Fail"}, "Cause", None),
    ],
)
def test_typed_fields_take_their_type_or_an_expression(
    state: dict[str, Any], field: str, value: Any
) -> None:
    assert errors(jsonata({**state, field: value})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]


@pytest.mark.parametrize("condition", [True, False, "{% $states.input.ok %}"])
def test_a_condition_is_a_boolean_or_an_expression(condition: Any) -> None:
    definition = choice([{"Condition": condition}], QueryLanguage="JSONata")
    assert validate_definition(definition) == []


@pytest.mark.parametrize("condition", ["true", 1, None, {"a": 1}])
def test_a_condition_is_nothing_else(condition: Any) -> None:
    definition = choice([{"Condition": condition}], QueryLanguage="JSONata")
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/0/Condition")]


def test_a_jsonata_choice_rule() -> None:
    rules = [
        {"Condition": True, "Assign": {"x": "{% $states.input %}"},
         "Output": {"o": "{% $x %}"}, "Comment": "c"},
        {},
        {"Variable": "$.a", "StringEquals": "x", "Condition": True},
        {"Condition": True, "Ouptut": 1},
        {"Condition": True, "And": []},
    ]  # fmt: skip
    diagnostics = validate_definition(choice(rules, QueryLanguage="JSONata"))
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/1"),  # no Condition
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/2/Variable"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/2/StringEquals"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/3/Ouptut"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/4/And"),
    ]
    assert "These fields are required: [Condition]" in diagnostics[0].message
    assert diagnostics[1].message.startswith(MISMATCH.format("JSONata", "Variable", "JSONPath"))
    assert "Did you mean 'Output'?" in diagnostics[3].message


def test_a_jsonpath_choice_rule_refuses_jsonata_fields() -> None:
    rules = [{"Variable": "$.a", "IsNull": True, "Output": {}}, {"Condition": "{% true %}"}]
    diagnostics = validate_definition(choice(rules))
    assert [(d.code, d.location) for d in diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/0/Output"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/1/Condition"),
    ]
    assert diagnostics[0].message.startswith(MISMATCH.format("JSONPath", "Output", "JSONata"))


# --- what an expression may read ------------------------------------------------------------


def test_error_output_is_only_in_a_catch() -> None:
    catch = {"ErrorEquals": ["States.ALL"], "Next": "A",
             "Output": "{% $states.errorOutput %}",
             "Assign": {"e": "{% $states.errorOutput.Error %}"}}  # fmt: skip
    assert validate_definition(jsonata({**TASK, "Catch": [catch]})) == []
    diagnostic = only(jsonata({**TASK, "Output": {"e": "{% $states.errorOutput.Cause %}"}}))
    assert (diagnostic.severity, diagnostic.code, diagnostic.location) == (
        "ERROR",
        "UNSUPPORTED_JSONATA_EXPRESSION",
        "/States/A/Output/e",
    )
    assert "Reference to '$states.errorOutput' is not supported" in diagnostic.message


@pytest.mark.parametrize(
    ("state", "field"),
    [
        (TASK, "Output"),
        (TASK, "Assign"),
        ({**MAP, "Items": [1]}, "Output"),
        ({**MAP, "Items": [1]}, "Assign"),
        ({"Type": "Parallel", "Branches": [PROCESSOR], "End": True}, "Output"),
    ],
)
def test_the_result_is_read_in_output_and_assign_of_task_map_and_parallel(
    state: dict[str, Any], field: str
) -> None:
    assert validate_definition(jsonata({**state, field: {"r": "{% $states.result %}"}})) == []


@pytest.mark.parametrize(
    ("state", "location"),
    [
        ({**TASK, "Arguments": {"r": "{% $states.result %}"}}, "/States/A/Arguments/r"),
        ({"Type": "Pass", "Output": {"r": "{% $states.result %}"}, "End": True},
         "/States/A/Output/r"),
        ({**MAP, "ItemSelector": {"r": "{% $states.result %}"}}, "/States/A/ItemSelector/r"),
        ({**TASK, "Catch": [{"ErrorEquals": ["E"], "Next": "A",
                             "Output": {"r": "{% $states.result %}"}}]},
         "/States/A/Catch/0/Output/r"),
    ],
)  # fmt: skip
def test_the_result_is_not_there_elsewhere(state: dict[str, Any], location: str) -> None:
    assert found(jsonata(state)) == [("WARNING", "UNSUPPORTED_JSONATA_EXPRESSION", location)]


def test_a_choice_has_no_result() -> None:
    rules = [{"Condition": "{% $states.result %}", "Output": "{% $states.result.a %}"}]
    assert found(choice(rules, QueryLanguage="JSONata")) == [
        ("WARNING", "UNSUPPORTED_JSONATA_EXPRESSION", "/States/A/Choices/0/Condition"),
        ("WARNING", "UNSUPPORTED_JSONATA_EXPRESSION", "/States/A/Choices/0/Output"),
    ]


def test_input_and_context_are_read_anywhere() -> None:
    state = {**TASK, "Arguments": {"i": "{% $states.input %}", "c": "{% $states.context %}"},
             "TimeoutSeconds": "{% $states.input.t %}"}  # fmt: skip
    assert validate_definition(jsonata(state)) == []


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("phone", "phone"),
        ("total > 3", "total"),
        ("$sum(items.price)", "items"),
        ("{'a': b}", "b"),
        ("$map($states.input.a, function($v) { name })", "name"),
        ("$", "$"),
        ("$.a", "$"),
    ],
)
def test_the_top_level_has_no_input_document(expression: str, name: str) -> None:
    diagnostic = only(jsonata({"Type": "Pass", "Output": {"v": f"{{% {expression} %}}"},
                               "End": True}))  # fmt: skip
    assert (diagnostic.code, diagnostic.location) == (
        "UNSUPPORTED_JSONATA_EXPRESSION",
        "/States/A/Output/v",
    )
    assert diagnostic.message.startswith(
        f"Reference to '{name}' at the top level is not supported."
    )


def test_the_root_cannot_be_read() -> None:
    diagnostic = only(jsonata({"Type": "Pass", "Output": "{% $$.a %}", "End": True}))
    assert diagnostic.code == "UNSUPPORTED_JSONATA_EXPRESSION"
    assert diagnostic.message.startswith("Reference to '$$' is not supported.")


@pytest.mark.parametrize(
    "expression",
    [
        "$states.input.items[price > 3].name",
        "$states.input.items^(>price)",
        "$states.input.items{category: $sum(price)}",
        "$map($states.input.a, function($v) { $v.name })",
        "($x := $states.input; $x.total)",
        "$states.input.a.(b + c)",
    ],
)
def test_names_below_the_top_level_are_fine(expression: str) -> None:
    state = {"Type": "Pass", "Output": f"{{% {expression} %}}", "End": True}
    assert validate_definition(jsonata(state)) == []
