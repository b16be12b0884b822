"""Timeouts, heartbeats, execution timeouts and the payload quota, against AWS semantics.

AWS references: developer guide "Task workflow state" (``TimeoutSeconds``/``TimeoutSecondsPath``
→ ``States.Timeout``; ``HeartbeatSeconds`` → ``States.HeartbeatTimeout``; the history records
``TaskTimedOut``), "State machine structure" (top-level ``TimeoutSeconds``: the execution ends
``TIMED_OUT`` with an ``ExecutionTimedOut`` event), "Handling errors" (``States.DataLimitExceeded``:
a connector output, a state output, or a state input after Parameters larger than the payload
quota — 256 KiB, counted in UTF-8 bytes).

The real-time scenarios (TimeoutSeconds and HeartbeatSeconds are whole seconds) run
concurrently in one event loop, once per module, so they cost about two seconds in all.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from _engine_kit import (
    Recorder,
    detail,
    events,
    failed,
    inner,
    machine,
    res,
    run,
    single,
    succeeded,
    task,
    times,
    types,
)

from stepline import (
    ExecutionResult,
    StateMachine,
    StatesError,
    SystemClock,
    TaskContext,
    VirtualClock,
)


async def hang(_: Any) -> Any:
    await asyncio.Event().wait()


async def heartbeating(parameters: Any, ctx: TaskContext) -> Any:
    for _ in range(8):  # 1.6 s in all, a heartbeat every 0.2 s
        ctx.heartbeat()
        await asyncio.sleep(0.2)
    return "alive"


def sync_heartbeating(parameters: Any, ctx: TaskContext) -> Any:
    for _ in range(7):  # 1.4 s in all, in a worker thread
        ctx.heartbeat()
        time.sleep(0.2)
    return "alive-sync"


async def sleeps_past_deadline(_: Any) -> Any:
    await asyncio.sleep(1.5)
    return "too late"


def _real(definition: dict[str, Any], handler: Any) -> StateMachine:
    return StateMachine(definition, tasks={res("work"): handler}, clock=SystemClock())


REAL_SCENARIOS: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "timeout": (single(task(TimeoutSeconds=1)), hang, {}),
    "timeout_path": (single(task(TimeoutSecondsPath="$.limit")), hang, {"limit": 1}),
    "timeout_slow_task": (single(task(TimeoutSeconds=1)), sleeps_past_deadline, {}),
    "timeout_caught": (
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    TimeoutSeconds=1,
                    Catch=[
                        {"ErrorEquals": ["States.TaskFailed"], "Next": "OnTaskFailed"},
                        {
                            "ErrorEquals": ["States.Timeout"],
                            "ResultPath": "$.e",
                            "Next": "OnTimeout",
                        },
                    ],
                    End=True,
                ),
                "OnTaskFailed": {"Type": "Pass", "Result": "task-failed", "End": True},
                "OnTimeout": {"Type": "Pass", "End": True},
            },
        },
        hang,
        {"a": 1},
    ),
    "heartbeat_missed": (single(task(HeartbeatSeconds=1, TimeoutSeconds=10)), hang, {}),
    "heartbeat_kept": (
        single(task(HeartbeatSeconds=1, TimeoutSeconds=10)),
        heartbeating,
        {},
    ),
    "heartbeat_kept_sync": (
        single(task(HeartbeatSeconds=1, TimeoutSeconds=10)),
        sync_heartbeating,
        {},
    ),
    "heartbeat_path_missed": (
        single(task(HeartbeatSecondsPath="$.hb", TimeoutSeconds=10)),
        hang,
        {"hb": 1},
    ),
}


@pytest.fixture(scope="module")
def real_runs() -> dict[str, tuple[ExecutionResult, float]]:
    async def one(name: str) -> tuple[str, ExecutionResult, float]:
        definition, handler, execution_input = REAL_SCENARIOS[name]
        started = time.monotonic()
        result = await asyncio.wait_for(_real(definition, handler).run_async(execution_input), 8)
        return name, result, time.monotonic() - started

    async def all_of_them() -> list[tuple[str, ExecutionResult, float]]:
        return await asyncio.gather(*(one(name) for name in REAL_SCENARIOS))

    return {name: (result, took) for name, result, took in asyncio.run(all_of_them())}


# ---------------------------------------------------------------------------- TimeoutSeconds


def test_timeout_seconds(real_runs: dict[str, tuple[ExecutionResult, float]]) -> None:
    result, took = real_runs["timeout"]
    failed(result, "States.Timeout")
    assert 0.9 <= took < 3
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskTimedOut",
        "ExecutionFailed",
    ]
    timed_out = events(result, "TaskTimedOut")[0]
    assert timed_out.details["error"] == "States.Timeout"
    assert events(result, "TaskScheduled")[0].details["timeoutInSeconds"] == 1


def test_timeout_seconds_path(real_runs: dict[str, tuple[ExecutionResult, float]]) -> None:
    result, _ = real_runs["timeout_path"]
    failed(result, "States.Timeout")
    assert events(result, "TaskScheduled")[0].details["timeoutInSeconds"] == 1


def test_timeout_applies_to_a_task_that_would_finish_later(
    real_runs: dict[str, tuple[ExecutionResult, float]],
) -> None:
    result, took = real_runs["timeout_slow_task"]
    failed(result, "States.Timeout")
    assert took < 1.45


def test_timeout_is_caught_by_timeout_not_task_failed(
    real_runs: dict[str, tuple[ExecutionResult, float]],
) -> None:
    result, _ = real_runs["timeout_caught"]
    out = succeeded(result)
    assert out["a"] == 1
    assert out["e"]["Error"] == "States.Timeout"
    assert events(result, "PassStateEntered")[0].details["name"] == "OnTimeout"


def test_heartbeat_missed(real_runs: dict[str, tuple[ExecutionResult, float]]) -> None:
    result, took = real_runs["heartbeat_missed"]
    failed(result, "States.HeartbeatTimeout")
    assert took < 3
    assert "TaskTimedOut" in types(result)
    assert events(result, "TaskTimedOut")[0].details["error"] == "States.HeartbeatTimeout"
    assert events(result, "TaskScheduled")[0].details["heartbeatInSeconds"] == 1


def test_heartbeat_path_missed(real_runs: dict[str, tuple[ExecutionResult, float]]) -> None:
    failed(real_runs["heartbeat_path_missed"][0], "States.HeartbeatTimeout")


def test_heartbeats_keep_a_long_task_alive(
    real_runs: dict[str, tuple[ExecutionResult, float]],
) -> None:
    result, took = real_runs["heartbeat_kept"]
    assert succeeded(result) == "alive"
    assert took >= 1.5


def test_heartbeats_keep_a_long_sync_task_alive(
    real_runs: dict[str, tuple[ExecutionResult, float]],
) -> None:
    result, _ = real_runs["heartbeat_kept_sync"]
    assert succeeded(result) == "alive-sync"


@pytest.mark.parametrize("bad", [0, -1, "5", None])
def test_timeout_seconds_path_bad_value_is_runtime_error(bad: Any) -> None:
    rec = Recorder("never")
    result = run(single(task(TimeoutSecondsPath="$.t")), {"t": bad}, {"work": rec})
    failed(result, "States.Runtime", "$.t")
    assert rec.calls == []


def _with_guard(sm: StateMachine, execution_input: Any, seconds: float) -> ExecutionResult:
    async def go() -> ExecutionResult:
        return await asyncio.wait_for(sm.run_async(execution_input), seconds)

    try:
        return asyncio.run(go())
    except TimeoutError:
        pytest.fail(f"the execution did not end within {seconds} s of real time")


def test_task_time_limits_under_virtual_clock_run_in_real_time() -> None:
    """A VirtualClock skips only idle time: while a task runs, time passes for real, so a task
    that never returns still hits its TimeoutSeconds (after that many real seconds)."""
    sm = machine(single(task(TimeoutSeconds=1)), {"work": hang})
    result = _with_guard(sm, {}, 5.0)
    failed(result, "States.Timeout")
    assert times(result, "TaskTimedOut") == [pytest.approx(1, abs=0.5)]


def test_heartbeat_timeout_under_virtual_clock_runs_in_real_time() -> None:
    sm = machine(single(task(HeartbeatSeconds=1)), {"work": hang})
    result = _with_guard(sm, {}, 5.0)
    failed(result, "States.HeartbeatTimeout")
    assert times(result, "TaskTimedOut") == [pytest.approx(1, abs=0.5)]


def test_virtual_clock_does_not_skip_time_while_a_task_works() -> None:
    """A task that finishes well within the execution's TimeoutSeconds is not cut short by a
    virtual jump to the deadline."""

    async def quick(_: object) -> str:
        await asyncio.sleep(0.05)
        return "done"

    definition = {"TimeoutSeconds": 30, **single(task())}
    result = _with_guard(machine(definition, {"work": quick}), {}, 5.0)
    assert result.status == "SUCCEEDED"
    assert result.output == "done"


# ------------------------------------------------------------------ execution TimeoutSeconds


def test_execution_timeout_during_wait() -> None:
    definition = {"TimeoutSeconds": 10, **single({"Type": "Wait", "Seconds": 100})}
    result = run(definition, {})
    assert result.status == "TIMED_OUT"
    assert result.error == "States.Timeout"
    assert result.output is None
    assert types(result) == ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    assert times(result, "ExecutionTimedOut") == [10]
    assert result.stop_date is not None
    assert events(result, "ExecutionTimedOut")[0].details["error"] == "States.Timeout"


def test_execution_timeout_during_hanging_task_virtual_clock() -> None:
    definition = {"TimeoutSeconds": 1, **single(task())}
    result = _with_guard(machine(definition, {"work": hang}), {}, 5)
    assert result.status == "TIMED_OUT"
    assert types(result)[-1] == "ExecutionTimedOut"
    assert times(result, "ExecutionTimedOut") == [pytest.approx(1, abs=0.5)]


def test_execution_timeout_during_retry_backoff() -> None:
    definition = {
        "TimeoutSeconds": 3,
        **single(task(Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10}])),
    }

    def boom(_: Any) -> Any:
        raise ValueError("x")

    result = run(definition, {}, {"work": boom})
    assert result.status == "TIMED_OUT"
    assert times(result, "ExecutionTimedOut") == [3]


def test_execution_timeout_not_caught_by_catch() -> None:
    definition = {
        "TimeoutSeconds": 2,
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [inner({"Type": "Wait", "Seconds": 60})],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {})
    assert result.status == "TIMED_OUT"


def test_execution_finishing_before_timeout_succeeds() -> None:
    definition = {"TimeoutSeconds": 10, **single({"Type": "Wait", "Seconds": 9})}
    assert run(definition, {"a": 1}).status == "SUCCEEDED"


# ------------------------------------------------------------------------------- data limit


def test_default_payload_limit_is_256_kib() -> None:
    assert StateMachine(single({"Type": "Pass"})).max_payload_bytes == 256 * 1024


def test_default_limit_large_task_result() -> None:
    ok = run(single(task(ResultPath=None)), {}, {"work": Recorder("x" * 200_000)})
    assert succeeded(ok) == {}
    too_big = run(single(task(ResultPath=None)), {}, {"work": Recorder("x" * 300_000)})
    failed(too_big, "States.DataLimitExceeded")


def test_task_result_over_limit() -> None:
    result = run(single(task()), {}, {"work": Recorder("y" * 300)}, max_payload_bytes=200)
    failed(result, "States.DataLimitExceeded")


def test_state_output_over_limit() -> None:
    state = {"Type": "Pass", "Result": "z" * 300}
    failed(run(single(state), {}, max_payload_bytes=200), "States.DataLimitExceeded")


def test_limit_counts_utf8_bytes() -> None:
    # 60 'é' are 60 characters but 120 bytes (+2 for the quotes) in UTF-8.
    state = {"Type": "Pass", "Result": "é" * 60}
    failed(run(single(state), {}, max_payload_bytes=100), "States.DataLimitExceeded")
    state = {"Type": "Pass", "Result": "é" * 45}
    assert succeeded(run(single(state), {}, max_payload_bytes=100)) == "é" * 45


def test_parallel_input_after_parameters_over_limit() -> None:
    """AWS: States.DataLimitExceeded when "the state's input is larger than the payload size
    quota after Parameters processing" — an execution failure, not a Python exception."""
    state = {
        "Type": "Parallel",
        "Parameters": {"a.$": "$", "b.$": "$", "c.$": "$"},
        "Branches": [inner({"Type": "Pass", "Result": "small"})],
    }
    result = run(single(state), {"s": "x" * 400}, max_payload_bytes=1000)
    failed(result, "States.DataLimitExceeded")


def test_map_item_selector_output_over_limit() -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.xs",
        "ItemSelector": {"whole.$": "$", "again.$": "$"},
        "ItemProcessor": inner({"Type": "Pass", "Result": "small"}),
    }
    result = run(single(state), {"xs": [1], "pad": "x" * 600}, max_payload_bytes=1000)
    failed(result, "States.DataLimitExceeded")


def test_execution_input_over_limit_is_rejected() -> None:
    sm = machine(single({"Type": "Pass"}), max_payload_bytes=100)
    with pytest.raises(ValueError, match="100"):
        sm.run({"s": "x" * 200})


def test_data_limit_details_in_history() -> None:
    result = run(single(task()), {}, {"work": Recorder("y" * 300)}, max_payload_bytes=200)
    assert types(result)[-1] == "ExecutionFailed"
    assert events(result, "ExecutionFailed")[0].details["error"] == "States.DataLimitExceeded"
    assert detail(events(result, "TaskScheduled")[0], "parameters") == {}


def test_catcher_output_over_the_limit_fails_the_execution_cleanly() -> None:
    """The error output a catcher merges into the input is a state output like any other:
    over the quota it ends the execution with States.DataLimitExceeded (never an exception)."""

    def boom(_: Any) -> Any:
        raise StatesError("Boom", "x" * 300)

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                **task(),
                "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
    }
    sm = StateMachine(
        definition,
        tasks={"arn:aws:states:::stepline:work": boom},
        clock=VirtualClock(),
        max_payload_bytes=200,
    )
    result = sm.run({"a": 1})
    failed(result, "States.DataLimitExceeded")


def test_time_limit_paths_may_read_the_context_object() -> None:
    """`…Path` fields are reference paths, so `$$` is allowed there as anywhere else."""
    definition = single(task(TimeoutSecondsPath="$$.Execution.Input.limit"))
    sm = StateMachine(
        definition,
        tasks={"arn:aws:states:::stepline:work": lambda parameters: "ok"},
        clock=VirtualClock(),
    )
    result = sm.run({"limit": 7})
    assert result.status == "SUCCEEDED"
    scheduled = next(e for e in result.history if e.type == "TaskScheduled")
    assert scheduled.details["timeoutInSeconds"] == 7


def test_map_concurrency_path_may_read_the_context_object() -> None:
    definition = single(
        {
            "Type": "Map",
            "MaxConcurrencyPath": "$$.Execution.Input.width",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        }
    )
    result = StateMachine(definition, clock=VirtualClock()).run({"width": 2, "items": [1, 2, 3]})
    assert result.status == "SUCCEEDED"
    assert result.output == [1, 2, 3]
