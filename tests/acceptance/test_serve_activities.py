"""Activities and callbacks against a real ``stepline serve`` process (issue #6's quality bar).

Two scenarios, each on its own server started with ``--port 0`` and its own data directory:

- An activity worker in a separate process: a small boto3 script, written to the test's
  temporary directory and run with this interpreter, polls ``GetActivityTask``, heartbeats and
  answers ``SendTaskSuccess`` for every execution of a Standard state machine whose Task uses
  the activity. Every execution must succeed with the worker's output, and its history must show
  the activity scheduled, started (by that worker's name) and succeeded exactly once.
- A callback completed by an HTTP request from outside: an HTTP Task with
  ``.waitForTaskToken`` posts ``$$.Task.Token`` to a fake API on 127.0.0.1; the test takes the
  token from what the API received and completes it with a plain ``urllib`` POST of an AWS
  JSON 1.0 ``SendTaskSuccess`` request (no SDK), as a third-party webhook would.

Every wait is bounded by a count and a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from support.fake_apis import FakeApis
from support.serve_process import ServeProcess, base_environment

ACCESS_KEY_ID: Final = "AKIDACTIVITYTEST"
SECRET_KEY: Final = "activity-test-secret-0123456789"
ROLE_ARN: Final = "arn:aws:iam::123456789012:role/activity-test"
EXECUTIONS: Final = 4
WORKER_NAME: Final = "acceptance-worker-1"
# Bounds for waiting on executions and on the worker process; generous for a shared machine.
FINISH_TIMEOUT: Final = 20.0
WORKER_TIMEOUT: Final = 25.0

# The worker: handles exactly ``count`` tasks, or gives up at its deadline. Each poll is a
# long poll (up to 60 s on the server), so the read timeout of its client is above that.
WORKER_SCRIPT: Final = '''
"""An activity worker for the acceptance test: poll, heartbeat, succeed; bounded."""
import json
import sys
import time

import boto3
from botocore.config import Config

endpoint, activity_arn, worker_name, count, seconds = sys.argv[1:6]
sfn = boto3.session.Session().client(
    "stepfunctions",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="AKIDWORKER",
    aws_secret_access_key="worker-secret",
    config=Config(
        retries={"max_attempts": 1, "mode": "standard"},
        inject_host_prefix=False,
        read_timeout=70,
    ),
)
deadline = time.monotonic() + float(seconds)
handled = 0
polls = 0
while handled < int(count) and polls < 100 and time.monotonic() < deadline:
    polls += 1
    task = sfn.get_activity_task(activityArn=activity_arn, workerName=worker_name)
    token = task.get("taskToken")
    if not token:
        continue
    received = json.loads(task["input"])
    sfn.send_task_heartbeat(taskToken=token)
    output = {"worker": worker_name, "doubled": received["n"] * 2}
    sfn.send_task_success(taskToken=token, output=json.dumps(output))
    handled += 1
print(f"handled {handled}")
sys.exit(0 if handled == int(count) else 1)
'''


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as fake:
        yield fake


def start_server(servers: list[ServeProcess], data_dir: Path, **extra_env: str) -> ServeProcess:
    server = ServeProcess(
        [], base_environment(data_dir, **extra_env), credentials=(ACCESS_KEY_ID, SECRET_KEY)
    )
    servers.append(server)
    return server


def wait_until_finished(sfn: Any, execution_arns: list[str]) -> dict[str, dict[str, Any]]:
    """Describe every execution until none is RUNNING or the deadline passes."""
    described: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + FINISH_TIMEOUT
    for _ in range(400):
        described = {arn: sfn.describe_execution(executionArn=arn) for arn in execution_arns}
        if all(d["status"] != "RUNNING" for d in described.values()):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return described


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    for _ in range(20):
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return events


def test_activity_worker_in_a_separate_process(servers: list[ServeProcess], tmp_path: Path) -> None:
    server = start_server(servers, tmp_path / "data")
    sfn = server.client("stepfunctions")
    activity_arn = sfn.create_activity(name="double-it")["activityArn"]
    definition = {
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Task",
                "Resource": activity_arn,
                "Parameters": {"n.$": "$.n"},
                "HeartbeatSeconds": 15,
                "TimeoutSeconds": 60,
                "End": True,
            }
        },
    }
    machine_arn = sfn.create_state_machine(
        name="activity-acceptance", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    execution_arns = [
        sfn.start_execution(
            stateMachineArn=machine_arn, name=f"run-{n}", input=json.dumps({"n": n})
        )["executionArn"]
        for n in range(EXECUTIONS)
    ]

    script = tmp_path / "activity_worker.py"
    script.write_text(WORKER_SCRIPT, encoding="utf-8")
    worker = subprocess.run(
        [
            sys.executable,
            str(script),
            server.endpoint,
            activity_arn,
            WORKER_NAME,
            str(EXECUTIONS),
            str(WORKER_TIMEOUT - 5),
        ],
        env=base_environment(tmp_path / "worker"),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert worker.stdout.strip() == f"handled {EXECUTIONS}"

    described = wait_until_finished(sfn, execution_arns)
    for n, arn in enumerate(execution_arns):
        assert described[arn]["status"] == "SUCCEEDED", (described[arn], server.stderr_tail())
        assert json.loads(described[arn]["output"]) == {"worker": WORKER_NAME, "doubled": n * 2}
        events = history(sfn, arn)
        kinds = Counter(event["type"] for event in events)
        for kind in ("ActivityScheduled", "ActivityStarted", "ActivitySucceeded"):
            assert kinds[kind] == 1, (kind, [e["type"] for e in events])
        started = next(e for e in events if e["type"] == "ActivityStarted")
        assert started["activityStartedEventDetails"]["workerName"] == WORKER_NAME
        scheduled = next(e for e in events if e["type"] == "ActivityScheduled")
        details = scheduled["activityScheduledEventDetails"]
        assert details["resource"] == activity_arn
        assert details["heartbeatInSeconds"] == 15
        assert json.loads(details["input"]) == {"n": n}
        order = [e["type"] for e in events if e["type"].startswith("Activity")]
        assert order == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    assert server.stop() == 0
    assert "Traceback" not in "".join(server.stderr_lines)


def send_task_success_over_http(endpoint: str, token: str, output: dict[str, Any]) -> int:
    """POST an AWS JSON 1.0 SendTaskSuccess request with the standard library only."""
    request = urllib.request.Request(
        endpoint + "/",
        data=json.dumps({"taskToken": token, "output": json.dumps(output)}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.SendTaskSuccess",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        assert json.loads(body or b"{}") == {}
        return int(response.status)


def test_callback_completed_by_an_http_request_from_outside(
    servers: list[ServeProcess], apis: FakeApis, tmp_path: Path
) -> None:
    server = start_server(servers, tmp_path, STEPLINE_HTTP_ALLOW="127.0.0.0/8")
    sfn = server.client("stepfunctions")
    connection_arn = server.client("events").create_connection(
        Name="callback-api",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {
                "ApiKeyName": "Authorization",
                "ApiKeyValue": f"Bearer {apis.secrets.license_key}",
            }
        },
    )["ConnectionArn"]
    definition = {
        "StartAt": "AskForApproval",
        "States": {
            "AskForApproval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                "Parameters": {
                    "ApiEndpoint": f"{apis.base_url}/echo",
                    "Method": "POST",
                    "Authentication": {"ConnectionArn": connection_arn},
                    "RequestBody": {"callbackToken.$": "$$.Task.Token", "order.$": "$.order"},
                },
                "HeartbeatSeconds": 30,
                "TimeoutSeconds": 60,
                "ResultPath": "$.approval",
                "End": True,
            }
        },
    }
    machine_arn = sfn.create_state_machine(
        name="callback-acceptance", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    execution_arn = sfn.start_execution(
        stateMachineArn=machine_arn, name="approve-1", input=json.dumps({"order": "o-7"})
    )["executionArn"]

    received: list[Any] = []
    deadline = time.monotonic() + FINISH_TIMEOUT
    for _ in range(400):
        received = apis.recorded("/echo")
        if received or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(received) == 1, server.stderr_tail()
    call = received[0]
    assert call.headers["Authorization"] == f"Bearer {apis.secrets.license_key}"
    body = call.json()
    assert body["order"] == "o-7"
    token = body["callbackToken"]
    assert isinstance(token, str) and token
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"

    assert send_task_success_over_http(server.endpoint, token, {"approved": True}) == 200

    described = wait_until_finished(sfn, [execution_arn])[execution_arn]
    assert described["status"] == "SUCCEEDED", (described, server.stderr_tail())
    assert json.loads(described["output"]) == {"order": "o-7", "approval": {"approved": True}}
    kinds = Counter(event["type"] for event in history(sfn, execution_arn))
    assert kinds["TaskSubmitted"] == 1
    assert kinds["TaskSucceeded"] == 1
    assert len(apis.recorded("/echo")) == 1  # the base resource was called once
    assert server.stop() == 0
    output_text = "".join(server.stderr_lines) + server.announcement
    assert apis.secrets.license_key not in output_text
    assert token not in output_text
