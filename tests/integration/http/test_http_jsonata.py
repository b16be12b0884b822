"""HTTP Tasks written in JSONata: ``Arguments`` computed from ``$states``, ``Output`` from the
result, and errors that name ``Arguments`` (not ``Parameters``) in their cause."""

from __future__ import annotations

import json
from typing import Any

from _live_http_kit import HTTP_INVOKE, details, events, http_task

from stepline import StateMachine, VirtualClock
from stepline.connections import Connections
from support.fake_apis import FakeApis


def _definition(connection_arn: str, **state: Any) -> dict[str, Any]:
    call: dict[str, Any] = {
        "Type": "Task",
        "Resource": HTTP_INVOKE,
        "Arguments": {
            "ApiEndpoint": "{% $states.input.baseUrl & '/' & $states.input.path %}",
            "Method": "{% $states.input.method %}",
            "InvocationConfig": {"ConnectionArn": connection_arn},
            "Headers": {"X-Execution-Name": "{% $states.context.Execution.Name %}"},
            "QueryParameters": {"page": "{% $string($states.input.page) %}"},
            "RequestBody": "{% $states.input.order %}",
        },
        "Output": "{% $states.result.ResponseBody %}",
        "End": True,
        **state,
    }
    return {"QueryLanguage": "JSONata", "StartAt": "Call", "States": {"Call": call}}


def _machine(apis: FakeApis, **state: Any) -> StateMachine:
    connections = Connections()
    arn = connections.create_api_key("Orders", "X-Orders-Key", "orders-key-value")
    return StateMachine(
        _definition(arn, **state), http=http_task(connections), clock=VirtualClock()
    )


def test_arguments_and_output_in_jsonata(apis: FakeApis) -> None:
    machine = _machine(apis)
    order = {"sku": "A-1", "quantity": 3}

    result = machine.run(
        {"baseUrl": apis.base_url, "path": "echo", "method": "POST", "page": 2, "order": order},
        name="order-run-7",
    )

    assert result.status == "SUCCEEDED", result.cause
    echoed = result.output
    assert echoed["method"] == "POST"
    assert echoed["query"] == "page=2"
    assert echoed["headers"]["X-Execution-Name"] == "order-run-7"
    assert json.loads(echoed["body"]) == order
    (sent,) = apis.recorded("/echo")
    assert sent.headers["Content-Type"] == "application/json; charset=UTF-8"
    scheduled = json.loads(details(events(result, "TaskScheduled")[0])["parameters"])
    # The history records the evaluated Arguments.
    assert scheduled["ApiEndpoint"] == f"{apis.base_url}/echo"
    assert scheduled["Headers"] == {"X-Execution-Name": "order-run-7"}
    assert scheduled["RequestBody"] == order


def test_a_bad_computed_argument_names_arguments(apis: FakeApis) -> None:
    machine = _machine(apis)

    result = machine.run(
        {"baseUrl": apis.base_url, "path": "echo", "method": "FETCH", "page": 1, "order": {}}
    )

    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "Arguments.Method" in (result.cause or "")
    assert "Parameters" not in (result.cause or "")
    assert apis.requests == []


def test_jsonata_catch_on_an_exact_status(apis: FakeApis) -> None:
    catch = [
        {
            "ErrorEquals": ["States.Http.StatusCode.404"],
            "Output": "{% {'missing': $states.input.path, 'error': $states.errorOutput.Error} %}",
            "Next": "Missing",
        }
    ]
    connections = Connections()
    arn = connections.create_api_key("Orders", "X-Orders-Key", "orders-key-value")
    definition = _definition(arn, Catch=catch)
    definition["States"]["Missing"] = {"Type": "Succeed"}
    machine = StateMachine(definition, http=http_task(connections), clock=VirtualClock())

    result = machine.run(
        {"baseUrl": apis.base_url, "path": "status/404", "method": "GET", "page": 1, "order": {}}
    )

    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"missing": "status/404", "error": "States.Http.StatusCode.404"}
