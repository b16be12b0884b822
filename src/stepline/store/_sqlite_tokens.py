"""The SQLite store's activities and task tokens: transactions and reads.

Like :mod:`stepline.store._sqlite_runs`: writes run on the writer thread inside its
transaction (which makes select-then-update race-free there; the updates are conditional on the
status read all the same, so that a backend with concurrent writers keeps exactly-once), reads
on a reader connection; all SQL comes from :mod:`stepline.store._sql` by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from stepline.store._errors import TaskClosed
from stepline.store._records import ActivityRecord, StepCommit, TaskTokenRecord
from stepline.store._rules import check_task_open, started_activity
from stepline.store._signals import (
    CHANNEL_ACTIVITIES,
    CHANNEL_EXECUTIONS,
    due_now,
    notify,
    schedules_activity,
)
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection

Row = tuple[Any, ...]

_TOKEN_FIELDS = 18


def token_from(row: Row) -> TaskTokenRecord:
    """A row starting with the ``{TOKEN}`` columns."""
    values = list(row[:_TOKEN_FIELDS])
    values[12] = bool(values[12])
    return TaskTokenRecord(*values)


# -- activities ----------------------------------------------------------------------------


def create_activity(
    connection: SqlConnection, record: ActivityRecord
) -> tuple[ActivityRecord, bool]:
    """Insert an activity unless the ARN is taken."""
    cursor = connection.execute(
        Q["insert_activity"], (record.arn, record.name, record.creation_date)
    )
    if cursor.rowcount == 1:
        return record, True
    existing = get_activity(connection, record.arn)
    assert existing is not None
    return existing, False


def get_activity(connection: SqlConnection, arn: str) -> ActivityRecord | None:
    """Read one activity."""
    row = connection.execute(Q["get_activity"], (arn,)).fetchone()
    return None if row is None else ActivityRecord(*row)


def list_activities(connection: SqlConnection, after: str, limit: int) -> list[ActivityRecord]:
    """Activities with an ARN after ``after``, in ARN order."""
    rows = connection.execute(Q["list_activities"], (after, limit))
    return [ActivityRecord(*row) for row in rows]


def delete_activity(connection: SqlConnection, arn: str) -> bool:
    """Delete an activity."""
    return connection.execute(Q["delete_activity"], (arn,)).rowcount == 1


# -- used by the execution transactions ------------------------------------------------------


def open_tokens(connection: SqlConnection, seq: int) -> tuple[TaskTokenRecord, ...]:
    """An execution's tokens that are not closed."""
    return tuple(token_from(row) for row in connection.execute(Q["open_task_tokens"], (seq,)))


def earliest_wake(connection: SqlConnection, seq: int) -> float | None:
    """When the execution's tokens need it next."""
    value: float | None = connection.execute(Q["earliest_task_wake"], (seq,)).fetchone()[0]
    return value


def apply_step(connection: SqlConnection, seq: int, step: StepCommit, ended: bool) -> None:
    """Store, mark and close the tokens of one step (all of them when the execution ended)."""
    if step.tokens_add:
        connection.executemany(Q["insert_task_token"], [_values(seq, t) for t in step.tokens_add])
        if schedules_activity(step.tokens_add):
            notify(connection, CHANNEL_ACTIVITIES)
    if step.tokens_reported:
        connection.executemany(
            Q["mark_task_token_reported"], [(token,) for token in step.tokens_reported]
        )
    if ended:
        close_all(connection, seq)
    elif step.tokens_close:
        connection.executemany(Q["close_task_token"], [(seq, t) for t in step.tokens_close])


def close_all(connection: SqlConnection, seq: int) -> None:
    """Close every token of an execution (it ended or was stopped)."""
    connection.execute(Q["close_execution_task_tokens"], (seq,))


def _values(seq: int, t: TaskTokenRecord) -> tuple[Any, ...]:
    return (
        t.token,
        seq,
        t.effect_id,
        t.status,
        t.scheduled_at,
        t.activity_arn,
        t.input,
        t.timeout_at,
        t.heartbeat_seconds,
        t.heartbeat_due,
        t.worker_name,
        t.started_at,
        int(t.started_reported),
        t.completed_at,
        t.output,
        t.error,
        t.cause,
        t.wake_at,
        t.child_execution_arn,
    )


def _update(connection: SqlConnection, record: TaskTokenRecord, expected: str) -> None:
    cursor = connection.execute(
        Q["update_task_token"],
        (
            record.status,
            record.worker_name,
            record.started_at,
            int(record.started_reported),
            record.heartbeat_due,
            record.completed_at,
            record.output,
            record.error,
            record.cause,
            record.wake_at,
            record.token,
            expected,
        ),
    )
    if cursor.rowcount != 1:
        raise TaskClosed("another request changed it first")


def _wake_execution(connection: SqlConnection, record: TaskTokenRecord) -> None:
    wake = record.wake_at
    if wake is None:
        return
    seq = connection.execute(Q["execution_seq"], (record.execution_arn,)).fetchone()[0]
    # A leased execution is not touched: its worker looks at its tokens when it releases.
    woken = connection.execute(Q["wake_unleased_runtime"], (wake, seq, wake)).rowcount
    if woken and due_now(wake):
        notify(connection, CHANNEL_EXECUTIONS)


# -- task operations -----------------------------------------------------------------------


def take_activity_task(
    connection: SqlConnection, activity_arn: str, worker_name: str | None, now: float
) -> TaskTokenRecord | None:
    """Hand the oldest scheduled task of the activity to this caller."""
    row = connection.execute(Q["oldest_scheduled_task"], (activity_arn,)).fetchone()
    if row is None:
        return None
    taken = started_activity(token_from(row), worker_name, now)
    _update(connection, taken, "SCHEDULED")
    _wake_execution(connection, taken)
    return taken


def _open_task(connection: SqlConnection, token: str, now: float) -> TaskTokenRecord:
    connection.execute(Q["lock_task_execution"], (token,))
    row = connection.execute(Q["get_task_token"], (token,)).fetchone()
    return check_task_open(
        None if row is None else token_from(row),
        None if row is None else row[_TOKEN_FIELDS],
        now,
    )


def complete_task(
    connection: SqlConnection,
    token: str,
    *,
    failed: bool,
    output: str | None,
    error: str | None,
    cause: str | None,
    now: float,
) -> TaskTokenRecord:
    """Store a task's outcome and wake its execution."""
    record = _open_task(connection, token, now)
    done = replace(
        record,
        status="FAILED" if failed else "SUCCEEDED",
        completed_at=now,
        output=None if failed else output,
        error=error if failed else None,
        cause=cause if failed else None,
    )
    _update(connection, done, "STARTED")
    _wake_execution(connection, done)
    # Also when the execution is leased: its holder may be waiting for this outcome.
    notify(connection, CHANNEL_EXECUTIONS)
    return done


def heartbeat_task(connection: SqlConnection, token: str, now: float) -> TaskTokenRecord:
    """Push a task's heartbeat deadline."""
    record = _open_task(connection, token, now)
    if record.heartbeat_seconds is None:
        return record
    beat = replace(record, heartbeat_due=now + record.heartbeat_seconds)
    _update(connection, beat, "STARTED")
    return beat


# -- nested workflows: a .sync parent's wait for its child ----------------------------------


def link_child(connection: SqlConnection, token: str, child_arn: str) -> None:
    """Link the parent's waiting token to the child being inserted.

    Raises:
        TaskClosed: The parent no longer waits on that token (its task was cancelled, timed
            out, or its execution ended): the child must not start.
    """
    # The parent's runtime row before its token (PostgreSQL's lock order; a read on SQLite).
    connection.execute(Q["lock_task_execution"], (token,))
    cursor = connection.execute(Q["link_child_execution"], (child_arn, token))
    if cursor.rowcount != 1:
        raise TaskClosed("the parent's task no longer waits for a child execution")


def finish_child_wait(connection: SqlConnection, child_arn: str, status: str, now: float) -> None:
    """The child ended: complete its parent's waiting task and wake the parent.

    Runs in the child's ending transaction, which holds the child's runtime row: locks go from
    a child to its parent, never back, so they cannot deadlock.
    """
    row = connection.execute(Q["child_wait_of"], (child_arn,)).fetchone()
    if row is None:
        return
    token, seq = row
    connection.execute(Q["lock_task_execution"], (token,))
    outcome = "SUCCEEDED" if status == "SUCCEEDED" else "FAILED"
    if connection.execute(Q["finish_child_wait"], (outcome, now, now, token)).rowcount != 1:
        return  # the parent stopped waiting meanwhile
    connection.execute(Q["wake_unleased_runtime"], (now, seq, now))
    # Also when the parent is leased: its holder may be waiting for this outcome.
    notify(connection, CHANNEL_EXECUTIONS)


def orphaned_children(connection: SqlConnection, parent_arn: str) -> list[str]:
    """Running children whose parent's ``.sync`` task no longer waits for them."""
    return [row[0] for row in connection.execute(Q["orphaned_children"], (parent_arn,))]


def purge(connection: SqlConnection, seq: int) -> None:
    """Delete an execution's tokens (its name is reused)."""
    connection.execute(Q["purge_task_tokens"], (seq,))


__all__: Sequence[str] = (
    "apply_step",
    "close_all",
    "complete_task",
    "create_activity",
    "delete_activity",
    "earliest_wake",
    "finish_child_wait",
    "get_activity",
    "heartbeat_task",
    "link_child",
    "list_activities",
    "open_tokens",
    "orphaned_children",
    "purge",
    "take_activity_task",
    "token_from",
)
