"""Activities and task tokens — on every backend."""

from __future__ import annotations

import asyncio

import pytest
from store_kit import PREFIX, T0, started, step

from stepline.store import (
    ActivityRecord,
    PendingEvent,
    RecordNotFound,
    Store,
    TaskClosed,
    TaskTokenRecord,
)

ACTIVITY = f"{PREFIX}:activity:work"


def _activity_task(arn: str, token: str, effect_id: int = 1, **kwargs: object) -> TaskTokenRecord:
    fields: dict[str, object] = {
        "token": token,
        "execution_arn": arn,
        "effect_id": effect_id,
        "status": "SCHEDULED",
        "scheduled_at": T0,
        "activity_arn": ACTIVITY,
        "input": '{"n": 1}',
    }
    fields.update(kwargs)
    return TaskTokenRecord(**fields)  # type: ignore[arg-type]


def _callback(arn: str, token: str, effect_id: int = 1, **kwargs: object) -> TaskTokenRecord:
    fields: dict[str, object] = {
        "token": token,
        "execution_arn": arn,
        "effect_id": effect_id,
        "status": "STARTED",
        "scheduled_at": T0,
    }
    fields.update(kwargs)
    return TaskTokenRecord(**fields)  # type: ignore[arg-type]


async def _waiting(store: Store, name: str, *tokens: TaskTokenRecord) -> str:
    """An execution released with ``tokens`` scheduled; its ARN."""
    record = await started(store, "M", name)
    (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
    await store.commit_step(step(record.arn, claim.lease_token, 2, tokens_add=tokens))
    return record.arn


def test_activities_create_is_idempotent_list_and_delete(backend):
    async def body(store: Store) -> None:
        first = ActivityRecord(f"{PREFIX}:activity:b", "b", T0)
        assert await store.create_activity(first) == (first, True)
        again = ActivityRecord(first.arn, "b", T0 + 5)
        assert await store.create_activity(again) == (first, False)
        for name in ("a", "c"):
            await store.create_activity(ActivityRecord(f"{PREFIX}:activity:{name}", name, T0))
        page = await store.list_activities(max_results=2)
        assert [a.name for a in page.items] == ["a", "b"] and page.next_token
        rest = await store.list_activities(max_results=2, next_token=page.next_token)
        assert [a.name for a in rest.items] == ["c"] and rest.next_token is None
        assert await store.get_activity(first.arn) == first
        assert await store.delete_activity(first.arn) is True
        assert await store.delete_activity(first.arn) is False
        assert await store.get_activity(first.arn) is None

    backend.run(body)


def test_activity_task_goes_to_exactly_one_poller_oldest_first(backend):
    async def body(store: Store) -> None:
        arn = f"{PREFIX}:execution:M:e"
        await _waiting(
            store,
            "e",
            _activity_task(arn, "tok-late", 2, scheduled_at=T0 + 1),
            _activity_task(arn, "tok-early", 1),
        )
        takes = await asyncio.gather(
            *(store.take_activity_task(ACTIVITY, worker_name=f"w{i}", now=T0 + 2) for i in range(6))
        )
        taken = [t for t in takes if t is not None]
        # Concurrent pollers on a pooled backend may finish in any order (SKIP LOCKED lets a
        # later caller take the younger task while an earlier one holds the older): each task
        # goes to exactly one of them. Oldest-first is checked with sequential takes below.
        assert sorted(t.token for t in taken) == ["tok-early", "tok-late"]
        early = next(t for t in taken if t.token == "tok-early")
        assert early.status == "STARTED"
        assert early.worker_name is not None and early.input == '{"n": 1}'
        assert await store.take_activity_task(ACTIVITY, worker_name="x", now=T0 + 3) is None
        # The take woke the execution, so that its worker records ActivityStarted.
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 2)
        assert {t.token for t in claim.tokens} == {"tok-early", "tok-late"}
        assert all(t.status == "STARTED" and not t.started_reported for t in claim.tokens)

    backend.run(body)


def test_activity_tasks_are_handed_out_oldest_first(backend):
    async def body(store: Store) -> None:
        arn = f"{PREFIX}:execution:M:o"
        await _waiting(
            store,
            "o",
            _activity_task(arn, "tok-late", 2, scheduled_at=T0 + 1),
            _activity_task(arn, "tok-early", 1),
        )
        first = await store.take_activity_task(ACTIVITY, worker_name="a", now=T0 + 2)
        second = await store.take_activity_task(ACTIVITY, worker_name="b", now=T0 + 2)
        assert first is not None and first.token == "tok-early"
        assert second is not None and second.token == "tok-late"

    backend.run(body)


def test_completion_once_then_task_closed(backend):
    async def body(store: Store) -> None:
        arn = await _waiting(store, "c", _callback(f"{PREFIX}:execution:M:c", "tok"))
        with pytest.raises(RecordNotFound):
            await store.complete_task("nope", failed=False, output="1", now=T0 + 1)
        results = await asyncio.gather(
            store.complete_task("tok", failed=False, output='{"a": 1}', now=T0 + 1),
            store.complete_task("tok", failed=True, error="E", now=T0 + 1),
            return_exceptions=True,
        )
        assert sum(isinstance(r, TaskTokenRecord) for r in results) == 1
        assert sum(isinstance(r, TaskClosed) for r in results) == 1
        with pytest.raises(TaskClosed):
            await store.heartbeat_task("tok", now=T0 + 2)
        # Its execution is woken with the outcome to feed.
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 1)
        (token,) = claim.tokens
        assert token.status in ("SUCCEEDED", "FAILED") and token.completed_at == T0 + 1
        # Fed and closed in the worker's step: gone from the next claim, still TaskClosed.
        await store.commit_step(step(arn, claim.lease_token, 5, tokens_close=("tok",)))
        with pytest.raises(TaskClosed):
            await store.complete_task("tok", failed=False, output="1", now=T0 + 3)

    backend.run(body)


def test_deadlines_heartbeats_and_wake_times(backend):
    async def body(store: Store) -> None:
        arn = await _waiting(
            store,
            "d",
            _callback(
                f"{PREFIX}:execution:M:d",
                "tok",
                timeout_at=T0 + 100,
                heartbeat_seconds=10,
                heartbeat_due=T0 + 10,
            ),
        )
        assert await store.next_wake_at() == T0 + 10
        beat = await store.heartbeat_task("tok", now=T0 + 9)
        assert beat.heartbeat_due == T0 + 19
        with pytest.raises(TaskClosed):
            await store.complete_task("tok", failed=False, output="1", now=T0 + 19)
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 19)
        assert claim.tokens[0].heartbeat_due == T0 + 19
        assert claim.execution.arn == arn

    backend.run(body)


def test_stop_and_end_close_tokens(backend):
    async def body(store: Store) -> None:
        arn = await _waiting(store, "s", _callback(f"{PREFIX}:execution:M:s", "tok"))
        await store.stop_execution(
            arn,
            stop_date=T0 + 1,
            error=None,
            cause=None,
            events=(PendingEvent(T0 + 1, "ExecutionAborted"),),
        )
        with pytest.raises(TaskClosed):
            await store.complete_task("tok", failed=False, output="1", now=T0 + 2)

    backend.run(body)


def test_activity_task_of_unstarted_task_is_unknown(backend):
    async def body(store: Store) -> None:
        await _waiting(store, "u", _activity_task(f"{PREFIX}:execution:M:u", "tok"))
        with pytest.raises(RecordNotFound):
            await store.complete_task("tok", failed=False, output="1", now=T0 + 1)

    backend.run(body)


def test_tokens_survive_reopen(sqlite_backend):
    async def first(store: Store) -> None:
        await _waiting(store, "r", _callback(f"{PREFIX}:execution:M:r", "tok"))

    async def second(store: Store) -> None:
        done = await store.complete_task("tok", failed=False, output="2", now=T0 + 1)
        assert done.status == "SUCCEEDED"

    sqlite_backend.run(first)
    sqlite_backend.run(second)
