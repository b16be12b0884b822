"""The SQLite store's RedriveExecution transaction (runs on the writer thread).

The PostgreSQL backend reuses it with the same SQL (``_sql.py``, by name): the status flip is
one conditional ``UPDATE``, so of two concurrent redrives only one changes the execution.
"""

from __future__ import annotations

from collections.abc import Sequence

from stepline.store._errors import RecordNotFound
from stepline.store._records import ExecutionRecord, PendingEvent
from stepline.store._redrive import REDRIVE_TOKEN_SECONDS, REDRIVE_TOKENS_KEPT
from stepline.store._rules import numbered
from stepline.store._signals import CHANNEL_EXECUTIONS, notify
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection
from stepline.store._sqlite_runs import _insert_events as insert_events
from stepline.store._sqlite_runs import get_execution

__all__ = ["redrive_execution"]


def redrive_execution(
    connection: SqlConnection,
    *,
    arn: str,
    redrive_count: int,
    redrive_date: float,
    events: Sequence[PendingEvent],
    client_token: str | None,
) -> tuple[ExecutionRecord, float | None]:
    """Turn a closed, unsuccessful execution back to ``RUNNING`` (see the Store protocol)."""
    state = connection.execute(Q["lease_state"], (arn,)).fetchone()
    if state is None:
        raise RecordNotFound("execution", arn)
    seq, last, _, _ = state
    if client_token is not None:
        row = connection.execute(
            Q["earlier_redrive"],
            (seq, client_token, redrive_date - REDRIVE_TOKEN_SECONDS, seq, REDRIVE_TOKENS_KEPT - 1),
        ).fetchone()
        if row is not None:
            record = get_execution(connection, arn)
            assert record is not None
            return record, row[0]
    changed = connection.execute(
        Q["redrive_execution"], (redrive_date, seq, redrive_count)
    ).rowcount
    if changed:
        records = numbered(last, events)
        insert_events(connection, seq, records)
        last = records[-1].id if records else last
        connection.execute(Q["redrive_runtime"], (last, redrive_date, seq))
        if client_token is not None:
            connection.execute(Q["record_redrive"], (seq, client_token, redrive_date))
        notify(connection, CHANNEL_EXECUTIONS)  # runnable now: a worker anywhere takes it
    record = get_execution(connection, arn)
    assert record is not None
    return record, redrive_date if changed else None
