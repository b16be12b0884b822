"""TestState with the HTTP Task registered for ``http:invoke`` in the task registry: TRACE works.

The service hands TestState its task registry, with the HTTP Task registered among the other
resources; the exchange must still be recorded for ``TRACE``. A plain callable registered for
``http:invoke`` (a stand-in for the real API) runs as registered, with no exchange to show.
Real server on 127.0.0.1 (the fake licensing API), real HttpTask and connections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stepline.connections import Connections
from stepline.egress import EgressSettings
from stepline.engine import TaskEffect
from stepline.engine._ports import HeartbeatSink
from stepline.tasks import HTTP_INVOKE, HttpTask, TaskRegistry
from stepline.teststate import test_state
from support.fake_apis import FakeApis

ROLE = "arn:aws:iam::123456789012:role/tester"


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


@pytest.fixture(scope="module")
def setup(apis: FakeApis) -> tuple[HttpTask, str]:
    connections = Connections()
    arn = connections.create_api_key(
        "KeygenRegistered", "Authorization", f"Bearer {apis.secrets.license_key}"
    )
    settings = EgressSettings.from_env({"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"})
    return HttpTask(connections, settings=settings), arn


def trace_request(apis: FakeApis, arn: str) -> dict[str, Any]:
    state = {
        "Type": "Task",
        "Resource": HTTP_INVOKE,
        "Parameters": {
            "ApiEndpoint": apis.base_url + "/v1/accounts/acme/users/u1",
            "Method": "GET",
            "InvocationConfig": {"ConnectionArn": arn},
        },
        "End": True,
    }
    return {"definition": json.dumps(state), "roleArn": ROLE, "inspectionLevel": "TRACE"}


class CountingHttp:
    """Not an HttpTask: delegates to one, and has the async ``call(..., exchange=...)``."""

    def __init__(self, inner: HttpTask) -> None:
        self.inner = inner
        self.calls = 0
        self.invokes = 0

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        self.invokes += 1
        return await self.inner.invoke(effect, heartbeat)

    async def call(self, parameters: Any, **options: Any) -> Any:
        self.calls += 1
        return await self.inner.call(parameters, **options)


def assert_traced(response: dict[str, Any], apis: FakeApis) -> None:
    assert response["status"] == "SUCCEEDED", response
    inspection = response["inspectionData"]
    assert inspection["request"]["url"] == apis.base_url + "/v1/accounts/acme/users/u1"
    assert inspection["request"]["headers"].startswith("[Authorization: ")
    assert apis.secrets.license_key not in json.dumps(response)
    assert inspection["response"]["statusCode"] == "200"


def test_http_task_in_a_task_registry_is_traced(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    registry = TaskRegistry()
    registry.register(HTTP_INVOKE, http)
    assert_traced(test_state(trace_request(apis, arn), tasks=registry), apis)


def test_http_task_in_a_tasks_mapping_is_traced(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    assert_traced(test_state(trace_request(apis, arn), tasks={HTTP_INVOKE: http}), apis)


def test_registered_handler_wins_over_the_http_argument(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    counting = CountingHttp(http)
    response = test_state(trace_request(apis, arn), tasks={HTTP_INVOKE: counting}, http=http)
    assert_traced(response, apis)
    assert (counting.calls, counting.invokes) == (1, 0)


def test_plain_callable_for_http_invoke_runs_as_registered(
    apis: FakeApis, setup: tuple[HttpTask, str]
) -> None:
    http, arn = setup
    seen: list[Any] = []

    def stand_in(parameters: Any) -> dict[str, Any]:
        seen.append(parameters)
        return {"StatusCode": 200, "ResponseBody": {"stub": True}}

    response = test_state(trace_request(apis, arn), tasks={HTTP_INVOKE: stand_in}, http=http)
    assert response["status"] == "SUCCEEDED", response
    assert json.loads(response["output"]) == {"StatusCode": 200, "ResponseBody": {"stub": True}}
    assert len(seen) == 1
    assert "request" not in response["inspectionData"]
    assert "response" not in response["inspectionData"]
