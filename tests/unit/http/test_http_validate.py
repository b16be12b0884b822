"""Definition-time checks of HTTP Tasks, in JSONPath (Parameters) and JSONata (Arguments)."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl import validate_definition
from stepline.asl._diagnostics import Diagnostic
from stepline.asl._validate_common import Context
from stepline.asl._validate_http import validate_http_task

ARN = "arn:aws:events:us-east-1:123456789012:connection/Shop/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
HTTP = "arn:aws:states:::http:invoke"


def machine(arguments: Any = None, language: str = "JSONPath", **state: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Type": "Task", "Resource": HTTP, "End": True}
    if arguments is not None:
        body["Parameters" if language == "JSONPath" else "Arguments"] = arguments
    body.update(state)
    definition: dict[str, Any] = {"StartAt": "Call", "States": {"Call": body}}
    if language == "JSONata":
        definition["QueryLanguage"] = "JSONata"
    return definition


def fields(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ApiEndpoint": "https://api.example.com/v2/orders",
        "Method": "GET",
        "InvocationConfig": {"ConnectionArn": ARN},
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def _hooked() -> bool:
    probe = machine(fields(Method="get"))
    return any(d.location.endswith("/Method") for d in validate_definition(probe))


HOOKED = _hooked()


def diagnostics(definition: dict[str, Any]) -> list[Diagnostic]:
    """validate_definition's findings, with the HTTP check applied to top-level states when the
    one-line hook in _validate_states is not installed yet (see the report)."""
    found = validate_definition(definition)
    if HOOKED:
        return found
    ctx = Context(max_state_name_length=80, validate_scope=lambda *args: None)
    default = definition.get("QueryLanguage", "JSONPath")
    for name, state in definition["States"].items():
        language = state.get("QueryLanguage", default)
        validate_http_task(ctx, state, f"/States/{name}", language)
    return found + ctx.diagnostics


def errors(definition: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d.code, d.location) for d in diagnostics(definition) if d.severity == "ERROR"]


def messages(definition: dict[str, Any]) -> list[str]:
    return [d.message for d in diagnostics(definition) if d.severity == "ERROR"]


BOTH = pytest.mark.parametrize("language", ["JSONPath", "JSONata"])


def field_of(language: str) -> str:
    return "Parameters" if language == "JSONPath" else "Arguments"


def dynamic(language: str, name: str, expression: str = "$.x") -> dict[str, str]:
    """A computed field in the state's language."""
    if language == "JSONPath":
        return {f"{name}.$": expression}
    return {name: "{% $states.input.x %}"}


# --- clean definitions -------------------------------------------------------------------------


@BOTH
def test_a_minimal_http_task_is_clean(language: str) -> None:
    assert diagnostics(machine(fields(), language)) == []


def test_the_specs_examples_are_clean() -> None:
    jsonpath = machine(fields(QueryParameters={"status": "open"}))
    jsonata = machine(
        {
            "ApiEndpoint": "{% 'https://api.example.com/v2/customers/' & $states.input.id %}",
            "Method": "POST",
            "Authentication": {"ConnectionArn": ARN},
            "Headers": {"Idempotency-Key": "{% $states.context.Execution.Name %}"},
            "RequestBody": {"sku": "{% $states.input.sku %}", "qty": 1},
        },
        "JSONata",
        Output="{% $states.result.ResponseBody %}",
    )
    form = machine(
        fields(
            Method="POST",
            Headers={"Content-Type": "application/x-www-form-urlencoded"},
            RequestBody={"amount.$": "$.amount", "note": "Order 7", "meta": {"ref": "A 1"}},
            Transform={
                "RequestBodyEncoding": "URL_ENCODED",
                "RequestEncodingOptions": {"ArrayFormat": "INDICES"},
            },
        )
    )
    assert diagnostics(jsonpath) == []
    assert diagnostics(jsonata) == []
    assert diagnostics(form) == []


@BOTH
def test_computed_fields_are_left_to_run_time(language: str) -> None:
    computed = {
        **dynamic(language, "ApiEndpoint"),
        **dynamic(language, "Method"),
        "InvocationConfig": dynamic(language, "ConnectionArn"),
        **dynamic(language, "Headers"),
        **dynamic(language, "QueryParameters"),
        **dynamic(language, "RequestBody"),
        **dynamic(language, "Transform"),
    }
    assert errors(machine(computed, language)) == []


def test_a_whole_jsonata_arguments_expression_is_left_to_run_time() -> None:
    assert errors(machine("{% $states.input.request %}", "JSONata")) == []


def test_other_task_resources_are_not_checked() -> None:
    definition = machine({"anything": 1})
    definition["States"]["Call"]["Resource"] = "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert errors(definition) == []


# --- required fields -------------------------------------------------------------------------


@BOTH
def test_parameters_are_required(language: str) -> None:
    definition = machine(None, language)
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/Call")]
    assert f"These fields are required: [{field_of(language)}]" in messages(definition)[0]


@BOTH
@pytest.mark.parametrize("value", [[1], "x", 5])
def test_parameters_must_be_an_object(language: str, value: Any) -> None:
    assert errors(machine(value, language)) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}")
    ]


@BOTH
def test_endpoint_and_method_are_required(language: str) -> None:
    definition = machine(fields(ApiEndpoint=None, Method=None), language)
    assert errors(definition) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}")
    ]
    assert messages(definition)[0].startswith("These fields are required: [ApiEndpoint, Method]")


@BOTH
@pytest.mark.parametrize("method", ["get", "CONNECT", "TRACE", 5, None])
def test_a_static_method_must_be_one_of_seven(language: str, method: Any) -> None:
    definition = machine(fields(), language)
    definition["States"]["Call"][field_of(language)]["Method"] = method
    assert errors(definition) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}/Method")
    ]


@BOTH
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_every_method_is_accepted(language: str, method: str) -> None:
    assert errors(machine(fields(Method=method), language)) == []


@BOTH
@pytest.mark.parametrize(
    "endpoint",
    [
        5,
        "/orders",
        "ftp://a.example/x",
        "https://",
        "https://a.example/a b",
        "https://u:p@a.example",
    ],
)
def test_a_static_endpoint_must_be_an_absolute_http_url(language: str, endpoint: Any) -> None:
    assert errors(machine(fields(ApiEndpoint=endpoint), language)) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}/ApiEndpoint")
    ]


def test_an_http_endpoint_and_an_embedded_query_are_accepted() -> None:
    assert errors(machine(fields(ApiEndpoint="http://127.0.0.1:8080/x?a=1"))) == []


# --- the connection ------------------------------------------------------------------------------


@BOTH
def test_a_connection_is_required(language: str) -> None:
    definition = machine(fields(InvocationConfig=None), language)
    assert errors(definition) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}")
    ]
    assert "need a connection" in messages(definition)[0]


@BOTH
def test_authentication_is_accepted_alone(language: str) -> None:
    definition = machine(
        fields(InvocationConfig=None, Authentication={"ConnectionArn": ARN}), language
    )
    assert errors(definition) == []


@BOTH
def test_both_connection_fields_are_an_error(language: str) -> None:
    definition = machine(fields(Authentication={"ConnectionArn": ARN}), language)
    location = f"/States/Call/{field_of(language)}/InvocationConfig"
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", location)]


@BOTH
@pytest.mark.parametrize(
    ("config", "suffix"),
    [
        ("arn", "/InvocationConfig"),
        ({}, "/InvocationConfig"),
        ({"ConnectionArn": "Shop"}, "/InvocationConfig/ConnectionArn"),
        ({"ConnectionArn": 5}, "/InvocationConfig/ConnectionArn"),
        ({"ConnectionArn": ARN, "Arn": ARN}, "/InvocationConfig/Arn"),
    ],
)
def test_a_bad_connection_reference_is_an_error(language: str, config: Any, suffix: str) -> None:
    location = f"/States/Call/{field_of(language)}{suffix}"
    assert errors(machine(fields(InvocationConfig=config), language)) == [
        ("SCHEMA_VALIDATION_FAILED", location)
    ]


# --- headers -----------------------------------------------------------------------------------


@BOTH
def test_a_forbidden_header_gives_awss_message_at_awss_location(language: str) -> None:
    definition = machine(fields(Headers={"Authorization": "Basic x"}), language)
    found = [d for d in diagnostics(definition) if d.severity == "ERROR"]
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}")
    ]
    assert found[0].message.startswith(
        "The 'Headers' field contains unsupported values: [authorization]"
    )


def test_several_forbidden_headers_are_listed_lower_cased() -> None:
    headers = {"Host": "h", "X-Ok": "1", "X-Amz-Date": "d", "x-forwarded-for": "f", "TE": "t"}
    assert messages(machine(fields(Headers=headers)))[0].startswith(
        "The 'Headers' field contains unsupported values: [host, x-amz-date, x-forwarded-for, te]"
    )


@BOTH
def test_a_forbidden_header_with_a_computed_value_is_still_an_error(language: str) -> None:
    headers = dynamic(language, "Authorization")
    assert (
        "unsupported values: [authorization]"
        in messages(machine(fields(Headers=headers), language))[0]
    )


@BOTH
@pytest.mark.parametrize("value", [5, True, None, {"a": "b"}, ["a", 5]])
def test_a_static_header_value_must_be_a_string(language: str, value: Any) -> None:
    location = f"/States/Call/{field_of(language)}/Headers/X-Count"
    assert errors(machine(fields(Headers={"X-Count": value}), language)) == [
        ("SCHEMA_VALIDATION_FAILED", location)
    ]


@BOTH
def test_header_arrays_and_names_are_checked(language: str) -> None:
    assert errors(machine(fields(Headers={"X-Tag": ["a", "b"]}), language)) == []
    assert errors(machine(fields(Headers={"Bad Name": "v"}), language)) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}/Headers/Bad Name")
    ]


@BOTH
def test_headers_must_be_an_object(language: str) -> None:
    assert errors(machine(fields(Headers=["Accept: x"]), language)) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/Call/{field_of(language)}/Headers")
    ]


# --- query, transform, unknown fields ------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("query", [{"a": "1"}, "a=1&b=2", ["a=1", {"b": "2"}]])
def test_query_parameters_take_three_shapes(language: str, query: Any) -> None:
    assert errors(machine(fields(QueryParameters=query), language)) == []


@BOTH
@pytest.mark.parametrize(("query", "suffix"), [(5, ""), (True, ""), ([1], "/0")])
def test_other_query_parameters_are_errors(language: str, query: Any, suffix: str) -> None:
    location = f"/States/Call/{field_of(language)}/QueryParameters{suffix}"
    assert errors(machine(fields(QueryParameters=query), language)) == [
        ("SCHEMA_VALIDATION_FAILED", location)
    ]


@BOTH
@pytest.mark.parametrize(
    ("transform", "suffix"),
    [
        ("URL_ENCODED", ""),
        ({"RequestBodyEncoding": "FORM"}, "/RequestBodyEncoding"),
        ({"RequestBodyEncoding": "none"}, "/RequestBodyEncoding"),
        ({"Encoding": "NONE"}, "/Encoding"),
        ({"RequestEncodingOptions": "INDICES"}, "/RequestEncodingOptions"),
        (
            {"RequestEncodingOptions": {"ArrayFormat": "DEFAULT"}},
            "/RequestEncodingOptions/ArrayFormat",
        ),
        ({"RequestEncodingOptions": {"Format": "REPEAT"}}, "/RequestEncodingOptions/Format"),
    ],
)
def test_transform_values_are_checked(language: str, transform: Any, suffix: str) -> None:
    location = f"/States/Call/{field_of(language)}/Transform{suffix}"
    assert errors(machine(fields(Transform=transform), language)) == [
        ("SCHEMA_VALIDATION_FAILED", location)
    ]


@BOTH
@pytest.mark.parametrize("encoding", ["NONE", "URL_ENCODED"])
@pytest.mark.parametrize("array_format", ["INDICES", "REPEAT", "COMMAS", "BRACKETS"])
def test_every_transform_value_is_accepted(language: str, encoding: str, array_format: str) -> None:
    transform = {
        "RequestBodyEncoding": encoding,
        "RequestEncodingOptions": {"ArrayFormat": array_format},
    }
    assert errors(machine(fields(Transform=transform), language)) == []


@BOTH
def test_unknown_parameter_fields_are_errors(language: str) -> None:
    definition = machine(fields(Body={"a": 1}, Method_="x"), language)
    found = errors(definition)
    base = f"/States/Call/{field_of(language)}"
    assert found == [
        ("SCHEMA_VALIDATION_FAILED", f"{base}/Body"),
        ("SCHEMA_VALIDATION_FAILED", f"{base}/Method_"),
    ]


def test_a_misspelt_field_gets_a_suggestion() -> None:
    assert (
        "did you mean 'ApiEndpoint'?"
        in messages(machine({**fields(ApiEndpoint=None), "ApiEndPoint": "https://a.example"}))[0]
    )


def test_a_dotted_key_in_jsonata_is_unknown_with_a_hint() -> None:
    definition = machine({**fields(Method=None), "Method.$": "$.m"}, "JSONata")
    assert any("in a JSONata state write 'Method'" in m for m in messages(definition))


def test_a_field_and_its_path_form_together_are_an_error() -> None:
    definition = machine({**fields(), "Method.$": "$.m"})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/Call/Parameters/Method.$")]


# --- resource ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".sync", ".sync:2", ".sync:3", ".waitForTaskTokens"])
def test_integration_pattern_suffixes_are_refused(suffix: str) -> None:
    definition = machine(fields(), Resource=HTTP + suffix)
    assert errors(definition) == [("INVALID_RESOURCE", "/States/Call/Resource")]


def test_wait_for_task_token_is_an_extension_with_a_warning() -> None:
    definition = machine(fields(), Resource=HTTP + ".waitForTaskToken")
    assert errors(definition) == []
    found = [
        (d.code, d.location, d.severity)
        for d in validate_definition(definition)
        if d.code == "STEPLINE_EXTENSION"
    ]
    assert found == [("STEPLINE_EXTENSION", "/States/Call/Resource", "WARNING")]


def test_other_partitions_are_http_tasks_too() -> None:
    definition = machine(fields(Method="get"), Resource="arn:aws-cn:states:::http:invoke")
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/Call/Parameters/Method")]
