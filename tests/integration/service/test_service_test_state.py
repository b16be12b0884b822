"""The service's ``TestState`` operation through boto3 (and its ``sync-`` host).

A Pass state and a state inside a full definition; refusals with TestState's AWS codes; an HTTP
Task calling a real API on 127.0.0.1 through a connection created with the service's ``events``
API, its secrets masked in the raw response unless ``revealSecrets`` is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _service_kit import ROLE_ARN, ServiceServer, config_for, serve
from botocore.exceptions import ClientError

from support.fake_apis import FakeApis


def pass_definition(**fields: Any) -> str:
    return json.dumps({"Type": "Pass", "Next": "After", **fields})


def test_pass_state_at_debug(service: ServiceServer) -> None:
    response = service.sfn.test_state(
        definition=pass_definition(Result={"ok": True}, ResultPath="$.r"),
        input='{"id": 7}',
        inspectionLevel="DEBUG",
    )
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "After"
    assert json.loads(response["output"]) == {"id": 7, "r": {"ok": True}}
    assert json.loads(response["inspectionData"]["afterResultPath"]) == {"id": 7, "r": {"ok": True}}


def test_state_name_inside_a_definition_through_the_sync_host(service: ServiceServer) -> None:
    # boto3 sends TestState to sync-<host>; reach it through the server as an HTTP proxy.
    sfn = service.client("stepfunctions", host="localhost", proxies={"http": service.base_url})
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"},
        },
    }
    try:
        response = sfn.test_state(definition=json.dumps(definition), stateName="B")
    finally:
        sfn.close()
    assert (response["status"], response["error"], response["cause"]) == (
        "FAILED",
        "Boom",
        "on purpose",
    )


def test_refusals_carry_test_state_codes(service: ServiceServer) -> None:
    with pytest.raises(ClientError) as caught:
        service.sfn.test_state(definition='{"Type": "Pass", "Next": 3}')
    assert caught.value.response["Error"]["Code"] == "InvalidDefinition"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        service.sfn.test_state(definition=pass_definition(), input="{not json")
    assert caught.value.response["Error"]["Code"] == "InvalidExecutionInput"
    with pytest.raises(ClientError) as caught:
        service.sfn.test_state(
            definition=json.dumps(
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {
                        "ApiEndpoint": "https://example.com",
                        "Method": "GET",
                        "Authentication": {
                            "ConnectionArn": "arn:aws:events:us-east-1:123456789012:"
                            "connection/c/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
                        },
                    },
                    "End": True,
                }
            )
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


@pytest.fixture(scope="module")
def http_service(
    apis: FakeApis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceServer]:
    directory = tmp_path_factory.mktemp("teststate-http")
    with serve(
        config_for("memory", directory),
        data_dir=directory,
        environ={"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"},
        kind="memory",
    ) as server:
        yield server


def test_http_task_uses_the_services_connections(
    apis: FakeApis, http_service: ServiceServer
) -> None:
    secret_header = f"Bearer {apis.secrets.license_key}"
    arn = http_service.events.create_connection(
        Name="Keygen",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": secret_header}
        },
    )["ConnectionArn"]
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint": apis.base_url + "/v1/accounts/acme/users/u1",
            "Method": "GET",
            "Authentication": {"ConnectionArn": arn},
        },
        "End": True,
    }
    sfn = http_service.client("stepfunctions")
    raw: list[bytes] = []
    sfn.meta.events.register(
        "after-call", lambda http_response, **_: raw.append(http_response.content)
    )
    request = {"definition": json.dumps(state), "roleArn": ROLE_ARN, "inspectionLevel": "TRACE"}
    try:
        masked = sfn.test_state(**request)
        assert masked["status"] == "SUCCEEDED"
        assert json.loads(masked["output"])["StatusCode"] == 200
        assert apis.secrets.license_key not in raw[-1].decode()
        assert masked["inspectionData"]["request"]["headers"].startswith("[Authorization: ")

        # Allowed without a caller permission check (stepline has no caller identities).
        revealed = sfn.test_state(**request, revealSecrets=True)
        assert f"Authorization: {secret_header}" in revealed["inspectionData"]["request"]["headers"]
    finally:
        sfn.close()
