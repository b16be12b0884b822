"""TestState on HTTP Tasks against a real server on 127.0.0.1: TRACE, masking, errors.

The fake licensing API checks an API-key connection's ``Authorization`` header; the key must
never appear anywhere in a response unless ``revealSecrets`` is set.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from stepline.connections import Connections
from stepline.egress import EgressSettings
from stepline.tasks import HttpTask
from stepline.teststate import TestStateError, test_state, test_state_async
from support.fake_apis import FakeApis

ROLE = "arn:aws:iam::123456789012:role/tester"
QUERY_SECRET = "qs-hidden-4417"
BODY_SECRET = "bs-hidden-9923"


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


@pytest.fixture(scope="module")
def setup(apis: FakeApis) -> tuple[HttpTask, str]:
    connections = Connections()
    arn = connections.create_api_key(
        "Keygen",
        "Authorization",
        f"Bearer {apis.secrets.license_key}",
        invocation_parameters={
            "QueryStringParameters": [
                {"Key": "token", "Value": QUERY_SECRET, "IsValueSecret": True},
                {"Key": "tier", "Value": "gold", "IsValueSecret": False},
            ],
            "BodyParameters": [{"Key": "signature", "Value": BODY_SECRET, "IsValueSecret": True}],
        },
    )
    settings = EgressSettings.from_env({"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"})
    return HttpTask(connections, settings=settings), arn


def http_state(apis: FakeApis, arn: str, path: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint": apis.base_url + path,
            "Method": fields.pop("Method", "GET"),
            "Authentication": {"ConnectionArn": arn},
            **fields.pop("Parameters", {}),
        },
        "End": True,
        **fields,
    }


def request_for(state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "definition": json.dumps(state),
        "roleArn": ROLE,
        "inspectionLevel": "TRACE",
        "input": '{"user": "u1"}',
        **extra,
    }


def secrets_of(apis: FakeApis) -> list[str]:
    return [apis.secrets.license_key, QUERY_SECRET, BODY_SECRET]


def test_trace_masks_every_connection_secret(apis: FakeApis, setup: tuple[HttpTask, str]) -> None:
    http, arn = setup
    state = http_state(apis, arn, "/v1/accounts/acme/users/u1")
    response = test_state(request_for(state), http=http)
    assert response["status"] == "SUCCEEDED"
    text = json.dumps(response)
    for secret in secrets_of(apis):
        assert secret not in text
    request = response["inspectionData"]["request"]
    assert request["method"] == "GET"
    assert request["protocol"] == "http"
    assert request["url"].startswith(apis.base_url + "/v1/accounts/acme/users/u1?")
    # Everything the connection adds is masked, secret or not (AWS: "the data that an
    # EventBridge connection adds"); the definition's own data never is.
    assert "tier=gold" not in request["url"]
    assert request["headers"].startswith("[Authorization: ")
    assert "User-Agent: Amazon|StepFunctions|HttpInvoke|us-east-1" in request["headers"]
    reply = response["inspectionData"]["response"]
    assert (reply["statusCode"], reply["statusMessage"]) == ("200", "OK")
    assert json.loads(reply["body"])["data"]["id"] == "u1"
    assert reply["headers"].startswith("[") and "content-type: " in reply["headers"]
    output = json.loads(response["output"])
    assert output["StatusCode"] == 200
    assert json.loads(response["inspectionData"]["afterParameters"])["Authentication"] == {
        "ConnectionArn": arn
    }


def test_reveal_secrets_shows_what_the_connection_added(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    state = http_state(
        apis, arn, "/echo", Method="POST", Parameters={"RequestBody": {"hello": "world"}}
    )
    response = test_state(request_for(state, revealSecrets=True), http=http)
    request = response["inspectionData"]["request"]
    assert f"Authorization: Bearer {apis.secrets.license_key}" in request["headers"]
    assert f"token={QUERY_SECRET}" in request["url"]
    assert json.loads(request["body"]) == {"hello": "world", "signature": BODY_SECRET}


def test_masked_body_keeps_the_definitions_data(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    state = http_state(
        apis,
        arn,
        "/v1/accounts/acme/users/u2",
        Method="POST",
        Parameters={"RequestBody": {"hello": "world"}},
    )
    response = test_state(request_for(state), http=http)
    body = json.loads(response["inspectionData"]["request"]["body"])
    assert body["hello"] == "world"
    assert body["signature"] != BODY_SECRET


def test_http_error_is_retriable_with_the_exchange_traced(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    state = http_state(
        apis,
        arn,
        "/status/503",
        Retry=[{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 3}],
    )
    response = test_state(request_for(state), http=http)
    assert response["status"] == "RETRIABLE"
    assert response["error"] == "States.Http.StatusCode.503"
    data = response["inspectionData"]
    assert data["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 3}
    assert data["response"]["statusCode"] == "503"
    for secret in secrets_of(apis):
        assert secret not in json.dumps(response)


def test_http_error_caught(apis: FakeApis, setup: tuple[HttpTask, str]) -> None:
    http, arn = setup
    state = http_state(
        apis,
        arn,
        "/v1/accounts/acme/users/missing",
        Catch=[
            {
                "ErrorEquals": ["States.Http.StatusCode.404"],
                "Next": "NotFound",
                "ResultPath": "$.error",
            }
        ],
    )
    response = test_state(request_for(state), http=http)
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "NotFound"
    output = json.loads(response["output"])
    assert output["user"] == "u1"
    assert output["error"]["Error"] == "States.Http.StatusCode.404"


def test_debug_level_has_no_exchange(apis: FakeApis, setup: tuple[HttpTask, str]) -> None:
    http, arn = setup
    state = http_state(apis, arn, "/v1/accounts/acme/users/u1")
    response = test_state(request_for(state, inspectionLevel="DEBUG"), http=http)
    assert response["status"] == "SUCCEEDED"
    assert "request" not in response["inspectionData"]
    assert "response" not in response["inspectionData"]


def test_jsonata_http_task_in_an_event_loop(apis: FakeApis, setup: tuple[HttpTask, str]) -> None:
    http, arn = setup
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::http:invoke",
        "Arguments": {
            "ApiEndpoint": "{% $base & '/v1/accounts/acme/users/' & $states.input.user %}",
            "Method": "GET",
            "Authentication": {"ConnectionArn": arn},
        },
        "Output": "{% $states.result.ResponseBody.data.attributes.email %}",
        "End": True,
    }
    request = request_for(state, variables=json.dumps({"base": apis.base_url}))

    async def scenario() -> dict[str, Any]:
        with pytest.raises(RuntimeError, match="test_state_async"):
            test_state(request, http=http)
        return await test_state_async(request, http=http)

    response = asyncio.run(scenario())
    assert response["output"] == '"u1@example.test"'
    arguments = json.loads(response["inspectionData"]["afterArguments"])
    assert arguments["ApiEndpoint"] == apis.base_url + "/v1/accounts/acme/users/u1"
    assert apis.secrets.license_key not in json.dumps(response)


def test_reveal_secrets_with_a_mock_is_refused(apis: FakeApis, setup: tuple[HttpTask, str]) -> None:
    http, arn = setup
    state = http_state(apis, arn, "/v1/accounts/acme/users/u1")
    with pytest.raises(TestStateError) as caught:
        test_state(request_for(state, revealSecrets=True, mock={"result": "{}"}), http=http)
    assert caught.value.code == "ValidationException"


def test_unknown_connection_fails_the_state() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint": "https://api.example.com/x",
            "Method": "GET",
            "Authentication": {
                "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/none/1"
            },
        },
        "End": True,
    }
    response = test_state(request_for(state))
    assert response["status"] == "FAILED"
    assert response["error"].startswith("Events.ConnectionResource.")
    assert "request" not in response["inspectionData"]
