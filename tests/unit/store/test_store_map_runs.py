"""Map runs (Distributed Map) — on every backend."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_kit import PREFIX, T0, execution, revision, started, step

from stepline.store import (
    ExecutionRecord,
    HistoryEventRecord,
    InvalidPageToken,
    MapRunRecord,
    RecordNotFound,
    StateMachineRevisionRecord,
    Store,
    StoreConflict,
    TaskTokenRecord,
)

TOKEN = "map-run-token-0123456789"
LABELLED = f"{PREFIX}:stateMachine:M/L"


def _map_run(parent: str, number: int = 1, **fields: object) -> MapRunRecord:
    values: dict[str, object] = {
        "arn": f"{PREFIX}:mapRun:M/L:run-{number}",
        "execution_arn": parent,
        "state_machine_arn": f"{PREFIX}:stateMachine:M",
        "label": "L",
        "state_name": "Fan",
        "execution_type": "STANDARD",
        "revision_id": "processor-rev",
        "status": "RUNNING",
        "start_date": T0 + number,
        "max_concurrency": 2,
        "tolerated_failure_count": 1,
        "tolerated_failure_percentage": 0.0,
        "task_token": TOKEN,
    }
    values.update(fields)
    return MapRunRecord(**values)


def _processor() -> StateMachineRevisionRecord:
    return replace(revision("M/L"), revision_id="processor-rev")


async def _parent_waiting(store: Store, name: str = "parent") -> str:
    """A parent execution released while its map-run token waits."""
    record = await started(store, "M", name)
    (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0)
    token = TaskTokenRecord(TOKEN, record.arn, 1, "STARTED", T0, started_at=T0)
    await store.commit_step(step(record.arn, claim.lease_token, 2, tokens_add=(token,)))
    return record.arn


def _child(name: str) -> tuple[ExecutionRecord, HistoryEventRecord]:
    record = replace(
        execution("M/L", name),
        state_machine_arn=LABELLED,
        revision_id="processor-rev",
        map_run_arn=f"{PREFIX}:mapRun:M/L:run-1",
        trace_header=None,
    )
    return record, HistoryEventRecord(1, 0, T0, "ExecutionStarted", '{"input":"{}"}')


def test_create_is_idempotent_and_stores_the_processor_and_pending_children(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        record = _map_run(parent)
        inputs = [(1, '{"n": 0}'), (2, '{"Items": [1, 2]}'), (1, '{"n": 3}')]
        assert await store.create_map_run(record, inputs, _processor()) == (record, True)
        again = _map_run(parent, max_concurrency=9)
        assert await store.create_map_run(again, inputs, _processor()) == (record, False)
        assert await store.get_map_run(record.arn) == record
        assert await store.get_map_run(record.arn + "x") is None
        stored = await store.get_revision("processor-rev")
        assert stored is not None and stored.state_machine_arn == LABELLED
        children = await store.map_run_children(record.arn)
        assert [(c.position, c.item_count, c.status, c.input) for c in children] == [
            (0, 1, "PENDING", '{"n": 0}'),
            (1, 2, "PENDING", '{"Items": [1, 2]}'),
            (2, 1, "PENDING", '{"n": 3}'),
        ]
        counts = await store.map_run_counts(record.arn)
        assert counts.executions.pending == 3 and counts.executions.total == 3
        assert counts.items.pending == 4 and counts.items.total == 4
        assert type(counts.items.pending) is int  # not PostgreSQL's NUMERIC sum
        assert await store.running_map_runs() == [record]

    backend.run(body)


def test_children_start_once_and_their_results_are_recorded_once(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        record = _map_run(parent)
        await store.create_map_run(record, [(1, "{}"), (1, "{}"), (3, "{}")], _processor())
        first, event = _child("c0")
        started_now = await store.start_map_run_children(
            record.arn,
            [(0, first.arn), (1, f"{PREFIX}:express:M/L:c1:x")],
            executions=[(first, event)],
            now=T0,
        )
        assert started_now == [0, 1]
        again = await store.start_map_run_children(
            record.arn, [(0, first.arn)], executions=[(first, event)], now=T0
        )
        assert again == []
        child = await store.get_execution(first.arn)
        assert child is not None and child.map_run_arn == record.arn
        listed = await store.list_executions(map_run_arn=record.arn)
        assert [e.arn for e in listed.items] == [first.arn]
        assert await store.ended_map_run_children(record.arn) == []
        # The child execution ends: the join finds it.
        (claim,) = [
            c
            for c in await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0 + 1)
            if c.execution.arn == first.arn
        ]
        await store.commit_step(
            step(
                first.arn,
                claim.lease_token,
                2,
                count=1,
                status="SUCCEEDED",
                stop_date=T0 + 1,
                output='{"ok":1}',
            )
        )
        ended = await store.ended_map_run_children(record.arn)
        assert ended == [(0, "SUCCEEDED", '{"ok":1}', None, None)]
        assert await store.record_map_run_results(record.arn, ended) == 1
        assert await store.record_map_run_results(record.arn, ended) == 0
        results = [(1, "FAILED", None, "E", "c"), (2, "FAILED", None, "E", "c")]
        assert await store.record_map_run_results(record.arn, results) == 1  # 2 never started
        counts = await store.map_run_counts(record.arn)
        assert (counts.executions.succeeded, counts.executions.failed) == (1, 1)
        assert counts.executions.pending == 1 and counts.items.pending == 3
        assert counts.items.unsuccessful == 1
        pending = await store.map_run_children(record.arn, status="PENDING", limit=5)
        assert [c.position for c in pending] == [2]

    backend.run(body)


def test_finish_completes_the_parent_token_in_the_same_transaction(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        record = _map_run(parent)
        await store.create_map_run(record, [(1, "{}"), (1, "{}")], _processor())
        await store.start_map_run_children(record.arn, [(0, "x")], now=T0)
        assert await store.map_run_parent_waits(record.arn) is True
        assert await store.map_run_parent_waits(record.arn + "x") is False
        token = await store.finish_map_run(
            record.arn, status="SUCCEEDED", stop_date=T0 + 5, output="[1,2]"
        )
        assert token is not None and token.status == "SUCCEEDED" and token.output == "[1,2]"
        assert await store.finish_map_run(record.arn, status="FAILED", stop_date=T0 + 6) is None
        ended = await store.get_map_run(record.arn)
        assert ended is not None and ended.status == "SUCCEEDED" and ended.stop_date == T0 + 5
        children = await store.map_run_children(record.arn)
        assert [c.status for c in children] == ["ABORTED", "ABORTED"]
        assert await store.running_map_runs() == []
        # The parent is woken with the outcome to feed.
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=30, now=T0 + 6)
        assert claim.execution.arn == parent
        assert [t.status for t in claim.tokens] == ["SUCCEEDED"]
        with pytest.raises(RecordNotFound):
            await store.finish_map_run(record.arn + "x", status="FAILED", stop_date=T0)

    backend.run(body)


def test_a_failed_or_aborted_finish_and_a_stopped_parent(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        failing = _map_run(parent)
        await store.create_map_run(failing, [(1, "{}")], _processor())
        token = await store.finish_map_run(
            failing.arn, status="FAILED", stop_date=T0 + 1, error="E", cause="C"
        )
        assert token is not None and (token.status, token.error, token.cause) == (
            "FAILED",
            "E",
            "C",
        )
        other = await _parent_waiting(store, "other")
        aborted = _map_run(other, 2)
        await store.create_map_run(aborted, [(1, "{}")], _processor())
        await store.stop_execution(other, stop_date=T0 + 2, error=None, cause=None, events=())
        assert await store.map_run_parent_waits(aborted.arn) is False
        assert await store.finish_map_run(aborted.arn, status="ABORTED", stop_date=T0 + 2) is None
        record = await store.get_map_run(aborted.arn)
        assert record is not None and record.status == "ABORTED"

    backend.run(body)


def test_update_limits_and_list_newest_first(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        for number in (1, 2, 3):
            await store.create_map_run(_map_run(parent, number), [(1, "{}")], _processor())
        updated = await store.update_map_run(
            _map_run(parent, 2).arn, max_concurrency=7, tolerated_failure_percentage=12.5
        )
        assert (updated.max_concurrency, updated.tolerated_failure_count) == (7, 1)
        assert updated.tolerated_failure_percentage == 12.5
        with pytest.raises(RecordNotFound):
            await store.update_map_run(f"{PREFIX}:mapRun:M/L:none", max_concurrency=1)
        page = await store.list_map_runs(parent, max_results=2)
        assert [r.arn.rsplit("-", 1)[-1] for r in page.items] == ["3", "2"]
        assert page.next_token is not None
        rest = await store.list_map_runs(parent, max_results=2, next_token=page.next_token)
        assert [r.arn.rsplit("-", 1)[-1] for r in rest.items] == ["1"] and rest.next_token is None
        assert (await store.list_map_runs("other")).items == ()
        with pytest.raises(InvalidPageToken):
            await store.list_map_runs("other", next_token=page.next_token)

    backend.run(body)


def test_redrive_resets_unsuccessful_children(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        record = _map_run(parent)
        await store.create_map_run(record, [(1, "{}"), (1, "{}"), (1, "{}")], _processor())
        await store.start_map_run_children(record.arn, [(0, "a"), (1, "b")], now=T0)
        await store.record_map_run_results(
            record.arn, [(0, "SUCCEEDED", "1", None, None), (1, "FAILED", None, "E", "c")]
        )
        with pytest.raises(StoreConflict):
            await store.redrive_map_run(record.arn, task_token="new", now=T0 + 9)
        await store.finish_map_run(record.arn, status="FAILED", stop_date=T0 + 2, error="E")
        redriven = await store.redrive_map_run(record.arn, task_token="new", now=T0 + 9)
        assert (redriven.status, redriven.redrive_count, redriven.redrive_date) == (
            "RUNNING",
            1,
            T0 + 9,
        )
        assert redriven.task_token == "new" and redriven.stop_date is None
        children = await store.map_run_children(record.arn)
        assert [c.status for c in children] == ["SUCCEEDED", "PENDING", "PENDING"]
        assert children[0].output == "1" and children[1].error is None
        with pytest.raises(RecordNotFound):
            await store.redrive_map_run(record.arn + "x", task_token="t", now=T0)

    backend.run(body)


def test_one_owner_leases_a_running_map_run_at_a_time(backend):
    async def body(store: Store) -> None:
        parent = await _parent_waiting(store)
        record = _map_run(parent)
        await store.create_map_run(record, [(1, "{}")], _processor())
        assert await store.lease_map_run(record.arn, owner="a", until=T0 + 30, now=T0)
        assert not await store.lease_map_run(record.arn, owner="b", until=T0 + 40, now=T0 + 1)
        assert await store.lease_map_run(record.arn, owner="a", until=T0 + 60, now=T0 + 20)
        assert not await store.lease_map_run(record.arn, owner="b", until=T0 + 90, now=T0 + 59)
        assert await store.lease_map_run(record.arn, owner="b", until=T0 + 90, now=T0 + 60)
        # Given back (until <= now): free for anyone at once.
        assert await store.lease_map_run(record.arn, owner="b", until=T0 + 61, now=T0 + 61)
        assert await store.lease_map_run(record.arn, owner="c", until=T0 + 99, now=T0 + 61)
        await store.finish_map_run(record.arn, status="SUCCEEDED", stop_date=T0 + 70, output="[]")
        assert not await store.lease_map_run(record.arn, owner="c", until=T0 + 99, now=T0 + 71)
        assert not await store.lease_map_run(record.arn + "x", owner="c", until=T0, now=T0)

    backend.run(body)
