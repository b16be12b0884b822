"""Every way a TestState request is refused, with AWS's error code and a useful message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.teststate import TestStateError, test_state

ROLE = "arn:aws:iam::123456789012:role/tester"
PASS = json.dumps({"Type": "Pass", "End": True})
TASK = json.dumps({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True})
HTTP = json.dumps(
    {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint": "https://example.com",
            "Method": "GET",
            "Authentication": {
                "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"
            },
        },
        "End": True,
    }
)
MAP = json.dumps(
    {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
)
PARALLEL = json.dumps(
    {
        "Type": "Parallel",
        "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
        "End": True,
    }
)
MACHINE = json.dumps(
    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}
)
RESULT_MOCK = {"result": "{}"}
ERROR_MOCK = {"errorOutput": {"error": "E", "cause": "C"}}


def refused(request: Any) -> TestStateError:
    with pytest.raises(TestStateError) as caught:
        test_state(request)
    error = caught.value
    assert error.message in str(error)
    assert error.to_aws() == {"__type": error.code, "message": error.message}
    return error


CASES: list[tuple[str, Any, str, str]] = [
    ("not a mapping", ["definition"], "ValidationException", "must be an object"),
    ("no definition", {"input": "{}"}, "ValidationException", "'definition' is required"),
    ("empty definition", {"definition": ""}, "ValidationException", "length greater"),
    (
        "definition not text",
        {"definition": {"Type": "Pass"}},
        "ValidationException",
        "must be a string",
    ),
    ("unknown field", {"definition": PASS, "inputs": "{}"}, "ValidationException", "'inputs'"),
    (
        "bad level",
        {"definition": PASS, "inspectionLevel": "ALL"},
        "ValidationException",
        "INFO, DEBUG, TRACE",
    ),
    (
        "reveal not bool",
        {"definition": PASS, "revealSecrets": "yes"},
        "ValidationException",
        "boolean",
    ),
    (
        "long state name",
        {"definition": MACHINE, "stateName": "x" * 81},
        "ValidationException",
        "less than or equal to 80",
    ),
    (
        "input too long",
        {"definition": PASS, "input": " " * 262_145},
        "ValidationException",
        "262144",
    ),
    (
        "result and error",
        {"definition": TASK, "mock": {**RESULT_MOCK, **ERROR_MOCK}},
        "ValidationException",
        "not both",
    ),
    ("empty mock", {"definition": TASK, "mock": {}}, "ValidationException", "needs a 'result'"),
    (
        "mock error without name",
        {"definition": TASK, "mock": {"errorOutput": {"cause": "c"}}},
        "ValidationException",
        "errorOutput.error is required",
    ),
    (
        "bad validation mode",
        {"definition": TASK, "mock": {**RESULT_MOCK, "fieldValidationMode": "LOOSE"}},
        "ValidationException",
        "STRICT, PRESENT, NONE",
    ),
    (
        "mock result not JSON",
        {"definition": TASK, "mock": {"result": "{nope"}},
        "ValidationException",
        "'mock.result' is not valid JSON",
    ),
    (
        "reveal with mock",
        {"definition": HTTP, "mock": RESULT_MOCK, "revealSecrets": True},
        "ValidationException",
        "'revealSecrets' cannot be used together with a 'mock'",
    ),
    (
        "mock on a Pass",
        {"definition": PASS, "mock": RESULT_MOCK},
        "ValidationException",
        "only be given for a Task, Map or Parallel",
    ),
    (
        "context without mock",
        {"definition": TASK, "roleArn": ROLE, "context": "{}"},
        "ValidationException",
        "'context' may only be given together with a 'mock'",
    ),
    (
        "trace on a Pass",
        {"definition": PASS, "inspectionLevel": "TRACE"},
        "ValidationException",
        "only available for HTTP Tasks",
    ),
    (
        "trace on a Lambda task",
        {"definition": TASK, "roleArn": ROLE, "inspectionLevel": "TRACE"},
        "ValidationException",
        "only available for HTTP Tasks",
    ),
    ("map without mock", {"definition": MAP}, "ValidationException", "a Map state"),
    ("parallel without mock", {"definition": PARALLEL}, "ValidationException", "a Parallel state"),
    (
        "activity without mock",
        {
            "definition": json.dumps(
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:us-east-1:123456789012:activity:a",
                    "End": True,
                }
            ),
            "roleArn": ROLE,
        },
        "ValidationException",
        "an Activity task",
    ),
    (
        "sync without mock",
        {
            "definition": json.dumps(
                {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": True}
            ),
            "roleArn": ROLE,
        },
        "ValidationException",
        ".sync",
    ),
    (
        "callback without mock",
        {
            "definition": json.dumps(
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}},
                    "End": True,
                }
            ),
            "roleArn": ROLE,
        },
        "ValidationException",
        ".waitForTaskToken",
    ),
    ("task without role", {"definition": TASK}, "ValidationException", "'roleArn' is required"),
    ("malformed role", {"definition": PASS, "roleArn": "role/x"}, "InvalidArn", "IAM role ARN"),
    (
        "unknown state name",
        {"definition": MACHINE, "stateName": "C"},
        "ValidationException",
        "top-level states are: A, B",
    ),
    (
        "input not JSON",
        {"definition": PASS, "input": "{'a': 1}"},
        "InvalidExecutionInput",
        "'input' is not valid JSON",
    ),
    ("input NaN", {"definition": PASS, "input": "NaN"}, "InvalidExecutionInput", "NaN"),
    (
        "variables not object",
        {"definition": PASS, "variables": "[1]"},
        "InvalidExecutionInput",
        "must be a JSON object",
    ),
    (
        "bad variable name",
        {"definition": PASS, "variables": '{"1x": 1}'},
        "InvalidExecutionInput",
        "cannot name a workflow variable",
    ),
    (
        "context not object",
        {"definition": TASK, "mock": RESULT_MOCK, "context": "3"},
        "InvalidExecutionInput",
        "'context' must be a JSON object",
    ),
    (
        "negative retry count",
        {"definition": TASK, "mock": ERROR_MOCK, "stateConfiguration": {"retrierRetryCount": -1}},
        "ValidationException",
        "greater than or equal to 0",
    ),
    (
        "retry count without retry",
        {"definition": TASK, "mock": ERROR_MOCK, "stateConfiguration": {"retrierRetryCount": 1}},
        "ValidationException",
        "has none",
    ),
    (
        "failure count on a Task",
        {
            "definition": TASK,
            "mock": ERROR_MOCK,
            "stateConfiguration": {"mapIterationFailureCount": 1},
        },
        "ValidationException",
        "applies only to a Map",
    ),
    (
        "caused-by on a Task",
        {"definition": TASK, "mock": ERROR_MOCK, "stateConfiguration": {"errorCausedByState": "P"}},
        "ValidationException",
        "Map or Parallel",
    ),
    (
        "caused-by names no inner state",
        {"definition": MAP, "mock": ERROR_MOCK, "stateConfiguration": {"errorCausedByState": "Q"}},
        "ValidationException",
        "names none of them",
    ),
    (
        "caused-by with a result mock",
        {"definition": MAP, "mock": RESULT_MOCK, "stateConfiguration": {"errorCausedByState": "P"}},
        "ValidationException",
        "mocked errorOutput",
    ),
    (
        "reader data without reader",
        {"definition": MAP, "mock": RESULT_MOCK, "stateConfiguration": {"mapItemReaderData": "[]"}},
        "ValidationException",
        "ItemReader",
    ),
    (
        "unknown configuration",
        {"definition": PASS, "stateConfiguration": {"retries": 1}},
        "ValidationException",
        "'retries'",
    ),
]


@pytest.mark.parametrize(("name", "request_", "code", "words"), CASES, ids=[c[0] for c in CASES])
def test_refused(name: str, request_: Any, code: str, words: str) -> None:
    error = refused(request_)
    assert error.code == code
    assert words in error.message


def test_invalid_single_state_reports_diagnostics_relative_to_the_state() -> None:
    error = refused(
        {
            "definition": json.dumps(
                {
                    "Type": "Task",
                    "Resource": "x",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}],
                    "End": True,
                }
            ),
            "roleArn": ROLE,
        }
    )
    assert error.code == "InvalidDefinition"
    assert error.diagnostics
    assert any(d.location == "/Retry/0/BackoffRate" for d in error.diagnostics)


def test_invalid_json_definition() -> None:
    error = refused({"definition": "{not json"})
    assert error.code == "InvalidDefinition"
    assert error.diagnostics[0].code == "INVALID_JSON_DESCRIPTION"


def test_single_state_with_duplicate_keys_is_invalid() -> None:
    error = refused({"definition": '{"Type": "Pass", "End": true, "End": false}'})
    assert error.code == "InvalidDefinition"


def test_definition_not_an_object() -> None:
    assert refused({"definition": "[1]"}).code == "InvalidDefinition"


def test_whole_machine_without_state_name() -> None:
    error = refused({"definition": MACHINE})
    assert error.code == "InvalidDefinition"
    assert "stateName" in error.message


def test_invalid_whole_machine_keeps_its_locations() -> None:
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    error = refused({"definition": json.dumps(machine), "stateName": "A"})
    assert error.code == "InvalidDefinition"
    assert any(d.location.startswith("/States/A") for d in error.diagnostics)


def test_state_missing_next_and_end_is_invalid() -> None:
    assert refused({"definition": '{"Type": "Pass"}'}).code == "InvalidDefinition"


def test_input_over_the_payload_quota() -> None:
    # Within the request's 262,144 characters, but over the 256 KiB the engine allows once
    # encoded as UTF-8 (two bytes a character).
    error = refused(
        {"definition": PASS, "input": json.dumps("\u00e9" * 140_000, ensure_ascii=False)}
    )
    assert error.code == "InvalidExecutionInput"
    assert "payload limit" in error.message


def test_messages_never_quote_sensitive_values() -> None:
    secret = "sk_live_do_not_show"
    for request in (
        {"definition": PASS, "input": "{" + secret},
        {"definition": PASS, "variables": f'["{secret}"]'},
        {"definition": TASK, "mock": {"result": secret}},
        {"definition": PASS, "roleArn": secret},
        {"definition": "{" + secret},
    ):
        error = refused(request)
        assert secret not in str(error)
        assert all(secret not in d.message for d in error.diagnostics)
