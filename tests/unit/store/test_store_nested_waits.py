"""A ``.sync`` parent's wait for its child, and the activity heartbeat clock — on every backend.

The parent's task waits on a ``STARTED`` token; the child is stored linked to it; the child's
terminal commit (or its stop) completes that token in the same transaction and wakes the
parent; the children a parent no longer waits for are found through the store.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_kit import PREFIX, T0, events, execution, started, step
from test_store_task_tokens import ACTIVITY, _activity_task, _callback, _waiting

from stepline.store import (
    PendingEvent,
    RecordNotFound,
    Store,
    TaskClosed,
    TaskTokenRecord,
)


async def _leased_parent(store: Store, name: str, *tokens: TaskTokenRecord) -> tuple[str, str]:
    """A parent whose worker keeps its lease (another task runs); its ARN and lease token."""
    record = await started(store, "M", name)
    (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
    await store.commit_step(
        step(record.arn, claim.lease_token, 2, tokens_add=tokens, keep_lease_until=T0 + 30)
    )
    return record.arn, claim.lease_token


async def _child(store: Store, name: str, token: str | None, parent: str) -> str:
    stored = await store.create_execution(
        replace(execution("C", name), parent_execution_arn=parent),
        events(1, 1),
        runnable_at=T0,
        parent_task_token=token,
    )
    return stored.arn


async def _end(store: Store, arn: str, status: str, now: float) -> None:
    (claim,) = [
        c
        for c in await store.claim_runnable("w", limit=10, lease_seconds=30, now=now)
        if c.execution.arn == arn
    ]
    await store.commit_step(
        step(
            arn,
            claim.lease_token,
            claim.execution.last_event_id + 1,
            count=1,
            status=status,
            stop_date=now,
            output='{"ok": 1}' if status == "SUCCEEDED" else None,
            error=None if status == "SUCCEEDED" else "E",
        )
    )


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "TIMED_OUT"])
def test_the_childs_end_completes_the_parents_wait_and_wakes_it(backend, status):
    async def body(store: Store) -> None:
        parent = await _waiting(store, "p", _callback(f"{PREFIX}:execution:M:p", "tok"))
        assert await store.next_wake_at() is None  # the parent sleeps until its child ends
        child = await _child(store, "c", "tok", parent)
        # Linked, and no longer completable through SendTask*.
        with pytest.raises(RecordNotFound):
            await store.complete_task("tok", failed=False, output="1", now=T0 + 1)
        with pytest.raises(RecordNotFound):
            await store.heartbeat_task("tok", now=T0 + 1)
        # The parent sleeps while the child runs: claims hand out the child only.
        (claim,) = await store.claim_runnable("w", limit=10, lease_seconds=30, now=T0 + 1)
        assert claim.execution.arn == child
        await store.release(child, claim.lease_token, runnable_at=T0 + 2)
        await _end(store, child, status, T0 + 2)
        # The same commit completed the parent's task and woke the parent.
        (woken,) = await store.claim_runnable("w", limit=10, lease_seconds=30, now=T0 + 2)
        assert woken.execution.arn == parent
        (token,) = woken.tokens
        expected = "SUCCEEDED" if status == "SUCCEEDED" else "FAILED"
        assert token.status == expected and token.completed_at == T0 + 2
        assert token.child_execution_arn == child
        assert token.output is None and token.error is None
        assert await store.orphaned_children(parent) == ()

    backend.run(body)


def test_stopping_the_child_fails_the_parents_callback(backend):
    async def body(store: Store) -> None:
        parent = await _waiting(store, "p", _callback(f"{PREFIX}:execution:M:p", "tok"))
        child = await _child(store, "c", "tok", parent)
        _, stopped = await store.stop_execution(
            child,
            stop_date=T0 + 3,
            error=None,
            cause="stop",
            events=(PendingEvent(T0 + 3, "ExecutionAborted"),),
        )
        assert stopped
        woken = [
            c
            for c in await store.claim_runnable("w", limit=10, lease_seconds=30, now=T0 + 3)
            if c.execution.arn == parent
        ]
        assert [t.status for t in woken[0].tokens] == ["FAILED"]

    backend.run(body)


def test_a_child_ending_while_its_parent_is_leased_wakes_it_on_release(backend):
    async def body(store: Store) -> None:
        parent, lease = await _leased_parent(
            store, "p", _callback(f"{PREFIX}:execution:M:p", "tok")
        )
        child = await _child(store, "c", "tok", parent)
        await _end(store, child, "SUCCEEDED", T0 + 1)
        # The holder releases it without a runnable_at: the stored outcome wakes it.
        await store.release(parent, lease, runnable_at=None)
        (woken,) = await store.claim_runnable("w", limit=10, lease_seconds=30, now=T0 + 1)
        assert woken.execution.arn == parent
        assert [t.status for t in woken.tokens] == ["SUCCEEDED"]

    backend.run(body)


def test_a_closed_wait_refuses_the_child_and_stores_nothing(backend):
    async def body(store: Store) -> None:
        arn = f"{PREFIX}:execution:M:p"
        parent, lease = await _leased_parent(
            store, "p", _callback(arn, "tok"), _callback(arn, "tok2", 2)
        )
        await store.commit_step(
            step(parent, lease, 5, tokens_close=("tok",), keep_lease_until=T0 + 30)
        )
        with pytest.raises(TaskClosed):
            await _child(store, "c", "tok", parent)
        with pytest.raises(TaskClosed):
            await _child(store, "c", "unknown-token", parent)
        assert await store.get_execution(f"{PREFIX}:execution:C:c") is None
        # A token links one child only.
        await _child(store, "c2", "tok2", parent)
        with pytest.raises(TaskClosed):
            await _child(store, "c3", "tok2", parent)
        assert await store.get_execution(f"{PREFIX}:execution:C:c3") is None

    backend.run(body)


def test_orphaned_children_are_the_running_sync_children_no_longer_waited_for(backend):
    async def body(store: Store) -> None:
        arn = f"{PREFIX}:execution:M:p"
        parent, lease = await _leased_parent(
            store, "p", _callback(arn, "a"), _callback(arn, "b", 2), _callback(arn, "x", 3)
        )
        waited = await _child(store, "waited", "a", parent)
        cancelled = await _child(store, "cancelled", "b", parent)
        ended = await _child(store, "ended", "x", parent)
        plain = await _child(store, "plain", None, parent)  # request-response: no wait
        await _end(store, ended, "SUCCEEDED", T0 + 1)
        assert await store.orphaned_children(parent) == ()
        await store.commit_step(
            step(parent, lease, 5, tokens_close=("b",), keep_lease_until=T0 + 30)
        )
        assert await store.orphaned_children(parent) == (cancelled,)
        # The parent ends: every token closes; the child it waited for is orphaned too.
        await store.stop_execution(
            parent,
            stop_date=T0 + 2,
            error=None,
            cause=None,
            events=(PendingEvent(T0 + 2, "ExecutionAborted"),),
        )
        assert await store.orphaned_children(parent) == tuple(sorted((waited, cancelled)))
        assert plain not in await store.orphaned_children(parent)
        assert await store.orphaned_children(f"{PREFIX}:execution:M:none") == ()

    backend.run(body)


def test_taking_an_activity_task_starts_its_heartbeat_clock(backend):
    async def body(store: Store) -> None:
        arn = f"{PREFIX}:execution:M:a"
        await _waiting(
            store,
            "a",
            _activity_task(arn, "beats", heartbeat_seconds=10),
            _activity_task(arn, "quiet", 2, scheduled_at=T0 + 1),
        )
        taken = await store.take_activity_task(ACTIVITY, worker_name="w", now=T0 + 5)
        assert taken is not None and taken.token == "beats"
        assert taken.heartbeat_due == T0 + 15
        other = await store.take_activity_task(ACTIVITY, worker_name="w", now=T0 + 6)
        assert other is not None and other.heartbeat_due is None
        # Stored so: a heartbeat missed from the take on is a closed task.
        with pytest.raises(TaskClosed):
            await store.complete_task("beats", failed=False, output="1", now=T0 + 15)
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 6)
        by_token = {t.token: t for t in claim.tokens}
        assert by_token["beats"].heartbeat_due == T0 + 15

    backend.run(body)


def test_a_reported_activity_start_no_longer_wakes_its_execution(backend):
    async def body(store: Store) -> None:
        arn = f"{PREFIX}:execution:M:r"
        await _waiting(
            store,
            "r",
            _activity_task(arn, "tok", timeout_at=T0 + 100, heartbeat_seconds=10),
        )
        assert await store.take_activity_task(ACTIVITY, worker_name="w", now=T0 + 5)
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 5)
        # The worker records ActivityStarted and lets go: the execution sleeps until the
        # heartbeat is due (not at once again, which would claim it over and over).
        await store.commit_step(step(arn, claim.lease_token, 5, tokens_reported=("tok",)))
        assert await store.next_wake_at() == T0 + 15
        assert await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 6) == []
        beat = await store.heartbeat_task("tok", now=T0 + 12)
        assert beat.heartbeat_due == T0 + 22
        done = await store.complete_task("tok", failed=False, output="1", now=T0 + 13)
        assert done.status == "SUCCEEDED"
        (woken,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 13)
        assert [t.status for t in woken.tokens] == ["SUCCEEDED"]

    backend.run(body)
