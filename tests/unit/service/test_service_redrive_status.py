"""The redrive status DescribeExecution shows and RedriveExecution enforces: AWS's rules and
reasons, decided from the execution, its state machine and the time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stepline.service._redrive import (
    MAX_OPEN_SECONDS,
    REDRIVABLE_PERIOD_SECONDS,
    redrive_status,
)
from stepline.store import ExecutionRecord, StateMachineRecord, StateMachineRevisionRecord

T0 = 1_700_000_000.0
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:M"
MACHINE = StateMachineRecord(
    arn=MACHINE_ARN,
    name="M",
    type="STANDARD",
    status="ACTIVE",
    creation_date=T0,
    revision=StateMachineRevisionRecord("rev-1", MACHINE_ARN, "{}", "role", T0, None, None, None),
)
FAILED = ExecutionRecord(
    arn="arn:aws:states:us-east-1:123456789012:execution:M:e",
    state_machine_arn=MACHINE_ARN,
    name="e",
    revision_id="rev-1",
    status="FAILED",
    start_date=T0,
    input="{}",
    stop_date=T0 + 10,
    last_event_id=8,
)


def _status(
    record: ExecutionRecord = FAILED,
    machine: StateMachineRecord | None = MACHINE,
    now: float = T0 + 60,
    limit: int = 25_000,
) -> tuple[str, str | None]:
    return redrive_status(record, machine, now=now, history_limit=limit)


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_closed_unsuccessful_executions_are_redrivable(status: str) -> None:
    assert _status(replace(FAILED, status=status)) == ("REDRIVABLE", None)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_running_and_succeeded_are_not(status: str) -> None:
    assert _status(replace(FAILED, status=status)) == (  # type: ignore[arg-type]
        "NOT_REDRIVABLE",
        f"Execution is {status} and cannot be redriven",
    )


def test_the_fourteen_day_window_after_the_stop() -> None:
    edge = FAILED.stop_date + REDRIVABLE_PERIOD_SECONDS  # type: ignore[operator]
    assert _status(now=edge)[0] == "REDRIVABLE"
    assert _status(now=edge + 1) == ("NOT_REDRIVABLE", "Execution redrivable period exceeded.")


def test_a_year_after_the_start() -> None:
    late = replace(FAILED, stop_date=T0 + MAX_OPEN_SECONDS)
    assert _status(late, now=T0 + MAX_OPEN_SECONDS + 1) == (
        "NOT_REDRIVABLE",
        "Execution has exceeded the max execution time.",
    )


def test_the_history_needs_room_for_two_more_events() -> None:
    assert _status(replace(FAILED, last_event_id=24_998))[0] == "REDRIVABLE"
    assert _status(replace(FAILED, last_event_id=24_999)) == (
        "NOT_REDRIVABLE",
        "Execution history event limit exceeded.",
    )


def test_a_deleted_or_deleting_state_machine() -> None:
    reason = ("NOT_REDRIVABLE", "State machine is in DELETING status.")
    assert _status(machine=None) == reason
    assert _status(machine=replace(MACHINE, status="DELETING")) == reason


def test_a_map_run_child_is_redriven_by_its_map_run() -> None:
    child = replace(FAILED, map_run_arn="arn:aws:states:us-east-1:123456789012:mapRun:M/x:y")
    assert _status(child) == ("REDRIVABLE_BY_MAP_RUN", None)
    assert _status(replace(child, status="SUCCEEDED"))[0] == "NOT_REDRIVABLE"
