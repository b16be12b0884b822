"""Standard executions through real boto3 against the real service (memory and SQLite stores).

Each test creates its own state machine (unique names on a shared server), starts executions
and waits for them to end by polling DescribeExecution (bounded by count and time).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from _service_kit import ROLE_ARN, ServiceServer, unique
from botocore.exceptions import ClientError

# The service fixture runs these on PostgreSQL too when STEPLINE_TEST_POSTGRES_URL is set.
RUN_ON_POSTGRES = True
_WAIT_LIMIT_SECONDS = 20.0


def create_machine(
    server: ServiceServer, definition: dict[str, Any], *, kind: str = "STANDARD", **extra: Any
) -> str:
    answer = server.sfn.create_state_machine(
        name=unique("sm"),
        definition=json.dumps(definition),
        roleArn=ROLE_ARN,
        type=kind,
        **extra,
    )
    return str(answer["stateMachineArn"])


def wait_until_done(server: ServiceServer, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + _WAIT_LIMIT_SECONDS
    for _ in range(10_000):
        described = server.sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return dict(described)
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"{execution_arn} still RUNNING after {_WAIT_LIMIT_SECONDS} s")


def history(server: ServiceServer, execution_arn: str, **options: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(1000):
        kwargs = dict(options)
        if token:
            kwargs["nextToken"] = token
        page = server.sfn.get_execution_history(executionArn=execution_arn, **kwargs)
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events
    raise AssertionError("history paging did not end")


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
    ]


def pass_chain(length: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index in range(length):
        state: dict[str, Any] = {"Type": "Pass", "Result": index, "ResultPath": f"$.s{index}"}
        if index == length - 1:
            state["End"] = True
        else:
            state["Next"] = f"S{index + 1}"
        states[f"S{index}"] = state
    return {"StartAt": "S0", "States": states}


def test_round_trip_create_start_describe_history(service: ServiceServer) -> None:
    machine = create_machine(service, pass_chain(3))
    started = service.sfn.start_execution(
        stateMachineArn=machine, name="round-trip", input='{"hello": "world"}'
    )
    arn = started["executionArn"]
    assert arn.endswith(":execution:" + machine.rsplit(":", 1)[-1] + ":round-trip")
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"hello": "world", "s0": 0, "s1": 1, "s2": 2}
    assert described["input"] == '{"hello": "world"}'
    assert described["inputDetails"] == {"included": True}
    assert described["outputDetails"] == {"included": True}
    assert described["startDate"] == started["startDate"]
    assert described["stopDate"] >= described["startDate"]
    assert described["redriveCount"] == 0
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    events = history(service, arn)
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "ExecutionStarted"
    assert events[0]["executionStartedEventDetails"] == {
        "input": '{"hello": "world"}',
        "inputDetails": {"truncated": False},
        "roleArn": ROLE_ARN,
    }
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert entered_states(events) == ["S0", "S1", "S2"]
    assert events[1]["previousEventId"] == 1
    listed = service.sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [item["executionArn"] for item in listed] == [arn]
    assert listed[0]["status"] == "SUCCEEDED"
    for_execution = service.sfn.describe_state_machine_for_execution(executionArn=arn)
    assert json.loads(for_execution["definition"]) == pass_chain(3)
    assert for_execution["stateMachineArn"] == machine
    assert for_execution["roleArn"] == ROLE_ARN
    assert for_execution["revisionId"]


def test_default_name_is_a_uuid_and_input_defaults_to_empty_object(
    service: ServiceServer,
) -> None:
    machine = create_machine(service, pass_chain(1))
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    name = arn.rsplit(":", 1)[-1]
    assert len(name) == 36 and name.count("-") == 4
    described = wait_until_done(service, arn)
    assert described["input"] == "{}"
    assert json.loads(described["output"]) == {"s0": 0}


def test_history_paging_reverse_and_without_data(service: ServiceServer) -> None:
    machine = create_machine(service, pass_chain(5))
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"a": 1}')["executionArn"]
    wait_until_done(service, arn)
    everything = history(service, arn)
    assert len(everything) == 12
    paged = history(service, arn, maxResults=5)
    assert paged == everything
    reverse = history(service, arn, maxResults=4, reverseOrder=True)
    assert reverse == list(reversed(everything))
    bare = history(service, arn, includeExecutionData=False)
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert bare[0]["executionStartedEventDetails"]["roleArn"] == ROLE_ARN
    assert "output" not in bare[-1]["executionSucceededEventDetails"]
    with pytest.raises(ClientError) as caught:
        service.sfn.get_execution_history(executionArn=arn, nextToken="not-a-token")
    assert caught.value.response["Error"]["Code"] == "InvalidToken"


def test_idempotent_start_and_already_exists(service: ServiceServer) -> None:
    machine = create_machine(
        service,
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}},
    )
    first = service.sfn.start_execution(stateMachineArn=machine, name="same", input='{"x": 1}')
    again = service.sfn.start_execution(stateMachineArn=machine, name="same", input='{"x": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as caught:
        service.sfn.start_execution(stateMachineArn=machine, name="same", input='{"x": 2}')
    assert caught.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    stopped = service.sfn.stop_execution(
        executionArn=first["executionArn"], error="Halt", cause="test is done"
    )
    described = service.sfn.describe_execution(executionArn=first["executionArn"])
    assert described["status"] == "ABORTED"
    assert described["stopDate"] == stopped["stopDate"]
    assert described["error"] == "Halt" and described["cause"] == "test is done"
    assert described["redriveStatus"] == "REDRIVABLE"
    # Closed: the same name and input is refused too.
    with pytest.raises(ClientError) as caught:
        service.sfn.start_execution(stateMachineArn=machine, name="same", input='{"x": 1}')
    assert caught.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    # Stopping again changes nothing and answers the stop date.
    again_stopped = service.sfn.stop_execution(executionArn=first["executionArn"])
    assert again_stopped["stopDate"] == stopped["stopDate"]
    events = history(service, first["executionArn"])
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Halt", "cause": "test is done"}
    assert entered_states(events) == ["W"]


def test_start_errors(service: ServiceServer) -> None:
    machine = create_machine(service, pass_chain(1))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"stateMachineArn": machine + "-missing"}, "StateMachineDoesNotExist"),
        ({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:nope:x"}, "InvalidArn"),
        ({"stateMachineArn": machine, "name": "bad name"}, "InvalidName"),
        ({"stateMachineArn": machine, "input": "{not json"}, "InvalidExecutionInput"),
        ({"stateMachineArn": machine + ":7"}, "StateMachineDoesNotExist"),
    ]
    for request, code in cases:
        with pytest.raises(ClientError) as caught:
            service.sfn.start_execution(**request)
        assert caught.value.response["Error"]["Code"] == code, request
    with pytest.raises(ClientError) as caught:
        service.sfn.describe_execution(
            executionArn=machine.replace("stateMachine", "execution") + ":x"
        )
    assert caught.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as caught:
        service.sfn.list_executions(stateMachineArn=machine + "-missing")
    assert caught.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_oversize_input_is_refused(serve_service: Any) -> None:
    server = serve_service("memory", max_payload_bytes=64)
    machine = create_machine(server, pass_chain(1))
    with pytest.raises(ClientError) as caught:
        server.sfn.start_execution(stateMachineArn=machine, input=json.dumps({"x": "y" * 100}))
    assert caught.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert "64 bytes" in caught.value.response["Error"]["Message"]
