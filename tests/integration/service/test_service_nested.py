"""Nested workflows (``arn:aws:states:::states:startExecution``) through the service, with boto3.

A parent state machine starts a child with each integration pattern: request-response,
``.sync`` (output as JSON text), ``.sync:2`` (output as JSON) and ``.waitForTaskToken`` (the
test plays the child's SendTaskSuccess); a failing child fails its ``.sync`` parent; stopping a
parent stops its ``.sync`` child; StartExecution's errors reach the parent as
``StepFunctions.<code>``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from _service_kit import ServiceServer, unique
from test_service_executions import create_machine, history, wait_until_done

RUN_ON_POSTGRES = True
_BOUND_SECONDS = 20.0

NESTED = "arn:aws:states:::states:startExecution"

ADD_ONE = {
    "StartAt": "Add",
    "States": {
        "Add": {
            "Type": "Pass",
            "Parameters": {"total.$": "States.MathAdd($.n, 1)"},
            "End": True,
        }
    },
}


def parent_machine(resource: str, child_arn: str, **parameters: Any) -> dict[str, Any]:
    return {
        "StartAt": "Child",
        "States": {
            "Child": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"StateMachineArn": child_arn, **parameters},
                "End": True,
            }
        },
    }


def run(server: ServiceServer, machine_arn: str, value: Any) -> dict[str, Any]:
    started = server.sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(value))
    return wait_until_done(server, started["executionArn"])


def stored_parent(server: ServiceServer, child_arn: str) -> str | None:
    async def read(context: Any) -> str | None:
        record = await context.store.get_execution(child_arn)
        return None if record is None else record.parent_execution_arn

    return server.call(read)


def wait_for_status(server: ServiceServer, arn: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + _BOUND_SECONDS
    for _ in range(10_000):
        try:
            described = server.sfn.describe_execution(executionArn=arn)
        except server.sfn.exceptions.ExecutionDoesNotExist:
            described = {"status": None}
        if described["status"] == status:
            return dict(described)
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"{arn} did not reach {status}")


def test_request_response_starts_the_child_and_returns_its_arn(service: ServiceServer) -> None:
    child = create_machine(service, ADD_ONE)
    parent = create_machine(service, parent_machine(NESTED, child, **{"Input": {"n.$": "$.n"}}))
    done = run(service, parent, {"n": 4})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert set(output) == {"ExecutionArn", "StartDate"}
    assert isinstance(output["StartDate"], int)
    child_done = wait_until_done(service, output["ExecutionArn"])
    assert json.loads(child_done["output"]) == {"total": 5}
    assert json.loads(child_done["input"]) == {"n": 4}
    assert stored_parent(service, output["ExecutionArn"]) == done["executionArn"]


def test_sync_returns_the_child_output_as_text(service: ServiceServer) -> None:
    child = create_machine(service, ADD_ONE)
    name = unique("child")
    parent = create_machine(
        service,
        parent_machine(f"{NESTED}.sync", child, **{"Input": {"n.$": "$.n"}, "Name": name}),
    )
    done = run(service, parent, {"n": 1})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Status"] == "SUCCEEDED"
    assert output["Name"] == name
    assert output["StateMachineArn"] == child
    assert json.loads(output["Output"]) == {"total": 2}
    assert json.loads(output["Input"]) == {"n": 1}
    assert output["OutputDetails"] == {"Included": True}
    assert stored_parent(service, output["ExecutionArn"]) == done["executionArn"]
    types = [event["type"] for event in history(service, done["executionArn"])]
    assert "TaskSucceeded" in types


def test_sync2_returns_the_child_output_as_json(service: ServiceServer) -> None:
    child = create_machine(service, ADD_ONE)
    parent = create_machine(
        service, parent_machine(f"{NESTED}.sync:2", child, **{"Input": '{"n": 10}'})
    )
    done = run(service, parent, {})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Output"] == {"total": 11}
    assert output["Input"] == {"n": 10}


def test_sync_child_failure_fails_the_parent_task(service: ServiceServer) -> None:
    child = create_machine(
        service,
        {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E", "Cause": "c"}}},
    )
    parent = create_machine(service, parent_machine(f"{NESTED}.sync:2", child))
    done = run(service, parent, {})
    assert done["status"] == "FAILED"
    assert done["error"] == "States.TaskFailed"
    cause = json.loads(done["cause"])
    assert cause["Status"] == "FAILED"
    assert cause["Error"] == "E"
    assert cause["Cause"] == "c"


def test_start_errors_are_step_functions_task_errors(service: ServiceServer) -> None:
    missing = f"arn:aws:states:us-east-1:123456789012:stateMachine:{unique('gone')}"
    parent = create_machine(service, parent_machine(f"{NESTED}.sync", missing))
    done = run(service, parent, {})
    assert done["status"] == "FAILED"
    assert done["error"] == "StepFunctions.StateMachineDoesNotExist"
    assert missing in done["cause"]


def test_stopping_the_parent_stops_its_sync_child(service: ServiceServer) -> None:
    child = create_machine(
        service,
        {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 600, "End": True}}},
    )
    name = unique("child")
    parent = create_machine(service, parent_machine(f"{NESTED}.sync", child, **{"Name": name}))
    started = service.sfn.start_execution(stateMachineArn=parent)
    child_arn = child.replace(":stateMachine:", ":execution:") + f":{name}"
    wait_for_status(service, child_arn, "RUNNING")
    service.sfn.stop_execution(executionArn=started["executionArn"], cause="enough")
    wait_for_status(service, started["executionArn"], "ABORTED")
    stopped = wait_for_status(service, child_arn, "ABORTED")
    assert started["executionArn"] in stopped["cause"]


def test_wait_for_task_token_child_completes_the_parent(service: ServiceServer) -> None:
    child = create_machine(service, ADD_ONE)
    name = unique("child")
    parent = create_machine(
        service,
        parent_machine(
            f"{NESTED}.waitForTaskToken",
            child,
            **{"Input": {"n": 1, "token.$": "$$.Task.Token"}, "Name": name},
        ),
    )
    started = service.sfn.start_execution(stateMachineArn=parent)
    child_arn = child.replace(":stateMachine:", ":execution:") + f":{name}"
    child_done = wait_for_status(service, child_arn, "SUCCEEDED")
    token = json.loads(child_done["input"])["token"]
    # The child's last step would call SendTaskSuccess with its result; played here.
    service.sfn.send_task_success(taskToken=token, output=child_done["output"])
    done = wait_until_done(service, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"total": 2}
    types = [event["type"] for event in history(service, started["executionArn"])]
    assert "TaskSubmitted" in types
    assert stored_parent(service, child_arn) == started["executionArn"]


def test_sync_parent_finds_its_child_again_after_a_restart(
    serve_service: Any, tmp_path: Path
) -> None:
    first = serve_service("sqlite", directory=tmp_path)
    child = create_machine(
        first,
        {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}}},
    )
    parent = create_machine(first, parent_machine(f"{NESTED}.sync:2", child))
    arn = first.sfn.start_execution(stateMachineArn=parent)["executionArn"]
    deadline = time.monotonic() + _BOUND_SECONDS
    for _ in range(10_000):
        if first.sfn.list_executions(stateMachineArn=child)["executions"]:
            break
        assert time.monotonic() < deadline, "the child was not started"
        time.sleep(0.02)
    first.stop()
    second = serve_service("sqlite", directory=tmp_path)
    done = wait_until_done(second, arn)
    assert done["status"] == "SUCCEEDED", done
    children = second.sfn.list_executions(stateMachineArn=child)["executions"]
    # The task re-run after the restart attached to the child it had started: one child.
    assert [item["executionArn"] for item in children] == [
        json.loads(done["output"])["ExecutionArn"]
    ]


def test_sync_runs_an_express_child_to_its_end(service: ServiceServer) -> None:
    child = create_machine(service, ADD_ONE, kind="EXPRESS")
    parent = create_machine(
        service, parent_machine(f"{NESTED}.sync:2", child, **{"Input": {"n": 2}})
    )
    done = run(service, parent, {})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Status"] == "SUCCEEDED"
    assert output["Output"] == {"total": 3}
    assert ":express:" in output["ExecutionArn"]


def test_bad_parameters_fail_the_task_with_a_clear_cause(service: ServiceServer) -> None:
    child = create_machine(service, ADD_ONE)
    parent = create_machine(service, parent_machine(NESTED, child, **{"Colour": "red"}))
    done = run(service, parent, {})
    assert done["status"] == "FAILED"
    assert done["error"] == "States.Runtime"
    assert "Colour" in done["cause"]
    assert "StateMachineArn" in done["cause"]


def test_a_parent_failing_elsewhere_stops_its_sync_child(service: ServiceServer) -> None:
    child = create_machine(
        service,
        {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 600, "End": True}}},
    )
    name = unique("child")
    nested = parent_machine(f"{NESTED}.sync", child, **{"Name": name})
    parent = create_machine(
        service,
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        nested,
                        {
                            "StartAt": "Pause",
                            "States": {
                                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
                                "Boom": {"Type": "Fail", "Error": "Sibling", "Cause": "x"},
                            },
                        },
                    ],
                }
            },
        },
    )
    started = service.sfn.start_execution(stateMachineArn=parent)
    child_arn = child.replace(":stateMachine:", ":execution:") + f":{name}"
    done = wait_until_done(service, started["executionArn"])
    assert done["status"] == "FAILED"
    assert done["error"] == "Sibling"
    wait_for_status(service, child_arn, "ABORTED")
