"""Distributed Map through the service, with boto3: map runs and their child executions.

A ``Map`` state with ``ProcessorConfig.Mode: DISTRIBUTED`` starts a map run (``MapRunStarted``
in the parent's history, no ``MapIteration*`` events), whose children are STANDARD executions
(listable by ``mapRunArn``, each with its own history) or EXPRESS ones (counted only); the map
run's outcome comes back as ``MapRunSucceeded``/``MapRunFailed``; DescribeMapRun, ListMapRuns
and UpdateMapRun answer as AWS does.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from _service_kit import ServiceServer
from test_service_executions import create_machine, history, wait_until_done

_BOUND_SECONDS = 20.0
RUN_ON_POSTGRES = True  # map runs on every backend (PostgreSQL when configured)


def distributed_map(
    processor_states: dict[str, Any],
    *,
    execution_type: str = "STANDARD",
    start_at: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": start_at or next(iter(processor_states)),
            "States": processor_states,
        },
        **fields,
    }


def machine(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "Fan", "States": {"Fan": {**state, "End": True}}, **top}


DOUBLE = {
    "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": True}
}
FAIL_ODD = {
    "Odd?": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.odd", "BooleanEquals": True, "Next": "Boom"}],
        "Default": "Ok",
    },
    "Boom": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
    "Ok": {"Type": "Pass", "End": True},
}


def start(server: ServiceServer, machine_arn: str, value: Any) -> str:
    answer = server.sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(value))
    return str(answer["executionArn"])


def run(server: ServiceServer, machine_arn: str, value: Any) -> dict[str, Any]:
    return wait_until_done(server, start(server, machine_arn, value))


def only_map_run(server: ServiceServer, execution_arn: str) -> str:
    runs = server.sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    assert len(runs) == 1, runs
    assert runs[0]["executionArn"] == execution_arn
    return str(runs[0]["mapRunArn"])


def wait_for(predicate: Any, what: str) -> Any:
    deadline = time.monotonic() + _BOUND_SECONDS
    for _ in range(100_000):
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_standard_children_are_listable_executions(service: ServiceServer) -> None:
    definition = machine(
        distributed_map(
            DOUBLE,
            ItemsPath="$.items",
            ItemSelector={"n.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index"},
            Label="Doubler",
            ResultPath="$.doubled",
        )
    )
    arn = create_machine(service, definition)
    described = run(service, arn, {"items": [1, 2, 3]})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {
        "items": [1, 2, 3],
        "doubled": [{"n": 2}, {"n": 4}, {"n": 6}],
    }
    execution_arn = described["executionArn"]
    types = [event["type"] for event in history(service, execution_arn)]
    assert types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    map_run_arn = only_map_run(service, execution_arn)
    name = arn.rsplit(":", 1)[-1]
    assert map_run_arn.startswith(f"{arn.rsplit(':', 2)[0]}:mapRun:{name}/Doubler:")
    started = next(e for e in history(service, execution_arn) if e["type"] == "MapRunStarted")
    assert started["mapRunStartedEventDetails"] == {"mapRunArn": map_run_arn}

    run_info = service.sfn.describe_map_run(mapRunArn=map_run_arn)
    assert run_info["status"] == "SUCCEEDED"
    assert run_info["executionArn"] == execution_arn
    assert run_info["stopDate"] >= run_info["startDate"]
    for counts in (run_info["itemCounts"], run_info["executionCounts"]):
        assert counts == {
            "pending": 0,
            "running": 0,
            "succeeded": 3,
            "failed": 0,
            "timedOut": 0,
            "aborted": 0,
            "total": 3,
            "resultsWritten": 0,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        }

    children = service.sfn.list_executions(mapRunArn=map_run_arn)["executions"]
    assert len(children) == 3
    labelled = arn.replace(f":stateMachine:{name}", f":stateMachine:{name}/Doubler")
    for child in children:
        assert child["mapRunArn"] == map_run_arn
        assert child["itemCount"] == 1
        assert child["stateMachineArn"] == labelled
        assert f":execution:{name}/Doubler:" in child["executionArn"]
    child = service.sfn.describe_execution(executionArn=children[0]["executionArn"])
    assert child["mapRunArn"] == map_run_arn
    assert child["status"] == "SUCCEEDED"
    child_types = [e["type"] for e in history(service, child["executionArn"])]
    assert child_types[0] == "ExecutionStarted" and child_types[-1] == "ExecutionSucceeded"
    machine_of = service.sfn.describe_state_machine_for_execution(
        executionArn=child["executionArn"]
    )
    assert machine_of["mapRunArn"] == map_run_arn
    assert machine_of["label"] == "Doubler"
    assert json.loads(machine_of["definition"])["States"] == DOUBLE
    # The parent's state machine does not list its children (they run the labelled one).
    listed = service.sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == [execution_arn]


def test_express_children_with_batches_are_counted_not_listed(service: ServiceServer) -> None:
    processor = {
        "Sum": {
            "Type": "Pass",
            "Parameters": {"count.$": "States.ArrayLength($.Items)", "tag.$": "$.BatchInput.tag"},
            "End": True,
        }
    }
    arn = create_machine(
        service,
        machine(
            distributed_map(
                processor,
                execution_type="EXPRESS",
                ItemsPath="$.items",
                ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
            )
        ),
    )
    described = run(service, arn, {"tag": "t", "items": [1, 2, 3, 4, 5]})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [
        {"count": 2, "tag": "t"},
        {"count": 2, "tag": "t"},
        {"count": 1, "tag": "t"},
    ]
    map_run_arn = only_map_run(service, described["executionArn"])
    run_info = service.sfn.describe_map_run(mapRunArn=map_run_arn)
    assert run_info["itemCounts"]["succeeded"] == run_info["itemCounts"]["total"] == 5
    assert run_info["executionCounts"]["succeeded"] == 3
    assert run_info["executionCounts"]["total"] == 3
    assert service.sfn.list_executions(mapRunArn=map_run_arn)["executions"] == []


@pytest.mark.parametrize("execution_type", ["STANDARD", "EXPRESS"])
def test_failures_within_tolerance_stand_in_their_slots(
    service: ServiceServer, execution_type: str
) -> None:
    definition = machine(
        distributed_map(FAIL_ODD, execution_type=execution_type, ToleratedFailureCount=2)
    )
    arn = create_machine(service, definition)
    items = [{"odd": index % 2 == 1} for index in range(4)]
    described = run(service, arn, items)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output[0] == {"odd": False}
    assert output[1] == {"Error": "Odd", "Cause": "odd item"}
    run_info = service.sfn.describe_map_run(
        mapRunArn=only_map_run(service, described["executionArn"])
    )
    assert run_info["toleratedFailureCount"] == 2
    assert run_info["itemCounts"]["failed"] == 2
    assert run_info["itemCounts"]["succeeded"] == 2


@pytest.mark.parametrize("execution_type", ["STANDARD", "EXPRESS"])
def test_failures_over_tolerance_fail_the_map_run(
    service: ServiceServer, execution_type: str
) -> None:
    definition = machine(
        distributed_map(
            FAIL_ODD, execution_type=execution_type, ToleratedFailurePercentage=20, MaxConcurrency=2
        )
    )
    arn = create_machine(service, definition)
    described = run(service, arn, [{"odd": index % 2 == 1} for index in range(6)])
    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    events = history(service, described["executionArn"])
    failed = next(e for e in events if e["type"] == "MapRunFailed")
    assert failed["mapRunFailedEventDetails"]["error"] == "States.ExceedToleratedFailureThreshold"
    assert "tolerated failure threshold" in failed["mapRunFailedEventDetails"]["cause"]
    types = [e["type"] for e in events]
    assert types[-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    run_info = service.sfn.describe_map_run(
        mapRunArn=only_map_run(service, described["executionArn"])
    )
    assert run_info["status"] == "FAILED"
    assert run_info["toleratedFailurePercentage"] == 20.0
    assert run_info["itemCounts"]["failed"] >= 2


def test_a_failure_without_threshold_is_caught_as_exceeding_it(service: ServiceServer) -> None:
    state = distributed_map(
        FAIL_ODD,
        Catch=[{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Caught"}],
    )
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {**state, "End": True},
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    arn = create_machine(service, definition)
    described = run(service, arn, [{"odd": True}])
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["Error"] == "States.ExceedToleratedFailureThreshold"


def test_jsonata_distributed_map(service: ServiceServer) -> None:
    processor = {
        "Square": {"Type": "Pass", "Output": "{% $states.input.v * $states.input.v %}", "End": True}
    }
    definition = machine(
        distributed_map(
            processor,
            execution_type="EXPRESS",
            Items="{% $states.input.values %}",
            ItemSelector={"v": "{% $states.context.Map.Item.Value %}"},
            Output="{% $sum($states.result) %}",
        ),
        QueryLanguage="JSONata",
    )
    arn = create_machine(service, definition)
    described = run(service, arn, {"values": [1, 2, 3]})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == 14


WAIT_THEN_PASS = {
    "Hold": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Done"},
    "Done": {"Type": "Pass", "End": True},
}


def test_max_concurrency_bounds_running_children_and_update_map_run_raises_it(
    service: ServiceServer,
) -> None:
    definition = machine(distributed_map(WAIT_THEN_PASS, MaxConcurrency=1))
    arn = create_machine(service, definition)
    execution_arn = start(service, arn, [{"wait": 1}] * 4)
    map_run_arn = wait_for(
        lambda: service.sfn.list_map_runs(executionArn=execution_arn)["mapRuns"],
        "the map run",
    )[0]["mapRunArn"]
    described = service.sfn.describe_map_run(mapRunArn=map_run_arn)
    assert described["maxConcurrency"] == 1
    assert described["executionCounts"]["running"] <= 1
    service.sfn.update_map_run(mapRunArn=map_run_arn, maxConcurrency=4, toleratedFailureCount=3)
    described = service.sfn.describe_map_run(mapRunArn=map_run_arn)
    assert described["maxConcurrency"] == 4
    assert described["toleratedFailureCount"] == 3
    done = wait_until_done(service, execution_arn)
    assert done["status"] == "SUCCEEDED"
    with pytest.raises(service.sfn.exceptions.ValidationException, match="only a running"):
        service.sfn.update_map_run(mapRunArn=map_run_arn, maxConcurrency=2)


def test_stopping_the_parent_aborts_the_map_run_and_its_children(service: ServiceServer) -> None:
    definition = machine(distributed_map(WAIT_THEN_PASS))
    arn = create_machine(service, definition)
    execution_arn = start(service, arn, [{"wait": 60}] * 3)
    map_run_arn = wait_for(
        lambda: service.sfn.list_map_runs(executionArn=execution_arn)["mapRuns"],
        "the map run",
    )[0]["mapRunArn"]
    wait_for(
        lambda: (
            service.sfn.describe_map_run(mapRunArn=map_run_arn)["executionCounts"]["running"] == 3
        ),
        "three running children",
    )
    service.sfn.stop_execution(executionArn=execution_arn, cause="enough")
    wait_for(
        lambda: service.sfn.describe_map_run(mapRunArn=map_run_arn)["status"] == "ABORTED",
        "the map run to abort",
    )
    children = wait_for(
        lambda: (
            [
                child
                for child in service.sfn.list_executions(mapRunArn=map_run_arn)["executions"]
                if child["status"] == "ABORTED"
            ]
            if len(
                [
                    c
                    for c in service.sfn.list_executions(mapRunArn=map_run_arn)["executions"]
                    if c["status"] == "ABORTED"
                ]
            )
            == 3
            else None
        ),
        "three aborted children",
    )
    assert len(children) == 3
    types = [e["type"] for e in history(service, execution_arn)]
    assert types[-2:] == ["MapRunAborted", "ExecutionAborted"]
    counts = service.sfn.describe_map_run(mapRunArn=map_run_arn)["executionCounts"]
    assert counts["aborted"] == 3


def test_map_run_errors_are_aws_errors(service: ServiceServer) -> None:
    sfn = service.sfn
    prefix = "arn:aws:states:us-east-1:123456789012"
    missing = f"{prefix}:mapRun:nothing/here:00000000-0000-0000-0000-000000000000"
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_map_run(mapRunArn=missing)
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.update_map_run(mapRunArn=missing, maxConcurrency=3)
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_executions(mapRunArn=missing)
    for bad in (f"{prefix}:execution:a:b", f"{prefix}:mapRun:no-label", "not-an-arn"):
        with pytest.raises(sfn.exceptions.InvalidArn):
            sfn.describe_map_run(mapRunArn=bad)
    with pytest.raises(sfn.exceptions.ValidationException, match="at least one"):
        sfn.update_map_run(mapRunArn=missing)
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.list_map_runs(executionArn=f"{prefix}:execution:nothing:here")
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.list_map_runs(executionArn=f"{prefix}:stateMachine:nothing")


def test_list_map_runs_pages_newest_first(service: ServiceServer) -> None:
    states: dict[str, Any] = {}
    names = ["A", "B", "C"]
    for index, name in enumerate(names):
        processor = {f"Double{name}": DOUBLE["Double"]}
        state = distributed_map(processor, execution_type="EXPRESS", ResultPath=None)
        state.update({"Next": names[index + 1]} if index + 1 < len(names) else {"End": True})
        states[name] = state
    arn = create_machine(service, {"StartAt": "A", "States": states})
    described = run(service, arn, [{"n": 1}])
    assert described["status"] == "SUCCEEDED", described
    first = service.sfn.list_map_runs(executionArn=described["executionArn"], maxResults=2)
    assert len(first["mapRuns"]) == 2 and first["nextToken"]
    rest = service.sfn.list_map_runs(
        executionArn=described["executionArn"], maxResults=2, nextToken=first["nextToken"]
    )
    runs = first["mapRuns"] + rest["mapRuns"]
    assert "nextToken" not in rest
    assert len({r["mapRunArn"] for r in runs}) == 3
    started = [r["startDate"] for r in runs]
    assert started == sorted(started, reverse=True)


def test_a_failing_sibling_branch_aborts_the_map_run(service: ServiceServer) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Fan",
                        "States": {"Fan": {**distributed_map(WAIT_THEN_PASS), "End": True}},
                    },
                    {
                        "StartAt": "Later",
                        "States": {
                            "Later": {"Type": "Wait", "Seconds": 1, "Next": "Break"},
                            "Break": {"Type": "Fail", "Error": "Broken", "Cause": "sibling"},
                        },
                    },
                ],
                "End": True,
            }
        },
    }
    arn = create_machine(service, definition)
    described = run(service, arn, [{"wait": 60}] * 2)
    assert described["status"] == "FAILED" and described["error"] == "Broken"
    map_run_arn = only_map_run(service, described["executionArn"])
    wait_for(
        lambda: service.sfn.describe_map_run(mapRunArn=map_run_arn)["status"] == "ABORTED",
        "the map run to abort",
    )
    wait_for(
        lambda: all(
            child["status"] == "ABORTED"
            for child in service.sfn.list_executions(mapRunArn=map_run_arn)["executions"]
        ),
        "its children to stop",
    )


def test_a_redriven_parent_redrives_its_failed_map_run(service: ServiceServer) -> None:
    """The hook RedriveExecution relies on: a parent with a redrive count that starts the same
    Distributed Map state again (a new map-run effect, a new token) redrives its earlier failed
    map run (``redriveCount`` in the answer: MapRunRedriven): only its unsuccessful children run
    again, and the map run's outcome completes the new token."""
    from dataclasses import replace

    from stepline.engine import ExecutionIdentity, TaskEffect
    from stepline.service._map_run_start import MapRunStarter
    from stepline.store import ExecutionRecord, MapRunRecord, StepCommit, TaskTokenRecord

    arn = create_machine(service, machine(distributed_map(DOUBLE, execution_type="EXPRESS")))
    name = arn.rsplit(":", 1)[-1]

    async def scenario(context: Any) -> tuple[dict[str, Any], str]:
        store = context.store
        machine_record = await store.get_state_machine(arn)
        now = time.time()
        parent = ExecutionRecord(
            arn=f"{context.arn_prefix}execution:{name}:redriven",
            state_machine_arn=arn,
            name="redriven",
            revision_id=machine_record.revision_id,
            status="RUNNING",
            start_date=now,
            input="[]",
            redrive_count=1,
        )
        await store.create_execution(parent, (), runnable_at=now)
        (claim,) = [
            c
            for c in await store.claim_runnable("test", limit=100, lease_seconds=30, now=now)
            if c.execution.arn == parent.arn
        ]
        token = TaskTokenRecord("new-token-0123456789", parent.arn, 7, "STARTED", now)
        await store.commit_step(
            StepCommit(parent.arn, claim.lease_token, tokens_add=(token,), runnable_at=None)
        )
        earlier = MapRunRecord(
            arn=f"{context.arn_prefix}mapRun:{name}/L:earlier",
            execution_arn=parent.arn,
            state_machine_arn=arn,
            label="L",
            state_name="Fan",
            execution_type="EXPRESS",
            revision_id="earlier-processor",
            status="RUNNING",
            start_date=now,
            max_concurrency=0,
            tolerated_failure_count=0,
            tolerated_failure_percentage=0.0,
            task_token="old-token-0123456789",
        )
        processor = replace(
            machine_record.revision,
            revision_id="earlier-processor",
            definition=json.dumps({"StartAt": "Double", "States": DOUBLE}),
        )
        await store.create_map_run(earlier, [(1, '{"n": 1}'), (1, '{"n": 2}')], processor)
        await store.start_map_run_children(earlier.arn, [(0, "a"), (1, "b")], now=now)
        await store.record_map_run_results(
            earlier.arn,
            [(0, "SUCCEEDED", '{"kept": true}', None, None), (1, "FAILED", None, "E", "c")],
        )
        await store.finish_map_run(earlier.arn, status="FAILED", stop_date=now, error="E")
        effect = TaskEffect(
            id=7,
            resource="stepline:mapRun",
            parameters={
                "items": [{"n": 1}, {"n": 2}],
                "stateName": "Fan",
                "maxConcurrency": 0,
                "toleratedFailureCount": 0,
                "toleratedFailurePercentage": 0.0,
            },
            state_name="Fan",
            context={},
            identity=ExecutionIdentity(arn, parent.arn, machine_record.role_arn),
            task_token=token.token,
        )
        answer = await MapRunStarter(context).invoke(effect, lambda: None)
        return answer, earlier.arn

    answer, earlier_arn = service.call(scenario)
    assert answer == {"mapRunArn": earlier_arn, "redriveCount": 1}
    described = wait_for(
        lambda: (
            run_info
            if (run_info := service.sfn.describe_map_run(mapRunArn=earlier_arn))["status"]
            != "RUNNING"
            else None
        ),
        "the redriven map run",
    )
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1 and "redriveDate" in described
    assert described["executionCounts"]["succeeded"] == 2

    async def children(context: Any) -> list[tuple[str, str | None]]:
        found = await context.store.map_run_children(earlier_arn)
        return [(child.status, child.output) for child in found]

    # The child that had succeeded kept its result; the failed one ran again.
    assert service.call(children) == [("SUCCEEDED", '{"kept": true}'), ("SUCCEEDED", '{"n":4}')]


def test_limits_from_paths_and_update_validation(service: ServiceServer) -> None:
    definition = machine(
        distributed_map(
            WAIT_THEN_PASS,
            ItemsPath="$.items",
            ItemSelector={"wait.$": "$.wait"},
            MaxConcurrencyPath="$.limit",
            ToleratedFailureCountPath="$.count",
            ToleratedFailurePercentagePath="$.percent",
        )
    )
    arn = create_machine(service, definition)
    value = {"items": [1, 2, 3], "wait": 30, "limit": 2, "count": 1, "percent": 50}
    execution_arn = start(service, arn, value)
    map_run_arn = wait_for(
        lambda: service.sfn.list_map_runs(executionArn=execution_arn)["mapRuns"], "the map run"
    )[0]["mapRunArn"]
    described = service.sfn.describe_map_run(mapRunArn=map_run_arn)
    assert described["maxConcurrency"] == 2
    assert described["toleratedFailureCount"] == 1
    assert described["toleratedFailurePercentage"] == 50.0
    assert described["itemCounts"]["total"] == 3
    unvalidated = service.unvalidated_sfn
    for bad in ({"toleratedFailurePercentage": 101.0}, {"maxConcurrency": -1}):
        with pytest.raises(unvalidated.exceptions.ValidationException):
            unvalidated.update_map_run(mapRunArn=map_run_arn, **bad)
    service.sfn.stop_execution(executionArn=execution_arn)
    wait_for(
        lambda: service.sfn.describe_map_run(mapRunArn=map_run_arn)["status"] == "ABORTED",
        "the map run to abort",
    )
