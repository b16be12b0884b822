"""The SQLite store's execution transactions and reads: executions, history, the worker side.

Like :mod:`stepline.store._sqlite_ops` (state machines, versions, aliases, tags): write
functions run on the writer thread inside its transaction, reads on a reader connection; all
SQL comes from :mod:`stepline.store._sql` by name.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from stepline.store import _sqlite_tokens as tokens
from stepline.store._errors import RecordNotFound, StoreConflict
from stepline.store._records import (
    ClaimedExecution,
    ExecutionRecord,
    HistoryEventRecord,
    Lease,
    PendingEvent,
    StepCommit,
    TimerRecord,
)
from stepline.store._rules import check_continuation, lease_lost, numbered, wake_time
from stepline.store._signals import CHANNEL_EXECUTIONS, due_now, notify
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection

Row = tuple[Any, ...]


def execution_from(row: Row) -> ExecutionRecord:
    """A row starting with the ``{EXECUTION}`` columns."""
    return ExecutionRecord(*row[:21])


# -- executions: reads ------------------------------------------------------------------------


def get_execution(connection: SqlConnection, arn: str) -> ExecutionRecord | None:
    """Read one execution."""
    row = connection.execute(Q["get_execution"], (arn,)).fetchone()
    return None if row is None else execution_from(row)


def list_executions(
    connection: SqlConnection,
    *,
    field: str,
    subject: str,
    status: str | None,
    below: int,
    limit: int,
) -> list[tuple[ExecutionRecord, int]]:
    """Executions of a subject with ``seq`` below ``below``, newest first, with their seq."""
    if field == "state_machine_arn":
        if status is None:
            rows = connection.execute(Q["list_executions_by_machine"], (subject, below, limit))
        else:
            rows = connection.execute(
                Q["list_executions_by_machine_status"], (subject, status, below, limit)
            )
    else:
        query = Q[f"list_executions_by_{field.removesuffix('_arn')}"]
        rows = connection.execute(query, (subject, below, status, status, limit))
    return [(execution_from(row), row[21]) for row in rows]


def get_history(
    connection: SqlConnection, arn: str, reverse: bool, after: int | None, limit: int
) -> list[HistoryEventRecord] | None:
    """A page of events after (or, reversed, before) event ``after``; ``None``: no execution."""
    row = connection.execute(Q["execution_seq"], (arn,)).fetchone()
    if row is None:
        return None
    if reverse:
        bound = (1 << 62) if after is None else after
        rows = connection.execute(Q["history_reverse"], (row[0], bound, limit))
    else:
        rows = connection.execute(Q["history_forward"], (row[0], after or 0, limit))
    return [HistoryEventRecord(*event) for event in rows]


def has_running_executions(connection: SqlConnection, arn: str) -> bool:
    """Whether a RUNNING execution of the state machine exists."""
    return connection.execute(Q["running_execution_of_machine"], (arn,)).fetchone() is not None


def next_wake_at(connection: SqlConnection) -> float | None:
    """The earliest wake time."""
    value: float | None = connection.execute(Q["next_wake_at"]).fetchone()[0]
    return value


# -- executions: writes -----------------------------------------------------------------------

_INSERT_EVENT = Q["insert_event"]
_LEASE_STATE = Q["lease_state"]


def _insert_events(
    connection: SqlConnection, seq: int, events: Sequence[HistoryEventRecord]
) -> None:
    connection.executemany(
        _INSERT_EVENT,
        [(seq, e.id, e.previous_event_id, e.timestamp, e.type, e.details) for e in events],
    )


def _purge(connection: SqlConnection, seq: int) -> None:
    tokens.purge(connection, seq)
    for name in (
        "purge_history",
        "delete_timers",
        "purge_redrives",
        "purge_runtime",
        "purge_execution",
    ):
        connection.execute(Q[name], (seq,))


def create_execution(
    connection: SqlConnection,
    *,
    record: ExecutionRecord,
    events: Sequence[HistoryEventRecord],
    runnable_at: float | None,
    snapshot: bytes | None,
    reuse_closed_before: float | None,
    lease: Lease | None = None,
    parent_task_token: str | None = None,
) -> ExecutionRecord:
    """Insert an execution, its runtime row and first events (linked to the ``.sync`` task
    of its parent that waits for it, when ``parent_task_token`` is given)."""
    existing = get_execution(connection, record.arn)
    if existing is not None:
        reusable = (
            reuse_closed_before is not None
            and existing.status != "RUNNING"
            and existing.stop_date is not None
            and existing.stop_date < reuse_closed_before
        )
        if not reusable:
            raise StoreConflict(f"Execution {record.arn!r} already exists.", existing)
    check_continuation(record.arn, 0, events)
    if existing is not None:
        _purge(connection, connection.execute(Q["execution_seq"], (record.arn,)).fetchone()[0])
    stored = replace(record, last_event_id=len(events))
    cursor = connection.execute(Q["insert_execution"], _execution_values(record))
    seq = cursor.lastrowid
    assert seq is not None
    if lease is not None and record.status == "RUNNING":
        expires = lease.expires_at
        connection.execute(
            Q["insert_runtime_leased"],
            (seq, len(events), snapshot, expires, lease.owner, lease.token, expires),
        )
    else:
        wake = runnable_at if record.status == "RUNNING" else None
        connection.execute(Q["insert_runtime"], (seq, len(events), snapshot, wake))
        if due_now(wake):
            notify(connection, CHANNEL_EXECUTIONS)
    _insert_events(connection, seq, events)
    if parent_task_token is not None:
        tokens.link_child(connection, parent_task_token, record.arn)
    return stored


def _execution_values(record: ExecutionRecord) -> tuple[Any, ...]:
    return (
        record.arn,
        record.state_machine_arn,
        record.name,
        record.revision_id,
        record.status,
        record.start_date,
        record.input,
        record.state_machine_version_arn,
        record.state_machine_alias_arn,
        record.stop_date,
        record.output,
        record.error,
        record.cause,
        record.trace_header,
        record.redrive_count,
        record.redrive_date,
        record.redrive_status,
        record.redrive_status_reason,
        record.map_run_arn,
        record.parent_execution_arn,
    )


def stop_execution(
    connection: SqlConnection,
    *,
    arn: str,
    stop_date: float,
    error: str | None,
    cause: str | None,
    events: Sequence[PendingEvent],
) -> tuple[ExecutionRecord, bool]:
    """Abort a running execution, whoever holds it."""
    state = connection.execute(_LEASE_STATE, (arn,)).fetchone()
    if state is None:
        raise RecordNotFound("execution", arn)
    seq, last, _, status = state
    if status == "RUNNING":
        records = numbered(last, events)
        _insert_events(connection, seq, records)
        last = records[-1].id if records else last
        connection.execute(Q["end_execution"], ("ABORTED", stop_date, None, error, cause, seq))
        connection.execute(Q["delete_timers"], (seq,))
        connection.execute(Q["end_runtime"], (last, None, seq))
        tokens.close_all(connection, seq)
        tokens.finish_child_wait(connection, arn, "ABORTED", stop_date)
        # Its holder, in whichever process, learns that the lease is gone.
        notify(connection, CHANNEL_EXECUTIONS)
    record = get_execution(connection, arn)
    assert record is not None
    return record, status == "RUNNING"


def claim_runnable(
    connection: SqlConnection, owner: str, limit: int, lease_seconds: float, now: float
) -> list[ClaimedExecution]:
    """Lease due executions (the single writer makes select-then-update race-free)."""
    seqs = [row[0] for row in connection.execute(Q["due_executions"], (now, limit))]
    expires = now + lease_seconds
    claimed = []
    for seq in seqs:
        token = secrets.token_hex(16)
        connection.execute(Q["take_lease"], (owner, token, expires, expires, seq))
        row = connection.execute(Q["get_execution_by_seq"], (seq,)).fetchone()
        timers = tuple(
            TimerRecord(timer_id, due)
            for timer_id, due in connection.execute(Q["list_timers"], (seq,))
        )
        claimed.append(
            ClaimedExecution(
                execution_from(row),
                token,
                expires,
                row[21],
                timers,
                tokens.open_tokens(connection, seq),
            )
        )
    return claimed


def _leased_seq(connection: SqlConnection, arn: str, token: str) -> tuple[int, int]:
    state = connection.execute(_LEASE_STATE, (arn,)).fetchone()
    if state is None:
        raise RecordNotFound("execution", arn)
    seq, last, held, status = state
    if held != token or status != "RUNNING":
        raise lease_lost(arn, status, held)
    return seq, last


_DELETE_TIMER = Q["delete_timer"]
_PUT_TIMER = Q["put_timer"]
_EARLIEST_TIMER = Q["earliest_timer"]
_STEP_RELEASE = Q["step_runtime_release"]
_STEP_KEEP = Q["step_runtime_keep_lease"]


def commit_step(connection: SqlConnection, step: StepCommit) -> None:
    """One worker step: events, snapshot, timers, end or wake time, lease."""
    seq, last = _leased_seq(connection, step.execution_arn, step.lease_token)
    events = step.events
    if events:
        check_continuation(step.execution_arn, last, events)
        _insert_events(connection, seq, events)
        last = events[-1].id
    if step.tokens_add or step.tokens_reported or step.tokens_close or step.status is not None:
        tokens.apply_step(connection, seq, step, step.status is not None)
    if step.status is not None:
        connection.execute(
            Q["end_execution"],
            (step.status, step.stop_date, step.output, step.error, step.cause, seq),
        )
        connection.execute(Q["delete_timers"], (seq,))
        connection.execute(Q["end_runtime"], (last, step.snapshot, seq))
        assert step.stop_date is not None
        tokens.finish_child_wait(connection, step.execution_arn, step.status, step.stop_date)
        return
    if step.timers_remove:
        connection.executemany(_DELETE_TIMER, [(seq, timer_id) for timer_id in step.timers_remove])
    if step.timers_add:
        connection.executemany(_PUT_TIMER, [(seq, t.timer_id, t.due) for t in step.timers_add])
    if step.keep_lease_until is not None:
        until = step.keep_lease_until
        connection.execute(_STEP_KEEP, (last, step.snapshot, until, until, seq))
        return
    wake = _wake(connection, seq, step.runnable_at)
    connection.execute(_STEP_RELEASE, (last, step.snapshot, wake, seq))
    if due_now(wake):
        notify(connection, CHANNEL_EXECUTIONS)


def _wake(connection: SqlConnection, seq: int, runnable_at: float | None) -> float | None:
    earliest = connection.execute(_EARLIEST_TIMER, (seq,)).fetchone()[0]
    task_wake = tokens.earliest_wake(connection, seq)
    return wake_time(runnable_at, [due for due in (earliest, task_wake) if due is not None])


def renew_lease(
    connection: SqlConnection, arn: str, token: str, lease_seconds: float, now: float
) -> float:
    """Move the caller's lease expiry."""
    seq, _ = _leased_seq(connection, arn, token)
    expires = now + lease_seconds
    connection.execute(Q["renew_lease"], (expires, expires, seq))
    return expires


def release(connection: SqlConnection, arn: str, token: str, runnable_at: float | None) -> None:
    """Give the caller's lease up."""
    seq, _ = _leased_seq(connection, arn, token)
    wake = _wake(connection, seq, runnable_at)
    connection.execute(Q["release_lease"], (wake, seq))
    if due_now(wake):
        notify(connection, CHANNEL_EXECUTIONS)
