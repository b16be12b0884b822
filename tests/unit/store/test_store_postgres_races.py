"""Several PostgreSQL stores (as several processes would have) racing for the same work.

Each store has its own pool of connections and threads, so the transactions below really run
at once in PostgreSQL; one test races real processes too. Exactly one must win each race.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import psycopg
from store_kit import PREFIX, T0, started, step

from stepline.store import (
    CHANNEL_EXECUTIONS,
    LeaseLost,
    PendingEvent,
    Store,
    StoreConflict,
    TaskClosed,
    TaskTokenRecord,
    TimerRecord,
    open_store,
)
from stepline.store._postgres import PostgresStore
from support.postgres import POSTGRES_URL

T = TypeVar("T")
ACTIVITY = f"{PREFIX}:activity:race"
WAIT = 30.0


def _two_stores(backend, body: Callable[[Store, Store], Awaitable[T]]) -> T:
    async def main() -> T:
        first = await backend.open()
        second = await backend.open()
        try:
            return await asyncio.wait_for(body(first, second), WAIT)
        finally:
            await first.close()
            await second.close()

    return asyncio.run(main())


def test_each_due_execution_is_claimed_once_across_stores(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        for index in range(40):
            await started(a, "C", f"c{index}")
        claims = await asyncio.gather(
            *[
                store.claim_runnable(f"{name}{n}", limit=3, lease_seconds=30, now=T0)
                for n in range(8)
                for name, store in (("a", a), ("b", b))
            ]
        )
        claimed = [c.execution.arn for batch in claims for c in batch]
        assert len(claimed) == len(set(claimed))
        rest = await a.claim_runnable("late", limit=100, lease_seconds=30, now=T0)
        assert len(claimed) + len(rest) == 40

    _two_stores(postgres_backend, body)


def test_one_worker_wins_a_due_timer_and_the_other_cannot_commit(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        record = await started(a, "T", "t")
        (claim,) = await a.claim_runnable("a", limit=1, lease_seconds=30, now=T0)
        await a.commit_step(
            step(record.arn, claim.lease_token, 2, timers_add=(TimerRecord("wait", T0 + 60),))
        )
        due = T0 + 60
        results = await asyncio.gather(
            *[
                store.claim_runnable(owner, limit=1, lease_seconds=30, now=due)
                for owner, store in [("a1", a), ("b1", b), ("a2", a), ("b2", b)]
            ]
        )
        winners = [batch[0] for batch in results if batch]
        assert len(winners) == 1
        (winner,) = winners
        assert winner.timers == (TimerRecord("wait", due),)
        # Whoever held an older lease is refused; the winner commits.
        try:
            await b.commit_step(step(record.arn, claim.lease_token, 5))
        except LeaseLost:
            pass
        else:
            raise AssertionError("a stale lease committed")
        await b.commit_step(step(record.arn, winner.lease_token, 5, timers_remove=("wait",)))

    _two_stores(postgres_backend, body)


def _activity_task(arn: str, token: str, effect_id: int) -> TaskTokenRecord:
    return TaskTokenRecord(
        token=token,
        execution_arn=arn,
        effect_id=effect_id,
        status="SCHEDULED",
        scheduled_at=T0 + effect_id,
        activity_arn=ACTIVITY,
        input="{}",
    )


def test_each_activity_task_goes_to_one_poller_and_completes_once(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        record = await started(a, "A", "a")
        (claim,) = await a.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
        tasks = tuple(_activity_task(record.arn, f"tok-{n}", n) for n in range(1, 4))
        await a.commit_step(step(record.arn, claim.lease_token, 2, tokens_add=tasks))
        takes = await asyncio.gather(
            *[
                store.take_activity_task(ACTIVITY, worker_name=f"{name}{n}", now=T0 + 5)
                for n in range(6)
                for name, store in (("a", a), ("b", b))
            ]
        )
        taken = sorted(t.token for t in takes if t is not None)
        assert taken == ["tok-1", "tok-2", "tok-3"]
        outcomes = await asyncio.gather(
            *[
                store.complete_task("tok-2", failed=False, output=f'{{"by": {n}}}', now=T0 + 6)
                for n, store in enumerate((a, b, a, b))
            ],
            return_exceptions=True,
        )
        won = [o for o in outcomes if isinstance(o, TaskTokenRecord)]
        lost = [o for o in outcomes if isinstance(o, TaskClosed)]
        assert len(won) == 1 and len(lost) == 3, outcomes
        (again,) = await a.claim_runnable("w2", limit=1, lease_seconds=30, now=T0 + 100)
        (done,) = [t for t in again.tokens if t.token == "tok-2"]
        assert done.status == "SUCCEEDED" and done.output == won[0].output

    _two_stores(postgres_backend, body)


def test_a_stop_and_a_commit_racing_leave_one_consistent_history(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        for round_ in range(6):
            record = await started(a, "S", f"s{round_}")
            (claim,) = await a.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
            aborted = PendingEvent(T0 + 1, "ExecutionAborted", "{}")
            commit, stop = await asyncio.gather(
                a.commit_step(step(record.arn, claim.lease_token, 2)),
                b.stop_execution(
                    record.arn, stop_date=T0 + 1, error=None, cause=None, events=[aborted]
                ),
                return_exceptions=True,
            )
            assert not isinstance(stop, BaseException) and stop[1] is True
            history = (await a.get_history(record.arn, max_results=100)).items
            types = [e.type for e in history]
            assert [e.id for e in history] == list(range(1, len(history) + 1))
            assert types[-1] == "ExecutionAborted" and types.count("ExecutionAborted") == 1
            if isinstance(commit, LeaseLost):
                assert len(history) == 2  # started, aborted: the step never landed
            else:
                assert commit is None and len(history) == 5  # the step, then the stop

    _two_stores(postgres_backend, body)


def test_creating_one_name_from_two_stores_stores_it_once(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        results = await asyncio.gather(
            *[started(store, "N", "same") for store in (a, b, a, b)], return_exceptions=True
        )
        created = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, StoreConflict)]
        assert len(created) == 1 and len(conflicts) == 3, results
        assert all(c.existing == created[0] for c in conflicts)

    _two_stores(postgres_backend, body)


def test_a_commit_in_one_store_wakes_the_subscribers_of_another(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        woken = asyncio.Event()
        unsubscribe = b.subscribe(CHANNEL_EXECUTIONS, woken.set)
        await started(a, "W", "w")
        await asyncio.wait_for(woken.wait(), WAIT)
        unsubscribe()

    _two_stores(postgres_backend, body)


_CLAIMER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from stepline.store import open_store

    async def main():
        store = await open_store(sys.argv[1])
        claimed = []
        deadline = time.monotonic() + 20
        try:
            for _ in range(200):
                if time.monotonic() > deadline:
                    break
                batch = await store.claim_runnable(sys.argv[2], limit=2, lease_seconds=300,
                                                   now=float(sys.argv[3]))
                if not batch:
                    break
                claimed += [c.execution.arn for c in batch]
        finally:
            await store.close()
        print(json.dumps(claimed))

    asyncio.run(main())
    """
)


def test_processes_racing_claim_each_execution_once(postgres_backend, tmp_path: Path):
    async def prepare() -> None:
        store = await postgres_backend.open()
        try:
            for index in range(60):
                await started(store, "P", f"p{index}")
        finally:
            await store.close()

    asyncio.run(prepare())
    script = tmp_path / "claimer.py"
    script.write_text(_CLAIMER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), postgres_backend.url, f"proc{n}", str(T0)],
            stdout=subprocess.PIPE,
            env=env,
        )
        for n in range(2)
    ]
    claimed: list[str] = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        claimed += json.loads(out)
    assert len(claimed) == len(set(claimed))

    async def rest() -> int:
        store = await open_store(postgres_backend.url)
        try:
            return len(await store.claim_runnable("late", limit=100, lease_seconds=30, now=T0))
        finally:
            await store.close()

    assert len(claimed) + asyncio.run(rest()) == 60


def test_the_listen_connection_comes_back_after_it_was_cut(postgres_backend):
    async def body(a: Store, b: Store) -> None:
        assert isinstance(b, PostgresStore)
        woken = asyncio.Event()
        b.subscribe(CHANNEL_EXECUTIONS, woken.set)
        cut = b.listener.backend_pid
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (cut,))
        # Back: it fires every channel once (signals may have been lost meanwhile)...
        await asyncio.wait_for(woken.wait(), WAIT)
        assert b.listener.backend_pid != cut
        # ...and hears other stores again.
        woken.clear()
        await a.signal(CHANNEL_EXECUTIONS)
        await asyncio.wait_for(woken.wait(), WAIT)

    _two_stores(postgres_backend, body)
