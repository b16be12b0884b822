"""Builders for the store suite: records with sensible defaults."""

from __future__ import annotations

import itertools

from stepline.store import (
    ExecutionRecord,
    HistoryEventRecord,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StepCommit,
    Store,
)

PREFIX = "arn:aws:states:us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/StepFunctions"
DEFINITION = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
T0 = 1_700_000_000.0

_revisions = itertools.count(1)


def sm_arn(name: str) -> str:
    return f"{PREFIX}:stateMachine:{name}"


def exec_arn(machine: str, name: str) -> str:
    return f"{PREFIX}:execution:{machine}:{name}"


def revision(
    machine: str, definition: str = DEFINITION, when: float = T0
) -> StateMachineRevisionRecord:
    return StateMachineRevisionRecord(
        revision_id=f"rev-{next(_revisions)}",
        state_machine_arn=sm_arn(machine),
        definition=definition,
        role_arn=ROLE,
        update_date=when,
        logging_configuration='{"level": "OFF", "includeExecutionData": false}',
        tracing_configuration='{"enabled": false}',
        encryption_configuration='{"type": "AWS_OWNED_KEY"}',
    )


def machine(name: str, when: float = T0, definition: str = DEFINITION) -> StateMachineRecord:
    return StateMachineRecord(
        arn=sm_arn(name),
        name=name,
        type="STANDARD",
        status="ACTIVE",
        creation_date=when,
        revision=revision(name, definition, when),
    )


def execution(
    machine_name: str,
    name: str,
    *,
    revision_id: str = "rev-x",
    when: float = T0,
    input_text: str = '{"n": 1}',
    version_arn: str | None = None,
    alias_arn: str | None = None,
) -> ExecutionRecord:
    return ExecutionRecord(
        arn=exec_arn(machine_name, name),
        state_machine_arn=sm_arn(machine_name),
        name=name,
        revision_id=revision_id,
        status="RUNNING",
        start_date=when,
        input=input_text,
        state_machine_version_arn=version_arn,
        state_machine_alias_arn=alias_arn,
        trace_header="Root=1-abc",
    )


def events(first: int, count: int, when: float = T0) -> tuple[HistoryEventRecord, ...]:
    """``count`` events with ids ``first…``; details are exact JSON text with unusual bytes."""
    return tuple(
        HistoryEventRecord(
            id=event_id,
            previous_event_id=event_id - 1,
            timestamp=when + event_id / 1000,
            type="ExecutionStarted" if event_id == 1 else "PassStateEntered",
            details=f'{{"input": "{{\\"k\\": {event_id}}}", "z": 1, "a": "é\\u2028"}}',
        )
        for event_id in range(first, first + count)
    )


async def started(
    store: Store, machine_name: str, name: str, *, runnable_at: float | None = T0, **kwargs: object
) -> ExecutionRecord:
    """Create a running execution with its ExecutionStarted event."""
    return await store.create_execution(
        execution(machine_name, name, **kwargs),  # type: ignore[arg-type]
        events(1, 1),
        runnable_at=runnable_at,
    )


def step(arn: str, token: str, first: int, count: int = 3, **kwargs: object) -> StepCommit:
    return StepCommit(
        execution_arn=arn,
        lease_token=token,
        events=events(first, count),
        snapshot=b"s" * 1024,
        **kwargs,  # type: ignore[arg-type]
    )
