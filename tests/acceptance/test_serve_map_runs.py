"""Distributed Map against a real ``stepline serve`` (SQLite), driven by boto3.

- A Map over 10,000 items with EXPRESS children, one item in a hundred failing: within its
  ToleratedFailurePercentage the execution succeeds; a second execution with a tighter
  ToleratedFailureCount fails with ``States.ExceedToleratedFailureThreshold``. DescribeMapRun's
  counts are checked for both.
- A map run of STANDARD children that wait survives the server's end (SIGTERM, and ``kill -9``):
  a new server on the same database finishes it, every child ran exactly once, and the map run
  and its parent record their outcome once.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from support.serve_process import ServeProcess, base_environment

ROLE_ARN: Final = "arn:aws:iam::123456789012:role/map-runs"
ITEMS: Final = 10_000
CHILDREN: Final = 12
_BOUND_SECONDS: Final = 60.0


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.kill()


def _start(data_dir: Path, servers: list[ServeProcess]) -> ServeProcess:
    # A short lease, so that what the killed server held is taken over within seconds.
    env = base_environment(data_dir, STEPLINE_LEASE_SECONDS="2")
    server = ServeProcess([], env, credentials=("maps", "test"))
    servers.append(server)
    return server


def _wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + _BOUND_SECONDS
    for _ in range(1_000_000):
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _finished(sfn: Any, arn: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=arn)
        return None if described["status"] == "RUNNING" else dict(described)

    return dict(_wait_until(done, f"{arn} to finish"))


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    request: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    for _ in range(100):
        page = sfn.get_execution_history(**request)
        events.extend(page["events"])
        if "nextToken" not in page:
            return events
        request["nextToken"] = page["nextToken"]
    raise AssertionError("history paging did not end")


def _map_run(sfn: Any, execution_arn: str) -> str:
    runs = _wait_until(
        lambda: sfn.list_map_runs(executionArn=execution_arn)["mapRuns"], "the map run"
    )
    assert len(runs) == 1
    return str(runs[0]["mapRunArn"])


def _every_hundredth_fails(**tolerance: Any) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [
                                {"Condition": "{% $states.input % 100 = 0 %}", "Next": "Boom"}
                            ],
                            "Default": "Keep",
                        },
                        "Boom": {"Type": "Fail", "Error": "Unlucky", "Cause": "a multiple of 100"},
                        "Keep": {"Type": "Pass", "End": True},
                    },
                },
                "Output": "{% $count($states.result) %}",
                "End": True,
                **tolerance,
            }
        },
    }


def test_ten_thousand_items_with_tolerated_failures(
    tmp_path: Path, servers: list[ServeProcess]
) -> None:
    server = _start(tmp_path, servers)
    sfn = server.client("stepfunctions")
    items = json.dumps({"items": list(range(ITEMS))})

    tolerant = sfn.create_state_machine(
        name="tolerant",
        definition=json.dumps(_every_hundredth_fails(ToleratedFailurePercentage=2)),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=tolerant, input=items)["executionArn"]
    described = _finished(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == ITEMS
    run = sfn.describe_map_run(mapRunArn=_map_run(sfn, execution))
    assert run["status"] == "SUCCEEDED"
    assert run["toleratedFailurePercentage"] == 2.0
    for counts in (run["itemCounts"], run["executionCounts"]):
        assert counts["total"] == ITEMS
        assert counts["failed"] == ITEMS // 100
        assert counts["succeeded"] == ITEMS - ITEMS // 100
        assert counts["pending"] == counts["running"] == counts["aborted"] == 0
    types = [event["type"] for event in _history(sfn, execution)]
    assert types.count("MapRunStarted") == types.count("MapRunSucceeded") == 1

    strict = sfn.create_state_machine(
        name="strict",
        definition=json.dumps(_every_hundredth_fails(ToleratedFailureCount=10)),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=strict, input=items)["executionArn"]
    described = _finished(sfn, execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    run = sfn.describe_map_run(mapRunArn=_map_run(sfn, execution))
    assert run["status"] == "FAILED"
    assert run["toleratedFailureCount"] == 10
    counts = run["itemCounts"]
    # The run fails once the threshold is exceeded: one batch of outcomes is counted first.
    assert 10 < counts["failed"] < ITEMS // 100
    assert counts["total"] == ITEMS
    assert counts["pending"] == counts["running"] == 0
    assert counts["succeeded"] + counts["failed"] + counts["aborted"] == ITEMS
    assert server.stop() == 0


def _waiting_children() -> dict[str, Any]:
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "MaxConcurrency": CHILDREN // 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Hold",
                    "States": {
                        "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                        "Done": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill-9"])
def test_a_map_run_survives_the_server_stopping(
    tmp_path: Path, servers: list[ServeProcess], how: signal.Signals
) -> None:
    first = _start(tmp_path, servers)
    sfn = first.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="waiting", definition=json.dumps(_waiting_children()), roleArn=ROLE_ARN
    )["stateMachineArn"]
    items = json.dumps([{"n": n} for n in range(CHILDREN)])
    execution = sfn.start_execution(stateMachineArn=machine, input=items)["executionArn"]
    map_run = _map_run(sfn, execution)
    _wait_until(
        lambda: sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]["running"] > 0,
        "children to run",
    )
    before = sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]
    assert before["succeeded"] < CHILDREN  # the kill comes mid-run
    if how == signal.SIGKILL:
        first.kill()
    else:
        assert first.stop(how) == 0

    second = _start(tmp_path, servers)
    sfn = second.client("stepfunctions")
    described = _finished(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"n": n} for n in range(CHILDREN)]
    run = sfn.describe_map_run(mapRunArn=map_run)
    assert run["status"] == "SUCCEEDED"
    assert run["executionCounts"]["succeeded"] == run["executionCounts"]["total"] == CHILDREN

    children = sfn.list_executions(mapRunArn=map_run, maxResults=1000)["executions"]
    assert len(children) == CHILDREN  # none started twice
    for child in children:
        assert child["status"] == "SUCCEEDED"
        types = [event["type"] for event in _history(sfn, child["executionArn"])]
        assert types.count("ExecutionStarted") == 1
        assert types.count("WaitStateEntered") == 1
        assert types.count("ExecutionSucceeded") == 1
    parent = [event["type"] for event in _history(sfn, execution)]
    assert parent.count("MapRunStarted") == 1
    assert parent.count("MapRunSucceeded") == 1
    assert parent.count("ExecutionSucceeded") == 1
    assert second.stop() == 0
