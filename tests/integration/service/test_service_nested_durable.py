"""``.sync`` nested workflows wait durably, holding no lease, and stop across processes.

The parent's ``.sync`` task is recorded as submitted (``TaskSubmitted`` with StartExecution's
answer) and its execution is released while the child runs; the child's end wakes it with the
outcome; a timed-out ``.sync`` task and a stopped parent stop the child through the store, so a
server that never ran the child stops it too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _service_kit import ServiceServer, unique
from test_service_executions import create_machine, history, wait_until_done
from test_service_nested import NESTED, parent_machine, wait_for_status

from stepline.service._exec_hub import hub_of
from support.postgres import POSTGRES_URL, SKIP_REASON, drop_schema, new_schema

RUN_ON_POSTGRES = True


def activity_child(activity: str) -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
    }


LONG_CHILD = {
    "StartAt": "Long",
    "States": {"Long": {"Type": "Wait", "Seconds": 600, "End": True}},
}


def _child_arn(machine: str, name: str) -> str:
    return machine.replace(":stateMachine:", ":execution:") + f":{name}"


def _wait_for_event(server: ServiceServer, arn: str, kind: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    for _ in range(10_000):
        events = history(server, arn)
        if any(event["type"] == kind for event in events):
            return events
        assert time.monotonic() < deadline, f"{arn} has no {kind}"
        time.sleep(0.02)
    raise AssertionError(kind)


def _runs_here(server: ServiceServer, arn: str) -> bool:
    async def read(context: Any) -> bool:
        task = hub_of(context).runs.get(arn)
        return task is not None and not task.done()

    return server.call(read)


def test_the_parent_is_released_while_its_sync_child_runs(service: ServiceServer) -> None:
    child = create_machine(service, LONG_CHILD)
    name = unique("child")
    parent = create_machine(service, parent_machine(f"{NESTED}.sync", child, Name=name))
    arn = service.sfn.start_execution(stateMachineArn=parent)["executionArn"]
    events = _wait_for_event(service, arn, "TaskSubmitted")
    submitted = next(e for e in events if e["type"] == "TaskSubmitted")
    answer = json.loads(submitted["taskSubmittedEventDetails"]["output"])
    assert answer["ExecutionArn"] == _child_arn(child, name)
    assert isinstance(answer["StartDate"], int)
    wait_for_status(service, _child_arn(child, name), "RUNNING")
    # Nothing of the parent waits in memory: no run drives it while the child runs.
    for _ in range(500):  # the run lets go right after its commit
        if not _runs_here(service, arn):
            break
        time.sleep(0.02)
    assert not _runs_here(service, arn)
    # The child ends (stopped here): the parent's task fails as AWS's does.
    service.sfn.stop_execution(executionArn=_child_arn(child, name), cause="enough")
    done = wait_until_done(service, arn)
    assert done["status"] == "FAILED"
    assert done["error"] == "States.TaskFailed"
    cause = json.loads(done["cause"])
    assert cause["Status"] == "ABORTED" and cause["ExecutionArn"] == _child_arn(child, name)
    assert cause["Cause"] == "enough"
    types = [e["type"] for e in history(service, arn)]
    assert types.count("TaskSubmitted") == 1
    assert types.count("TaskFailed") == 1


def test_sync2_output_arrives_when_the_childs_activity_is_done(service: ServiceServer) -> None:
    activity = service.sfn.create_activity(name=unique("work"))["activityArn"]
    child = create_machine(service, activity_child(activity))
    name = unique("child")
    parent = create_machine(
        service, parent_machine(f"{NESTED}.sync:2", child, Name=name, Input={"n": 1})
    )
    arn = service.sfn.start_execution(stateMachineArn=parent)["executionArn"]
    task = service.sfn.get_activity_task(activityArn=activity, workerName="w")
    assert json.loads(task["input"]) == {"n": 1}
    service.sfn.send_task_success(taskToken=task["taskToken"], output='{"done": 2}')
    done = wait_until_done(service, arn)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Output"] == {"done": 2} and output["Input"] == {"n": 1}
    assert output["ExecutionArn"] == _child_arn(child, name)
    types = [e["type"] for e in history(service, arn)]
    assert types.count("TaskSubmitted") == 1 and types.count("TaskSucceeded") == 1


def test_a_timed_out_sync_task_stops_its_child(service: ServiceServer) -> None:
    child = create_machine(service, LONG_CHILD)
    name = unique("child")
    definition = parent_machine(f"{NESTED}.sync", child, Name=name)
    definition["States"]["Child"]["TimeoutSeconds"] = 1
    parent = create_machine(service, definition)
    arn = service.sfn.start_execution(stateMachineArn=parent)["executionArn"]
    done = wait_until_done(service, arn)
    assert done["status"] == "FAILED"
    assert done["error"] == "States.Timeout"
    stopped = wait_for_status(service, _child_arn(child, name), "ABORTED")
    assert arn in stopped["cause"]


def test_a_request_response_child_outlives_its_stopped_parent(service: ServiceServer) -> None:
    child = create_machine(service, LONG_CHILD)
    name = unique("child")
    parent = create_machine(
        service,
        {
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Task",
                    "Resource": NESTED,
                    "Parameters": {"StateMachineArn": child, "Name": name},
                    "Next": "Long",
                },
                "Long": {"Type": "Wait", "Seconds": 600, "End": True},
            },
        },
    )
    arn = service.sfn.start_execution(stateMachineArn=parent)["executionArn"]
    wait_for_status(service, _child_arn(child, name), "RUNNING")
    service.sfn.stop_execution(executionArn=arn)
    wait_for_status(service, arn, "ABORTED")
    described = service.sfn.describe_execution(executionArn=_child_arn(child, name))
    assert described["status"] == "RUNNING"
    service.sfn.stop_execution(executionArn=_child_arn(child, name))


def test_another_server_stops_the_sync_child_of_a_parent_it_stops(
    serve_service: Any, tmp_path: Path
) -> None:
    first = serve_service("sqlite", directory=tmp_path)
    grandchild = create_machine(first, LONG_CHILD)
    leaf = unique("leaf")
    child = create_machine(first, parent_machine(f"{NESTED}.sync", grandchild, Name=leaf))
    name = unique("child")
    parent = create_machine(first, parent_machine(f"{NESTED}.sync:2", child, Name=name))
    arn = first.sfn.start_execution(stateMachineArn=parent)["executionArn"]
    wait_for_status(first, _child_arn(grandchild, leaf), "RUNNING")
    first.stop()
    # A server that never ran (nor knew of) the children finds them through the store.
    second = serve_service("sqlite", directory=tmp_path)
    second.sfn.stop_execution(executionArn=arn, cause="enough")
    stopped = wait_for_status(second, _child_arn(child, name), "ABORTED")
    assert arn in stopped["cause"]
    wait_for_status(second, _child_arn(grandchild, leaf), "ABORTED")


@pytest.fixture
def schema() -> Iterator[str]:
    if POSTGRES_URL is None:
        pytest.skip(SKIP_REASON)
    name = new_schema()
    try:
        yield name
    finally:
        drop_schema(name)


def test_two_servers_on_postgresql_share_sync_waits_and_stops(
    serve_service: Any, tmp_path: Path, schema: str
) -> None:
    first = serve_service("postgres", directory=tmp_path / "a", schema=schema)
    second = serve_service("postgres", directory=tmp_path / "b", schema=schema)
    activity = first.sfn.create_activity(name=unique("work"))["activityArn"]
    child = create_machine(first, activity_child(activity))
    long = create_machine(first, LONG_CHILD)
    done_name, stopped_name = unique("child"), unique("child")
    waits = create_machine(first, parent_machine(f"{NESTED}.sync:2", child, Name=done_name))
    stops = create_machine(first, parent_machine(f"{NESTED}.sync", long, Name=stopped_name))
    waiting = first.sfn.start_execution(stateMachineArn=waits)["executionArn"]
    stopping = first.sfn.start_execution(stateMachineArn=stops)["executionArn"]
    wait_for_status(second, _child_arn(long, stopped_name), "RUNNING")
    # The other server answers the child's activity: whichever process runs the child, its
    # end completes the parent's task in the database.
    task = second.sfn.get_activity_task(activityArn=activity, workerName="b")
    second.sfn.send_task_success(taskToken=task["taskToken"], output='{"from": "b"}')
    done = wait_until_done(first, waiting)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["Output"] == {"from": "b"}
    # Stopped through the other server, the parent's child stops wherever it runs.
    second.sfn.stop_execution(executionArn=stopping)
    stopped = wait_for_status(first, _child_arn(long, stopped_name), "ABORTED")
    assert stopping in stopped["cause"]
    types = [e["type"] for e in history(first, waiting)]
    assert types.count("TaskSubmitted") == 1 and types.count("TaskSucceeded") == 1
