"""Claims, leases, step commits, timers — on every backend."""

from __future__ import annotations

import asyncio

import pytest
from store_kit import T0, events, exec_arn, started, step

from stepline.store import (
    HistoryConflict,
    LeaseLost,
    PendingEvent,
    RecordNotFound,
    StepCommit,
    Store,
    TimerRecord,
)


def test_claim_gives_snapshot_timers_and_lease(backend):
    async def body(store: Store) -> None:
        record = await started(store, "C", "c")
        assert await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0 - 1) == []
        (claim,) = await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0)
        assert claim.execution == record and claim.snapshot is None and claim.timers == ()
        assert claim.lease_expires_at == T0 + 30
        # Leased: nobody else gets it until the lease expires.
        assert await store.claim_runnable("v", limit=5, lease_seconds=30, now=T0 + 29) == []
        await store.commit_step(
            step(
                record.arn,
                claim.lease_token,
                2,
                timers_add=(TimerRecord("wait", T0 + 100), TimerRecord("retry", T0 + 50)),
            )
        )
        assert await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0 + 49) == []
        assert await store.next_wake_at() == T0 + 50
        (again,) = await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0 + 50)
        assert again.snapshot == b"s" * 1024
        assert again.timers == (TimerRecord("retry", T0 + 50), TimerRecord("wait", T0 + 100))
        assert again.execution.last_event_id == 4
        assert again.lease_token != claim.lease_token

    backend.run(body)


def test_claims_are_ordered_and_limited(backend):
    async def body(store: Store) -> None:
        for index in range(6):
            await started(store, "O", f"o{index}", runnable_at=T0 + 10 - index)
        await started(store, "O", "idle", runnable_at=None)
        first = await store.claim_runnable("w", limit=4, lease_seconds=30, now=T0 + 100)
        assert [c.execution.name for c in first] == ["o5", "o4", "o3", "o2"]
        rest = await store.claim_runnable("w", limit=4, lease_seconds=30, now=T0 + 100)
        assert [c.execution.name for c in rest] == ["o1", "o0"]

    backend.run(body)


def test_two_owners_racing_exactly_one_wins(backend):
    async def body(store: Store) -> None:
        for index in range(20):
            await started(store, "R", f"r{index}")
        results = await asyncio.gather(
            *[
                store.claim_runnable(f"owner{n}", limit=3, lease_seconds=30, now=T0)
                for n in range(10)
            ]
        )
        claimed = [c.execution.arn for result in results for c in result]
        assert len(claimed) == 20 and len(set(claimed)) == 20

    backend.run(body)


def test_expired_lease_is_reclaimed_and_old_owner_loses(backend):
    async def body(store: Store) -> None:
        record = await started(store, "E", "e")
        (old,) = await store.claim_runnable("a", limit=1, lease_seconds=10, now=T0)
        (new,) = await store.claim_runnable("b", limit=1, lease_seconds=10, now=T0 + 10)
        with pytest.raises(LeaseLost) as caught:
            await store.commit_step(step(record.arn, old.lease_token, 2))
        assert "another worker" in str(caught.value)
        with pytest.raises(LeaseLost):
            await store.renew_lease(record.arn, old.lease_token, lease_seconds=10, now=T0 + 11)
        with pytest.raises(LeaseLost):
            await store.release(record.arn, old.lease_token, runnable_at=T0)
        await store.commit_step(step(record.arn, new.lease_token, 2))
        assert (await store.get_execution(record.arn)).last_event_id == 4  # type: ignore[union-attr]
        # The winner released: the loser's token still fails.
        with pytest.raises(LeaseLost) as caught:
            await store.commit_step(step(record.arn, new.lease_token, 5))
        assert "released" in str(caught.value)

    backend.run(body)


def test_renew_keep_and_release(backend):
    async def body(store: Store) -> None:
        record = await started(store, "K", "k")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        assert (
            await store.renew_lease(record.arn, claim.lease_token, lease_seconds=10, now=T0 + 5)
            == T0 + 15
        )
        assert await store.claim_runnable("x", limit=1, lease_seconds=10, now=T0 + 12) == []
        # Commit while keeping the lease (tasks still in flight).
        await store.commit_step(step(record.arn, claim.lease_token, 2, keep_lease_until=T0 + 40))
        assert await store.claim_runnable("x", limit=1, lease_seconds=10, now=T0 + 39) == []
        await store.commit_step(step(record.arn, claim.lease_token, 5, runnable_at=None))
        # Released with nothing to wake it: never due.
        assert await store.claim_runnable("x", limit=1, lease_seconds=10, now=T0 + 10**6) == []
        assert await store.next_wake_at() is None

    backend.run(body)


def test_release_wakes_at_earliest_of_runnable_at_and_timers(backend):
    async def body(store: Store) -> None:
        record = await started(store, "W", "w")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        await store.commit_step(
            step(
                record.arn,
                claim.lease_token,
                2,
                keep_lease_until=T0 + 10,
                timers_add=(TimerRecord("t", T0 + 30),),
            )
        )
        await store.release(record.arn, claim.lease_token, runnable_at=T0 + 60)
        assert await store.next_wake_at() == T0 + 30
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0 + 30)
        await store.commit_step(
            step(record.arn, claim.lease_token, 5, timers_remove=("t",), runnable_at=T0 + 70)
        )
        assert await store.next_wake_at() == T0 + 70
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0 + 70)
        assert claim.timers == ()
        with pytest.raises(RecordNotFound):
            await store.release(exec_arn("W", "ghost"), "t", runnable_at=None)

    backend.run(body)


def test_final_step_ends_execution(backend):
    async def body(store: Store) -> None:
        record = await started(store, "F", "f")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        await store.commit_step(
            step(
                record.arn,
                claim.lease_token,
                2,
                keep_lease_until=T0 + 10,
                timers_add=(TimerRecord("t", T0 + 30),),
            )
        )
        with pytest.raises(ValueError):
            await store.commit_step(StepCommit(record.arn, claim.lease_token, status="SUCCEEDED"))
        await store.commit_step(
            step(
                record.arn,
                claim.lease_token,
                5,
                status="SUCCEEDED",
                stop_date=T0 + 3,
                output='{"ok": true}',
            )
        )
        done = await store.get_execution(record.arn)
        assert done is not None
        assert (done.status, done.stop_date, done.output, done.last_event_id) == (
            "SUCCEEDED",
            T0 + 3,
            '{"ok": true}',
            7,
        )
        assert await store.next_wake_at() is None
        assert await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0 + 10**6) == []
        with pytest.raises(LeaseLost) as caught:
            await store.commit_step(step(record.arn, claim.lease_token, 8))
        assert "SUCCEEDED" in str(caught.value)
        assert not await store.has_running_executions(record.state_machine_arn)

    backend.run(body)


def test_failing_commit_leaves_nothing(backend):
    async def body(store: Store) -> None:
        record = await started(store, "A", "a")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        await store.commit_step(step(record.arn, claim.lease_token, 2, keep_lease_until=T0 + 10))
        stale = StepCommit(
            record.arn,
            claim.lease_token,
            events=events(4, 2) + events(7, 1),
            snapshot=b"new",
            timers_add=(TimerRecord("x", T0),),
            status=None,
        )
        with pytest.raises(HistoryConflict):
            await store.commit_step(stale)
        with pytest.raises(HistoryConflict):  # a double commit of the step already stored
            await store.commit_step(step(record.arn, claim.lease_token, 2))
        assert (await store.get_execution(record.arn)).last_event_id == 4  # type: ignore[union-attr]
        assert [e.id for e in (await store.get_history(record.arn)).items] == [1, 2, 3, 4]
        # Lease, snapshot and timers untouched: the holder can still commit the right step.
        await store.release(record.arn, claim.lease_token, runnable_at=T0)
        (again,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        assert again.snapshot == b"s" * 1024 and again.timers == ()

    backend.run(body)


def test_stop_while_leased_fences_the_holder(backend):
    async def body(store: Store) -> None:
        record = await started(store, "P", "p")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        await store.commit_step(
            step(
                record.arn,
                claim.lease_token,
                2,
                keep_lease_until=T0 + 10,
                timers_add=(TimerRecord("t", T0 + 5),),
            )
        )
        stopped, changed = await store.stop_execution(
            record.arn,
            stop_date=T0 + 1,
            error=None,
            cause=None,
            events=[PendingEvent(T0 + 1, "ExecutionAborted")],
        )
        assert changed and stopped.last_event_id == 5
        with pytest.raises(LeaseLost) as caught:
            await store.commit_step(step(record.arn, claim.lease_token, 5))
        assert "ABORTED" in str(caught.value)
        with pytest.raises(LeaseLost):
            await store.renew_lease(record.arn, claim.lease_token, lease_seconds=5, now=T0 + 2)
        assert await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0 + 100) == []
        assert [
            e.type for e in (await store.get_history(record.arn, reverse=True, max_results=1)).items
        ] == ["ExecutionAborted"]

    backend.run(body)


def test_many_concurrent_commits_each_get_their_own_outcome(backend):
    async def body(store: Store) -> None:
        for index in range(200):
            await started(store, "G", f"g{index}")
        claims = await store.claim_runnable("w", limit=200, lease_seconds=60, now=T0)
        assert len(claims) == 200
        commits = [
            step(c.execution.arn, c.lease_token, 2 if index != 77 else 3)
            for index, c in enumerate(claims)
        ]
        results = await asyncio.gather(
            *[store.commit_step(s) for s in commits], return_exceptions=True
        )
        failures = [index for index, result in enumerate(results) if result is not None]
        assert failures == [77]
        assert isinstance(results[77], HistoryConflict)
        for index, claim in enumerate(claims):
            stored = await store.get_execution(claim.execution.arn)
            assert stored is not None
            assert stored.last_event_id == (1 if index == 77 else 4)

    backend.run(body)
