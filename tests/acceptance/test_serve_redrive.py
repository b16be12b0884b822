"""A failed execution fixed and redriven to success, against a real ``stepline serve``.

A real ``stepline serve`` process on SQLite runs a workflow of HTTP Tasks against the fake APIs
of ``tests/support`` on 127.0.0.1: a Pass, a task that always answers, an inline Map whose
iterations call one endpoint per item (two of them down; the Map tolerates one failure), and a
confirming task. The execution FAILS at the Map; the broken item endpoints are fixed but the
confirming one breaks, and RedriveExecution runs again only the two failed iterations, then fails
at the confirming task; that one is fixed too, and a second redrive ends SUCCEEDED. The history
keeps every event, shows both ``ExecutionRedriven`` events, and never re-enters a state that had
succeeded; the endpoints saw exactly the calls that had to be made again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from test_serve_crash import _history

from support.fake_apis import FakeApis
from support.serve_process import ServeProcess, base_environment

ROLE_ARN: Final = "arn:aws:iam::123456789012:role/redrive-test"
_DONE_TIMEOUT: Final = 30.0
ITEMS: Final = 4


def _definition(base_url: str, connection_arn: str) -> dict[str, Any]:
    def call(path: str, **extra: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {
                "ApiEndpoint": f"{base_url}/repairable/{path}",
                "Method": "POST",
                "Authentication": {"ConnectionArn": connection_arn},
                "RequestBody": {"step": path},
            },
            "ResultSelector": {"key.$": "$.ResponseBody.key"},
            **extra,
        }

    item_call = call("item", End=True)
    item_call["Parameters"] = {
        **item_call["Parameters"],
        "ApiEndpoint.$": f"States.Format('{base_url}/repairable/item-{{}}', $.n)",
        "RequestBody": {"n.$": "$.n"},
    }
    del item_call["Parameters"]["ApiEndpoint"]
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Pass",
                "Result": "ready",
                "ResultPath": "$.prepared",
                "Next": "Reserve",
            },
            "Reserve": call("reserve", ResultPath="$.reserved", Next="Each"),
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,  # one iteration after the other: which ones ran is known
                "ToleratedFailureCount": 1,
                "ItemProcessor": {"StartAt": "Call", "States": {"Call": item_call}},
                "ResultPath": "$.items",
                "Next": "Confirm",
            },
            "Confirm": call("confirm", ResultPath="$.confirmed", Next="Done"),
            "Done": {"Type": "Succeed"},
        },
    }


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    env = base_environment(tmp_path, STEPLINE_HTTP_ALLOW="127.0.0.0/8")
    process = ServeProcess([], env, credentials=("redrive", "test"))
    try:
        yield process
    finally:
        process.kill()


def _wait_until_done(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + _DONE_TIMEOUT
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError(f"{arn} did not end within {_DONE_TIMEOUT} s")


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
    ]


def _calls(apis: FakeApis) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in apis.recorded("/repairable/"))


def test_a_failed_execution_is_fixed_and_redriven_to_success(
    apis: FakeApis, server: ServeProcess
) -> None:
    sfn = server.client("stepfunctions")
    connection_arn = apis.api_key_connection(server.client("events"), "redrive-test")
    machine_arn = sfn.create_state_machine(
        name="redrive-test",
        definition=json.dumps(_definition(apis.base_url, connection_arn)),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]

    apis.broken |= {"item-1", "item-3"}
    arn = sfn.start_execution(
        stateMachineArn=machine_arn,
        input=json.dumps({"items": [{"n": n} for n in range(ITEMS)]}),
    )["executionArn"]
    failed = _wait_until_done(sfn, arn)
    assert failed["status"] == "FAILED", failed
    assert failed["error"] == "States.ExceedToleratedFailureThreshold"
    assert failed["redriveStatus"] == "REDRIVABLE"
    first = _history(sfn, arn)
    assert _calls(apis) == Counter(
        {"reserve": 1, "item-0": 1, "item-1": 1, "item-2": 1, "item-3": 1}
    )

    # The items' endpoint is fixed; the confirming one goes down.
    apis.broken = {"confirm"}
    sfn.redrive_execution(executionArn=arn)
    again = _wait_until_done(sfn, arn)
    assert again["status"] == "FAILED", again
    assert again["error"] == "States.Http.StatusCode.500"
    assert again["redriveCount"] == 1
    second = _history(sfn, arn)
    assert second[: len(first)] == first
    assert second[len(first)]["type"] == "ExecutionRedriven"
    assert second[len(first)]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    # Only the two failed iterations ran again (from their failed state), then Confirm.
    assert _entered(second[len(first) :]) == ["Call", "Call", "Confirm"]
    assert _calls(apis) == Counter(
        {"reserve": 1, "item-0": 1, "item-1": 2, "item-2": 1, "item-3": 2, "confirm": 1}
    )

    apis.broken = set()
    redriven = sfn.redrive_execution(executionArn=arn)
    done = _wait_until_done(sfn, arn)
    assert done["status"] == "SUCCEEDED", done
    assert (done["redriveCount"], done["redriveDate"]) == (2, redriven["redriveDate"])
    output = json.loads(done["output"])
    assert output["items"] == [{"key": f"item-{n}"} for n in range(ITEMS)]
    assert output["confirmed"] == {"key": "confirm"}
    assert output["reserved"] == {"key": "reserve"}
    events = _history(sfn, arn)
    assert events[: len(second)] == second
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types.count("ExecutionRedriven") == 2
    assert _entered(events[len(second) :]) == ["Confirm", "Done"]
    entered = Counter(_entered(events))
    assert (entered["Prepare"], entered["Reserve"], entered["Each"]) == (1, 1, 1)
    assert _calls(apis)["reserve"] == 1 and _calls(apis)["confirm"] == 2
    listed = sfn.list_executions(stateMachineArn=machine_arn, redriveFilter="REDRIVEN")
    assert [item["executionArn"] for item in listed["executions"]] == [arn]
