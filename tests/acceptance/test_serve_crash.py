"""``kill -9`` of ``stepline serve`` mid-flight: every execution finishes, no state runs twice.

Issue #5's crash test. A real ``stepline serve`` process on SQLite (its own temporary
``STEPLINE_DATA_DIR``) runs 200 Standard executions of a workflow with HTTP Tasks (against the
fake APIs of ``tests/support`` on 127.0.0.1, a slow endpoint so that calls are in flight), a Wait
of 1 or 2 seconds, and a Parallel holding a Map. As soon as the first executions have succeeded
— the 2-second ones are still waiting, others are in the middle of a task — the server gets
SIGKILL, and a new server starts on the same data directory. Then every execution must succeed
with a history in which:

- event ids run 1..n without a gap and every ``previousEventId`` names an earlier event;
- exactly the states the definition enters were entered, each exactly once per entry the
  definition makes (the workflow does not loop; Map iterations enter their state once per item);
- each task state recorded exactly one ``TaskSucceeded`` (a task whose result was not committed
  before the kill runs again, at-least-once, but its result is recorded once).

Executions held under a lease by the killed process wait for the lease to expire (30 s) before
the new server takes them over, which bounds the test's length.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from support.fake_apis import FakeApis
from support.histories import full_history, history_problems, list_executions
from support.serve_process import ServeProcess, base_environment

EXECUTIONS: Final = 200
ITEMS: Final = ("a", "b", "c")
ROLE_ARN: Final = "arn:aws:iam::123456789012:role/crash-test"
# Leases of the killed server expire after 30 s (ServiceConfig.lease_seconds); then a few
# seconds to finish.
_FINISH_TIMEOUT: Final = 55.0


def _definition(base_url: str, connection_arn: str) -> dict[str, Any]:
    auth = {"ConnectionArn": connection_arn}
    return {
        "Comment": "HTTP Task, Wait, Parallel with a Map, HTTP Task; no loops",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Pass",
                "Result": "prepared",
                "ResultPath": "$.prepared",
                "Next": "Reserve",
            },
            "Reserve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint": f"{base_url}/slow",
                    "Method": "POST",
                    "Authentication": auth,
                    "RequestBody": {"step": "reserve"},
                },
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "ResultSelector": {"ok.$": "$.ResponseBody.ok"},
                "ResultPath": "$.reserved",
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Left",
                        "States": {"Left": {"Type": "Pass", "Result": "left", "End": True}},
                    },
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "ItemsPath": "$.items",
                                "ItemProcessor": {
                                    "ProcessorConfig": {"Mode": "INLINE"},
                                    "StartAt": "Item",
                                    "States": {"Item": {"Type": "Pass", "End": True}},
                                },
                                "End": True,
                            }
                        },
                    },
                ],
                "ResultPath": "$.fan",
                "Next": "Confirm",
            },
            "Confirm": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint": f"{base_url}/slow",
                    "Method": "POST",
                    "Authentication": auth,
                    "RequestBody": {"step": "confirm"},
                },
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "ResultSelector": {"ok.$": "$.ResponseBody.ok"},
                "ResultPath": "$.confirmed",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


# Every state the definition enters, and how often, for one execution (Map: once per item).
EXPECTED_ENTERED: Final = Counter(
    {
        "Prepare": 1,
        "Reserve": 1,
        "Nap": 1,
        "Fan": 1,
        "Left": 1,
        "Each": 1,
        "Item": len(ITEMS),
        "Confirm": 1,
        "Done": 1,
    }
)
TASK_STATES: Final = ("Reserve", "Confirm")


# ----------------------------------------------------------------------------- the server


def _start_server(data_dir: Path) -> ServeProcess:
    """``stepline serve`` on a free port of 127.0.0.1 with its own data directory."""
    env = base_environment(data_dir, STEPLINE_HTTP_ALLOW="127.0.0.0/8")
    return ServeProcess([], env, credentials=("crash", "test"))


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.kill()


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        server.slow_seconds = 0.3  # long enough that the kill finds tasks in flight
        yield server


# -------------------------------------------------------------------------------- the test


def test_kill_9_mid_flight_then_every_execution_finishes_once(
    tmp_path: Path, servers: list[ServeProcess], apis: FakeApis
) -> None:
    first = _start_server(tmp_path)
    servers.append(first)
    sfn = first.client("stepfunctions", max_pool_connections=20)
    events = first.client("events", max_pool_connections=20)
    connection_arn = events.create_connection(
        Name="crash-test",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {
                "ApiKeyName": "Authorization",
                "ApiKeyValue": f"Bearer {apis.secrets.license_key}",
            }
        },
    )["ConnectionArn"]
    machine_arn = sfn.create_state_machine(
        name="crash-test",
        definition=json.dumps(_definition(apis.base_url, connection_arn)),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]

    started: list[str] = []
    for index in range(EXECUTIONS):
        reply = sfn.start_execution(
            stateMachineArn=machine_arn,
            name=f"run-{index:03d}",
            input=json.dumps({"index": index, "wait": 1 + index % 2, "items": list(ITEMS)}),
        )
        started.append(reply["executionArn"])

    # Kill as soon as some have succeeded (the 2-second waits are still waiting then).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if list_executions(sfn, machine_arn, "SUCCEEDED"):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"no execution succeeded within 20 s: {''.join(first.stderr_lines)[-3000:]}")
    first.kill()
    killed_at = time.time()

    second = _start_server(tmp_path)
    servers.append(second)
    sfn = second.client("stepfunctions", max_pool_connections=20)
    deadline = time.monotonic() + _FINISH_TIMEOUT
    while time.monotonic() < deadline:
        if not list_executions(sfn, machine_arn, "RUNNING"):
            break
        time.sleep(0.2)
    executions = {item["executionArn"]: item for item in list_executions(sfn, machine_arn)}
    running = [arn for arn, item in executions.items() if item["status"] == "RUNNING"]
    assert not running, (
        f"{len(running)} executions still running {_FINISH_TIMEOUT:.0f} s after the restart: "
        f"{running[:5]}; server log: {''.join(second.stderr_lines)[-3000:]}"
    )

    assert sorted(executions) == sorted(started)
    statuses = Counter(item["status"] for item in executions.values())
    assert statuses == Counter({"SUCCEEDED": EXECUTIONS}), statuses
    stopped_before = sum(
        1 for item in executions.values() if item["stopDate"].timestamp() < killed_at
    )
    # The kill was mid-flight: some had finished before it, some finished only afterwards.
    assert 0 < stopped_before < EXECUTIONS, stopped_before

    problems: list[str] = []
    for arn in started:
        history = full_history(sfn, arn)
        problems.extend(history_problems(arn, history, EXPECTED_ENTERED, TASK_STATES))
        if history[-1]["type"] == "ExecutionSucceeded":
            output = json.loads(history[-1]["executionSucceededEventDetails"]["output"])
            if output.get("reserved") != {"ok": True} or output.get("confirmed") != {"ok": True}:
                problems.append(f"{arn}: output {output}")
    assert not problems, "\n".join(problems[:20])
    # Every execution called the API twice; calls whose result was lost in the kill ran again.
    calls = sum(1 for request in apis.requests if request.path == "/slow")
    assert calls >= 2 * EXECUTIONS
    assert second.stop() == 0
