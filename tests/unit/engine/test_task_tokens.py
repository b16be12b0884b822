"""Task tokens in the library: ``.waitForTaskToken`` callbacks and activities in process."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from stepline import StateMachine, TaskTokenError, TaskTokens
from stepline.engine._snapshot import decode_snapshot, encode_snapshot
from stepline.engine._tasks import new_task_token

NOTIFY = "arn:aws:states:::lambda:invoke"
ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:approve"


def _callback_machine(**task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": f"{NOTIFY}.waitForTaskToken",
                "Parameters": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                "End": True,
                **task,
            }
        },
    }


async def _token_of(machine: StateMachine, count: int = 1) -> list[str]:
    for _ in range(500):
        waiting = machine.tokens.waiting()
        if len(waiting) >= count:
            return [task.task_token for task in waiting]
        await asyncio.sleep(0.01)
    raise AssertionError("no task waits for its token")


def test_tokens_are_long_random_and_distinct() -> None:
    tokens = {new_task_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(token) >= 43 for token in tokens)


def test_callback_success_feeds_the_output_and_records_submitted() -> None:
    seen: list[Any] = []
    machine = StateMachine(_callback_machine(), tasks={NOTIFY: lambda p: seen.append(p) or "ok"})

    async def scenario() -> Any:
        run = asyncio.ensure_future(machine.run_async({"order": 7}))
        (token,) = await _token_of(machine)
        machine.send_task_success(token, {"approved": True})
        return await run

    result = asyncio.run(scenario())
    assert result.status == "SUCCEEDED"
    assert result.output == {"approved": True}
    assert seen[0]["order"] == 7 and len(seen[0]["token"]) >= 43
    types = [event.type for event in result.history]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    submitted = result.history_events()[4]["taskSubmittedEventDetails"]
    assert submitted["resource"] == "invoke.waitForTaskToken"
    assert submitted["output"] == '"ok"'


def test_token_only_in_the_context_of_wait_for_task_token_states() -> None:
    machine = StateMachine(
        {
            "StartAt": "Plain",
            "States": {
                "Plain": {
                    "Type": "Task",
                    "Resource": NOTIFY,
                    "Parameters": {"context.$": "$$"},
                    "End": True,
                }
            },
        },
        tasks={NOTIFY: lambda p: p},
    )
    result = machine.run({})
    assert "Task" not in result.output["context"]


def test_jsonata_state_reads_the_token_from_states_context() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": f"{NOTIFY}.waitForTaskToken",
                "Arguments": {"token": "{% $states.context.Task.Token %}"},
                "End": True,
            }
        },
    }
    captured: list[str] = []
    machine = StateMachine(definition, tasks={NOTIFY: lambda p: captured.append(p["token"])})

    async def scenario() -> Any:
        run = asyncio.ensure_future(machine.run_async({}))
        (token,) = await _token_of(machine)
        assert captured == [token]
        machine.send_task_success(token, 5)
        return await run

    assert asyncio.run(scenario()).output == 5


def test_failure_is_caught_and_the_token_is_single_use() -> None:
    definition = _callback_machine(Catch=[{"ErrorEquals": ["Rejected"], "Next": "Caught"}])
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    machine = StateMachine(definition, tasks={NOTIFY: lambda p: None})

    async def scenario() -> Any:
        run = asyncio.ensure_future(machine.run_async({"order": 1}))
        (token,) = await _token_of(machine)
        machine.send_task_failure(token, "Rejected", "no stock")
        with pytest.raises(TaskTokenError) as again:
            machine.send_task_success(token, {})
        assert again.value.code == "TaskTimedOut"
        return await run

    result = asyncio.run(scenario())
    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "Rejected", "Cause": "no stock"}
    assert "TaskFailed" in [event.type for event in result.history]


def test_unknown_and_invalid_tokens_and_invalid_output() -> None:
    tokens = TaskTokens()
    with pytest.raises(TaskTokenError) as unknown:
        tokens.send_task_success(new_task_token(), {})
    assert unknown.value.code == "TaskDoesNotExist"
    with pytest.raises(TaskTokenError) as invalid:
        tokens.send_task_heartbeat("")
    assert invalid.value.code == "InvalidToken"
    with pytest.raises(TaskTokenError) as output:
        tokens.send_task_success(new_task_token(), {1, 2})
    assert output.value.code == "InvalidOutput"


def test_timeout_and_heartbeat_timeout() -> None:
    machine = StateMachine(_callback_machine(TimeoutSeconds=1), tasks={NOTIFY: lambda p: None})
    result = machine.run({"order": 1})
    assert result.status == "FAILED" and result.error == "States.Timeout"
    assert "TaskTimedOut" in [event.type for event in result.history]

    beating = StateMachine(
        _callback_machine(TimeoutSeconds=30, HeartbeatSeconds=1), tasks={NOTIFY: lambda p: None}
    )

    async def scenario() -> Any:
        run = asyncio.ensure_future(beating.run_async({"order": 1}))
        (token,) = await _token_of(beating)
        for _ in range(3):
            await asyncio.sleep(0.4)
            beating.send_task_heartbeat(token)
        result = await run  # no more heartbeats: it times out
        with pytest.raises(TaskTokenError) as late:
            beating.send_task_success(token, {})
        assert late.value.code == "TaskTimedOut"
        return result

    result = asyncio.run(scenario())
    assert result.status == "FAILED" and result.error == "States.HeartbeatTimeout"


def test_success_from_another_thread_with_the_sync_run() -> None:
    machine = StateMachine(_callback_machine(TimeoutSeconds=20), tasks={NOTIFY: lambda p: None})
    stop = threading.Event()

    def completer() -> None:
        for _ in range(2000):
            if stop.wait(0.005):
                return
            waiting = machine.tokens.waiting()
            if waiting:
                machine.send_task_success(waiting[0].task_token, "from a thread")
                return

    thread = threading.Thread(target=completer)
    thread.start()
    try:
        result = machine.run({"order": 1})
    finally:
        stop.set()
        thread.join(10)
    assert result.output == "from a thread"


def test_activity_handed_to_one_worker_with_its_events() -> None:
    definition = {
        "StartAt": "Approve",
        "States": {
            "Approve": {
                "Type": "Task",
                "Resource": ACTIVITY,
                "TimeoutSeconds": 20,
                "HeartbeatSeconds": 10,
                "End": True,
            }
        },
    }
    machine = StateMachine(definition)

    async def scenario() -> Any:
        run = asyncio.ensure_future(machine.run_async({"amount": 3}))
        first, second = await asyncio.gather(
            machine.get_activity_task(ACTIVITY, worker_name="w1", timeout=5),
            machine.get_activity_task(ACTIVITY, worker_name="w2", timeout=0.3),
        )
        got = [task for task in (first, second) if task is not None]
        assert len(got) == 1
        assert got[0].input == {"amount": 3}
        machine.send_task_heartbeat(got[0].task_token)
        machine.send_task_success(got[0].task_token, {"ok": 1})
        return await run

    result = asyncio.run(scenario())
    assert result.output == {"ok": 1}
    events = result.history_events()
    assert [e["type"] for e in events[2:5]] == [
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
    ]
    scheduled = events[2]["activityScheduledEventDetails"]
    assert scheduled["resource"] == ACTIVITY
    assert scheduled["heartbeatInSeconds"] == 10 and scheduled["timeoutInSeconds"] == 20
    assert events[3]["activityStartedEventDetails"]["workerName"] in ("w1", "w2")


def test_activity_served_by_a_registered_handler() -> None:
    machine = StateMachine(
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": ACTIVITY, "End": True}}},
        tasks={ACTIVITY: lambda p: {"done": p}},
    )
    result = machine.run({"x": 1})
    assert result.output == {"done": {"x": 1}}
    assert [e.type for e in result.history][2:5] == [
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
    ]


def test_snapshot_keeps_the_token_and_submission() -> None:
    machine = StateMachine(_callback_machine(), tasks={NOTIFY: lambda p: None})
    execution = machine.start({"order": 2})
    (effect,) = execution.advance()
    assert effect.task_token is not None
    assert effect.context["Task"]["Token"] == effect.task_token
    execution.task_submitted(effect.id, {"MessageId": "m"})
    snapshot = decode_snapshot(encode_snapshot(execution.snapshot()))
    restored = type(execution).restore(
        machine.compiled, snapshot, execution.identity, execution.now
    )
    (again,) = restored.outstanding()
    assert again.task_token == effect.task_token
    assert again.context["Task"]["Token"] == effect.task_token
    assert restored.task_progress(again.id) == "submitted"
    restored.complete_task(again.id, {"done": True})
    restored.advance()
    assert restored.status == "SUCCEEDED"
    assert [e.type for e in restored.take_new_events()][-3:] == [
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
