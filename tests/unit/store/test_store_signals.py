"""Wake-up signals (subscribe/signal) — on every backend.

Absence of a signal is checked with a barrier: signals reach a subscriber in the order their
transactions committed, so once a later ``signal`` on the other channel has arrived, an
earlier one that was due would have arrived too.
"""

from __future__ import annotations

import asyncio

import pytest
from store_kit import PREFIX, T0, started, step

from stepline.store import (
    CHANNEL_ACTIVITIES,
    CHANNEL_EXECUTIONS,
    PendingEvent,
    Store,
    TaskTokenRecord,
)

WAIT = 10.0
ACTIVITY = f"{PREFIX}:activity:signals"


class Recorder:
    """Subscribes to both channels and records what arrives, in order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: list[str] = []
        self._arrived = asyncio.Event()
        self.unsubscribe = [
            store.subscribe(channel, lambda channel=channel: self._record(channel))
            for channel in (CHANNEL_EXECUTIONS, CHANNEL_ACTIVITIES)
        ]

    def _record(self, channel: str) -> None:
        self.seen.append(channel)
        self._arrived.set()

    async def next(self) -> str:
        """The next channel that arrives (bounded wait)."""
        async with asyncio.timeout(WAIT):
            while not self.seen:
                self._arrived.clear()
                await self._arrived.wait()
        return self.seen.pop(0)

    async def nothing_then_barrier(self) -> None:
        """Assert that no signal is pending: the next one to arrive is a fresh barrier."""
        await self.store.signal(CHANNEL_ACTIVITIES)
        assert await self.next() == CHANNEL_ACTIVITIES
        assert self.seen == []


def test_signal_reaches_subscribers_until_they_unsubscribe(backend):
    async def body(store: Store) -> None:
        calls: list[int] = []
        unsubscribe = store.subscribe(CHANNEL_EXECUTIONS, lambda: calls.append(1))
        # Subscribed after: a signal reaches it after ``calls`` (subscribers run in order).
        recorder = Recorder(store)
        await store.signal(CHANNEL_EXECUTIONS)
        assert await recorder.next() == CHANNEL_EXECUTIONS
        assert calls == [1]
        unsubscribe()
        unsubscribe()  # idempotent
        await store.signal(CHANNEL_EXECUTIONS)
        assert await recorder.next() == CHANNEL_EXECUTIONS
        assert calls == [1]
        for stop in recorder.unsubscribe:
            stop()
        await store.signal(CHANNEL_EXECUTIONS)
        await asyncio.sleep(0.05)
        assert recorder.seen == []

    backend.run(body)


def test_unknown_channel_is_refused_with_the_known_ones(backend):
    async def body(store: Store) -> None:
        with pytest.raises(ValueError, match="executions"):
            store.subscribe("execution", lambda: None)
        with pytest.raises(ValueError, match="activities"):
            await store.signal("activity")

    backend.run(body)


def test_store_signals_executions_that_become_due_now(backend):
    async def body(store: Store) -> None:
        recorder = Recorder(store)
        await started(store, "S", "idle", runnable_at=None)
        await started(store, "S", "later", runnable_at=T0 * 10)
        await recorder.nothing_then_barrier()
        record = await started(store, "S", "now")
        assert await recorder.next() == CHANNEL_EXECUTIONS
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
        await store.commit_step(step(record.arn, claim.lease_token, 2, keep_lease_until=T0 + 60))
        await store.release(record.arn, claim.lease_token, runnable_at=T0 * 5)
        await recorder.nothing_then_barrier()
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 * 10)
        await store.release(record.arn, claim.lease_token, runnable_at=T0)
        assert await recorder.next() == CHANNEL_EXECUTIONS
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 * 10)
        await store.commit_step(step(record.arn, claim.lease_token, 5, runnable_at=T0))
        assert await recorder.next() == CHANNEL_EXECUTIONS
        stopped = PendingEvent(T0, "ExecutionAborted", "{}")
        await store.stop_execution(
            record.arn, stop_date=T0, error=None, cause=None, events=[stopped]
        )
        assert await recorder.next() == CHANNEL_EXECUTIONS
        await recorder.nothing_then_barrier()

    backend.run(body)


def test_store_signals_activity_tasks_and_their_completion(backend):
    async def body(store: Store) -> None:
        recorder = Recorder(store)
        record = await started(store, "A", "a")
        assert await recorder.next() == CHANNEL_EXECUTIONS
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
        task = TaskTokenRecord(
            token="tok-signals",
            execution_arn=record.arn,
            effect_id=1,
            status="SCHEDULED",
            scheduled_at=T0,
            activity_arn=ACTIVITY,
            input="{}",
        )
        await store.commit_step(
            step(record.arn, claim.lease_token, 2, tokens_add=(task,), keep_lease_until=T0 * 10)
        )
        assert await recorder.next() == CHANNEL_ACTIVITIES
        taken = await store.take_activity_task(ACTIVITY, worker_name="w", now=T0)
        assert taken is not None
        # The execution is leased: taking the task does not make it due.
        await recorder.nothing_then_barrier()
        await store.complete_task(taken.token, failed=False, output="{}", now=T0)
        # Its holder (maybe in another process) must learn of the outcome.
        assert await recorder.next() == CHANNEL_EXECUTIONS
        await recorder.nothing_then_barrier()

    backend.run(body)


def test_a_rolled_back_write_signals_nothing(backend):
    async def body(store: Store) -> None:
        await started(store, "R", "r", runnable_at=None)
        recorder = Recorder(store)
        results = await asyncio.gather(
            started(store, "R", "r"), started(store, "R", "fresh"), return_exceptions=True
        )
        assert isinstance(results[0], Exception) and not isinstance(results[1], Exception)
        assert await recorder.next() == CHANNEL_EXECUTIONS
        await recorder.nothing_then_barrier()

    backend.run(body)


def test_store_signals_a_redriven_execution(backend):
    async def body(store: Store) -> None:
        record = await started(store, "S", "redriven")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
        await store.commit_step(
            step(record.arn, claim.lease_token, 2, status="FAILED", stop_date=T0 + 1, error="E")
        )
        recorder = Recorder(store)
        await recorder.nothing_then_barrier()
        redriven = PendingEvent(T0 + 2, "ExecutionRedriven", '{"redriveCount": 1}')
        await store.redrive_execution(
            record.arn, redrive_count=0, redrive_date=T0 + 2, events=[redriven]
        )
        assert await recorder.next() == CHANNEL_EXECUTIONS

    backend.run(body)
