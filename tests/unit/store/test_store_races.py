"""Several processes racing for the same work (issue #7): exactly one wins.

Each contender opens its own store on the same database (its own connections, thread and event
loop, as a separate process would) and they start together: a due timer is claimed by one
worker, an activity task is taken by one poller, a callback token is completed once. On the
durable backends only (the memory store lives in one process).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from store_kit import PREFIX, T0, started, step

from stepline.store import Store, TaskClosed, TaskTokenRecord, TimerRecord

T = TypeVar("T")
CONTENDERS = 4
ACTIVITY = f"{PREFIX}:activity:race"


def _race(backend: Any, contest: Callable[[Store, int], Awaitable[T]]) -> list[T | BaseException]:
    if not backend.reopen:
        pytest.skip("one process only: the memory store cannot be shared")
    barrier = threading.Barrier(CONTENDERS, timeout=30)
    results: list[T | BaseException] = [RuntimeError("did not run")] * CONTENDERS

    def contender(index: int) -> None:
        async def main() -> T:
            store = await backend.open()
            try:
                await asyncio.to_thread(barrier.wait)
                return await contest(store, index)
            finally:
                await store.close()

        try:
            results[index] = asyncio.run(main())
        except BaseException as exc:  # reported to the test below
            results[index] = exc

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(CONTENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


async def _released_with(store: Store, name: str, **commit: Any) -> str:
    record = await started(store, "Race", name)
    (claim,) = await store.claim_runnable("setup", limit=1, lease_seconds=30, now=T0)
    await store.commit_step(step(record.arn, claim.lease_token, 2, **commit))
    return record.arn


def test_workers_racing_for_a_due_timer_one_claims_it(backend):
    arn = backend.run(
        lambda store: _released_with(store, "timer", timers_add=(TimerRecord("7", T0 + 5),))
    )
    results = _race(
        backend,
        lambda store, i: store.claim_runnable(f"w{i}", limit=5, lease_seconds=30, now=T0 + 5),
    )
    claims = [claim for result in results if isinstance(result, list) for claim in result]
    assert len(claims) == 1, results
    assert claims[0].execution.arn == arn and [t.timer_id for t in claims[0].timers] == ["7"]


def test_pollers_racing_for_an_activity_task_one_takes_it(backend):
    arn = f"{PREFIX}:execution:Race:act"
    task = TaskTokenRecord(
        token="tok-act",
        execution_arn=arn,
        effect_id=1,
        status="SCHEDULED",
        scheduled_at=T0,
        activity_arn=ACTIVITY,
        input="{}",
    )
    backend.run(lambda store: _released_with(store, "act", tokens_add=(task,)))
    results = _race(
        backend,
        lambda store, i: store.take_activity_task(ACTIVITY, worker_name=f"p{i}", now=T0 + 1),
    )
    taken = [result for result in results if isinstance(result, TaskTokenRecord)]
    assert len(taken) == 1 and results.count(None) == CONTENDERS - 1, results


def test_callers_racing_to_complete_a_callback_token_one_wins(backend):
    arn = f"{PREFIX}:execution:Race:cb"
    token = TaskTokenRecord(
        token="tok-cb", execution_arn=arn, effect_id=1, status="STARTED", scheduled_at=T0
    )
    backend.run(lambda store: _released_with(store, "cb", tokens_add=(token,)))
    results = _race(
        backend,
        lambda store, i: store.complete_task(
            "tok-cb", failed=False, output=f'{{"winner": {i}}}', now=T0 + 1
        ),
    )
    assert sum(isinstance(r, TaskTokenRecord) for r in results) == 1, results
    assert sum(isinstance(r, TaskClosed) for r in results) == CONTENDERS - 1, results
