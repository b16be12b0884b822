"""Express executions through boto3 (StartSyncExecution and asynchronous StartExecution), and
the history-length quota of Standard executions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from _service_kit import ServiceServer, unique
from botocore.exceptions import ClientError
from test_service_executions import create_machine, history, pass_chain, wait_until_done

# The service fixture runs these on PostgreSQL too when STEPLINE_TEST_POSTGRES_URL is set.
RUN_ON_POSTGRES = True
# A loop that never waits and never ends (its way out is never taken).
ENDLESS_STATES: dict[str, Any] = {
    "A": {"Type": "Pass", "Next": "B"},
    "B": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.never", "IsPresent": True, "Next": "Done"}],
        "Default": "A",
    },
    "Done": {"Type": "Succeed"},
}


def test_sync_execution_succeeds_with_aws_fields(service: ServiceServer) -> None:
    machine = create_machine(service, pass_chain(10), kind="EXPRESS")
    answer = service.sfn.start_sync_execution(
        stateMachineArn=machine, name="sync-1", input='{"a": 1}', traceHeader="Root=1-abc"
    )
    assert answer["status"] == "SUCCEEDED"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    prefix = machine.replace(":stateMachine:", ":express:") + ":sync-1:"
    assert answer["executionArn"].startswith(prefix)
    assert answer["stateMachineArn"] == machine
    assert answer["name"] == "sync-1"
    assert answer["input"] == '{"a": 1}'
    assert answer["inputDetails"] == {"included": True}
    output = json.loads(answer["output"])
    assert output["a"] == 1 and output["s9"] == 9
    assert answer["outputDetails"] == {"included": True}
    assert answer["traceHeader"] == "Root=1-abc"
    billing = answer["billingDetails"]
    assert billing["billedMemoryUsedInMB"] == 64
    assert billing["billedDurationInMilliseconds"] >= 100
    assert billing["billedDurationInMilliseconds"] % 100 == 0
    assert answer["stopDate"] >= answer["startDate"]


def test_sync_execution_failure_is_http_200(service: ServiceServer) -> None:
    machine = create_machine(
        service,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "broken"}}},
        kind="EXPRESS",
    )
    answer = service.sfn.start_sync_execution(stateMachineArn=machine, includedData="METADATA_ONLY")
    assert answer["status"] == "FAILED"
    assert (answer["error"], answer["cause"]) == ("Oops", "broken")
    assert "input" not in answer and "output" not in answer
    assert answer["inputDetails"] == {"included": False}


def test_sync_execution_refuses_standard_and_bad_requests(service: ServiceServer) -> None:
    standard = create_machine(service, pass_chain(1))
    express = create_machine(service, pass_chain(1), kind="EXPRESS")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"stateMachineArn": standard}, "StateMachineTypeNotSupported"),
        ({"stateMachineArn": express + "-nope"}, "StateMachineDoesNotExist"),
        ({"stateMachineArn": express, "input": "[1,"}, "InvalidExecutionInput"),
        ({"stateMachineArn": express, "name": "a/b"}, "InvalidName"),
    ]
    for request, code in cases:
        with pytest.raises(ClientError) as caught:
            service.sfn.start_sync_execution(**request)
        assert caught.value.response["Error"]["Code"] == code, request
    with pytest.raises(ClientError) as caught:
        service.sfn.list_executions(stateMachineArn=express)
    assert caught.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_async_express_runs_in_the_background(service: ServiceServer) -> None:
    resource = f"arn:aws:lambda:us-east-1:123456789012:function:{unique('seen')}"
    seen: list[Any] = []

    async def record(parameters: Any) -> Any:
        seen.append(parameters)
        return "ok"

    async def register(context: Any) -> None:
        context.tasks.register(resource, record)

    service.call(register)
    machine = create_machine(
        service,
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}},
        kind="EXPRESS",
    )
    answer = service.sfn.start_execution(stateMachineArn=machine, input='{"n": 3}')
    assert ":express:" in answer["executionArn"]
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen == [{"n": 3}]
    with pytest.raises(ClientError) as caught:
        service.sfn.describe_execution(executionArn=answer["executionArn"])
    assert caught.value.response["Error"]["Code"] == "InvalidArn"


def test_express_time_limit(serve_service: Callable[..., ServiceServer]) -> None:
    server = serve_service("memory", express_max_seconds=0.5)
    machine = create_machine(
        server,
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}},
        kind="EXPRESS",
    )
    answer = server.sfn.start_sync_execution(stateMachineArn=machine)
    assert answer["status"] == "TIMED_OUT"
    assert answer["error"] == "States.Timeout"
    looping = create_machine(
        server,
        {
            "StartAt": "A",
            "States": ENDLESS_STATES,
        },
        kind="EXPRESS",
    )
    assert server.sfn.start_sync_execution(stateMachineArn=looping)["status"] == "TIMED_OUT"


def test_history_quota(serve_service: Callable[..., ServiceServer]) -> None:
    server = serve_service("memory", max_history_events=10)
    # 4 Pass states: 2 + 2 * 4 = 10 events; the 10th is ExecutionSucceeded, which AWS allows.
    fits = create_machine(server, pass_chain(4))
    arn = server.sfn.start_execution(stateMachineArn=fits)["executionArn"]
    assert wait_until_done(server, arn)["status"] == "SUCCEEDED"
    assert len(history(server, arn)) == 10
    too_long = create_machine(server, pass_chain(5))
    arn = server.sfn.start_execution(stateMachineArn=too_long)["executionArn"]
    described = wait_until_done(server, arn)
    assert described["status"] == "FAILED"
    assert "maximum execution history size of 10" in described["cause"]
    events = history(server, arn)
    assert [e["id"] for e in events] == list(range(1, 11))
    assert events[-1]["type"] == "ExecutionFailed"
    endless = create_machine(
        server,
        {
            "StartAt": "A",
            "States": ENDLESS_STATES,
        },
    )
    arn = server.sfn.start_execution(stateMachineArn=endless)["executionArn"]
    assert wait_until_done(server, arn)["status"] == "FAILED"
    assert len(history(server, arn)) == 10
