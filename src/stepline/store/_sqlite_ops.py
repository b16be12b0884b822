"""The SQLite store's transactions and reads, as plain functions of a connection.

Write functions run on the writer thread inside a transaction the writer opened (and, in a
batch, a savepoint), so they only execute statements and raise to roll back. Read functions run
on a reader connection. All SQL comes from :mod:`stepline.store._sql` by name.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from stepline.store._errors import RecordNotFound, StoreConflict
from stepline.store._records import (
    AliasRecord,
    ClaimedExecution,
    ExecutionRecord,
    HistoryEventRecord,
    PendingEvent,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StateMachineVersionRecord,
    StepCommit,
    TimerRecord,
)
from stepline.store._rules import check_continuation, lease_lost, wake_time
from stepline.store._sql import QUERIES as Q

Row = tuple[Any, ...]

# -- rows to records --------------------------------------------------------------------------


def revision_from(row: Row, start: int) -> StateMachineRevisionRecord:
    """The revision in ``row[start:start + 8]`` (the ``{REVISION}`` columns)."""
    return StateMachineRevisionRecord(*row[start : start + 8])


def machine_from(row: Row) -> StateMachineRecord:
    """A ``get_state_machine``/``list_state_machines`` row."""
    return StateMachineRecord(row[0], row[1], row[2], row[3], row[4], revision_from(row, 7), row[5])


def version_from(row: Row) -> StateMachineVersionRecord:
    """A ``get_version``/``list_versions`` row."""
    return StateMachineVersionRecord(row[0], row[1], row[2], row[3], revision_from(row, 5), row[4])


def execution_from(row: Row) -> ExecutionRecord:
    """A row starting with the ``{EXECUTION}`` columns."""
    return ExecutionRecord(*row[:21])


def _alias(connection: sqlite3.Connection, row: Row) -> AliasRecord:
    routes = tuple(
        (version_arn, weight)
        for version_arn, weight in connection.execute(Q["get_routes"], (row[0],))
    )
    return AliasRecord(row[0], row[1], row[2], routes, row[3], row[4], row[5])


# -- state machines -----------------------------------------------------------------------------


def _insert_revision(connection: sqlite3.Connection, revision: StateMachineRevisionRecord) -> None:
    if connection.execute(Q["revision_exists"], (revision.revision_id,)).fetchone():
        raise StoreConflict(f"Revision id {revision.revision_id!r} is already used.")
    connection.execute(
        Q["insert_revision"],
        (
            revision.revision_id,
            revision.state_machine_arn,
            revision.definition,
            revision.role_arn,
            revision.update_date,
            revision.logging_configuration,
            revision.tracing_configuration,
            revision.encryption_configuration,
        ),
    )


def _machine_row(connection: sqlite3.Connection, arn: str) -> Row | None:
    row: Row | None = connection.execute(Q["get_state_machine"], (arn,)).fetchone()
    return row


def _publish(
    connection: sqlite3.Connection, row: Row, creation_date: float, description: str | None
) -> StateMachineVersionRecord:
    arn, number = row[0], row[6]
    connection.execute(Q["take_version_number"], (arn,))
    version = StateMachineVersionRecord(
        f"{arn}:{number}", arn, number, creation_date, revision_from(row, 7), description
    )
    connection.execute(
        Q["insert_version"],
        (version.arn, arn, number, creation_date, version.revision.revision_id, description),
    )
    return version


def create_state_machine(
    connection: sqlite3.Connection,
    record: StateMachineRecord,
    tags: Mapping[str, str] | None,
    publish: bool,
    version_description: str | None,
) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
    """Insert a state machine, its first revision, tags, and version 1 if asked."""
    existing = _machine_row(connection, record.arn)
    if existing is not None:
        raise StoreConflict(
            f"A state machine named {record.name!r} already exists ({record.arn}).",
            machine_from(existing),
        )
    _insert_revision(connection, record.revision)
    connection.execute(
        Q["insert_state_machine"],
        (
            record.arn,
            record.name,
            record.type,
            record.status,
            record.creation_date,
            record.revision_id,
            record.description,
        ),
    )
    if tags:
        tag_resource(connection, record.arn, tags)
    version = None
    if publish:
        row = _machine_row(connection, record.arn)
        assert row is not None
        version = _publish(connection, row, record.creation_date, version_description)
    return record, version


def update_state_machine(
    connection: sqlite3.Connection,
    arn: str,
    revision: StateMachineRevisionRecord,
    publish: bool,
    version_description: str | None,
) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
    """Point the state machine at a new revision; publish it if asked."""
    row = _machine_row(connection, arn)
    if row is None:
        raise RecordNotFound("state machine", arn)
    if row[3] != "ACTIVE":
        raise StoreConflict(f"State machine {arn!r} is being deleted.", machine_from(row))
    _insert_revision(connection, revision)
    connection.execute(Q["set_state_machine_revision"], (revision.revision_id, arn))
    row = _machine_row(connection, arn)
    assert row is not None
    version = (
        _publish(connection, row, revision.update_date, version_description) if publish else None
    )
    return machine_from(row), version


def mark_state_machine_deleting(
    connection: sqlite3.Connection, arn: str
) -> StateMachineRecord | None:
    """Set status DELETING."""
    connection.execute(Q["set_state_machine_status"], ("DELETING", arn))
    row = _machine_row(connection, arn)
    return None if row is None else machine_from(row)


def remove_state_machine(connection: sqlite3.Connection, arn: str) -> bool:
    """Delete the state machine with its versions, aliases and tags."""
    if connection.execute(Q["delete_state_machine"], (arn,)).rowcount == 0:
        return False
    connection.execute(Q["delete_machine_versions"], (arn,))
    connection.execute(Q["delete_machine_alias_routes"], (arn,))
    connection.execute(Q["delete_machine_aliases"], (arn,))
    connection.execute(Q["delete_tags"], (arn,))
    return True


def get_state_machine(connection: sqlite3.Connection, arn: str) -> StateMachineRecord | None:
    """Read one state machine."""
    row = _machine_row(connection, arn)
    return None if row is None else machine_from(row)


def list_state_machines(
    connection: sqlite3.Connection, after: str, limit: int
) -> list[StateMachineRecord]:
    """State machines with ARN after ``after``."""
    return [
        machine_from(row) for row in connection.execute(Q["list_state_machines"], (after, limit))
    ]


def get_revision(
    connection: sqlite3.Connection, revision_id: str
) -> StateMachineRevisionRecord | None:
    """Read one revision."""
    row = connection.execute(Q["get_revision"], (revision_id,)).fetchone()
    return None if row is None else revision_from(row, 0)


# -- versions and aliases ---------------------------------------------------------------------


def publish_version(
    connection: sqlite3.Connection,
    arn: str,
    creation_date: float,
    description: str | None,
    expected_revision_id: str | None,
) -> tuple[StateMachineVersionRecord, bool]:
    """Publish the current revision unless a version holds it already."""
    row = _machine_row(connection, arn)
    if row is None:
        raise RecordNotFound("state machine", arn)
    if row[3] != "ACTIVE":
        raise StoreConflict(f"State machine {arn!r} is being deleted.")
    current = row[7]
    if expected_revision_id is not None and expected_revision_id != current:
        raise StoreConflict(
            f"Revision {expected_revision_id!r} is not the current revision of state machine "
            f"{arn!r}; describe it again and retry."
        )
    existing = connection.execute(Q["find_version_of_revision"], (arn, current)).fetchone()
    if existing is not None:
        return version_from(existing), False
    return _publish(connection, row, creation_date, description), True


def get_version(connection: sqlite3.Connection, arn: str) -> StateMachineVersionRecord | None:
    """Read one version."""
    row = connection.execute(Q["get_version"], (arn,)).fetchone()
    return None if row is None else version_from(row)


def list_versions(
    connection: sqlite3.Connection, arn: str, below: int, limit: int
) -> list[StateMachineVersionRecord]:
    """Versions numbered below ``below``, newest first."""
    rows = connection.execute(Q["list_versions"], (arn, below, limit))
    return [version_from(row) for row in rows]


def delete_version(connection: sqlite3.Connection, arn: str) -> bool:
    """Delete a version no alias routes to."""
    alias = connection.execute(Q["alias_routing_to_version"], (arn,)).fetchone()
    if alias is not None:
        raise StoreConflict(
            f"Version {arn!r} is used by alias {alias[0]!r}; update or delete the alias first."
        )
    return connection.execute(Q["delete_version"], (arn,)).rowcount > 0


def _check_routes(connection: sqlite3.Connection, record: AliasRecord) -> None:
    for version_arn, _ in record.routing:
        version = get_version(connection, version_arn)
        if version is None or version.state_machine_arn != record.state_machine_arn:
            raise RecordNotFound("state machine version", version_arn)


def _insert_routes(connection: sqlite3.Connection, record: AliasRecord) -> None:
    connection.executemany(
        Q["insert_route"],
        [
            (record.arn, position, arn, weight)
            for position, (arn, weight) in enumerate(record.routing)
        ],
    )


def create_alias(connection: sqlite3.Connection, record: AliasRecord) -> AliasRecord:
    """Insert an alias and its routes."""
    machine = _machine_row(connection, record.state_machine_arn)
    if machine is None:
        raise RecordNotFound("state machine", record.state_machine_arn)
    if machine[3] != "ACTIVE":
        raise StoreConflict(f"State machine {record.state_machine_arn!r} is being deleted.")
    existing = get_alias(connection, record.arn)
    if existing is not None:
        raise StoreConflict(f"Alias {record.arn!r} already exists.", existing)
    _check_routes(connection, record)
    connection.execute(
        Q["insert_alias"],
        (
            record.arn,
            record.state_machine_arn,
            record.name,
            record.creation_date,
            record.update_date,
            record.description,
        ),
    )
    _insert_routes(connection, record)
    return record


def get_alias(connection: sqlite3.Connection, arn: str) -> AliasRecord | None:
    """Read one alias with its routes."""
    row = connection.execute(Q["get_alias"], (arn,)).fetchone()
    return None if row is None else _alias(connection, row)


def list_aliases(
    connection: sqlite3.Connection, arn: str, after: str, limit: int
) -> list[AliasRecord]:
    """Aliases of a state machine with ARN after ``after``."""
    rows = connection.execute(Q["list_aliases"], (arn, after, limit)).fetchall()
    return [_alias(connection, row) for row in rows]


def update_alias(connection: sqlite3.Connection, record: AliasRecord) -> AliasRecord:
    """Replace description, routes and update date."""
    existing = get_alias(connection, record.arn)
    if existing is None:
        raise RecordNotFound("state machine alias", record.arn)
    checked = AliasRecord(
        existing.arn,
        existing.state_machine_arn,
        existing.name,
        record.routing,
        existing.creation_date,
        record.update_date,
        record.description,
    )
    _check_routes(connection, checked)
    connection.execute(Q["update_alias"], (record.description, record.update_date, record.arn))
    connection.execute(Q["delete_routes"], (record.arn,))
    _insert_routes(connection, checked)
    return checked


def delete_alias(connection: sqlite3.Connection, arn: str) -> bool:
    """Delete an alias and its routes."""
    connection.execute(Q["delete_routes"], (arn,))
    return connection.execute(Q["delete_alias"], (arn,)).rowcount > 0


# -- tags -------------------------------------------------------------------------------------


def tag_resource(connection: sqlite3.Connection, arn: str, tags: Mapping[str, str]) -> None:
    """Add or overwrite tags."""
    connection.executemany(Q["put_tag"], [(arn, key, value) for key, value in tags.items()])


def untag_resource(connection: sqlite3.Connection, arn: str, keys: Collection[str]) -> None:
    """Remove tags by key."""
    connection.executemany(Q["delete_tag"], [(arn, key) for key in keys])


def list_tags(connection: sqlite3.Connection, arn: str) -> dict[str, str]:
    """All tags of a resource in key order."""
    return dict(connection.execute(Q["list_tags"], (arn,)).fetchall())


# -- executions: reads ------------------------------------------------------------------------


def get_execution(connection: sqlite3.Connection, arn: str) -> ExecutionRecord | None:
    """Read one execution."""
    row = connection.execute(Q["get_execution"], (arn,)).fetchone()
    return None if row is None else execution_from(row)


def list_executions(
    connection: sqlite3.Connection,
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
    connection: sqlite3.Connection, arn: str, reverse: bool, after: int | None, limit: int
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


def has_running_executions(connection: sqlite3.Connection, arn: str) -> bool:
    """Whether a RUNNING execution of the state machine exists."""
    return connection.execute(Q["running_execution_of_machine"], (arn,)).fetchone() is not None


def next_wake_at(connection: sqlite3.Connection) -> float | None:
    """The earliest wake time."""
    value: float | None = connection.execute(Q["next_wake_at"]).fetchone()[0]
    return value


# -- executions: writes -----------------------------------------------------------------------

_INSERT_EVENT = Q["insert_event"]
_LEASE_STATE = Q["lease_state"]


def _insert_events(
    connection: sqlite3.Connection, seq: int, events: Sequence[HistoryEventRecord]
) -> None:
    connection.executemany(
        _INSERT_EVENT,
        [(seq, e.id, e.previous_event_id, e.timestamp, e.type, e.details) for e in events],
    )


def _purge(connection: sqlite3.Connection, seq: int) -> None:
    for name in ("purge_history", "delete_timers", "purge_runtime", "purge_execution"):
        connection.execute(Q[name], (seq,))


def create_execution(
    connection: sqlite3.Connection,
    *,
    record: ExecutionRecord,
    events: Sequence[HistoryEventRecord],
    runnable_at: float | None,
    snapshot: bytes | None,
    reuse_closed_before: float | None,
) -> ExecutionRecord:
    """Insert an execution, its runtime row and first events."""
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
    wake = runnable_at if record.status == "RUNNING" else None
    connection.execute(Q["insert_runtime"], (seq, len(events), snapshot, wake))
    _insert_events(connection, seq, events)
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
    connection: sqlite3.Connection,
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
        records = []
        for pending in events:
            last += 1
            previous = last - 1 if pending.previous_event_id is None else pending.previous_event_id
            records.append(
                HistoryEventRecord(last, previous, pending.timestamp, pending.type, pending.details)
            )
        _insert_events(connection, seq, records)
        connection.execute(Q["end_execution"], ("ABORTED", stop_date, None, error, cause, seq))
        connection.execute(Q["delete_timers"], (seq,))
        connection.execute(Q["end_runtime"], (last, None, seq))
    record = get_execution(connection, arn)
    assert record is not None
    return record, status == "RUNNING"


def claim_runnable(
    connection: sqlite3.Connection, owner: str, limit: int, lease_seconds: float, now: float
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
        claimed.append(ClaimedExecution(execution_from(row), token, expires, row[21], timers))
    return claimed


def _leased_seq(connection: sqlite3.Connection, arn: str, token: str) -> tuple[int, int]:
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


def commit_step(connection: sqlite3.Connection, step: StepCommit) -> None:
    """One worker step: events, snapshot, timers, end or wake time, lease."""
    seq, last = _leased_seq(connection, step.execution_arn, step.lease_token)
    events = step.events
    if events:
        check_continuation(step.execution_arn, last, events)
        _insert_events(connection, seq, events)
        last = events[-1].id
    if step.status is not None:
        connection.execute(
            Q["end_execution"],
            (step.status, step.stop_date, step.output, step.error, step.cause, seq),
        )
        connection.execute(Q["delete_timers"], (seq,))
        connection.execute(Q["end_runtime"], (last, step.snapshot, seq))
        return
    if step.timers_remove:
        connection.executemany(_DELETE_TIMER, [(seq, timer_id) for timer_id in step.timers_remove])
    if step.timers_add:
        connection.executemany(_PUT_TIMER, [(seq, t.timer_id, t.due) for t in step.timers_add])
    if step.keep_lease_until is not None:
        until = step.keep_lease_until
        connection.execute(_STEP_KEEP, (last, step.snapshot, until, until, seq))
        return
    connection.execute(
        _STEP_RELEASE, (last, step.snapshot, _wake(connection, seq, step.runnable_at), seq)
    )


def _wake(connection: sqlite3.Connection, seq: int, runnable_at: float | None) -> float | None:
    earliest = connection.execute(_EARLIEST_TIMER, (seq,)).fetchone()[0]
    return wake_time(runnable_at, () if earliest is None else (earliest,))


def renew_lease(
    connection: sqlite3.Connection, arn: str, token: str, lease_seconds: float, now: float
) -> float:
    """Move the caller's lease expiry."""
    seq, _ = _leased_seq(connection, arn, token)
    expires = now + lease_seconds
    connection.execute(Q["renew_lease"], (expires, expires, seq))
    return expires


def release(
    connection: sqlite3.Connection, arn: str, token: str, runnable_at: float | None
) -> None:
    """Give the caller's lease up."""
    seq, _ = _leased_seq(connection, arn, token)
    connection.execute(Q["release_lease"], (_wake(connection, seq, runnable_at), seq))
