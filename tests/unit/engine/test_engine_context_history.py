"""The context object ``$$`` and the execution history, against AWS semantics and botocore.

AWS references: developer guide "Accessing execution data from the Context object"
(``$$.Execution.Id/Input/Name/RoleArn/StartTime``, ``$$.StateMachine.Id/Name``,
``$$.State.Name/EnteredTime/RetryCount``, ``$$.Map.Item.Index/Value``); API reference
``GetExecutionHistory`` / ``HistoryEvent`` — the shapes are checked against botocore's own
service model, so a renamed or misplaced member fails here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from _engine_kit import (
    T0,
    Script,
    chain,
    chain_ok,
    detail,
    events,
    failed,
    inner,
    machine,
    run,
    single,
    succeeded,
    task,
    types,
)

from stepline import ExecutionResult, StateMachine, VirtualClock


def _botocore_model() -> Any:
    """botocore's Step Functions service model (the test skips where botocore is missing)."""
    session = pytest.importorskip("botocore.session")
    return session.get_session().get_service_model("stepfunctions")


ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# ---------------------------------------------------------------------------- context object


def _context_run(**kwargs: Any) -> tuple[dict[str, Any], ExecutionResult]:
    definition = chain(
        ("First", {"Type": "Pass", "Result": "ignored", "ResultPath": "$.changed"}),
        ("Pause", {"Type": "Wait", "Seconds": 5}),
        ("Look", {"Type": "Pass", "Parameters": {"ctx.$": "$$"}}),
    )
    sm = StateMachine(
        definition,
        name="Flow",
        region="eu-west-1",
        account="111122223333",
        clock=VirtualClock(T0 + 0.25),
        **kwargs,
    )
    result = sm.run({"order": 7}, name="ctx-run")
    return succeeded(result)["ctx"], result


def test_context_execution_fields() -> None:
    ctx, _ = _context_run(role_arn="arn:aws:iam::111122223333:role/flow-role")
    execution = ctx["Execution"]
    assert execution["Id"] == "arn:aws:states:eu-west-1:111122223333:execution:Flow:ctx-run"
    assert execution["Name"] == "ctx-run"
    assert execution["Input"] == {"order": 7}  # the execution's input, not the state's
    assert execution["RoleArn"] == "arn:aws:iam::111122223333:role/flow-role"
    assert execution["StartTime"] == "2023-11-14T22:13:20.250Z"


def test_context_state_machine_fields() -> None:
    ctx, result = _context_run()
    assert ctx["StateMachine"] == {
        "Id": "arn:aws:states:eu-west-1:111122223333:stateMachine:Flow",
        "Name": "Flow",
    }
    assert result.execution_arn == ctx["Execution"]["Id"]


def test_context_state_fields() -> None:
    ctx, _ = _context_run()
    assert ctx["State"]["Name"] == "Look"
    assert ctx["State"]["EnteredTime"] == "2023-11-14T22:13:25.250Z"  # after the 5 s Wait
    assert ctx["State"]["RetryCount"] == 0


def test_context_default_role_is_recorded() -> None:
    ctx, result = _context_run()
    role = ctx["Execution"]["RoleArn"]
    assert role.startswith("arn:aws:iam::111122223333:role/")
    assert events(result, "ExecutionStarted")[0].details["roleArn"] == role


def test_context_times_are_iso_with_milliseconds() -> None:
    definition = single({"Type": "Pass", "Parameters": {"s.$": "$$.Execution.StartTime"}})
    out = run(definition, {}, start=T0 + 0.123456)
    assert ISO_MS.match(out.output["s"])
    assert out.output["s"] == "2023-11-14T22:13:20.123Z"


def test_task_sees_context_through_task_context() -> None:
    script = Script(("return", "ok"))
    succeeded(run(single(task(), name="Charge"), {"a": 1}, {"work": script}, name="run-9"))
    ctx = script.contexts[0]
    assert ctx["State"]["Name"] == "Charge"
    assert ctx["Execution"]["Name"] == "run-9"
    assert ctx["Execution"]["Input"] == {"a": 1}


def test_context_state_name_inside_map_and_parallel() -> None:
    item = single({"Type": "Pass", "Parameters": {"n.$": "$$.State.Name"}}, name="InItem")
    branch = single({"Type": "Pass", "Parameters": {"n.$": "$$.State.Name"}}, name="InBranch")
    definition = chain(
        ("M", {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": item, "ResultPath": "$.m"}),
        ("P", {"Type": "Parallel", "Branches": [branch], "ResultPath": "$.p"}),
    )
    out = succeeded(run(definition, {"xs": [1]}))
    assert out["m"] == [{"n": "InItem"}]
    assert out["p"] == [{"n": "InBranch"}]


def test_map_item_context_not_visible_inside_iteration() -> None:
    """``$$.Map.Item`` exists only in ItemSelector; a state inside the iteration that reads it
    selects nothing (a States.Runtime error)."""
    item = single({"Type": "Pass", "Parameters": {"i.$": "$$.Map.Item.Index"}}, name="Peek")
    definition = single({"Type": "Map", "ItemProcessor": item})
    failed(run(definition, [1]), "States.Runtime")


# ------------------------------------------------------------------------------------ history


def test_pass_chain_history_ids_and_links() -> None:
    result = run(chain(("A", {"Type": "Pass"}), ("B", {"Type": "Pass"})), {"x": 1})
    assert [(e.id, e.previous_event_id, e.type) for e in result.history] == [
        (1, 0, "ExecutionStarted"),
        (2, 1, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "PassStateEntered"),
        (5, 4, "PassStateExited"),
        (6, 5, "ExecutionSucceeded"),
    ]
    assert [e.details["name"] for e in events(result, "PassStateEntered")] == ["A", "B"]
    assert detail(result.history[0], "input") == {"x": 1}
    assert detail(result.history[-1], "output") == {"x": 1}


def test_task_with_retry_history_links() -> None:
    script = Script(("raise", "E", "first"), ("return", {"ok": True}))
    state = task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 3}])
    result = run(single(state, name="T"), {"in": 1}, {"work": script})
    chain_ok(result)
    assert [(e.id, e.previous_event_id, e.type) for e in result.history] == [
        (1, 0, "ExecutionStarted"),
        (2, 1, "TaskStateEntered"),
        (3, 2, "TaskScheduled"),
        (4, 3, "TaskStarted"),
        (5, 4, "TaskFailed"),
        (6, 5, "TaskScheduled"),
        (7, 6, "TaskStarted"),
        (8, 7, "TaskSucceeded"),
        (9, 8, "TaskStateExited"),
        (10, 9, "ExecutionSucceeded"),
    ]
    scheduled = events(result, "TaskScheduled")
    assert scheduled[1].timestamp - scheduled[0].timestamp == pytest.approx(3, abs=0.05)
    assert events(result, "TaskFailed")[0].details == {
        "resourceType": "stepline",
        "resource": "work",
        "error": "E",
        "cause": "first",
    }


def test_task_event_details() -> None:
    state = task("charge", Parameters={"amount.$": "$.amount", "currency": "EUR"})
    result = run(single(state), {"amount": 5}, {"charge": lambda p: {"id": "ch_1"}})
    scheduled = events(result, "TaskScheduled")[0]
    assert scheduled.details["resourceType"] == "stepline"
    assert scheduled.details["resource"] == "charge"
    assert scheduled.details["region"] == "us-east-1"
    assert isinstance(scheduled.details["parameters"], str)
    assert json.loads(scheduled.details["parameters"]) == {"amount": 5, "currency": "EUR"}
    assert events(result, "TaskStarted")[0].details == {
        "resourceType": "stepline",
        "resource": "charge",
    }
    done = events(result, "TaskSucceeded")[0]
    assert json.loads(done.details["output"]) == {"id": "ch_1"}
    assert done.to_aws()["taskSucceededEventDetails"]["outputDetails"] == {"truncated": False}


def test_service_integration_resource_split() -> None:
    arn = "arn:aws:states:::lambda:invoke"
    sm = StateMachine(
        single({"Type": "Task", "Resource": arn}),
        tasks={arn: lambda p: 1},
        clock=VirtualClock(T0),
    )
    scheduled = events(sm.run({}), "TaskScheduled")[0]
    assert (scheduled.details["resourceType"], scheduled.details["resource"]) == (
        "lambda",
        "invoke",
    )


def test_direct_lambda_arn_records_lambda_function_events() -> None:
    """AWS records a Task whose Resource is a Lambda function ARN (not a service integration)
    with LambdaFunctionScheduled/Started/Succeeded events, not Task* events."""
    arn = "arn:aws:lambda:us-east-1:123456789012:function:greet"
    sm = StateMachine(
        single({"Type": "Task", "Resource": arn}),
        tasks={arn: lambda p: "hi"},
        clock=VirtualClock(T0),
    )
    assert types(sm.run({})) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_map_history_with_tasks() -> None:
    probe = Script(("return", "done"))
    state = {
        "Type": "Map",
        "ItemsPath": "$.xs",
        "MaxConcurrency": 1,
        "ItemProcessor": single(task(), name="Item"),
    }
    result = run(single(state, name="M"), {"xs": ["a", "b"]}, {"work": probe})
    chain_ok(result)
    assert types(result) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert events(result, "MapStateStarted")[0].details == {"length": 2}
    assert [e.details for e in events(result, "MapIterationStarted")] == [
        {"name": "M", "index": 0},
        {"name": "M", "index": 1},
    ]
    assert [e.details for e in events(result, "MapIterationSucceeded")] == [
        {"name": "M", "index": 0},
        {"name": "M", "index": 1},
    ]
    assert detail(events(result, "MapStateExited")[0], "output") == ["done", "done"]


def test_failed_map_history() -> None:
    state = {
        "Type": "Map",
        "ItemProcessor": single({"Type": "Fail", "Error": "X"}, name="Boom"),
    }
    result = run(single(state, name="M"), [1])
    failed(result, "X")
    seq = types(result)
    assert seq[:4] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
    ]
    assert "MapIterationFailed" in seq
    assert seq[-2:] == ["MapStateFailed", "ExecutionFailed"]
    assert events(result, "MapIterationFailed")[0].details == {"name": "M", "index": 0}


def test_history_event_types_are_all_known_to_botocore() -> None:
    known = set(_botocore_model().shape_for("HistoryEventType").enum)
    for result in _mixed_runs():
        for event in result.history:
            assert event.type in known, event.type


# ------------------------------------------------------------------------ botocore shape


def _mixed_runs() -> list[ExecutionResult]:
    """Runs covering every event kind the engine emits."""
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Result": {"xs": [1, 2]}, "Next": "Route"},
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.xs[0]", "NumericEquals": 1, "Next": "Pause"}],
                "Default": "End",
            },
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemProcessor": single(task(), name="Call"),
                "ResultPath": "$.each",
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [inner({"Type": "Pass"}), inner({"Type": "Pass"})],
                "ResultPath": None,
                "Next": "End",
            },
            "End": {"Type": "Succeed"},
        },
    }
    flaky = Script(("raise", "E", "once"), ("return", 1))
    ok = machine(
        definition,
        {"work": lambda p: p},
    ).run({})
    retried = run(
        single(task(Retry=[{"ErrorEquals": ["E"]}], TimeoutSeconds=30, HeartbeatSeconds=10)),
        {},
        {"work": flaky},
    )
    fail = run(single({"Type": "Fail", "Error": "Bad", "Cause": "why"}), {})
    timed_out = run({"TimeoutSeconds": 1, **single({"Type": "Wait", "Seconds": 5})}, {})
    timeout_event = run(single(task()), {}, {"work": Script(("raise", "States.Timeout", "t"))})
    map_fail = run(
        single({"Type": "Map", "ItemProcessor": inner({"Type": "Fail", "Error": "X"})}), [1, 2]
    )
    parallel_fail = run(
        single({"Type": "Parallel", "Branches": [inner({"Type": "Fail", "Error": "Y"})]}), {}
    )
    return [ok, retried, fail, timed_out, timeout_event, map_fail, parallel_fail]


def _member_for(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def test_to_aws_validates_against_botocore_output_shape() -> None:
    model = _botocore_model()
    from botocore.validate import ParamValidator

    output_shape = model.operation_model("GetExecutionHistory").output_shape
    history_event = model.shape_for("HistoryEvent")
    for result in _mixed_runs():
        aws_events = result.history_events()
        report = ParamValidator().validate({"events": aws_events}, output_shape)
        assert not report.has_errors(), report.generate_report()
        for raw, event in zip(result.history, aws_events, strict=True):
            assert isinstance(event["timestamp"], datetime)
            assert event["timestamp"].tzinfo is not None
            assert event["timestamp"] == datetime.fromtimestamp(raw.timestamp, UTC)
            assert event["id"] == raw.id
            assert event["previousEventId"] == raw.previous_event_id
            details = [key for key in event if key.endswith("EventDetails")]
            assert len(details) <= 1, details
            if details:
                expected = _member_for(event["type"])
                if expected in history_event.members:
                    assert details == [expected], (event["type"], details)
                else:  # MapIteration* share one shape
                    assert details[0] in history_event.members


def test_to_aws_details_for_each_kind() -> None:
    result = run(single(task(TimeoutSeconds=30)), {"a": 1}, {"work": lambda p: [p]})
    by_type = {e["type"]: e for e in result.history_events()}
    started = by_type["ExecutionStarted"]["executionStartedEventDetails"]
    assert json.loads(started["input"]) == {"a": 1}
    assert started["inputDetails"] == {"truncated": False}
    assert "roleArn" in started
    entered = by_type["TaskStateEntered"]["stateEnteredEventDetails"]
    assert entered["name"] == "S"
    assert json.loads(entered["input"]) == {"a": 1}
    scheduled = by_type["TaskScheduled"]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "stepline"
    assert scheduled["resource"] == "work"
    assert scheduled["region"] == "us-east-1"
    assert json.loads(scheduled["parameters"]) == {"a": 1}
    assert scheduled["timeoutInSeconds"] == 30
    assert set(by_type["TaskStarted"]["taskStartedEventDetails"]) == {"resourceType", "resource"}
    exited = by_type["TaskStateExited"]["stateExitedEventDetails"]
    assert json.loads(exited["output"]) == [{"a": 1}]
    assert json.loads(
        by_type["ExecutionSucceeded"]["executionSucceededEventDetails"]["output"]
    ) == [{"a": 1}]


def test_to_aws_returns_fresh_dicts() -> None:
    result = run(single({"Type": "Pass"}), {"a": 1})
    first = result.history_events()
    first[1]["stateEnteredEventDetails"]["inputDetails"]["truncated"] = True
    first[1]["stateEnteredEventDetails"]["name"] = "changed"
    second = result.history_events()
    assert second[1]["stateEnteredEventDetails"]["inputDetails"] == {"truncated": False}
    assert second[1]["stateEnteredEventDetails"]["name"] == "S"


def test_history_invariants_hold_for_mixed_runs() -> None:
    for result in _mixed_runs():
        chain_ok(result)
        terminal = {
            "ExecutionSucceeded",
            "ExecutionFailed",
            "ExecutionTimedOut",
            "ExecutionAborted",
        }
        assert result.history[-1].type in terminal
        assert sum(e.type in terminal for e in result.history) == 1
