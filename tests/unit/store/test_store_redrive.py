"""RedriveExecution's store operation — on every backend: the conditional status flip, the
events, the runnable execution with its snapshot kept, concurrent redrives (one wins), and the
client-token idempotency window."""

from __future__ import annotations

import asyncio

import pytest
from store_kit import T0, exec_arn, started, step

from stepline.store import ExecutionRecord, PendingEvent, RecordNotFound, Store

SNAPSHOT = b"s" * 1024


def _redriven(count: int, when: float) -> list[PendingEvent]:
    return [PendingEvent(when, "ExecutionRedriven", f'{{"redriveCount": {count}}}')]


async def _failed(store: Store, name: str, when: float = T0) -> ExecutionRecord:
    """A running execution claimed and failed by a worker step (its snapshot stored)."""
    record = await started(store, "R", name, runnable_at=when)
    claims = await store.claim_runnable("w", limit=10, lease_seconds=30, now=when)
    (claim,) = [c for c in claims if c.execution.arn == record.arn]
    await store.commit_step(
        step(record.arn, claim.lease_token, 2, status="FAILED", stop_date=when + 1, error="E")
    )
    failed = await store.get_execution(record.arn)
    assert failed is not None and failed.status == "FAILED"
    return failed


async def _fail_again(store: Store, arn: str, when: float) -> None:
    claims = await store.claim_runnable("w", limit=10, lease_seconds=30, now=when)
    (claim,) = [c for c in claims if c.execution.arn == arn]
    last = claim.execution.last_event_id
    await store.commit_step(
        step(arn, claim.lease_token, last + 1, count=1, status="FAILED", stop_date=when)
    )


def test_redrive_turns_a_failed_execution_back_into_a_runnable_one(backend):
    async def body(store: Store) -> None:
        failed = await _failed(store, "r1")
        assert failed.last_event_id == 4
        record, date = await store.redrive_execution(
            failed.arn, redrive_count=0, redrive_date=T0 + 100, events=_redriven(1, T0 + 100)
        )
        assert date == T0 + 100
        assert record.status == "RUNNING"
        assert (record.stop_date, record.output, record.error, record.cause) == (None,) * 4
        assert (record.redrive_count, record.redrive_date) == (1, T0 + 100)
        assert record.last_event_id == 5
        assert await store.get_execution(failed.arn) == record
        history = (await store.get_history(failed.arn)).items
        assert (history[-1].id, history[-1].previous_event_id, history[-1].type) == (
            5,
            4,
            "ExecutionRedriven",
        )
        assert history[-1].details == '{"redriveCount": 1}'
        # Runnable at the redrive date, with the snapshot of its failure.
        assert await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0 + 99) == []
        (claim,) = await store.claim_runnable("w", limit=5, lease_seconds=30, now=T0 + 100)
        assert claim.execution == record
        assert claim.snapshot == SNAPSHOT
        assert await store.has_running_executions(failed.state_machine_arn)

    backend.run(body)


def test_only_closed_unsuccessful_executions_change(backend):
    async def body(store: Store) -> None:
        running = await started(store, "R", "running")
        record, date = await store.redrive_execution(
            running.arn, redrive_count=0, redrive_date=T0 + 1, events=_redriven(1, T0 + 1)
        )
        assert date is None and record == running
        failed = await _failed(store, "stale")
        # A count that is not the stored one (another redrive won meanwhile) changes nothing.
        record, date = await store.redrive_execution(
            failed.arn, redrive_count=3, redrive_date=T0 + 2, events=_redriven(4, T0 + 2)
        )
        assert date is None and record == failed
        assert len((await store.get_history(failed.arn)).items) == 4
        with pytest.raises(RecordNotFound):
            await store.redrive_execution(
                exec_arn("R", "ghost"), redrive_count=0, redrive_date=T0, events=[]
            )

    backend.run(body)


def test_two_concurrent_redrives_one_wins_and_nothing_is_recorded_twice(backend):
    async def body(store: Store) -> None:
        failed = await _failed(store, "race")
        results = await asyncio.gather(
            *(
                store.redrive_execution(
                    failed.arn,
                    redrive_count=0,
                    redrive_date=T0 + 10 + n,
                    events=_redriven(1, T0 + 10 + n),
                    client_token=f"token-{n}",
                )
                for n in range(2)
            )
        )
        dates = [date for _, date in results]
        assert sorted(dates, key=lambda d: d is None)[1] is None
        assert sum(date is not None for date in dates) == 1
        history = (await store.get_history(failed.arn)).items
        assert [e.type for e in history].count("ExecutionRedriven") == 1
        final = await store.get_execution(failed.arn)
        assert final is not None and final.redrive_count == 1

    backend.run(body)


def test_a_client_token_answers_for_its_redrive_for_fifteen_minutes(backend):
    async def body(store: Store) -> None:
        failed = await _failed(store, "idem")
        first, date = await store.redrive_execution(
            failed.arn,
            redrive_count=0,
            redrive_date=T0 + 10,
            events=_redriven(1, T0 + 10),
            client_token="abc",
        )
        assert date == T0 + 10
        again, date = await store.redrive_execution(
            failed.arn,
            redrive_count=0,
            redrive_date=T0 + 20,
            events=_redriven(1, T0 + 20),
            client_token="abc",
        )
        assert date == T0 + 10 and again == first
        _, date = await store.redrive_execution(
            failed.arn,
            redrive_count=0,
            redrive_date=T0 + 20,
            events=_redriven(1, T0 + 20),
            client_token="other",
        )
        assert date is None
        _, date = await store.redrive_execution(
            failed.arn,
            redrive_count=0,
            redrive_date=T0 + 10 + 15 * 60 + 1,
            events=[],
            client_token="abc",
        )
        assert date is None  # the window has passed: a new request (refused: it is running)
        assert len((await store.get_history(failed.arn)).items) == 5

    backend.run(body)


def test_a_client_token_answers_only_for_the_last_ten_redrives(backend):
    async def body(store: Store) -> None:
        failed = await _failed(store, "ten")
        when = T0 + 10
        for count in range(11):
            _, date = await store.redrive_execution(
                failed.arn,
                redrive_count=count,
                redrive_date=when,
                events=_redriven(count + 1, when),
                client_token=f"t{count}",
            )
            assert date == when
            when += 1
            await _fail_again(store, failed.arn, when)
            when += 1
        # t0 was used eleven redrives ago: it no longer answers, and the execution redrives.
        record, date = await store.redrive_execution(
            failed.arn, redrive_count=11, redrive_date=when, events=[], client_token="t0"
        )
        assert date == when and record.redrive_count == 12
        _, date = await store.redrive_execution(
            failed.arn, redrive_count=11, redrive_date=when + 1, events=[], client_token="t5"
        )
        assert date == T0 + 10 + 2 * 5

    backend.run(body)
