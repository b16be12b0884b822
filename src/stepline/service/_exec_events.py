"""History events between the engine, the store and ``GetExecutionHistory``.

The store keeps each event's details member as JSON text, exactly the member
:meth:`stepline.engine.HistoryEvent.to_aws` would put in botocore's ``HistoryEvent`` shape
(``inputDetails``/``outputDetails``/``assignedVariablesDetails`` included), so that reading a
page back is one JSON decode per event and needs no knowledge of event types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from stepline.engine import HistoryEvent
from stepline.engine._history import DETAILS_MEMBER
from stepline.store import HistoryEventRecord

__all__ = [
    "details_member",
    "event_record",
    "event_records",
    "event_to_aws",
    "execution_started_details",
]

_NOT_TRUNCATED: Final = {"truncated": False}
# What includeExecutionData=false leaves out of an event's details.
_EXECUTION_DATA: Final = ("input", "output")


def details_member(event_type: str) -> str | None:
    """The name of the ``…EventDetails`` member of ``event_type`` (``None``: it has none)."""
    member = DETAILS_MEMBER.get(event_type)
    if member is None and event_type not in DETAILS_MEMBER:
        # A type the engine's table does not list yet: AWS's naming rule.
        if event_type.endswith("StateEntered"):
            return "stateEnteredEventDetails"
        if event_type.endswith("StateExited"):
            return "stateExitedEventDetails"
    return member


def _details_json(event_type: str, details: Mapping[str, Any] | None) -> str | None:
    """The details member's content as JSON text, as ``HistoryEvent.to_aws`` shapes it."""
    if details is None or details_member(event_type) is None:
        return None
    shaped = dict(details)
    if "input" in shaped:
        shaped["inputDetails"] = _NOT_TRUNCATED
    if "output" in shaped:
        shaped["outputDetails"] = _NOT_TRUNCATED
    if "assignedVariables" in shaped:
        shaped["assignedVariablesDetails"] = _NOT_TRUNCATED
    return orjson.dumps(shaped).decode()


def event_record(event: HistoryEvent) -> HistoryEventRecord:
    """The store's record of one engine event."""
    return HistoryEventRecord(
        event.id,
        event.previous_event_id,
        event.timestamp,
        event.type,
        _details_json(event.type, event.details),
    )


def event_records(events: Iterable[HistoryEvent]) -> tuple[HistoryEventRecord, ...]:
    """The store's records of engine events, in order."""
    return tuple(event_record(event) for event in events)


def execution_started_details(
    input_text: str,
    role_arn: str,
    *,
    version_arn: str | None = None,
    alias_arn: str | None = None,
) -> str:
    """The ``executionStartedEventDetails`` of a new execution, as JSON text.

    The input is recorded as the caller sent it (not re-encoded), as ``DescribeExecution``
    shows it.
    """
    details: dict[str, Any] = {
        "input": input_text,
        "inputDetails": _NOT_TRUNCATED,
        "roleArn": role_arn,
    }
    if alias_arn is not None:
        details["stateMachineAliasArn"] = alias_arn
    if version_arn is not None:
        details["stateMachineVersionArn"] = version_arn
    return orjson.dumps(details).decode()


def event_to_aws(record: HistoryEventRecord, *, include_data: bool = True) -> dict[str, Any]:
    """One item of ``GetExecutionHistory``'s ``events`` (Python values, datetimes)."""
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(record.timestamp, UTC),
        "type": record.type,
        "id": record.id,
        "previousEventId": record.previous_event_id,
    }
    if record.details is not None:
        member = details_member(record.type)
        if member is not None:
            details = orjson.loads(record.details)
            if not include_data:
                for key in _EXECUTION_DATA:
                    details.pop(key, None)
            event[member] = details
    return event
