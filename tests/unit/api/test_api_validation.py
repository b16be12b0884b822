"""Model-driven validation: AWS's messages per constraint type, on the real botocore models."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from _api_asgi_kit import json_call, parse

from stepline.api import create_app
from stepline.api._errors import ProtocolError, ValidationFailure
from stepline.api._model import compile_service_model, load_service_model
from stepline.api._validate import InputChecker

SFN = load_service_model("states")
IAM = load_service_model("iam")
JSON_CHECKER = InputChecker(
    validation_code="ValidationException", serialization_code="SerializationException"
)
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:demo"


def sfn_input(operation: str, value: Any) -> dict[str, Any]:
    return JSON_CHECKER.check(SFN.operations[operation].input, value)


def sfn_violation(operation: str, value: Any) -> str:
    with pytest.raises(ValidationFailure) as info:
        sfn_input(operation, value)
    assert info.value.code == "ValidationException"
    return info.value.message


def test_required_member_missing() -> None:
    assert sfn_violation("DescribeStateMachine", {}) == (
        "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_explicit_null_counts_as_missing() -> None:
    message = sfn_violation("DescribeStateMachine", {"stateMachineArn": None})
    assert "Value null at 'stateMachineArn'" in message


def test_max_length() -> None:
    message = sfn_violation("StartExecution", {"stateMachineArn": ARN, "name": "x" * 81})
    assert message == (
        f"1 validation error detected: Value '{'x' * 81}' at 'name' failed to satisfy "
        "constraint: Member must have length less than or equal to 80"
    )


def test_min_length() -> None:
    message = sfn_violation("DescribeStateMachine", {"stateMachineArn": ""})
    assert message.endswith(
        "Value '' at 'stateMachineArn' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_range_both_ends() -> None:
    assert sfn_violation("ListStateMachines", {"maxResults": 1001}).endswith(
        "Value '1001' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )
    assert "greater than or equal to 0" in sfn_violation("ListStateMachines", {"maxResults": -1})


def test_enum() -> None:
    message = sfn_violation("ListExecutions", {"stateMachineArn": ARN, "statusFilter": "DONE"})
    assert message == (
        "1 validation error detected: Value 'DONE' at 'statusFilter' failed to satisfy "
        "constraint: Member must satisfy enum value set: "
        "[RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]"
    )


def test_several_violations_are_counted_and_joined() -> None:
    message = sfn_violation("StartExecution", {"name": "x" * 81})
    assert message.startswith("2 validation errors detected: ")
    assert "; " in message
    assert "Value null at 'stateMachineArn'" in message
    assert "at 'name'" in message


def test_sensitive_values_are_not_shown() -> None:
    secret_input = "s" * 262145
    message = sfn_violation("StartExecution", {"stateMachineArn": ARN, "input": secret_input})
    assert message == (
        "1 validation error detected: Value at 'input' failed to satisfy constraint: "
        "Member must have length less than or equal to 262144"
    )


def test_list_element_paths() -> None:
    message = sfn_violation(
        "TagResource", {"resourceArn": ARN, "tags": [{"key": "ok"}, {"key": "k" * 129}]}
    )
    assert "at 'tags.2.member.key' failed to satisfy constraint" in message


def test_unknown_members_and_nulls_are_dropped() -> None:
    checked = sfn_input(
        "StartExecution", {"stateMachineArn": ARN, "surprise": 1, "name": None, "input": "{}"}
    )
    assert checked == {"stateMachineArn": ARN, "input": "{}"}


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        ({"maxResults": "10"}, "maxResults", "a JSON integer"),
        ({"maxResults": True}, "maxResults", "a JSON integer"),
        ({"maxResults": 1.5}, "maxResults", "a JSON integer"),
        ({"nextToken": 5}, "nextToken", "a JSON string"),
    ],
)
def test_wrong_types_are_serialization_errors(body: Any, path: str, expected: str) -> None:
    with pytest.raises(ProtocolError) as info:
        sfn_input("ListStateMachines", body)
    assert info.value.code == "SerializationException"
    assert f"'{path}'" in info.value.message
    assert expected in info.value.message


def test_wrong_type_message_does_not_show_the_value() -> None:
    with pytest.raises(ProtocolError) as info:
        sfn_input("StartExecution", {"stateMachineArn": ARN, "input": {"password": "hunter2"}})
    assert "hunter2" not in info.value.message
    assert "'input'" in info.value.message


def test_body_must_be_an_object() -> None:
    with pytest.raises(ProtocolError) as info:
        sfn_input("ListStateMachines", [1, 2])
    assert "must be a JSON object, not an array" in info.value.message


def test_integer_out_of_32_bits() -> None:
    with pytest.raises(ProtocolError) as info:
        sfn_input("ListStateMachines", {"maxResults": 2**31})
    assert "out of range" in info.value.message


def test_iam_pattern_and_lower_cased_paths() -> None:
    checker = InputChecker(validation_code="ValidationError", serialization_code="ValidationError")
    with pytest.raises(ValidationFailure) as info:
        checker.check(IAM.operations["GetRole"].input, {"RoleName": "bad name!"})
    assert info.value.code == "ValidationError"
    assert info.value.message == (
        "1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_unicode_category_pattern() -> None:
    checker = InputChecker(validation_code="ValidationError", serialization_code="ValidationError")
    shape = IAM.operations["TagRole"].input
    good = {"RoleName": "r", "Tags": [{"Key": "Straße", "Value": "a b:c/d=e+f-g@h_1.2"}]}
    assert checker.check(shape, good)["Tags"][0]["Key"] == "Straße"
    with pytest.raises(ValidationFailure) as info:
        checker.check(shape, {"RoleName": "r", "Tags": [{"Key": "k", "Value": "tab\there"}]})
    assert "at 'tags.1.member.value'" in info.value.message


# A small model with every type, to cover what the three served models barely use.
_SYNTHETIC = {
    "metadata": {"apiVersion": "2020-01-01", "protocol": "json", "jsonVersion": "1.0"},
    "operations": {
        "Op": {"name": "Op", "http": {}, "input": {"shape": "In"}, "output": {"shape": "In"}}
    },
    "shapes": {
        "In": {
            "type": "structure",
            "members": {
                "When": {"shape": "Time"},
                "Data": {"shape": "Bytes"},
                "Big": {"shape": "Long"},
                "Ratio": {"shape": "Ratio"},
                "Flag": {"shape": "Flag"},
                "Labels": {"shape": "Labels"},
                "Nested": {"shape": "In"},
            },
        },
        "Time": {"type": "timestamp"},
        "Bytes": {"type": "blob", "max": 3},
        "Long": {"type": "long", "min": 1},
        "Ratio": {"type": "float", "max": 1.5},
        "Flag": {"type": "boolean"},
        "Labels": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Key"}, "max": 2},
        "Key": {"type": "string", "min": 2},
    },
}


def test_every_type_converts_and_recursion_works() -> None:
    model = compile_service_model("synthetic", _SYNTHETIC)
    shape = model.operations["Op"].input
    checked = JSON_CHECKER.check(
        shape,
        {
            "When": 1700000000.5,
            "Data": "AQI=",
            "Big": 2**40,
            "Ratio": 1,
            "Flag": False,
            "Labels": {"ab": "cd"},
            "Nested": {"Flag": True, "Nested": {"Big": 5}},
        },
    )
    assert checked["When"] == dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.UTC)
    assert checked["Data"] == b"\x01\x02"
    assert checked["Nested"]["Nested"] == {"Big": 5}


def test_map_blob_and_float_constraints() -> None:
    model = compile_service_model("synthetic", _SYNTHETIC)
    shape = model.operations["Op"].input
    with pytest.raises(ValidationFailure) as info:
        JSON_CHECKER.check(
            shape, {"Labels": {"a": "b", "cc": "dd", "ee": "ff"}, "Data": "AQIDBA==", "Ratio": 2}
        )
    message = info.value.message
    assert message.startswith("5 validation errors detected: ")
    assert "at 'labels.a.key' failed to satisfy constraint" in message
    assert "at 'labels.a.member' failed" in message
    assert "Value '{a=b, cc=dd, ee=ff}' at 'labels'" in message
    # Blob contents are never shown.
    assert "Value at 'data' failed to satisfy constraint" in message
    assert "Value '2' at 'ratio'" in message
    with pytest.raises(ProtocolError, match="not valid base64"):
        JSON_CHECKER.check(shape, {"Data": "***"})


def test_validation_over_the_wire_is_what_boto3_reads() -> None:
    async def never(_input: dict[str, Any], _context: Any) -> dict[str, Any]:
        raise AssertionError("the handler must not run for invalid input")

    app = create_app({"states:ListStateMachines": never})
    reply = json_call(app, "AWSStepFunctions.ListStateMachines", orjson.dumps({"maxResults": 1e9}))
    assert reply.status == 400
    assert orjson.loads(reply.body)["__type"] == "com.amazon.coral.service#SerializationException"
    reply = json_call(app, "AWSStepFunctions.ListStateMachines", b'{"maxResults": 5000}')
    assert orjson.loads(reply.body)["__type"] == "com.amazon.coral.validate#ValidationException"
    parsed = parse("states", "ListStateMachines", reply)
    assert parsed["Error"]["Code"] == "ValidationException"
    assert parsed["Error"]["Message"].startswith("1 validation error detected: Value '5000'")
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 400
