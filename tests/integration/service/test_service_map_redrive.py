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
from test_service_map_runs import only_map_run, start, wait_for

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
    max_concurrency: int = 1,
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
                # 1: one child after the other, so a failure of the last item exceeds the
                # tolerance when every other child has ended (the counts are known).
                "MaxConcurrency": max_concurrency,
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
            child_types = _types(history(service, child["executionArn"]))
            assert child_types.count("ExecutionRedriven") == again["redriveCount"]
            assert child_types[-1] == "ExecutionSucceeded"


# A child's first run waits a minute (long enough to be stopped or timed out); redriven, its
# RedriveCount is 1 and it goes on at once. Standard children only: an Express child is
# started anew by a redrive (RedriveCount 0), so it would wait again.
_SLOW_FIRST_RUN = {
    "Hold": {
        "Type": "Wait",
        "QueryLanguage": "JSONata",
        "Seconds": "{% $states.context.Execution.RedriveCount = 0 ? 60 : 0 %}",
        "Next": "Call",
    }
}


def _aborted_map_run(service: ServiceServer, arn: str) -> tuple[str, list[dict[str, Any]]]:
    """The ABORTED map run of ``arn`` (ended), and its children (all ABORTED)."""
    map_run = only_map_run(service, arn)
    described = wait_for(
        lambda: (
            run
            if (run := service.sfn.describe_map_run(mapRunArn=map_run))["status"] != "RUNNING"
            else None
        ),
        "the map run to end",
    )
    assert described["status"] == "ABORTED"

    def all_aborted() -> list[dict[str, Any]] | None:
        found = _children(service, map_run)
        return found if all(c["status"] == "ABORTED" for c in found) else None

    children: list[dict[str, Any]] = wait_for(all_aborted, "the children to be aborted")
    assert len(children) == 3
    return map_run, children


def _redriven_to_success(
    service: ServiceServer,
    apis: FakeApis,
    key: str,
    arn: str,
    map_run: str,
    children: list[dict[str, Any]],
) -> None:
    """Redrive ``arn`` and check its map run and children were redriven (not restarted)."""
    service.sfn.redrive_execution(executionArn=arn)
    done = wait_until_done(service, arn)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"n": n} for n in range(3)]
    assert _calls(apis, key) == Counter(range(3))  # the first run never called
    after = service.sfn.describe_map_run(mapRunArn=map_run)
    assert (after["status"], after["redriveCount"]) == ("SUCCEEDED", 1)
    assert after["itemCounts"]["succeeded"] == 3 and after["itemCounts"]["aborted"] == 0
    assert sorted(c["executionArn"] for c in _children(service, map_run)) == sorted(
        c["executionArn"] for c in children
    )
    for child in children:
        again = service.sfn.describe_execution(executionArn=child["executionArn"])
        assert (again["status"], again["redriveCount"]) == ("SUCCEEDED", 1)
    types = _types(history(service, arn))
    assert types.count("MapRunStarted") == 1
    assert types.index("ExecutionRedriven") < types.index("MapRunRedriven")


def test_a_parent_stopped_during_its_map_run_is_redriven(
    service: ServiceServer, apis: FakeApis, connection: str
) -> None:
    key = unique("stopped")
    definition = _definition(apis, connection, key, before_call=_SLOW_FIRST_RUN, max_concurrency=0)
    arn = start(
        service, create_machine(service, definition), {"items": [{"n": n} for n in range(3)]}
    )

    def children_running() -> bool:
        runs = service.sfn.list_map_runs(executionArn=arn)["mapRuns"]
        statuses = [c["status"] for run in runs for c in _children(service, run["mapRunArn"])]
        return statuses == ["RUNNING"] * 3

    wait_for(children_running, "the children to start")
    service.sfn.stop_execution(executionArn=arn, error="Ops", cause="stopped to test")
    assert wait_until_done(service, arn)["status"] == "ABORTED"
    map_run, children = _aborted_map_run(service, arn)
    _redriven_to_success(service, apis, key, arn, map_run, children)


def test_a_parent_timed_out_during_its_map_run_is_redriven(
    service: ServiceServer, apis: FakeApis, connection: str
) -> None:
    key = unique("timeout")
    definition = _definition(
        apis, connection, key, before_call=_SLOW_FIRST_RUN, max_concurrency=0, TimeoutSeconds=2
    )
    arn = start(
        service, create_machine(service, definition), {"items": [{"n": n} for n in range(3)]}
    )
    timed_out = wait_until_done(service, arn)
    assert timed_out["status"] == "TIMED_OUT", timed_out
    assert timed_out["redriveStatus"] == "REDRIVABLE"
    map_run, children = _aborted_map_run(service, arn)
    _redriven_to_success(service, apis, key, arn, map_run, children)


def test_a_map_run_redriven_too_often_fails_the_map_state(
    service: ServiceServer, apis: FakeApis, connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS redrives one Map Run at most 1,000 times; a parent redriven beyond that fails its Map
    state with ``States.Runtime`` (the limit is lowered to 1 here)."""
    from stepline.service import _map_run_start

    monkeypatch.setattr(_map_run_start, "MAX_MAP_RUN_REDRIVES", 1)
    key = unique("limit")
    machine = create_machine(service, _definition(apis, connection, key, execution_type="EXPRESS"))
    apis.broken |= {f"{key}-3", f"{key}-4"}  # never repaired
    arn = start(service, machine, _items())
    assert wait_until_done(service, arn)["error"] == "States.ExceedToleratedFailureThreshold"
    service.sfn.redrive_execution(executionArn=arn)
    assert wait_until_done(service, arn)["error"] == "States.ExceedToleratedFailureThreshold"
    map_run = only_map_run(service, arn)
    assert service.sfn.describe_map_run(mapRunArn=map_run)["redriveCount"] == 1
    service.sfn.redrive_execution(executionArn=arn)
    failed = wait_until_done(service, arn)
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Runtime")
    assert map_run in failed["cause"] and "redriven 1 times" in failed["cause"]
    assert service.sfn.describe_map_run(mapRunArn=map_run)["redriveCount"] == 1
    assert _calls(apis, key) == Counter({0: 1, 1: 1, 2: 1, 3: 2, 4: 2})
