"""Child process for the SIGKILL test: commits steps as fast as it can and reports each ack.

Usage: ``python store_crash_child.py DB_PATH EXECUTIONS MAX_STEPS``. For every acknowledged
commit it prints ``<execution index> <last event id>`` and flushes, so the parent knows what
the store acknowledged before the kill. It stops by itself after MAX_STEPS steps per execution
(the parent normally kills it long before).
"""

from __future__ import annotations

import asyncio
import sys

from stepline.store import (
    ClaimedExecution,
    ExecutionRecord,
    HistoryEventRecord,
    SqliteStore,
    StepCommit,
    TimerRecord,
)

PREFIX = "arn:aws:states:us-east-1:123456789012"


def arn_of(index: int) -> str:
    return f"{PREFIX}:execution:Crash:e{index}"


async def drive(store: SqliteStore, index: int, claim: ClaimedExecution, max_steps: int) -> None:
    last = 1
    for number in range(max_steps):
        events = tuple(
            HistoryEventRecord(
                last + k, last + k - 1, float(number), "PassStateEntered", f'{{"n": {number}}}'
            )
            for k in (1, 2, 3)
        )
        await store.commit_step(
            StepCommit(
                arn_of(index),
                claim.lease_token,
                events=events,
                snapshot=number.to_bytes(8, "big") * 128,
                timers_add=(TimerRecord(f"t{number % 4}", float(number)),),
                keep_lease_until=1e12,
            )
        )
        last += 3
        print(index, last, flush=True)


async def main() -> None:
    path, executions, max_steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = SqliteStore(path)
    for index in range(executions):
        record = ExecutionRecord(
            arn=arn_of(index),
            state_machine_arn=f"{PREFIX}:stateMachine:Crash",
            name=f"e{index}",
            revision_id="r",
            status="RUNNING",
            start_date=0.0,
            input="{}",
        )
        start = HistoryEventRecord(1, 0, 0.0, "ExecutionStarted", '{"input": "{}"}')
        await store.create_execution(record, [start], runnable_at=0.0)
    claims = await store.claim_runnable("child", limit=executions, lease_seconds=3600, now=1.0)
    by_arn = {claim.execution.arn: claim for claim in claims}
    print("ready", flush=True)
    await asyncio.gather(
        *[drive(store, index, by_arn[arn_of(index)], max_steps) for index in range(executions)]
    )
    await store.close()


if __name__ == "__main__":
    asyncio.run(main())
