"""RedriveExecution of a parent whose Distributed Map failed, end to end with boto3.

The children call an HTTP endpoint of the fake APIs (``tests/support/fake_apis.py``) per item;
some endpoints are down, so more children fail than the Map tolerates and the parent FAILS.
The endpoints are repaired and the parent redriven: its map run is redriven
(``MapRunRedriven``, not a second ``MapRunStarted``), only the unsuccessful children run again,
the succeeded ones keep their results, and the parent SUCCEEDS with every result in item order.
Also: a parent stopped, or timed out, while its map run ran is redriven the same way (the map
run was ABORTED).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from _service_kit import ServiceServer, unique
from test_service_executions import create_machine, history, wait_until_done
from test_service_map_runs import only_map_run, start

from support.fake_apis import FakeApis

RUN_ON_POSTGRES = True
SERVICE_ENVIRON = {"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"}
ITEMS = 5


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


@pytest.fixture(scope="module")
def connection(service: ServiceServer, apis: FakeApis) -> str:
    return apis.api_key_connection(service.events, unique("map-redrive"))


def _definition(
    apis: FakeApis,
    connection: str,
    key: str,
    *,
    execution_type: str = "STANDARD",
    before_call: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A parent whose Distributed Map calls ``/repairable/<key>-<n>`` per item in turn
    (tolerating one failure), then a Pass; ``before_call`` states run first in each child."""
    call = {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint.$": f"States.Format('{apis.base_url}/repairable/{key}-{{}}', $.n)",
            "Method": "POST",
            "Authentication": {"ConnectionArn": connection},
            "RequestBody": {"n.$": "$.n"},
        },
        "ResultSelector": {"n.$": "$.ResponseBody.body.n"},
        "End": True,
    }
    states = {**(before_call or {}), "Call": call}
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ToleratedFailureCount": 1,
                # One child after the other: the second failure (the last item) exceeds the
                # tolerance when every other child has ended, so the counts are known.
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                    "StartAt": next(iter(states)),
                    "States": states,
                },
                "ResultPath": "$.results",
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "OutputPath": "$.results", "End": True},
        },
        **top,
    }


def _items() -> dict[str, Any]:
    return {"items": [{"n": n} for n in range(ITEMS)]}


def _calls(apis: FakeApis, key: str) -> Counter[int]:
    prefix = f"/repairable/{key}-"
    return Counter(int(r.path[len(prefix) :]) for r in apis.recorded(prefix))


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(Exception) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]  # type: ignore[attr-defined]
    return error["Code"], error["Message"]


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def _children(service: ServiceServer, map_run: str) -> list[dict[str, Any]]:
    page = service.sfn.list_executions(mapRunArn=map_run, maxResults=1000)
    return list(page["executions"])


@pytest.mark.parametrize("execution_type", ["STANDARD", "EXPRESS"])
def test_a_failed_map_run_is_redriven_with_its_parent(
    service: ServiceServer, apis: FakeApis, connection: str, execution_type: str
) -> None:
    key = unique("item")
    machine = create_machine(
        service, _definition(apis, connection, key, execution_type=execution_type)
    )
    apis.broken |= {f"{key}-3", f"{key}-4"}
    arn = start(service, machine, _items())
    failed = wait_until_done(service, arn)
    assert failed["status"] == "FAILED", failed
    assert failed["error"] == "States.ExceedToleratedFailureThreshold"
    assert failed["redriveStatus"] == "REDRIVABLE"
    assert _calls(apis, key) == Counter(range(ITEMS))
    map_run = only_map_run(service, arn)
    before = service.sfn.describe_map_run(mapRunArn=map_run)
    assert before["status"] == "FAILED" and before["redriveCount"] == 0
    assert before["itemCounts"]["failed"] == 2 and before["itemCounts"]["succeeded"] == 3
    first_children = _children(service, map_run) if execution_type == "STANDARD" else []
    if first_children:
        assert len(first_children) == ITEMS
        failed_child = next(c for c in first_children if c["status"] == "FAILED")
        described = service.sfn.describe_execution(executionArn=failed_child["executionArn"])
        assert described["redriveStatus"] == "REDRIVABLE_BY_MAP_RUN"
        assert "redriveStatusReason" not in described
        code, message = _error(
            service.sfn.redrive_execution, executionArn=failed_child["executionArn"]
        )
        assert code == "ExecutionNotRedrivable"
        assert map_run in message and "redrive its parent" in message

    apis.broken -= {f"{key}-3", f"{key}-4"}
    service.sfn.redrive_execution(executionArn=arn)
    done = wait_until_done(service, arn)
    assert done["status"] == "SUCCEEDED", done
    assert done["redriveCount"] == 1
    assert json.loads(done["output"]) == [{"n": n} for n in range(ITEMS)]
    # Only the two failed items were called again.
    assert _calls(apis, key) == Counter({0: 1, 1: 1, 2: 1, 3: 2, 4: 2})

    assert only_map_run(service, arn) == map_run
    after = service.sfn.describe_map_run(mapRunArn=map_run)
    assert after["status"] == "SUCCEEDED"
    assert after["redriveCount"] == 1 and "redriveDate" in after
    assert after["redriveDate"] >= before["startDate"]
    items = after["itemCounts"]
    assert (items["total"], items["succeeded"], items["failed"], items["pending"]) == (
        ITEMS,
        ITEMS,
        0,
        0,
    )
    assert items["failuresNotRedrivable"] == 0 and items["pendingRedrive"] == 0
    runs = after["executionCounts"]
    assert (runs["succeeded"], runs["failed"], runs["running"], runs["pending"]) == (
        ITEMS,
        0,
        0,
        0,
    )
    events = history(service, arn)
    types = _types(events)
    assert types.count("MapRunStarted") == 1
    assert types.count("MapRunRedriven") == 1
    assert types.index("ExecutionRedriven") < types.index("MapRunRedriven")
    redriven = events[types.index("MapRunRedriven")]
    assert redriven["mapRunRedrivenEventDetails"] == {"mapRunArn": map_run, "redriveCount": 1}
    assert types[-1] == "ExecutionSucceeded"

    if first_children:
        children = {c["executionArn"]: c for c in _children(service, map_run)}
        # AWS redrives Standard children in place: the same executions, redriveCount 1 on
        # the two that had failed.
        assert set(children) == {c["executionArn"] for c in first_children}
        for child in first_children:
            again = service.sfn.describe_execution(executionArn=child["executionArn"])
            assert again["status"] == "SUCCEEDED"
            assert again["redriveCount"] == (1 if child["status"] == "FAILED" else 0)
