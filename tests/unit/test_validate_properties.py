"""Properties of definition validation over generated definitions.

* Any JSON value, any ASL-looking object, any text: ``validate_definition`` returns
  diagnostics and never raises, and every diagnostic points at a node that exists.
* Generated well-formed machines have no diagnostics at all.
* Whatever the validator accepts, the compiler (which trusts it) compiles.
* Arbitrary ``{% … %}`` strings, anywhere a JSONata state takes an expression, give
  diagnostics, never an exception; well-formed JSONata machines are clean.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.asl._compile import compile_definition
from stepline.asl._diagnostics import Diagnostic, InvalidDefinition
from stepline.asl._validate import validate_definition

KNOWN_CODES = {
    "STEPLINE_EXTENSION",
    "SCHEMA_VALIDATION_FAILED",
    "INVALID_JSON_DESCRIPTION",
    "MISSING_DESCRIPTION",
    "INVALID_RESOURCE",
    "MISSING_END_STATE",
    "DUPLICATE_STATE_NAME",
    "INVALID_STATE_NAME",
    "DUPLICATE_LABEL_NAME",
    "INVALID_LABEL_NAME",
    "MISSING_TRANSITION_TARGET",
    "TOO_DEEPLY_NESTED",
    "NO_DOLLAR",
    "NO_PATH",
    "PASS_RESULT_IS_STATIC",
    "UNSUPPORTED_FEATURE",
    # Codes of the path and intrinsic compilers, passed through from DefinitionError.
    "INVALID_JSON_PATH",
    "INVALID_INTRINSIC",
    # JSONata expressions (AWS's codes) and workflow variables (stepline's warnings).
    "INVALID_JSONATA_EXPRESSION",
    "UNSUPPORTED_JSONATA_EXPRESSION",
    "UNDEFINED_VARIABLE",
    "SHADOWED_VARIABLE",
}

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -----------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)

FIELD_NAMES = [
    "Type", "Next", "End", "Comment", "InputPath", "OutputPath", "ResultPath", "Parameters",
    "ResultSelector", "Result", "Retry", "Catch", "Resource", "TimeoutSeconds",
    "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Choices",
    "Default", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Error", "ErrorPath",
    "Cause", "CausePath", "Branches", "ItemProcessor", "Iterator", "ProcessorConfig", "Mode",
    "ExecutionType", "ItemsPath", "ItemSelector", "MaxConcurrency", "MaxConcurrencyPath",
    "ToleratedFailureCount", "ToleratedFailurePercentage", "ItemReader", "ResultWriter",
    "ItemBatcher", "MaxItemsPerBatch", "Label", "StartAt", "States", "ErrorEquals",
    "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy",
    "QueryLanguage", "Version", "Variable", "StringEquals", "NumericLessThan", "And", "Or",
    "Not", "IsPresent", "Assign", "Output", "RoleArn", "x.$", "id.$", "Arguments", "Items",
    "Condition", "BatchInput", "MaxInputBytesPerBatch", "x", "states", "1x",
]  # fmt: skip
ASL_STRINGS = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "A", "B", "Done",
    "$", "$.a", "$.a[0]", "$$.Execution.Id", "$.a[*]", "$..b", "$[", "nope", "",
    "States.ALL", "States.Timeout", "States.Format('{}', $.a)", "States.Nope(1)", "States.UUID(",
    "arn:aws:states:::http:invoke", "arn:aws:lambda", "INLINE", "DISTRIBUTED", "STANDARD",
    "FULL", "NONE", "JSONPath", "JSONata", "1.0", "2026-03-14T01:59:00Z", "2026-13-01",
    "$x", "$x.a", "States.Format('{}', $x)", "{% $states.input %}", "{% 1 + %}", "{% phone %}",
    "{% $x %}", "{%", "{% $states.errorOutput %}", "{% $states.result.a %}", "{% $$ %}",
]  # fmt: skip
asl_scalars = (
    st.sampled_from(ASL_STRINGS)
    | st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=100_000_001)
    | st.sampled_from([0.5, 1.0, 1.5, 2.0, 100.5, -0.0])
)
asl_values = st.recursive(
    asl_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.sampled_from(ASL_STRINGS), children,
                      max_size=5),
    max_leaves=30,
)  # fmt: skip
state_names = st.sampled_from(["A", "B", "Done", "", "a/b~c", "x" * 81, "bell\x07"])
asl_states = st.dictionaries(
    st.sampled_from(FIELD_NAMES), asl_values | st.sampled_from(ASL_STRINGS), max_size=8
)
asl_definitions = st.fixed_dictionaries(
    {"StartAt": st.sampled_from(["A", "B", 3]), "States": st.dictionaries(state_names, asl_states,
                                                                          max_size=4)},
    optional={
        "Comment": asl_values,
        "TimeoutSeconds": asl_scalars,
        "QueryLanguage": st.sampled_from(["JSONPath", "JSONata", "x"]),
        "Version": asl_scalars,
        "Bogus": asl_values,
    },
)  # fmt: skip


# --- helpers --------------------------------------------------------------------------------------


def resolve(document: Any, location: str) -> bool:
    """Whether the JSON Pointer ``location`` names a node of ``document``."""
    if location == "":
        return True
    node = document
    for raw in location[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            matches = [key for key in node if str(key) == part]
            if not matches:
                return False
            node = node[matches[0]]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return False
            node = node[int(part)]
        else:
            return False
    return True


def check_diagnostics(definition: Any, found: list[Diagnostic]) -> None:
    assert isinstance(found, list)
    for diagnostic in found:
        assert isinstance(diagnostic, Diagnostic)
        assert diagnostic.severity in ("ERROR", "WARNING")
        assert diagnostic.code in KNOWN_CODES, diagnostic
        assert diagnostic.message
        assert diagnostic.location == "" or diagnostic.location.startswith("/")
        assert resolve(definition, diagnostic.location), diagnostic


# --- never raises, always points somewhere real ---------------------------------------------------


@SETTINGS
@given(json_values)
def test_any_json_value_gives_diagnostics_not_exceptions(value: Any) -> None:
    found = validate_definition(value)
    check_diagnostics(value, found)
    if not isinstance(value, dict):
        assert [d.severity for d in found] == ["ERROR"]


@SETTINGS
@given(asl_definitions)
def test_any_asl_looking_definition_gives_diagnostics_not_exceptions(definition: Any) -> None:
    before = copy.deepcopy(definition)
    check_diagnostics(definition, validate_definition(definition))
    assert definition == before  # validation never changes the definition


@SETTINGS
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), asl_values, max_size=6), asl_states)
def test_any_state_inside_nested_scopes_gives_diagnostics(top: Any, state: Any) -> None:
    nested = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "S", "States": {"S": state}}],
                "End": True,
            },
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "T", "States": {"T": state}},
                  **top},
        },
    }  # fmt: skip
    check_diagnostics(nested, validate_definition(nested))


@SETTINGS
@given(st.text(max_size=40) | st.binary(max_size=40))
def test_any_text_gives_diagnostics_not_exceptions(text: str | bytes) -> None:
    found = validate_definition(text)
    assert all(isinstance(d, Diagnostic) for d in found)
    assert all(d.code in KNOWN_CODES for d in found)


@SETTINGS
@given(asl_definitions)
def test_json_text_and_objects_are_validated_alike(definition: Any) -> None:
    text = json.dumps(definition)
    as_object = json.loads(text)  # non-string keys become strings, as in JSON
    assert validate_definition(text) == validate_definition(as_object)


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(FIELD_NAMES))
def test_python_only_numbers_are_diagnosed_not_fatal(number: float, field: str) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                         field: number, "Retry": [{"ErrorEquals": ["E"], field: number}],
                         "End": True}},
    }  # fmt: skip
    check_diagnostics(definition, validate_definition(definition))


# --- well-formed machines are clean ---------------------------------------------------------------

pass_like = st.sampled_from(
    [
        {"Type": "Pass"},
        {"Type": "Pass", "Result": {"a": [1, 2]}, "ResultPath": "$.r"},
        {"Type": "Pass", "Parameters": {"id.$": "$.id", "n": 1}},
        {"Type": "Wait", "Seconds": 0},
        {"Type": "Wait", "SecondsPath": "$.s"},
        {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5},
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5}],
        },
    ]
)
ends = st.sampled_from(
    [{"Type": "Succeed"}, {"Type": "Fail", "Error": "E"}, {"Type": "Pass", "End": True}]
)


@SETTINGS
@given(st.lists(pass_like, min_size=0, max_size=8), ends)
def test_generated_chains_are_clean_and_compile(steps: list[dict[str, Any]], end: Any) -> None:
    names = [f"Step {index}" for index in range(len(steps))] + ["End"]
    states = {name: dict(body) for name, body in zip(names, [*steps, end], strict=True)}
    for name, following in itertools.pairwise(names):
        states[name]["Next"] = following
    definition = {"StartAt": names[0], "States": states}
    assert validate_definition(definition) == []
    assert compile_definition(definition).state_count == len(names)


# --- what the validator accepts, the compiler compiles --------------------------------------------

BASE = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Work",
                         "Assign": {"went": True}}],
            "Default": "Stop",
            "Assign": {"count": 0},
        },
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"id.$": "$.id", "n.$": "States.MathAdd($count, 1)"},
            "ResultSelector": {"body.$": "$.ResponseBody"},
            "ResultPath": "$.result",
            "Assign": {"body.$": "$.body", "count.$": "States.MathAdd($count, 1)"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Stop",
                       "Assign": {"error.$": "$.Error"}}],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "b.$": "$body"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Inner",
                "States": {"Inner": {"Type": "Pass", "End": True}},
            },
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1,
                                                                 "End": True}}}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Stop": {"Type": "Fail", "ErrorPath": "$.Error"},
    },
}  # fmt: skip


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_containers(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_containers(value, (*path, index)))
    return found


PATHS = [path for path in _containers(BASE) if path]


@SETTINGS
@given(st.sampled_from(PATHS), st.sampled_from(["delete", "replace"]), asl_values)
def test_whatever_validates_also_compiles(path: tuple[Any, ...], action: str, value: Any) -> None:
    definition = copy.deepcopy(BASE)
    parent: Any = definition
    for part in path[:-1]:
        parent = parent[part]
    if action == "delete":
        if isinstance(parent, list):
            parent.pop(path[-1])
        else:
            del parent[path[-1]]
    else:
        parent[path[-1]] = value
    found = validate_definition(definition)
    check_diagnostics(definition, found)
    if not any(d.severity == "ERROR" for d in found):
        _compiles(definition)


def _compiles(definition: Any) -> None:
    """Compile a definition the validator accepts (JSONata states are refused as not runnable
    yet, with UNSUPPORTED_FEATURE only, until the engine runs them)."""
    try:
        compile_definition(definition)
    except InvalidDefinition as exc:
        assert {d.code for d in exc.diagnostics} == {"UNSUPPORTED_FEATURE"}, exc.diagnostics


# --- JSONata: arbitrary expressions never crash the validator -------------------------------------

JSONATA_TOKENS = [
    "$states", ".input", ".result", ".errorOutput", ".context", "$x", "$", "$$", "phone", "(",
    ")", "[", "]", "{", "}", ",", ";", ":", ":=", "?", "+", "-", "*", "**", "/", "%", "&", "=",
    "!=", "<", ">", "..", "~>", "^(", "@", "#", "|", "'s'", '"s"', "`b t`", "1", "2.5", "true",
    "null", "and", "or", "in", "function($v)", "<n:n>", "$sum", "$map", "$eval", "/r/i",
    "/*c*/", " ", "\\", "%}", "{%", "λ",
]  # fmt: skip
jsonata_texts = st.text(max_size=30) | st.lists(st.sampled_from(JSONATA_TOKENS), max_size=12).map(
    "".join
)
jsonata_strings = jsonata_texts.map(lambda text: "{%" + text + "%}") | jsonata_texts
jsonata_values = st.recursive(
    jsonata_strings | json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)


@SETTINGS
@given(jsonata_strings, jsonata_values, st.sampled_from(["JSONata", "JSONPath"]))
def test_arbitrary_expressions_give_diagnostics_not_exceptions(
    expression: str, value: Any, language: str
) -> None:
    states = {
        "Call": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"a": expression, "b": value}, "Output": expression,
            "Assign": {"x": expression, "y": value}, "TimeoutSeconds": expression,
            "HeartbeatSeconds": expression, "Credentials": {"RoleArn": expression},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Output": value,
                       "Assign": {"e": expression}, "Next": "Route"}],
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Condition": expression, "Assign": {"c": value}, "Output": expression,
                         "Next": "Each"}],
            "Default": "Each", "Output": value,
        },
        "Each": {
            "Type": "Map", "Items": expression, "ItemSelector": value,
            "MaxConcurrency": expression, "ToleratedFailureCount": expression,
            "ToleratedFailurePercentage": expression,
            "ItemBatcher": {"MaxItemsPerBatch": expression, "BatchInput": value},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "In", "States": {"In": {"Type": "Pass", "Output": expression,
                                                   "Assign": {"i": value}, "End": True}},
            },
            "Next": "Nap",
        },
        "Nap": {"Type": "Wait", "Seconds": expression, "Next": "Stop"},
        "Stop": {"Type": "Fail", "Error": expression, "Cause": expression},
    }  # fmt: skip
    definition = {"QueryLanguage": language, "StartAt": "Call", "States": states}
    before = copy.deepcopy(definition)
    found = validate_definition(definition)
    check_diagnostics(definition, found)
    assert definition == before


@SETTINGS
@given(jsonata_strings)
def test_an_expression_that_validates_compiles(expression: str) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": {"v": expression}, "End": True}},
    }
    found = validate_definition(definition)
    check_diagnostics(definition, found)
    if not any(d.severity == "ERROR" for d in found):
        _compiles(definition)


jsonata_steps = st.sampled_from(
    [
        {"Type": "Pass", "Output": {"n": "{% $states.input.n + 1 %}"}},
        {"Type": "Pass", "Assign": {"total": "{% $sum($states.input.items.price) %}"}},
        {"Type": "Wait", "Seconds": "{% $states.input.n %}"},
        {"Type": "Wait", "Timestamp": "2026-03-14T01:59:00Z"},
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"Method": "GET", "ApiEndpoint": "{% $states.input.url %}"},
            "Output": "{% $states.result.ResponseBody %}",
            "Assign": {"last": "{% $states.result.StatusCode %}"},
            "TimeoutSeconds": "{% 30 %}",
        },
        {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "Output": "{% $states.result %}",
        },
    ]
)


@SETTINGS
@given(st.lists(jsonata_steps, max_size=6))
def test_generated_jsonata_chains_are_clean(steps: list[dict[str, Any]]) -> None:
    names = [f"Step {index}" for index in range(len(steps))] + ["End"]
    states: dict[str, Any] = {
        name: dict(body) for name, body in zip(names, [*steps, {"Type": "Succeed"}], strict=True)
    }
    for index, (name, following) in enumerate(itertools.pairwise(names)):
        states[name]["Next"] = following
        if "ItemProcessor" in states[name]:  # state names are unique across the machine
            inner = f"Inner {index}"
            states[name]["ItemProcessor"] = {
                "StartAt": inner,
                "States": {inner: {"Type": "Pass", "End": True}},
            }
    definition = {"QueryLanguage": "JSONata", "StartAt": names[0], "States": states}
    assert validate_definition(definition) == []
