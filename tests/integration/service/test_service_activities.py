"""Activities through the service, driven with boto3: the activities themselves, workers that
long-poll GetActivityTask in threads, races between pollers, and the task limits."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _service_kit import ROLE_ARN, ServiceServer, unique
from botocore.exceptions import ClientError
from test_service_executions import create_machine, history, wait_until_done

from stepline.service import _ops_activities

# The service fixture runs these on PostgreSQL too when STEPLINE_TEST_POSTGRES_URL is set.
RUN_ON_POSTGRES = True
_JOIN_SECONDS = 30.0


@pytest.fixture
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """GetActivityTask gives up after 1 s instead of 60 (read at each call)."""
    monkeypatch.setattr(_ops_activities, "LONG_POLL_SECONDS", 1.0)


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def activity_machine(activity_arn: str, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity_arn, "End": True, **task}},
    }


def test_create_describe_list_delete(service: ServiceServer) -> None:
    sfn = service.sfn
    name = unique("act")
    created = sfn.create_activity(name=name, tags=[{"key": "team", "value": "a"}])
    arn = created["activityArn"]
    assert arn == f"arn:aws:states:us-east-1:123456789012:activity:{name}"
    again = sfn.create_activity(name=name, tags=[{"key": "team", "value": "b"}])
    assert again["activityArn"] == arn
    assert again["creationDate"] == created["creationDate"]
    described = sfn.describe_activity(activityArn=arn)
    assert described["name"] == name
    assert described["creationDate"] == created["creationDate"]
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
    listed = [a["activityArn"] for a in sfn.list_activities()["activities"]]
    assert arn in listed
    sfn.delete_activity(activityArn=arn)
    sfn.delete_activity(activityArn=arn)  # gone already: nothing to do
    assert error_code(sfn.describe_activity, activityArn=arn) == "ActivityDoesNotExist"
    assert error_code(sfn.get_activity_task, activityArn=arn) == "ActivityDoesNotExist"
    assert error_code(sfn.create_activity, name="bad name") == "InvalidName"
    assert error_code(sfn.describe_activity, activityArn="arn:nope") == "InvalidArn"


def test_list_activities_pages(service: ServiceServer) -> None:
    for _ in range(3):
        service.sfn.create_activity(name=unique("page"))
    seen: list[str] = []
    token: str | None = None
    for _ in range(100):
        page = service.sfn.list_activities(maxResults=1, **({"nextToken": token} if token else {}))
        seen.extend(a["activityArn"] for a in page["activities"])
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) >= 3
    assert seen == sorted(seen)


def test_worker_thread_completes_the_task(service: ServiceServer) -> None:
    activity = service.sfn.create_activity(name=unique("work"))["activityArn"]
    machine = create_machine(service, activity_machine(activity, HeartbeatSeconds=30))
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"n": 20}')["executionArn"]
    failures: list[BaseException] = []

    def work() -> None:
        try:
            sfn = service.client("stepfunctions")
            task = sfn.get_activity_task(activityArn=activity, workerName="worker-1")
            given = json.loads(task["input"])
            sfn.send_task_heartbeat(taskToken=task["taskToken"])
            sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps(given["n"] * 2))
        except BaseException as exc:  # reported to the test's thread
            failures.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(_JOIN_SECONDS)
    assert not worker.is_alive()
    assert not failures, failures
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == 40
    events = history(service, arn)
    types = [event["type"] for event in events]
    assert types.count("ActivityScheduled") == 1
    assert types.index("ActivityScheduled") < types.index("ActivityStarted")
    assert types.index("ActivityStarted") < types.index("ActivitySucceeded")
    started = next(e for e in events if e["type"] == "ActivityStarted")
    assert started["activityStartedEventDetails"]["workerName"] == "worker-1"


def test_two_pollers_one_task(service: ServiceServer, short_polls: None) -> None:
    activity = service.sfn.create_activity(name=unique("race"))["activityArn"]
    machine = create_machine(service, activity_machine(activity))
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"x": 1}')["executionArn"]
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def poll(name: str) -> None:
        sfn = service.client("stepfunctions")
        barrier.wait(_JOIN_SECONDS)
        answer = sfn.get_activity_task(activityArn=activity, workerName=name)
        with lock:
            answers.append(answer)

    pollers = [threading.Thread(target=poll, args=(f"p{i}",)) for i in range(2)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join(_JOIN_SECONDS)
    assert len(answers) == 2
    tokens = [a["taskToken"] for a in answers if a.get("taskToken")]
    assert len(tokens) == 1, answers
    service.sfn.send_task_success(taskToken=tokens[0], output='"done"')
    assert wait_until_done(service, arn)["status"] == "SUCCEEDED"
    types = [event["type"] for event in history(service, arn)]
    assert types.count("ActivityStarted") == 1
    assert types.count("ActivitySucceeded") == 1


def test_no_task_answers_empty(service: ServiceServer, short_polls: None) -> None:
    activity = service.sfn.create_activity(name=unique("idle"))["activityArn"]
    answer = service.sfn.get_activity_task(activityArn=activity)
    assert not answer.get("taskToken")


def test_missed_heartbeat_and_late_success(service: ServiceServer) -> None:
    activity = service.sfn.create_activity(name=unique("slow"))["activityArn"]
    machine = create_machine(service, activity_machine(activity, HeartbeatSeconds=1))
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = service.sfn.get_activity_task(activityArn=activity, workerName="sleepy")
    assert task["taskToken"]
    described = wait_until_done(service, arn)
    assert described["status"] == "FAILED", described
    assert described["error"] == "States.HeartbeatTimeout"
    types = [event["type"] for event in history(service, arn)]
    assert "ActivityStarted" in types
    assert types.count("ActivityTimedOut") == 1
    code = error_code(service.sfn.send_task_success, taskToken=task["taskToken"], output="{}")
    assert code == "TaskTimedOut"


def test_failure_reaches_catch(service: ServiceServer) -> None:
    activity = service.sfn.create_activity(name=unique("fails"))["activityArn"]
    definition = activity_machine(
        activity, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    )
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    machine = create_machine(service, definition)
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = service.sfn.get_activity_task(activityArn=activity)
    service.sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broke", cause="x")
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"Error": "Worker.Broke", "Cause": "x"}
    assert "ActivityFailed" in [event["type"] for event in history(service, arn)]


def test_express_refuses_activities(service: ServiceServer) -> None:
    activity = service.sfn.create_activity(name=unique("expr"))["activityArn"]
    code = error_code(
        service.sfn.create_state_machine,
        name=unique("sm"),
        definition=json.dumps(activity_machine(activity)),
        roleArn=ROLE_ARN,
        type="EXPRESS",
    )
    assert code == "InvalidDefinition"


def _scheduled_then_stopped(server: ServiceServer, name: str, input_text: str) -> tuple[str, str]:
    """Start an execution whose activity task gets scheduled, then stop the server; the
    activity's and the execution's ARNs."""
    activity = server.sfn.create_activity(name=unique(name))["activityArn"]
    machine = create_machine(server, activity_machine(activity))
    arn = server.sfn.start_execution(stateMachineArn=machine, input=input_text)["executionArn"]
    for _ in range(1000):
        if any(e["type"] == "ActivityScheduled" for e in history(server, arn)):
            break
        time.sleep(0.02)
    server.stop()
    return activity, arn


def test_activity_task_survives_a_restart(serve_service: Any, tmp_path: Path) -> None:
    first = serve_service("sqlite", directory=tmp_path)
    activity, arn = _scheduled_then_stopped(first, "durable", '{"keep": 1}')
    second = serve_service("sqlite", directory=tmp_path)
    task = second.sfn.get_activity_task(activityArn=activity, workerName="after-restart")
    assert json.loads(task["input"]) == {"keep": 1}
    second.sfn.send_task_success(taskToken=task["taskToken"], output='{"kept": true}')
    described = wait_until_done(second, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"kept": True}


def test_a_task_taken_and_completed_while_no_worker_ran_still_records_its_start(
    serve_service: Any, tmp_path: Path
) -> None:
    first = serve_service("sqlite", directory=tmp_path)
    activity, arn = _scheduled_then_stopped(first, "unseen", '{"n": 1}')
    # API only: the task is taken and completed with no worker to see it taken.
    api_only = serve_service("sqlite", directory=tmp_path, worker=False)
    task = api_only.sfn.get_activity_task(activityArn=activity, workerName="quick")
    api_only.sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    api_only.stop()
    last = serve_service("sqlite", directory=tmp_path)
    assert wait_until_done(last, arn)["status"] == "SUCCEEDED"
    types = [e["type"] for e in history(last, arn)]
    assert types.index("ActivityScheduled") < types.index("ActivityStarted")
    assert types.index("ActivityStarted") < types.index("ActivitySucceeded")
