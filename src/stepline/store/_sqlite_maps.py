"""The SQLite store's map-run transactions and reads (Distributed Map).

Like :mod:`stepline.store._sqlite_runs`: write functions run on the writer thread inside its
transaction, reads on a reader connection; all SQL comes from :mod:`stepline.store._sql` by
name, in the dialect SQLite and PostgreSQL share, so that the PostgreSQL backend can call these
functions with its own connection. Every change of a child's status is conditional on the
status it replaces, so a result is recorded once even with concurrent writers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from stepline.store import _sqlite_ops as ops
from stepline.store import _sqlite_runs as runs
from stepline.store import _sqlite_tokens as tokens
from stepline.store._errors import RecordNotFound, StoreConflict, TaskClosed
from stepline.store._map_run_records import (
    MapRunChildRecord,
    MapRunCounts,
    MapRunRecord,
    MapRunStatusCounts,
)
from stepline.store._records import (
    ExecutionRecord,
    HistoryEventRecord,
    StateMachineRevisionRecord,
    TaskTokenRecord,
)
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection

__all__ = [
    "create_map_run",
    "ended_map_run_children",
    "finish_map_run",
    "get_map_run",
    "lease_map_run",
    "list_map_runs",
    "map_run_children",
    "map_run_counts",
    "map_run_parent_waits",
    "record_map_run_results",
    "redrive_map_run",
    "running_map_runs",
    "start_map_run_children",
    "update_map_run",
]

Row = tuple[Any, ...]
ChildResult = tuple[int, str, str | None, str | None, str | None]
"""``(position, status, output, error, cause)`` of a child that ended."""

_MAP_RUN_FIELDS = 18


def map_run_from(row: Row) -> MapRunRecord:
    """A row starting with the ``{MAP_RUN}`` columns."""
    return MapRunRecord(*row[:_MAP_RUN_FIELDS])


def child_from(row: Row) -> MapRunChildRecord:
    """A row of the ``{MAP_CHILD}`` columns."""
    return MapRunChildRecord(*row)


def create_map_run(
    connection: SqlConnection,
    *,
    record: MapRunRecord,
    inputs: Sequence[tuple[int, str]],
    revision: StateMachineRevisionRecord,
) -> tuple[MapRunRecord, bool]:
    """Insert a map run, the revision its children run and its children (PENDING)."""
    existing = get_map_run(connection, record.arn)
    if existing is not None:
        return existing, False
    with contextlib.suppress(StoreConflict):  # the revision is kept if its id exists
        ops._insert_revision(connection, revision)  # the same insert as for a new revision
    connection.execute(
        Q["insert_map_run"],
        (
            record.arn,
            record.execution_arn,
            record.state_machine_arn,
            record.label,
            record.state_name,
            record.execution_type,
            record.revision_id,
            record.status,
            record.start_date,
            record.max_concurrency,
            record.tolerated_failure_count,
            record.tolerated_failure_percentage,
            record.task_token,
            record.stop_date,
            record.error,
            record.cause,
            record.redrive_count,
            record.redrive_date,
        ),
    )
    connection.executemany(
        Q["insert_map_run_child"],
        [(record.arn, position, count, text) for position, (count, text) in enumerate(inputs)],
    )
    return record, True


def get_map_run(connection: SqlConnection, arn: str) -> MapRunRecord | None:
    """Read one map run."""
    row = connection.execute(Q["get_map_run"], (arn,)).fetchone()
    return None if row is None else map_run_from(row)


def list_map_runs(
    connection: SqlConnection, *, execution_arn: str, below: int, limit: int
) -> list[tuple[MapRunRecord, int]]:
    """An execution's map runs with ``seq`` below ``below``, newest first, with their seq."""
    rows = connection.execute(Q["list_map_runs"], (execution_arn, below, limit))
    return [(map_run_from(row), row[_MAP_RUN_FIELDS]) for row in rows]


def running_map_runs(connection: SqlConnection) -> list[MapRunRecord]:
    """Every map run still RUNNING, oldest first."""
    return [map_run_from(row) for row in connection.execute(Q["running_map_runs"])]


def update_map_run(
    connection: SqlConnection,
    *,
    arn: str,
    max_concurrency: int | None,
    tolerated_failure_count: int | None,
    tolerated_failure_percentage: float | None,
) -> MapRunRecord:
    """Change a map run's limits (``None`` keeps one)."""
    cursor = connection.execute(
        Q["update_map_run_limits"],
        (max_concurrency, tolerated_failure_count, tolerated_failure_percentage, arn),
    )
    if cursor.rowcount == 0:
        raise RecordNotFound("map run", arn)
    record = get_map_run(connection, arn)
    assert record is not None
    return record


def lease_map_run(
    connection: SqlConnection, *, arn: str, owner: str, until: float, now: float
) -> bool:
    """Take or renew the lease of a RUNNING map run (free, expired, or ``owner``'s already)."""
    cursor = connection.execute(Q["lease_map_run"], (owner, until, arn, owner, now))
    return cursor.rowcount == 1


def map_run_parent_waits(connection: SqlConnection, arn: str) -> bool:
    """Whether the map run's parent still runs and waits for it (its token is open)."""
    row = connection.execute(Q["map_run_parent_waits"], (arn,)).fetchone()
    return row is not None and row[0] == "RUNNING" and row[1] == "STARTED"


def map_run_counts(connection: SqlConnection, arn: str) -> MapRunCounts:
    """Children and items per status."""
    executions: dict[str, int] = {}
    items: dict[str, int] = {}
    for status, children, item_count in connection.execute(Q["map_run_counts"], (arn,)):
        executions[status] = int(children)
        items[status] = int(item_count or 0)  # PostgreSQL sums BIGINTs as NUMERIC
    return MapRunCounts(_status_counts(executions), _status_counts(items))


def _status_counts(by_status: dict[str, int]) -> MapRunStatusCounts:
    return MapRunStatusCounts(
        pending=by_status.get("PENDING", 0),
        running=by_status.get("RUNNING", 0),
        succeeded=by_status.get("SUCCEEDED", 0),
        failed=by_status.get("FAILED", 0),
        timed_out=by_status.get("TIMED_OUT", 0),
        aborted=by_status.get("ABORTED", 0),
    )


def map_run_children(
    connection: SqlConnection, *, arn: str, status: str | None, limit: int
) -> list[MapRunChildRecord]:
    """Children in position order (of one status, up to ``limit`` when given)."""
    if status is None:
        rows = connection.execute(Q["map_run_children"], (arn,))
    else:
        rows = connection.execute(Q["map_run_children_by_status"], (arn, status, limit or 1 << 62))
    return [child_from(row) for row in rows]


def start_map_run_children(
    connection: SqlConnection,
    *,
    arn: str,
    children: Sequence[tuple[int, str]],
    executions: Sequence[tuple[ExecutionRecord, HistoryEventRecord]],
    now: float,
) -> list[int]:
    """Mark PENDING children RUNNING with their execution ARNs; store Standard children.

    A child execution that exists already (started before a crash) is not stored again.

    Returns:
        The positions that were PENDING and are RUNNING now.
    """
    started = []
    for position, execution_arn in children:
        cursor = connection.execute(Q["start_map_run_child"], (execution_arn, arn, position))
        if cursor.rowcount == 1:
            started.append(position)
    for record, event in executions:
        with contextlib.suppress(StoreConflict):
            runs.create_execution(
                connection,
                record=record,
                events=(event,),
                runnable_at=now,
                snapshot=None,
                reuse_closed_before=None,
            )
    return started


def record_map_run_results(
    connection: SqlConnection, *, arn: str, results: Sequence[ChildResult]
) -> int:
    """Store how RUNNING children ended; how many were recorded now (never twice)."""
    recorded = 0
    for position, status, output, error, cause in results:
        cursor = connection.execute(
            Q["record_map_run_child"], (status, output, error, cause, arn, position)
        )
        recorded += cursor.rowcount
    return recorded


def ended_map_run_children(connection: SqlConnection, *, arn: str, limit: int) -> list[ChildResult]:
    """RUNNING children whose (Standard) execution has ended, with the outcome."""
    return [tuple(row) for row in connection.execute(Q["ended_map_run_children"], (arn, limit))]


def finish_map_run(
    connection: SqlConnection,
    *,
    arn: str,
    status: str,
    stop_date: float,
    error: str | None,
    cause: str | None,
    output: str | None,
) -> TaskTokenRecord | None:
    """End a RUNNING map run and complete the parent's task with its outcome, at once.

    Children not ended are marked ABORTED. The parent's token is completed (succeeded with
    ``output``, else failed with ``error``/``cause``) unless it cannot be any more (the parent
    stopped or moved on).

    Returns:
        The completed token (to tell the run holding the parent, if any), else ``None``.

    Raises:
        RecordNotFound: No such map run.
    """
    record = get_map_run(connection, arn)
    if record is None:
        raise RecordNotFound("map run", arn)
    if connection.execute(Q["end_map_run"], (status, stop_date, error, cause, arn)).rowcount == 0:
        return None
    connection.execute(Q["abort_open_map_run_children"], (arn,))
    if status == "ABORTED":
        return None
    try:
        return tokens.complete_task(
            connection,
            record.task_token,
            failed=status != "SUCCEEDED",
            output=output,
            error=error,
            cause=cause,
            now=stop_date,
        )
    except (RecordNotFound, TaskClosed):
        return None


def redrive_map_run(
    connection: SqlConnection, *, arn: str, task_token: str, now: float
) -> MapRunRecord:
    """Make an ended, unsuccessful map run RUNNING again for a redriven parent.

    Its FAILED, TIMED_OUT and ABORTED children become PENDING (they run again; succeeded ones
    keep their results), its redrive count goes up, and its outcome will complete
    ``task_token`` (the redriven parent's new token).

    Raises:
        RecordNotFound: No such map run.
        StoreConflict: It is RUNNING or SUCCEEDED (nothing to redrive).
    """
    record = get_map_run(connection, arn)
    if record is None:
        raise RecordNotFound("map run", arn)
    if connection.execute(Q["redrive_map_run"], (now, task_token, arn)).rowcount == 0:
        raise StoreConflict(f"Map run {arn!r} is {record.status}: it cannot be redriven.")
    connection.execute(Q["redrive_map_run_children"], (arn,))
    redriven = get_map_run(connection, arn)
    assert redriven is not None
    return redriven
