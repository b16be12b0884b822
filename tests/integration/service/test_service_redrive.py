"""RedriveExecution through the service, with boto3: a failed, stopped or timed-out execution
continues from its unsuccessful state(s); DescribeExecution's and ListExecutions' redrive fields;
every rule and error (succeeded, running, unknown, malformed, Express, history full, a client
token too long); two concurrent redrives (one wins); an idempotent client token; a redrive
after a SQLite restart; a redriven ``.sync`` parent starts a new child.

Failures a redrive can fix are made with ``$$.Execution.RedriveCount``: a Choice that matches
nothing until the execution has been redriven fails the first time only.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _service_kit import ServiceServer, unique
from test_service_executions import create_machine, history, wait_until_done

_BOUND_SECONDS = 20.0


def _gate(name: str, next_state: str, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Choice that matches only once the execution has been redriven (else it fails), or
    when ``extra`` holds."""
    redriven = {"Variable": "$$.Execution.RedriveCount", "NumericGreaterThanEquals": 1}
    condition = redriven if extra is None else {"Or": [redriven, extra]}
    return {name: {"Type": "Choice", "Choices": [{**condition, "Next": next_state}]}}


LINE: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"order": 7}, "Next": "Gate"},
        **_gate("Gate", "Done"),
        "Done": {
            "Type": "Pass",
            "Parameters": {"redrives.$": "$$.Execution.RedriveCount"},
            "End": True,
        },
    },
}

MAP: dict[str, Any] = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    # Even items pass at once; odd ones only after a redrive.
                    **_gate(
                        "Check",
                        "Ok",
                        extra={"Variable": "$.odd", "BooleanEquals": False},
                    ),
                    "Ok": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": True},
                },
            },
            "End": True,
        }
    },
}


def _start(server: ServiceServer, machine: str, value: Any = None) -> str:
    answer = server.sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({} if value is None else value)
    )
    return str(answer["executionArn"])


def _failed_execution(server: ServiceServer, definition: dict[str, Any] = LINE) -> str:
    arn = _start(server, create_machine(server, definition))
    assert wait_until_done(server, arn)["status"] == "FAILED"
    return arn


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(Exception) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]  # type: ignore[attr-defined]
    return error["Code"], error["Message"]


def test_a_failed_execution_redrives_from_its_failed_state(service: ServiceServer) -> None:
    arn = _failed_execution(service)
    before = service.sfn.describe_execution(executionArn=arn)
    assert (before["redriveCount"], before["redriveStatus"]) == (0, "REDRIVABLE")
    assert "redriveStatusReason" not in before and "redriveDate" not in before
    failed_events = history(service, arn)

    answer = service.sfn.redrive_execution(executionArn=arn)
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"redrives": 1}
    assert described["redriveCount"] == 1
    assert described["redriveDate"] == answer["redriveDate"]
    assert "error" not in described and "cause" not in described
    assert described["stopDate"] >= answer["redriveDate"]
    assert (described["redriveStatus"], described["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "Execution is SUCCEEDED and cannot be redriven",
    )

    events = history(service, arn)
    assert events[: len(failed_events)] == failed_events  # the history is kept as it was
    redriven = events[len(failed_events)]
    assert redriven["type"] == "ExecutionRedriven"
    assert redriven["id"] == len(failed_events) + 1
    assert redriven["previousEventId"] == len(failed_events)
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in events[len(failed_events) :]
        if "stateEnteredEventDetails" in event
    ]
    assert entered == ["Gate", "Done"]  # Prepare is not run again
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))


def test_list_executions_shows_and_filters_redrives(service: ServiceServer) -> None:
    machine = create_machine(service, LINE)
    redriven, plain = _start(service, machine), _start(service, machine)
    for arn in (redriven, plain):
        assert wait_until_done(service, arn)["status"] == "FAILED"
    service.sfn.redrive_execution(executionArn=redriven)
    wait_until_done(service, redriven)
    items = {
        item["executionArn"]: item
        for item in service.sfn.list_executions(stateMachineArn=machine)["executions"]
    }
    assert items[redriven]["redriveCount"] == 1 and "redriveDate" in items[redriven]
    assert items[plain]["redriveCount"] == 0 and "redriveDate" not in items[plain]
    only = service.sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")
    assert [item["executionArn"] for item in only["executions"]] == [redriven]
    never = service.sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")
    assert [item["executionArn"] for item in never["executions"]] == [plain]


def test_an_inline_map_reruns_only_its_unsuccessful_iterations(service: ServiceServer) -> None:
    items = [{"n": n, "odd": n % 2 == 1} for n in range(6)]
    arn = _start(service, create_machine(service, MAP), {"items": items})
    assert wait_until_done(service, arn)["status"] == "FAILED"
    count = len(history(service, arn))
    service.sfn.redrive_execution(executionArn=arn)
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"n": n} for n in range(6)]
    after = history(service, arn)[count:]
    assert after[0]["type"] == "ExecutionRedriven"
    rerun = [e for e in after if e["type"] == "ChoiceStateEntered"]
    # Iteration 0 succeeded before 1 failed; 1 failed and the rest were aborted: 1…5 rerun.
    assert [json.loads(e["stateEnteredEventDetails"]["input"])["n"] for e in rerun] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert "MapStateEntered" not in [e["type"] for e in after]


def test_refusals_and_errors(service: ServiceServer) -> None:
    sfn = service.sfn
    done = _start(
        service,
        create_machine(service, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )
    assert wait_until_done(service, done)["status"] == "SUCCEEDED"
    code, message = _error(sfn.redrive_execution, executionArn=done)
    assert code == "ExecutionNotRedrivable"
    assert "Execution is SUCCEEDED and cannot be redriven" in message and done in message

    waiting = _start(
        service,
        create_machine(
            service,
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}},
        ),
    )
    code, message = _error(sfn.redrive_execution, executionArn=waiting)
    assert code == "ExecutionNotRedrivable" and "RUNNING" in message
    described = sfn.describe_execution(executionArn=waiting)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    assert described["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"
    sfn.stop_execution(executionArn=waiting)

    ghost = waiting.rsplit(":", 1)[0] + ":" + unique("ghost")
    assert _error(sfn.redrive_execution, executionArn=ghost)[0] == "ExecutionDoesNotExist"
    assert _error(sfn.redrive_execution, executionArn="not-an-arn")[0] == "InvalidArn"
    express = waiting.replace(":execution:", ":express:")
    assert _error(sfn.redrive_execution, executionArn=express)[0] == "InvalidArn"
    code, message = _error(sfn.redrive_execution, executionArn=waiting, clientToken="x" * 65)
    assert code == "ValidationException" and "clientToken" in message


def test_an_execution_whose_history_is_full_is_not_redrivable(serve_service: Any) -> None:
    server = serve_service("memory", max_history_events=6)  # the failure leaves 5 events
    arn = _failed_execution(server)
    assert len(history(server, arn)) == 5
    described = server.sfn.describe_execution(executionArn=arn)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    assert described["redriveStatusReason"] == "Execution history event limit exceeded."
    code, message = _error(server.sfn.redrive_execution, executionArn=arn)
    assert code == "ExecutionNotRedrivable" and "history event limit" in message


def test_two_concurrent_redrives_one_wins(service: ServiceServer) -> None:
    arn = _failed_execution(service)
    outcomes: list[Any] = []
    barrier = threading.Barrier(2)

    def redrive(token: str) -> None:
        client = service.client("stepfunctions")
        barrier.wait(_BOUND_SECONDS)
        try:
            outcomes.append(client.redrive_execution(executionArn=arn, clientToken=token))
        except Exception as exc:  # reported below
            outcomes.append(exc)

    threads = [threading.Thread(target=redrive, args=(f"racer-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_BOUND_SECONDS)
    assert len(outcomes) == 2
    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if not isinstance(o, dict)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].response["Error"]["Code"] == "ExecutionNotRedrivable"
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED" and described["redriveCount"] == 1
    assert [e["type"] for e in history(service, arn)].count("ExecutionRedriven") == 1


def test_a_client_token_makes_the_redrive_idempotent(service: ServiceServer) -> None:
    arn = _failed_execution(service)
    first = service.sfn.redrive_execution(executionArn=arn, clientToken="same-token")
    again = service.sfn.redrive_execution(executionArn=arn, clientToken="same-token")
    assert again["redriveDate"] == first["redriveDate"]
    described = wait_until_done(service, arn)
    assert described["redriveCount"] == 1
    after = service.sfn.redrive_execution(executionArn=arn, clientToken="same-token")
    assert after["redriveDate"] == first["redriveDate"]  # still answers, even once it ended
    code, _ = _error(service.sfn.redrive_execution, executionArn=arn, clientToken="new-token")
    assert code == "ExecutionNotRedrivable"
    assert [e["type"] for e in history(service, arn)].count("ExecutionRedriven") == 1


def test_a_stopped_execution_reruns_the_activity_it_was_waiting_for(
    service: ServiceServer,
) -> None:
    sfn = service.sfn
    activity = sfn.create_activity(name=unique("redrive"))["activityArn"]
    machine = create_machine(
        service,
        {
            "TimeoutSeconds": 1,
            "StartAt": "First",
            "States": {
                "First": {"Type": "Pass", "Result": {"n": 21}, "Next": "Work"},
                "Work": {"Type": "Task", "Resource": activity, "End": True},
            },
        },
    )
    timed_out = _start(service, machine)
    assert wait_until_done(service, timed_out)["status"] == "TIMED_OUT"
    stopped = _start(service, machine)
    task = sfn.get_activity_task(activityArn=activity)  # the stopped one's (the other ended)
    assert task.get("taskToken")
    sfn.stop_execution(executionArn=stopped, error="Ops.Stop", cause="maintenance")
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=task["taskToken"], output="1")

    for arn in (timed_out, stopped):
        sfn.redrive_execution(executionArn=arn)
        described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "RUNNING"
        assert "stopDate" not in described and "error" not in described
        task = sfn.get_activity_task(activityArn=activity)
        assert json.loads(task["input"]) == {"n": 21}
        # The execution timeout counts from the redrive: a second is enough to answer.
        sfn.send_task_success(taskToken=task["taskToken"], output='"done"')
        described = wait_until_done(service, arn)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"]) == "done"
        events = history(service, arn)
        types = [e["type"] for e in events]
        redriven_at = types.index("ExecutionRedriven")
        assert types[redriven_at - 1] in ("ExecutionTimedOut", "ExecutionAborted")
        assert types[redriven_at + 1 :].count("PassStateEntered") == 0
        assert types[redriven_at + 1] == "TaskStateEntered"


def test_a_redrive_continues_after_a_sqlite_restart(serve_service: Any, tmp_path: Path) -> None:
    first = serve_service("sqlite", directory=tmp_path / "restart")
    arn = _failed_execution(first)
    first.stop()
    second = serve_service("sqlite", directory=tmp_path / "restart")
    assert second.sfn.describe_execution(executionArn=arn)["redriveStatus"] == "REDRIVABLE"
    second.sfn.redrive_execution(executionArn=arn)
    described = wait_until_done(second, arn)
    assert described["status"] == "SUCCEEDED", described


def test_a_redriven_sync_parent_starts_a_new_child(service: ServiceServer) -> None:
    child = create_machine(
        service,
        {
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.ok", "NumericGreaterThanEquals": 1, "Next": "Ok"}],
                },
                "Ok": {"Type": "Succeed"},
            },
        },
    )
    parent = create_machine(
        service,
        {
            "StartAt": "Child",
            "States": {
                "Child": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {
                        "StateMachineArn": child,
                        "Input": {"ok.$": "$$.Execution.RedriveCount"},
                    },
                    "End": True,
                }
            },
        },
    )
    arn = _start(service, parent)
    assert wait_until_done(service, arn)["status"] == "FAILED"
    service.sfn.redrive_execution(executionArn=arn)
    assert wait_until_done(service, arn)["status"] == "SUCCEEDED"
    children = service.sfn.list_executions(stateMachineArn=child)["executions"]
    assert sorted(item["status"] for item in children) == ["FAILED", "SUCCEEDED"]


def test_a_redrive_that_fails_again_can_be_redriven_again(service: ServiceServer) -> None:
    definition = {
        "StartAt": "Gate",
        "States": {
            "Gate": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$$.Execution.RedriveCount",
                        "NumericGreaterThanEquals": 2,
                        "Next": "Done",
                    }
                ],
            },
            "Done": {"Type": "Succeed"},
        },
    }
    arn = _failed_execution(service, definition)
    service.sfn.redrive_execution(executionArn=arn)
    again = wait_until_done(service, arn)
    assert again["status"] == "FAILED" and again["redriveStatus"] == "REDRIVABLE"
    assert again["error"] == "States.NoChoiceMatched"
    time.sleep(0.01)
    service.sfn.redrive_execution(executionArn=arn)
    final = wait_until_done(service, arn)
    assert final["status"] == "SUCCEEDED" and final["redriveCount"] == 2
    types = [e["type"] for e in history(service, arn)]
    assert types.count("ExecutionRedriven") == 2 and types.count("ExecutionFailed") == 2


def test_execution_logs_record_the_redrive(serve_service: Any, tmp_path: Path) -> None:
    from test_service_logging import Logged, logging_configuration

    logs = tmp_path / "logs"
    server = serve_service("memory", environ={"STEPLINE_EXECUTION_LOGS": f"dir:{logs}"})
    group = unique("group")
    machine = create_machine(server, LINE, loggingConfiguration=logging_configuration("ALL", group))
    arn = _start(server, machine)
    assert wait_until_done(server, arn)["status"] == "FAILED"
    server.sfn.redrive_execution(executionArn=arn)
    assert wait_until_done(server, arn)["status"] == "SUCCEEDED"
    records = Logged(server, logs).records(
        group, arn, lambda found: any(r["type"] == "ExecutionSucceeded" for r in found)
    )
    redriven = [r for r in records if r["type"] == "ExecutionRedriven"]
    assert len(redriven) == 1 and redriven[0]["redrive_count"] == "1"
    after = records[records.index(redriven[0]) + 1 :]
    assert after and all(r["redrive_count"] == "1" for r in after)


def test_the_distributed_map_hook_hears_of_each_redrive(service: ServiceServer) -> None:
    from stepline.service._redrive import set_map_run_redrive

    heard: list[tuple[str, int]] = []

    async def hook(context: Any, parent: Any) -> None:
        heard.append((parent.arn, parent.redrive_count))

    arn = _failed_execution(service)
    set_map_run_redrive(service.context, hook)
    try:
        service.sfn.redrive_execution(executionArn=arn)
    finally:
        set_map_run_redrive(service.context, None)
    assert heard == [(arn, 1)]
    assert wait_until_done(service, arn)["status"] == "SUCCEEDED"


def test_an_execution_of_a_deleted_state_machine_is_not_redrivable(
    service: ServiceServer,
) -> None:
    machine = create_machine(service, LINE)
    arn = _start(service, machine)
    assert wait_until_done(service, arn)["status"] == "FAILED"
    service.sfn.delete_state_machine(stateMachineArn=machine)
    described = service.sfn.describe_execution(executionArn=arn)
    assert (described["redriveStatus"], described["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "State machine is in DELETING status.",
    )
    code, message = _error(service.sfn.redrive_execution, executionArn=arn)
    assert code == "ExecutionNotRedrivable" and "DELETING" in message
