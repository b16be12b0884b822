"""Checks every backend applies the same way, before it writes anything."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from stepline.store._errors import HistoryConflict, LeaseLost, RecordNotFound, TaskClosed
from stepline.store._records import (
    HistoryEventRecord,
    PendingEvent,
    StepCommit,
    TaskTokenRecord,
    TimerRecord,
)

__all__ = [
    "check_continuation",
    "check_step",
    "check_task_open",
    "lease_lost",
    "numbered",
    "one_subject",
    "started_activity",
    "wake_time",
]


def numbered(last_event_id: int, events: Iterable[PendingEvent]) -> list[HistoryEventRecord]:
    """Events an operation appends (StopExecution, RedriveExecution) with ids after
    ``last_event_id``; each follows the one before unless it names its previous event."""
    records = []
    last = last_event_id
    for pending in events:
        last += 1
        previous = last - 1 if pending.previous_event_id is None else pending.previous_event_id
        records.append(
            HistoryEventRecord(last, previous, pending.timestamp, pending.type, pending.details)
        )
    return records


def check_continuation(
    execution_arn: str, last_event_id: int, events: Sequence[HistoryEventRecord]
) -> None:
    """Events must carry ids ``last_event_id + 1, + 2, …``.

    Raises:
        HistoryConflict: They do not.
    """
    expected = last_event_id + 1
    for event in events:
        if event.id != expected:
            raise HistoryConflict(execution_arn, expected, event.id)
        expected += 1


def check_step(step: StepCommit) -> None:
    """Reject a malformed step before touching storage.

    Raises:
        ValueError: A final status without a stop date, or ``RUNNING`` given as final status.
    """
    if step.status is not None:
        if step.status == "RUNNING":
            raise ValueError("StepCommit.status is the final status; leave it None while running.")
        if step.stop_date is None:
            raise ValueError("StepCommit.stop_date is required with a final status.")


def lease_lost(execution_arn: str, status: str, held_token: str | None) -> LeaseLost:
    """The LeaseLost error for an execution whose lease is not the caller's."""
    if status != "RUNNING":
        return LeaseLost(execution_arn, f"the execution is {status}")
    if held_token is None:
        return LeaseLost(execution_arn, "the lease was released")
    return LeaseLost(execution_arn, "another worker claimed it after the lease expired")


def wake_time(runnable_at: float | None, timer_dues: Iterable[float]) -> float | None:
    """The earliest of ``runnable_at`` and the timers' due times (``None``: nothing wakes it)."""
    earliest = runnable_at
    for due in timer_dues:
        if earliest is None or due < earliest:
            earliest = due
    return earliest


def one_subject(**subjects: str | None) -> tuple[str, str]:
    """The one ``(field, arn)`` given among the listing subjects.

    Raises:
        ValueError: None or several given.
    """
    given = [(name, value) for name, value in subjects.items() if value is not None]
    if len(given) != 1:
        raise ValueError(
            f"list_executions needs exactly one of {', '.join(subjects)}; got {len(given)}."
        )
    return given[0]


def sorted_timers(timers: Iterable[TimerRecord]) -> tuple[TimerRecord, ...]:
    """Timers earliest first (ties by id, so every backend orders them alike)."""
    return tuple(sorted(timers, key=lambda timer: (timer.due, timer.timer_id)))


def check_task_open(
    record: TaskTokenRecord | None, execution_status: str | None, now: float
) -> TaskTokenRecord:
    """The token's task, if SendTask* may still act on it.

    Raises:
        RecordNotFound: No such token, an activity task that no worker has taken, or the
            wait of a ``.sync`` nested workflow.
        TaskClosed: Completed or closed, past a deadline, or its execution ended.
    """
    if record is None or record.status == "SCHEDULED" or record.child_execution_arn is not None:
        # A nested workflow's wait ends with its child, never through SendTask*.
        raise RecordNotFound("task token", "(not shown)")
    if record.status != "STARTED":
        raise TaskClosed("it was completed already")
    if execution_status != "RUNNING":
        raise TaskClosed(f"its execution is {execution_status}")
    if record.timeout_at is not None and now >= record.timeout_at:
        raise TaskClosed("its TimeoutSeconds passed")
    if record.heartbeat_due is not None and now >= record.heartbeat_due:
        raise TaskClosed("its HeartbeatSeconds passed without a heartbeat")
    return record


def started_activity(
    record: TaskTokenRecord, worker_name: str | None, now: float
) -> TaskTokenRecord:
    """A scheduled activity task as a worker takes it: ``STARTED``, its heartbeat clock running.

    ``HeartbeatSeconds`` counts from the take, in the take's own transaction, so no later write
    is needed before the worker's first heartbeat is due.
    """
    beat = record.heartbeat_seconds
    return replace(
        record,
        status="STARTED",
        worker_name=worker_name,
        started_at=now,
        heartbeat_due=now + beat if beat is not None else None,
    )
