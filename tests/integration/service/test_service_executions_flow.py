"""Standard executions of every kind of state through boto3: Wait, Retry, Map, Parallel, the
HTTP Task against a real loopback API, StopExecution while waiting, and a restart mid-wait.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _service_kit import ServiceServer, unique
from test_service_executions import (
    create_machine,
    entered_states,
    history,
    pass_chain,
    wait_until_done,
)

from stepline.asl import StatesError
from stepline.service._exec_hub import hub_of
from support.fake_apis import FakeApis

# The service fixture runs these on PostgreSQL too when STEPLINE_TEST_POSTGRES_URL is set.
RUN_ON_POSTGRES = True
_BOUND_SECONDS = 20.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _BOUND_SECONDS
    for _ in range(10_000):
        if condition():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_wait_releases_the_execution_while_waiting(service: ServiceServer) -> None:
    machine = create_machine(
        service,
        {
            "StartAt": "Before",
            "States": {
                "Before": {"Type": "Pass", "Next": "Nap"},
                "Nap": {"Type": "Wait", "Seconds": 1, "Next": "After"},
                "After": {"Type": "Pass", "End": True},
            },
        },
    )
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"k": 1}')["executionArn"]
    wait_for(
        lambda: any(e["type"] == "WaitStateEntered" for e in history(service, arn)),
        "the Wait state",
    )
    described = service.sfn.describe_execution(executionArn=arn)
    if described["status"] == "RUNNING":
        # Waiting: nothing in this process drives it (no run, so no lease held).
        assert service.call(_runs_of(arn)) is False
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"k": 1}
    events = history(service, arn)
    assert entered_states(events) == ["Before", "Nap", "After"]
    entered = next(e for e in events if e["type"] == "WaitStateEntered")
    exited = next(e for e in events if e["type"] == "WaitStateExited")
    assert (exited["timestamp"] - entered["timestamp"]).total_seconds() >= 0.9


def _runs_of(arn: str) -> Callable[[Any], Any]:
    async def check(context: Any) -> bool:
        return arn in hub_of(context).runs

    return check


def test_task_retry_backoff_then_success(service: ServiceServer) -> None:
    resource = f"arn:aws:states:::stepline:{unique('flaky')}"
    attempts: list[int] = []

    async def flaky(parameters: Any) -> Any:
        attempts.append(1)
        if len(attempts) <= 2:
            raise StatesError("Custom.Flaky", f"attempt {len(attempts)} failed")
        return {"attempts": len(attempts), "got": parameters}

    async def register(context: Any) -> None:
        context.tasks.register(resource, flaky)

    service.call(register)
    machine = create_machine(
        service,
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": resource,
                    "Retry": [
                        {
                            "ErrorEquals": ["Custom.Flaky"],
                            "IntervalSeconds": 1,
                            "BackoffRate": 1,
                            "MaxAttempts": 3,
                        }
                    ],
                    "End": True,
                }
            },
        },
    )
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"n": 5}')["executionArn"]
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"attempts": 3, "got": {"n": 5}}
    events = history(service, arn)
    types = [event["type"] for event in events]
    assert entered_states(events) == ["Call"]
    assert types.count("TaskScheduled") == 3
    assert types.count("TaskFailed") == 2
    assert types.count("TaskSucceeded") == 1


def test_map_and_parallel(service: ServiceServer) -> None:
    machine = create_machine(
        service,
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Each",
                            "States": {
                                "Each": {
                                    "Type": "Map",
                                    "ItemsPath": "$.items",
                                    "ItemProcessor": {
                                        "StartAt": "Double",
                                        "States": {
                                            "Double": {
                                                "Type": "Pass",
                                                "Parameters": {"v.$": "States.MathAdd($, $)"},
                                                "End": True,
                                            }
                                        },
                                    },
                                    "End": True,
                                }
                            },
                        },
                        {
                            "StartAt": "Pause",
                            "States": {
                                "Pause": {"Type": "Wait", "Seconds": 0, "Next": "Tag"},
                                "Tag": {"Type": "Pass", "Result": "b", "End": True},
                            },
                        },
                    ],
                    "End": True,
                }
            },
        },
    )
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"items": [1, 2, 3]}')[
        "executionArn"
    ]
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [[{"v": 2}, {"v": 4}, {"v": 6}], "b"]
    events = history(service, arn)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert entered_states(events).count("Double") == 3


def test_stop_a_waiting_execution(service: ServiceServer) -> None:
    machine = create_machine(
        service,
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}},
    )
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_for(
        lambda: any(e["type"] == "WaitStateEntered" for e in history(service, arn)),
        "the Wait state",
    )
    stopped = service.sfn.stop_execution(executionArn=arn, cause="enough")
    described = service.sfn.describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED"
    assert described["cause"] == "enough"
    assert "error" not in described
    assert described["stopDate"] == stopped["stopDate"]
    events = history(service, arn)
    assert [e["type"] for e in events][-1] == "ExecutionAborted"
    aborted = service.sfn.list_executions(stateMachineArn=machine, statusFilter="ABORTED")
    assert [item["executionArn"] for item in aborted["executions"]] == [arn]
    assert (
        service.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
        == []
    )


def test_stop_a_running_task_cancels_it(service: ServiceServer) -> None:
    resource = f"arn:aws:states:::stepline:{unique('slow')}"
    cancelled: list[bool] = []

    async def slow(_: Any) -> Any:
        import asyncio

        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return {}

    async def register(context: Any) -> None:
        context.tasks.register(resource, slow)

    service.call(register)
    machine = create_machine(
        service,
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}},
    )
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_for(
        lambda: any(e["type"] == "TaskStarted" for e in history(service, arn)),
        "the task to start",
    )
    service.sfn.stop_execution(executionArn=arn)
    wait_for(lambda: bool(cancelled), "the task to be cancelled")
    assert service.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert history(service, arn)[-1]["type"] == "ExecutionAborted"


# ---------------------------------------------------------------------------- HTTP Task


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


def test_http_task_with_retry_on_a_flaky_api(
    serve_service: Callable[..., ServiceServer], apis: FakeApis
) -> None:
    server = serve_service("sqlite", environ={"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"})
    connection = server.events.create_connection(
        Name=unique("keygen"),
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {
                "ApiKeyName": "Authorization",
                "ApiKeyValue": f"Bearer {apis.secrets.license_key}",
            }
        },
    )["ConnectionArn"]
    key = unique("flaky")
    machine = create_machine(
        server,
        {
            "StartAt": "User",
            "States": {
                "User": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {
                        "ApiEndpoint": apis.base_url + "/v1/accounts/acme/users/u7",
                        "Method": "GET",
                        "Authentication": {"ConnectionArn": connection},
                    },
                    "ResultSelector": {"id.$": "$.ResponseBody.data.id"},
                    "ResultPath": "$.user",
                    "Next": "Flaky",
                },
                "Flaky": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {
                        "ApiEndpoint": apis.base_url + f"/flaky/{key}",
                        "Method": "GET",
                        "Authentication": {"ConnectionArn": connection},
                    },
                    "Retry": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "IntervalSeconds": 1,
                            "BackoffRate": 1,
                            "MaxAttempts": 3,
                        }
                    ],
                    "ResultSelector": {"attempt.$": "$.ResponseBody.attempt"},
                    "ResultPath": "$.flaky",
                    "End": True,
                },
            },
        },
    )
    arn = server.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    described = wait_until_done(server, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"user": {"id": "u7"}, "flaky": {"attempt": 3}}
    text = json.dumps(history(server, arn), default=str)
    assert apis.secrets.license_key not in text
    assert entered_states(history(server, arn)) == ["User", "Flaky"]


# ------------------------------------------------------------------------- durability


def test_restart_mid_wait_resumes_every_execution(
    serve_service: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": 1, "ResultPath": "$.first", "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Last"},
            "Last": {"Type": "Pass", "Result": 2, "ResultPath": "$.last", "End": True},
        },
    }
    first = serve_service("sqlite", directory=tmp_path)
    machine = create_machine(first, definition)
    arns = [
        first.sfn.start_execution(stateMachineArn=machine, input=json.dumps({"i": i}))[
            "executionArn"
        ]
        for i in range(20)
    ]
    wait_for(
        lambda: all(
            any(e["type"] == "WaitStateEntered" for e in history(first, arn)) for arn in arns
        ),
        "every execution to wait",
    )
    first.stop()
    second = serve_service("sqlite", directory=tmp_path)
    for index, arn in enumerate(arns):
        described = wait_until_done(second, arn)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {"i": index, "first": 1, "last": 2}
        events = history(second, arn)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        assert entered_states(events) == ["First", "Nap", "Last"]
        assert [e["type"] for e in events].count("ExecutionStarted") == 1


def test_long_pass_chain(service: ServiceServer) -> None:
    machine = create_machine(service, pass_chain(40))
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED"
    assert len(history(service, arn)) == 2 + 2 * 40
