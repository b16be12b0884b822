"""Definition validation: the fields of each state type and their values (JSONPath mode)."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl._validate import validate_definition

TASK_RESOURCE = "arn:aws:states:::lambda:invoke"


def errors(definition: Any) -> list[tuple[str, str]]:
    """(code, location) of every ERROR, in order."""
    return [(d.code, d.location) for d in validate_definition(definition) if d.severity == "ERROR"]


def warnings(definition: Any) -> list[tuple[str, str]]:
    """(code, location) of every WARNING, in order."""
    return [
        (d.code, d.location) for d in validate_definition(definition) if d.severity == "WARNING"
    ]


def single(state: dict[str, Any]) -> dict[str, Any]:
    """A machine whose only state is ``A``."""
    return {"StartAt": "A", "States": {"A": state}}


def then_done(state: dict[str, Any]) -> dict[str, Any]:
    """A machine where ``A`` goes on to a Succeed state ``Done``."""
    return {"StartAt": "A", "States": {"A": {**state, "Next": "Done"}, "Done": {"Type": "Succeed"}}}


MINIMAL: dict[str, dict[str, Any]] = {
    "Pass": {"Type": "Pass", "End": True},
    "Task": {"Type": "Task", "Resource": TASK_RESOURCE, "End": True},
    "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
    "Succeed": {"Type": "Succeed"},
    "Fail": {"Type": "Fail"},
    "Parallel": {
        "Type": "Parallel",
        "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
        "End": True,
    },
    "Map": {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "M", "States": {"M": {"Type": "Succeed"}}},
        "End": True,
    },
}


@pytest.mark.parametrize("state_type", sorted(MINIMAL))
def test_minimal_states_are_valid(state_type: str) -> None:
    assert validate_definition(single(MINIMAL[state_type])) == []


def test_minimal_choice_is_valid() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Done"}],
            },
            "Done": {"Type": "Succeed"},
        },
    }
    assert validate_definition(definition) == []


# --- what a state is ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [[], "Pass", None, 3])
def test_a_state_must_be_an_object(body: Any) -> None:
    assert errors(single(body)) == [("SCHEMA_VALIDATION_FAILED", "/States/A")]


def test_type_is_required() -> None:
    found = validate_definition(single({"End": True}))
    assert [(d.code, d.location) for d in found] == [("SCHEMA_VALIDATION_FAILED", "/States/A")]
    assert "[Type]" in found[0].message


@pytest.mark.parametrize("state_type", ["Lambda", "pass", 3, None])
def test_type_must_be_a_known_state_type(state_type: Any) -> None:
    found = validate_definition(single({"Type": state_type, "End": True}))
    assert [(d.code, d.location) for d in found] == [("SCHEMA_VALIDATION_FAILED", "/States/A/Type")]
    assert "'Pass', 'Task', 'Choice', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map'" in (
        found[0].message
    )


# --- which fields each type allows ----------------------------------------------------------

NOT_ALLOWED = [
    ("Choice", "ResultPath", "$.x"),
    ("Wait", "ResultPath", "$.x"),
    ("Succeed", "ResultPath", "$.x"),
    ("Fail", "ResultPath", "$.x"),
    ("Choice", "Parameters", {}),
    ("Wait", "Parameters", {}),
    ("Succeed", "Parameters", {}),
    ("Fail", "Parameters", {}),
    ("Map", "TimeoutSeconds", 5),
    ("Parallel", "TimeoutSeconds", 5),
    ("Pass", "TimeoutSeconds", 5),
    ("Pass", "Retry", []),
    ("Wait", "Catch", []),
    ("Succeed", "Retry", []),
    ("Fail", "Catch", []),
    ("Fail", "InputPath", "$"),
    ("Fail", "OutputPath", "$"),
    ("Pass", "ResultSelector", {}),
    ("Wait", "ResultSelector", {}),
    ("Succeed", "Next", "A"),
    ("Fail", "End", True),
    ("Task", "HeartbeatSecondsPat", "$.x"),
    ("Pass", "Resource", TASK_RESOURCE),
    ("Parallel", "ItemsPath", "$.x"),
]


@pytest.mark.parametrize(("state_type", "field", "value"), NOT_ALLOWED)
def test_fields_a_type_does_not_allow_are_errors_at_the_field(
    state_type: str, field: str, value: Any
) -> None:
    if state_type == "Choice":
        definition = choice(Choices=[RULE], **{field: value})
    else:
        definition = single({**MINIMAL[state_type], field: value})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")]


def test_a_choice_state_cannot_have_next_or_end() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Done"}],
                "Next": "Done",
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
    }
    found = [d for d in validate_definition(definition)]
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Next"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/End"),
    ]
    assert "matching rule's Next" in found[0].message


def test_a_misspelt_field_gets_a_suggestion() -> None:
    found = validate_definition(single({"Type": "Pass", "End": True, "OuputPath": "$"}))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/OuputPath")
    ]
    assert "did you mean 'OutputPath'?" in found[0].message


@pytest.mark.parametrize("field", ["Arguments", "Output"])
def test_jsonata_only_fields_say_so(field: str) -> None:
    found = validate_definition(single({"Type": "Pass", "End": True, field: {}}))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]
    assert "only supported for the 'JSONata' QueryLanguage" in found[0].message


def test_workflow_variables_are_allowed_in_jsonpath() -> None:
    assert validate_definition(single({"Type": "Pass", "End": True, "Assign": {"x": 1}})) == []


def test_a_jsonata_state_in_a_jsonpath_machine_is_valid() -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": True}
    assert validate_definition(single(state)) == []


def test_a_state_may_say_it_is_jsonpath() -> None:
    assert errors(single({"Type": "Pass", "QueryLanguage": "JSONPath", "End": True})) == []


def test_a_state_query_language_must_be_known() -> None:
    assert errors(single({"Type": "Pass", "QueryLanguage": "XPath", "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/QueryLanguage")
    ]


def test_comment_must_be_a_string() -> None:
    assert errors(single({"Type": "Succeed", "Comment": ["x"]})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Comment")
    ]


# --- Next and End ----------------------------------------------------------------------------


def test_next_and_end_together_are_refused() -> None:
    definition = then_done({"Type": "Pass", "End": True})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/A")]


@pytest.mark.parametrize("state_type", ["Pass", "Task", "Wait", "Parallel", "Map"])
def test_next_or_end_is_required(state_type: str) -> None:
    state = {k: v for k, v in MINIMAL[state_type].items() if k != "End"}
    found = validate_definition({"StartAt": "A", "States": {"A": state, "Z": {"Type": "Fail"}}})
    assert ("SCHEMA_VALIDATION_FAILED", "/States/A") in [(d.code, d.location) for d in found]


def test_end_false_with_next_is_accepted() -> None:
    assert errors(then_done({"Type": "Pass", "End": False})) == []


def test_end_must_be_a_boolean() -> None:
    assert errors(single({"Type": "Pass", "End": "true"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/End"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A"),
        ("MISSING_END_STATE", ""),
    ]


@pytest.mark.parametrize("target", ["", 5, None])
def test_next_must_be_a_non_empty_string(target: Any) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": target}}}
    assert ("SCHEMA_VALIDATION_FAILED", "/States/A/Next") in errors(definition)


# --- InputPath, OutputPath, ResultPath -------------------------------------------------------


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
@pytest.mark.parametrize(
    "value", ["$", "$.order", "$['first name'][0]", "$$.Execution.Input", None]
)
def test_io_paths_accept_reference_paths_and_null(field: str, value: Any) -> None:
    assert errors(single({"Type": "Pass", field: value, "End": True})) == []


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
@pytest.mark.parametrize("value", ["$.items[*]", "$..id", "order", "$.a[?(@.b)]"])
def test_io_paths_refuse_non_reference_paths(field: str, value: Any) -> None:
    assert errors(single({"Type": "Pass", field: value, "End": True})) == [
        ("INVALID_JSON_PATH", f"/States/A/{field}")
    ]


@pytest.mark.parametrize("field", ["InputPath", "OutputPath", "ResultPath"])
def test_paths_must_be_strings(field: str) -> None:
    assert errors(single({"Type": "Pass", field: 5, "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]


def test_result_path_accepts_reference_paths_and_null() -> None:
    for value in ("$", "$.result", "$.a.b[0]", None):
        assert errors(single({"Type": "Pass", "ResultPath": value, "End": True})) == []


def test_result_path_cannot_write_the_context_object() -> None:
    found = validate_definition(single({"Type": "Pass", "ResultPath": "$$.Execution", "End": True}))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/ResultPath")
    ]
    assert "context object" in found[0].message


def test_result_path_must_be_a_reference_path() -> None:
    assert errors(single({"Type": "Pass", "ResultPath": "$.a[*]", "End": True})) == [
        ("INVALID_JSON_PATH", "/States/A/ResultPath")
    ]


# --- payload templates ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["Parameters", "ResultSelector"])
def test_templates_must_be_objects(field: str) -> None:
    state = {"Type": "Task", "Resource": TASK_RESOURCE, field: ["x"], "End": True}
    assert errors(single(state)) == [("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")]


def test_a_bad_path_in_a_template_is_reported_at_its_exact_key() -> None:
    state = {
        "Type": "Task",
        "Resource": TASK_RESOURCE,
        "Parameters": {"order": {"id.$": "$.order[", "ok.$": "$.order.id"}},
        "End": True,
    }
    found = validate_definition(single(state))
    assert [(d.code, d.location) for d in found] == [
        ("INVALID_JSON_PATH", "/States/A/Parameters/order/id.$")
    ]
    assert "'id.$'" in found[0].message


def test_a_bad_intrinsic_in_a_template_is_reported_with_the_intrinsic_code() -> None:
    state = {
        "Type": "Pass",
        "Parameters": {"items": [{"x.$": "States.Nope($.a)"}, {"y.$": "States.Format('{}', $.b)"}]},
        "End": True,
    }
    assert errors(single(state)) == [("INVALID_INTRINSIC", "/States/A/Parameters/items/0/x.$")]


@pytest.mark.parametrize("value", [5, None, {"a": 1}, ["$.a"], True])
def test_a_dollar_key_needs_a_string_value(value: Any) -> None:
    state = {"Type": "Pass", "Parameters": {"x.$": value}, "End": True}
    found = validate_definition(single(state))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Parameters/x.$")
    ]
    assert "remove '.$'" in found[0].message


def test_template_keys_with_slashes_are_escaped_in_locations() -> None:
    state = {"Type": "Pass", "Parameters": {"a/b": {"c~d.$": "nope"}}, "End": True}
    assert errors(single(state)) == [("INVALID_JSON_PATH", "/States/A/Parameters/a~1b/c~0d.$")]


def test_result_selector_is_checked_like_parameters() -> None:
    state = {
        "Type": "Task",
        "Resource": TASK_RESOURCE,
        "ResultSelector": {"v.$": "Payload"},
        "End": True,
    }
    assert errors(single(state)) == [("INVALID_JSON_PATH", "/States/A/ResultSelector/v.$")]


def test_a_path_without_dollar_key_is_a_no_dollar_warning() -> None:
    state = {"Type": "Pass", "Parameters": {"id": "$.order.id", "note": "$5 off"}, "End": True}
    assert errors(single(state)) == []
    assert warnings(single(state)) == [("NO_DOLLAR", "/States/A/Parameters/id")]


def test_an_intrinsic_without_dollar_key_is_a_no_dollar_warning() -> None:
    state = {"Type": "Pass", "Parameters": {"deep": {"f": "States.UUID()"}}, "End": True}
    assert warnings(single(state)) == [("NO_DOLLAR", "/States/A/Parameters/deep/f")]


def test_a_dollar_key_in_a_pass_result_is_a_warning() -> None:
    state = {"Type": "Pass", "Result": {"a": [{"b.$": "$.x"}]}, "End": True}
    assert errors(single(state)) == []
    assert warnings(single(state)) == [("PASS_RESULT_IS_STATIC", "/States/A/Result")]


def test_a_pass_result_may_be_any_json() -> None:
    for result in (None, 0, "text", [1, {"a": None}], {"nested": {"deep": [True]}}):
        assert validate_definition(single({"Type": "Pass", "Result": result, "End": True})) == []


# --- Task -------------------------------------------------------------------------------------


def test_task_resource_is_required() -> None:
    found = validate_definition(single({"Type": "Task", "End": True}))
    assert [(d.code, d.location) for d in found] == [("SCHEMA_VALIDATION_FAILED", "/States/A")]
    assert "[Resource]" in found[0].message


def test_task_resource_must_be_a_string() -> None:
    assert errors(single({"Type": "Task", "Resource": {"arn": TASK_RESOURCE}, "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Resource")
    ]


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::aws-sdk:s3:getObject",
        "arn:aws:lambda:us-east-1:123456789012:function:Hello:$LATEST",
        "arn:aws-cn:states:cn-north-1:123456789012:activity:review",
        "stepline:python:mypackage.tasks.charge",
    ],
)
def test_task_resource_accepts_arns_and_uris(resource: str) -> None:
    assert errors(single({"Type": "Task", "Resource": resource, "End": True})) == []


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "createToken",
        "arn:aws:lambda",
        "arn:aws:states:::",
        "arn:aws:lambda:us-east-1:12:f:x",
        "http invoke",
    ],
)
def test_task_resource_refuses_what_is_not_an_arn_or_uri(resource: str) -> None:
    assert errors(single({"Type": "Task", "Resource": resource, "End": True})) == [
        ("INVALID_RESOURCE", "/States/A/Resource")
    ]


@pytest.mark.parametrize(
    "credentials",
    [{"RoleArn": "arn:aws:iam::123456789012:role/x"}, {"RoleArn.$": "$.role"}],
)
def test_task_credentials_accept_a_role(credentials: dict[str, Any]) -> None:
    state = {"Type": "Task", "Resource": TASK_RESOURCE, "Credentials": credentials, "End": True}
    assert errors(single(state)) == []


@pytest.mark.parametrize(
    ("credentials", "location"),
    [
        ("arn:aws:iam::1:role/x", "/States/A/Credentials"),
        ({}, "/States/A/Credentials"),
        ({"RoleArn": "a", "RoleArn.$": "$.b"}, "/States/A/Credentials/RoleArn.$"),
        ({"RoleArn": 5}, "/States/A/Credentials/RoleArn"),
    ],
)
def test_task_credentials_refuse_other_shapes(credentials: Any, location: str) -> None:
    state = {"Type": "Task", "Resource": TASK_RESOURCE, "Credentials": credentials, "End": True}
    assert errors(single(state)) == [("SCHEMA_VALIDATION_FAILED", location)]


def test_task_credentials_role_path_must_be_valid() -> None:
    state = {
        "Type": "Task",
        "Resource": TASK_RESOURCE,
        "Credentials": {"RoleArn.$": "role"},
        "End": True,
    }
    assert errors(single(state)) == [("INVALID_JSON_PATH", "/States/A/Credentials/RoleArn.$")]


def test_task_credentials_refuse_unknown_fields() -> None:
    state = {
        "Type": "Task",
        "Resource": TASK_RESOURCE,
        "Credentials": {"RoleArn": "arn:aws:iam::1:role/x", "Session": "s"},
        "End": True,
    }
    assert errors(single(state)) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Credentials/Session")]


# --- Choice ------------------------------------------------------------------------------


def choice(**fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "A",
        "States": {"A": {"Type": "Choice", **fields}, "Done": {"Type": "Succeed"}},
    }


RULE = {"Variable": "$.x", "IsNull": True, "Next": "Done"}


def test_choice_requires_choices() -> None:
    assert errors(choice(Default="Done")) == [("SCHEMA_VALIDATION_FAILED", "/States/A")]


@pytest.mark.parametrize("choices", [[], "rules", {"0": RULE}])
def test_choices_must_be_a_non_empty_array(choices: Any) -> None:
    assert errors(choice(Choices=choices, Default="Done")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices")
    ]


def test_each_choice_must_be_an_object() -> None:
    assert errors(choice(Choices=[RULE, "rule"])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/1")
    ]


def test_choice_rules_are_checked_by_the_choice_module() -> None:
    found = errors(choice(Choices=[RULE, {"Variable": "$.y", "IsNull": True}]))
    # The rule has no Next; _choice reports it at the rule.
    assert found == [("SCHEMA_VALIDATION_FAILED", "/States/A/Choices/1")]


def test_choice_default_must_be_a_non_empty_string() -> None:
    assert errors(choice(Choices=[RULE], Default=5)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Default")
    ]


# --- Wait -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"Seconds": 0},
        {"Seconds": 99_999_999},
        {"SecondsPath": "$.delay"},
        {"Timestamp": "2026-03-14T01:59:00Z"},
        {"Timestamp": "2026-03-14T03:59:00.250+02:00"},
        {"TimestampPath": "$$.Execution.Input.when"},
    ],
)
def test_wait_accepts_each_of_its_four_forms(fields: dict[str, Any]) -> None:
    assert errors(single({"Type": "Wait", **fields, "End": True})) == []


def test_wait_needs_one_form() -> None:
    found = validate_definition(single({"Type": "Wait", "End": True}))
    assert [(d.code, d.location) for d in found] == [("SCHEMA_VALIDATION_FAILED", "/States/A")]
    assert "exactly one of 'Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'" in (
        found[0].message
    )


def test_wait_cannot_have_two_forms() -> None:
    state = {"Type": "Wait", "Seconds": 5, "TimestampPath": "$.t", "End": True}
    assert errors(single(state)) == [("SCHEMA_VALIDATION_FAILED", "/States/A/TimestampPath")]


@pytest.mark.parametrize("seconds", [-1, 1.5, "5", True, None, 100_000_000])
def test_wait_seconds_must_be_a_non_negative_integer(seconds: Any) -> None:
    assert errors(single({"Type": "Wait", "Seconds": seconds, "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Seconds")
    ]


@pytest.mark.parametrize(
    "timestamp", ["2026-03-14", "tomorrow", "2026-13-01T00:00:00Z", "$.when", 1700000000]
)
def test_wait_timestamp_must_be_a_timestamp(timestamp: Any) -> None:
    assert errors(single({"Type": "Wait", "Timestamp": timestamp, "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Timestamp")
    ]


@pytest.mark.parametrize("field", ["SecondsPath", "TimestampPath"])
def test_wait_paths_must_be_reference_paths(field: str) -> None:
    assert errors(single({"Type": "Wait", field: "$.a..b", "End": True})) == [
        ("INVALID_JSON_PATH", f"/States/A/{field}")
    ]
    assert errors(single({"Type": "Wait", field: None, "End": True})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]


# --- Succeed and Fail --------------------------------------------------------------------


def test_succeed_allows_io_paths_and_comment() -> None:
    state = {"Type": "Succeed", "Comment": "ok", "InputPath": "$.a", "OutputPath": "$.b"}
    assert errors(single(state)) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"Error": "E", "Cause": "C"},
        {"ErrorPath": "$.error", "CausePath": "$.cause"},
        {"ErrorPath": "States.Format('E{}', $.code)", "CausePath": "States.JsonToString($)"},
        {"Comment": "give up"},
    ],
)
def test_fail_accepts_static_or_dynamic_error_and_cause(fields: dict[str, Any]) -> None:
    assert validate_definition(single({"Type": "Fail", **fields})) == []


@pytest.mark.parametrize(("static", "dynamic"), [("Error", "ErrorPath"), ("Cause", "CausePath")])
def test_fail_static_and_dynamic_forms_exclude_each_other(static: str, dynamic: str) -> None:
    assert errors(single({"Type": "Fail", static: "x", dynamic: "$.x"})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{dynamic}")
    ]


@pytest.mark.parametrize("field", ["Error", "Cause"])
def test_fail_error_and_cause_must_be_strings(field: str) -> None:
    assert errors(single({"Type": "Fail", field: 404})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (5, "SCHEMA_VALIDATION_FAILED"),
        ("$.errors[*]", "INVALID_JSON_PATH"),
        ("error", "INVALID_JSON_PATH"),
        ("States.Format('{}'", "INVALID_INTRINSIC"),
    ],
)
def test_fail_error_path_must_be_a_reference_path_or_intrinsic(value: Any, code: str) -> None:
    assert errors(single({"Type": "Fail", "ErrorPath": value})) == [(code, "/States/A/ErrorPath")]


def test_fail_error_that_looks_like_a_path_is_a_no_path_warning() -> None:
    state = {"Type": "Fail", "Error": "$.error", "Cause": "plain"}
    assert errors(single(state)) == []
    assert warnings(single(state)) == [("NO_PATH", "/States/A/Error")]


def test_python_values_that_contain_themselves_do_not_hang() -> None:
    # JSON cannot express a cycle, but a Python caller can build one.
    parameters: dict[str, Any] = {"id.$": "$.id"}
    parameters["again"] = parameters
    result: list[Any] = [1]
    result.append(result)
    state = {"Type": "Pass", "Parameters": parameters, "Result": result, "End": True}
    assert errors(single(state)) == []
    machine: dict[str, Any] = {"StartAt": "P", "States": {}}
    machine["States"]["P"] = {"Type": "Parallel", "Branches": [machine], "End": True}
    assert "TOO_DEEPLY_NESTED" in {code for code, _ in errors(machine)}
