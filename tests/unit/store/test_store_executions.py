"""Executions and their history — on every backend."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_kit import T0, events, exec_arn, execution, sm_arn, started

from stepline.store import (
    HistoryConflict,
    InvalidPageToken,
    PendingEvent,
    RecordNotFound,
    Store,
    StoreConflict,
)


def test_create_and_get_round_trip(backend):
    async def body(store: Store) -> None:
        record = replace(
            execution("M", "e1", version_arn=sm_arn("M") + ":3"),
            redrive_status="NOT_REDRIVABLE",
            parent_execution_arn=exec_arn("P", "parent"),
            map_run_arn=None,
        )
        first = events(1, 2)
        stored = await store.create_execution(record, first, runnable_at=T0)
        assert stored == replace(record, last_event_id=2)
        assert await store.get_execution(record.arn) == stored
        assert await store.get_execution(exec_arn("M", "none")) is None
        page = await store.get_history(record.arn)
        assert page.items == first and page.next_token is None
        # Details come back byte for byte.
        assert page.items[0].details == first[0].details

    backend.run(body)


def test_name_conflict_returns_existing_and_90_day_reuse(backend):
    async def body(store: Store) -> None:
        original = await started(store, "M", "same")
        with pytest.raises(StoreConflict) as caught:
            await started(store, "M", "same", input_text='{"other": 1}')
        assert caught.value.existing == original
        # Another state machine may use the same execution name.
        await started(store, "N", "same")
        # A closed execution blocks its name until the reuse cutoff passes it.
        stopped, changed = await store.stop_execution(
            original.arn,
            stop_date=T0 + 10,
            error=None,
            cause=None,
            events=[PendingEvent(T0 + 10, "ExecutionAborted", "{}")],
        )
        assert changed and stopped.status == "ABORTED"
        with pytest.raises(StoreConflict):
            await store.create_execution(
                execution("M", "same"), events(1, 1), runnable_at=T0, reuse_closed_before=T0 + 10
            )
        fresh = await store.create_execution(
            execution("M", "same", when=T0 + 99),
            events(1, 1),
            runnable_at=T0,
            reuse_closed_before=T0 + 11,
        )
        assert fresh.status == "RUNNING" and fresh.start_date == T0 + 99
        history = await store.get_history(fresh.arn)
        assert [event.id for event in history.items] == [1]
        # A running execution is never replaced.
        with pytest.raises(StoreConflict):
            await store.create_execution(
                execution("M", "same"), events(1, 1), runnable_at=T0, reuse_closed_before=T0 + 10**9
            )

    backend.run(body)


def test_first_events_must_start_at_one(backend):
    async def body(store: Store) -> None:
        with pytest.raises(HistoryConflict):
            await store.create_execution(execution("M", "bad"), events(2, 1), runnable_at=T0)
        with pytest.raises(HistoryConflict):
            await store.create_execution(
                execution("M", "gap"), events(1, 1) + events(3, 1), runnable_at=T0
            )
        assert await store.get_execution(exec_arn("M", "bad")) is None
        assert await store.get_execution(exec_arn("M", "gap")) is None

    backend.run(body)


def test_list_executions_newest_first_with_filters_and_pages(backend):
    async def body(store: Store) -> None:
        version = sm_arn("L") + ":1"
        alias = sm_arn("L") + ":PROD"
        for index in range(260):
            await started(
                store,
                "L",
                f"e{index:03d}",
                when=T0 + index,
                version_arn=version if index % 2 else None,
                alias_arn=alias if index % 5 == 0 else None,
            )
        await started(store, "Other", "x")
        for index in range(0, 260, 3):
            await store.stop_execution(
                exec_arn("L", f"e{index:03d}"),
                stop_date=T0 + 1000,
                error="E",
                cause="C",
                events=[PendingEvent(T0 + 1000, "ExecutionAborted")],
            )

        async def collect(size: int, **filters: object) -> list[str]:
            names: list[str] = []
            token = None
            for _ in range(300):
                page = await store.list_executions(max_results=size, next_token=token, **filters)  # type: ignore[arg-type]
                assert len(page.items) <= size
                names.extend(record.name for record in page.items)
                token = page.next_token
                if token is None:
                    return names
            raise AssertionError("paging did not end")

        everything = [f"e{index:03d}" for index in reversed(range(260))]
        assert await collect(100, state_machine_arn=sm_arn("L")) == everything
        assert await collect(7, state_machine_arn=sm_arn("L")) == everything
        aborted = [name for name in everything if int(name[1:]) % 3 == 0]
        assert await collect(50, state_machine_arn=sm_arn("L"), status="ABORTED") == aborted
        running = [name for name in everything if int(name[1:]) % 3]
        assert await collect(1000, state_machine_arn=sm_arn("L"), status="RUNNING") == running
        odd = [name for name in everything if int(name[1:]) % 2]
        assert await collect(40, version_arn=version) == odd
        assert await collect(40, version_arn=version, status="RUNNING") == [
            name for name in odd if name in running
        ]
        fives = [name for name in everything if int(name[1:]) % 5 == 0]
        assert await collect(9, alias_arn=alias) == fives
        assert await collect(9, map_run_arn=sm_arn("L") + "/map:run") == []
        with pytest.raises(ValueError):
            await store.list_executions()
        with pytest.raises(ValueError):
            await store.list_executions(state_machine_arn=sm_arn("L"), alias_arn=alias)
        page = await store.list_executions(state_machine_arn=sm_arn("L"), max_results=5)
        with pytest.raises(InvalidPageToken):  # made for another filter
            await store.list_executions(
                state_machine_arn=sm_arn("L"), status="RUNNING", next_token=page.next_token
            )
        assert await store.has_running_executions(sm_arn("L"))
        assert not await store.has_running_executions(sm_arn("Nothing"))

    backend.run(body)


def test_history_pages_both_directions(backend):
    async def body(store: Store) -> None:
        record = await started(store, "H", "h")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=60, now=T0)
        from store_kit import step

        await store.commit_step(step(record.arn, claim.lease_token, 2, 299))
        ids = list(range(1, 301))

        async def collect(size: int, reverse: bool) -> list[int]:
            seen: list[int] = []
            token = None
            for _ in range(400):
                page = await store.get_history(
                    record.arn, reverse=reverse, max_results=size, next_token=token
                )
                seen.extend(event.id for event in page.items)
                token = page.next_token
                if token is None:
                    return seen
            raise AssertionError("paging did not end")

        assert await collect(100, False) == ids
        assert await collect(100, True) == ids[::-1]
        assert await collect(7, True) == ids[::-1]
        assert await collect(300, False) == ids
        assert await collect(1000, True) == ids[::-1]
        first = await store.get_history(record.arn, max_results=10)
        with pytest.raises(InvalidPageToken):  # same execution, other direction
            await store.get_history(record.arn, reverse=True, next_token=first.next_token)
        with pytest.raises(RecordNotFound):
            await store.get_history(exec_arn("H", "missing"))

    backend.run(body)


def test_stop_execution_appends_events_and_is_idempotent(backend):
    async def body(store: Store) -> None:
        record = await started(store, "S", "s")
        stopped, changed = await store.stop_execution(
            record.arn,
            stop_date=T0 + 5,
            error="Err",
            cause="Because",
            events=[
                PendingEvent(T0 + 5, "WaitStateAborted", '{"name": "W"}'),
                PendingEvent(T0 + 5, "ExecutionAborted", '{"error": "Err"}', previous_event_id=1),
            ],
        )
        assert changed
        assert (stopped.status, stopped.stop_date, stopped.error, stopped.cause) == (
            "ABORTED",
            T0 + 5,
            "Err",
            "Because",
        )
        assert stopped.last_event_id == 3
        history = (await store.get_history(record.arn)).items
        assert [(e.id, e.previous_event_id, e.type) for e in history] == [
            (1, 0, "ExecutionStarted"),
            (2, 1, "WaitStateAborted"),
            (3, 1, "ExecutionAborted"),
        ]
        again, changed = await store.stop_execution(
            record.arn,
            stop_date=T0 + 9,
            error=None,
            cause=None,
            events=[PendingEvent(T0 + 9, "ExecutionAborted")],
        )
        assert not changed and again == stopped
        assert len((await store.get_history(record.arn)).items) == 3
        assert await store.claim_runnable("w", limit=10, lease_seconds=60, now=T0 + 10**6) == []
        with pytest.raises(RecordNotFound):
            await store.stop_execution(
                exec_arn("S", "ghost"), stop_date=T0, error=None, cause=None, events=[]
            )

    backend.run(body)
