"""The worker against a MemoryStore with a fake clock: leases lost mid-step, a crashed worker
whose lease expires, timers in the store, and exactly-once transitions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from stepline.engine import Execution, ExecutionIdentity
from stepline.service import ServiceConfig, ServiceContext, open_context
from stepline.service._exec_events import event_record
from stepline.service._exec_start import resolve_target, start_standard
from stepline.service._worker import Worker
from stepline.store import PendingEvent, StateMachineRecord, StateMachineRevisionRecord

ROLE = "arn:aws:iam::123456789012:role/unit"
TASK = "arn:aws:states:::stepline:unit-task"
T0 = 1_700_000_000.0
Case = Callable[[ServiceContext], Awaitable[None]]


class FakeClock:
    def __init__(self) -> None:
        # Ahead of the real time StartExecution stamps, so that new executions are due.
        self.now = self.start = time.time() + 1

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def run(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[Case], None]:
    """``run(case)``: run ``case(context)`` on a fresh loop with a memory:// service context."""
    monkeypatch.setenv("STEPLINE_DATA_DIR", str(tmp_path))

    def runner(case: Case) -> None:
        async def main() -> None:
            context = await open_context(ServiceConfig(database_url="memory://", worker=False))
            try:
                await asyncio.wait_for(case(context), 60)
            finally:
                await context.store.close()

        asyncio.run(main())

    return runner


async def machine(context: ServiceContext, definition: dict[str, Any], name: str) -> str:
    arn = f"{context.arn_prefix}stateMachine:{name}"
    revision = StateMachineRevisionRecord(f"rev-{name}", arn, json.dumps(definition), ROLE, T0)
    record = StateMachineRecord(arn, name, "STANDARD", "ACTIVE", T0, revision)
    await context.store.create_state_machine(record)
    return arn


async def start(context: ServiceContext, machine_arn: str, name: str, value: Any = None) -> str:
    target = await resolve_target(context, machine_arn)
    record = await start_standard(context, target, name, json.dumps(value or {}))
    return record.arn


async def events_of(context: ServiceContext, arn: str) -> list[Any]:
    return list((await context.store.get_history(arn, max_results=1000)).items)


def entered(events: list[Any]) -> list[str]:
    return [json.loads(e.details)["name"] for e in events if e.type.endswith("StateEntered")]


async def settle(worker: Worker) -> int:
    """Claim and drive what is due until nothing is; how many claims that took."""
    claims = 0
    for _ in range(100):
        claimed = await worker.claim_once()
        if not claimed:
            return claims
        claims += len(claimed)
        await worker.run_claimed(claimed)
    raise AssertionError("work kept coming")


WAIT_CHAIN = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 10, "Next": "B"},
        "B": {"Type": "Pass", "End": True},
    },
}


def test_waits_are_stored_timers_not_held_leases(run: Callable[[Case], None]) -> None:
    run(_waits_are_stored_timers_not_held_leases)


async def _waits_are_stored_timers_not_held_leases(context: ServiceContext) -> None:
    clock = FakeClock()
    worker = Worker(context, clock=clock)
    arn = await start(context, await machine(context, WAIT_CHAIN, "waits"), "one", {"x": 1})
    assert await settle(worker) == 1
    record = await context.store.get_execution(arn)
    assert record is not None and record.status == "RUNNING"
    # Released until the timer is due: nothing to claim now, the store wakes it at +10 s.
    assert await context.store.next_wake_at() == pytest.approx(clock.start + 10)
    clock.now += 9.9
    assert await worker.claim_once() == []
    clock.now += 0.1
    assert await settle(worker) == 1
    record = await context.store.get_execution(arn)
    assert record is not None and record.status == "SUCCEEDED"
    assert json.loads(record.output or "null") == {"x": 1}
    events = await events_of(context, arn)
    assert entered(events) == ["A", "Nap", "B"]
    assert [e.type for e in events].count("ExecutionStarted") == 1
    assert [e.id for e in events] == list(range(1, len(events) + 1))


def test_crashed_worker_lease_expires_and_task_runs_again(run: Callable[[Case], None]) -> None:
    run(_crashed_worker_lease_expires_and_task_runs_again)


async def _crashed_worker_lease_expires_and_task_runs_again(context: ServiceContext) -> None:
    clock = FakeClock()
    calls: list[str] = []
    release_first = asyncio.Event()

    async def task(parameters: Any) -> Any:
        calls.append("call")
        if len(calls) == 1:
            await release_first.wait()  # the crashed worker's attempt never finishes in time
        return {"call": len(calls)}

    context.tasks.register(TASK, task)
    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": TASK, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    arn = await start(context, await machine(context, definition, "crash"), "c")
    crashed = Worker(context, clock=clock, owner="crashed")
    claims = await crashed.claim_once()
    run = asyncio.ensure_future(crashed.run_claimed(claims))
    for _ in range(200):
        if calls:
            break
        await asyncio.sleep(0.005)
    assert calls == ["call"]
    # The crashed worker holds the lease; another worker gets nothing until it expires.
    survivor = Worker(context, clock=clock, owner="survivor")
    assert await survivor.claim_once() == []
    clock.now += context.config.lease_seconds + 1
    assert await settle(survivor) == 1
    record = await context.store.get_execution(arn)
    assert record is not None and record.status == "SUCCEEDED"
    assert json.loads(record.output or "null") == {"call": 2}
    # The crashed worker's attempt ends at last: its commit is refused, nothing is written.
    before = await events_of(context, arn)
    release_first.set()
    await asyncio.wait_for(run, 5)
    after = await events_of(context, arn)
    assert after == before
    types = [e.type for e in after]
    assert entered(after) == ["T", "Done"]
    assert types.count("TaskScheduled") == 1 and types.count("TaskSucceeded") == 1
    assert calls == ["call", "call"]  # at-least-once for the task


def test_stop_while_a_task_runs_drops_the_run(run: Callable[[Case], None]) -> None:
    run(_stop_while_a_task_runs_drops_the_run)


async def _stop_while_a_task_runs_drops_the_run(context: ServiceContext) -> None:
    clock = FakeClock()
    finish = asyncio.Event()
    started = asyncio.Event()

    async def task(_: Any) -> Any:
        started.set()
        await finish.wait()
        return "late"

    context.tasks.register(TASK, task)
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": TASK, "End": True}}}
    arn = await start(context, await machine(context, definition, "stop"), "s")
    worker = Worker(context, clock=clock)
    run = asyncio.ensure_future(worker.run_claimed(await worker.claim_once()))
    await asyncio.wait_for(started.wait(), 5)
    clock.now += 1
    _, stopped = await context.store.stop_execution(
        arn,
        stop_date=clock.now,
        error=None,
        cause=None,
        events=(PendingEvent(clock.now, "ExecutionAborted", "{}"),),
    )
    assert stopped
    finish.set()
    await asyncio.wait_for(run, 5)
    events = await events_of(context, arn)
    assert events[-1].type == "ExecutionAborted"
    assert "TaskSucceeded" not in [e.type for e in events]
    record = await context.store.get_execution(arn)
    assert record is not None and record.status == "ABORTED"


def test_racing_workers_enter_each_state_once(run: Callable[[Case], None]) -> None:
    run(_racing_workers_enter_each_state_once)


async def _racing_workers_enter_each_state_once(context: ServiceContext) -> None:
    clock = FakeClock()
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Zero"},
            "Zero": {"Type": "Wait", "Seconds": 0, "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 5, "Next": "B"},
            "B": {"Type": "Pass", "End": True},
        },
    }
    machine_arn = await machine(context, definition, "race")
    arns = [await start(context, machine_arn, f"e{i}") for i in range(40)]
    workers = [Worker(context, clock=clock, owner=f"w{i}") for i in range(3)]
    for _ in range(3):
        claims = [await worker.claim_once(limit=7) for worker in workers]
        await asyncio.gather(*(w.run_claimed(c) for w, c in zip(workers, claims, strict=True)))
        for _ in range(20):
            leftovers = [await worker.claim_once(limit=7) for worker in workers]
            if not any(leftovers):
                break
            await asyncio.gather(
                *(w.run_claimed(c) for w, c in zip(workers, leftovers, strict=True))
            )
        clock.now += 5
    for arn in arns:
        record = await context.store.get_execution(arn)
        assert record is not None and record.status == "SUCCEEDED", arn
        assert entered(await events_of(context, arn)) == ["A", "Zero", "Nap", "B"]


def test_worker_loop_start_stop(run: Callable[[Case], None]) -> None:
    run(_worker_loop_start_stop)


async def _worker_loop_start_stop(context: ServiceContext) -> None:
    worker = Worker(context, poll_seconds=0.05)
    await worker.start()
    arn = await start(
        context,
        await machine(
            context, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "loop"
        ),
        "l",
    )
    for _ in range(400):
        record = await context.store.get_execution(arn)
        if record is not None and record.status != "RUNNING":
            break
        await asyncio.sleep(0.005)
    await worker.stop()
    assert record is not None and record.status == "SUCCEEDED"
    assert worker.active == 0


def test_event_records_match_the_engine_shape() -> None:
    from stepline.asl import compile_definition

    definition = compile_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Assign": {"v": 1}, "Next": "F"},
                "F": {"Type": "Fail", "Error": "E", "Cause": "c"},
            },
        }
    )
    identity = ExecutionIdentity(
        "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "arn:aws:states:us-east-1:123456789012:execution:m:e",
        ROLE,
    )
    execution = Execution(definition, {"a": 1}, identity, lambda: T0)
    execution.advance()
    for event in execution.events:
        shaped = event.to_aws()
        record = event_record(event)
        member = next((k for k in shaped if k.endswith("EventDetails")), None)
        if member is None:
            assert record.details is None
        else:
            assert json.loads(record.details or "null") == json.loads(json.dumps(shaped[member]))
