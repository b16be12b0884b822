"""Execution history events, in the shapes of botocore's ``GetExecutionHistory`` output.

Events are created on the hot path, so they are small slotted objects holding the details dict
as AWS names its members; :meth:`HistoryEvent.to_aws` builds the wire shape on demand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["DETAILS_MEMBER", "HistoryEvent"]


# The event types whose details structure exists in botocore's HistoryEvent shape; the member
# is the type name with a lower-case first letter and "EventDetails" appended.
_WITH_OWN_DETAILS = frozenset(
    [
        "ActivityFailed",
        "ActivityScheduleFailed",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "ActivityTimedOut",
        "TaskFailed",
        "TaskScheduled",
        "TaskStartFailed",
        "TaskStarted",
        "TaskSubmitFailed",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskTimedOut",
        "ExecutionFailed",
        "ExecutionStarted",
        "ExecutionSucceeded",
        "ExecutionAborted",
        "ExecutionTimedOut",
        "ExecutionRedriven",
        "MapStateStarted",
        "MapIterationStarted",
        "MapIterationSucceeded",
        "MapIterationFailed",
        "MapIterationAborted",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionScheduled",
        "LambdaFunctionStartFailed",
        "LambdaFunctionSucceeded",
        "LambdaFunctionTimedOut",
        "MapRunStarted",
        "MapRunFailed",
        "MapRunRedriven",
        "EvaluationFailed",
    ]
)


def _member(event_type: str) -> str | None:
    """The ``…EventDetails`` member AWS uses for an event type (``None`` when it has none)."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    if event_type in _WITH_OWN_DETAILS:
        return event_type[0].lower() + event_type[1:] + "EventDetails"
    return None


_TYPES = [
    "ActivityFailed",
    "ActivityScheduled",
    "ActivityScheduleFailed",
    "ActivityStarted",
    "ActivitySucceeded",
    "ActivityTimedOut",
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "ExecutionAborted",
    "ExecutionFailed",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "ExecutionTimedOut",
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduled",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStarted",
    "LambdaFunctionStartFailed",
    "LambdaFunctionSucceeded",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapStateAborted",
    "MapStateEntered",
    "MapStateExited",
    "MapStateFailed",
    "MapStateStarted",
    "MapStateSucceeded",
    "ParallelStateAborted",
    "ParallelStateEntered",
    "ParallelStateExited",
    "ParallelStateFailed",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "TaskFailed",
    "TaskScheduled",
    "TaskStarted",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskStateEntered",
    "TaskStateExited",
    "TaskSubmitFailed",
    "TaskSubmitted",
    "TaskSucceeded",
    "TaskTimedOut",
    "WaitStateAborted",
    "WaitStateEntered",
    "WaitStateExited",
    "ExecutionRedriven",
    "EvaluationFailed",
    "MapRunAborted",
    "MapRunFailed",
    "MapRunRedriven",
    "MapRunStarted",
    "MapRunSucceeded",
]

DETAILS_MEMBER: dict[str, str | None] = {event_type: _member(event_type) for event_type in _TYPES}
"""Event type → the name of its details member in ``HistoryEvent`` (botocore's shape)."""


class HistoryEvent:
    """One event of an execution's history.

    Attributes:
        id: 1-based, increasing in the order events were recorded.
        previous_event_id: The event this one follows in its branch (0 for the first).
        timestamp: Seconds since the epoch (UTC).
        type: AWS's ``HistoryEventType`` name, e.g. ``TaskStateEntered``.
        details: The members of the event's details structure, e.g. ``{"name": …, "input": …}``,
            with input/output already as JSON text, as AWS records them; :meth:`to_aws` adds
            the ``inputDetails``/``outputDetails`` members.
    """

    __slots__ = ("details", "id", "previous_event_id", "timestamp", "type")

    def __init__(
        self,
        event_id: int,
        previous_event_id: int,
        timestamp: float,
        event_type: str,
        details: dict[str, Any] | None,
    ) -> None:
        self.id = event_id
        self.previous_event_id = previous_event_id
        self.timestamp = timestamp
        self.type = event_type
        self.details = details

    def to_aws(self) -> dict[str, Any]:
        """The event as an item of ``GetExecutionHistory``'s ``events`` list."""
        event: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(self.timestamp, UTC),
            "type": self.type,
            "id": self.id,
            "previousEventId": self.previous_event_id,
        }
        member = DETAILS_MEMBER.get(self.type)
        if member is not None and self.details is not None:
            details = dict(self.details)
            # stepline never truncates, so the hot path leaves these out (a details dict of
            # strings only is not tracked by the cyclic GC, which matters at 100k events/s).
            if "input" in details:
                details["inputDetails"] = {"truncated": False}
            if "output" in details:
                details["outputDetails"] = {"truncated": False}
            if "assignedVariables" in details:
                details["assignedVariables"] = dict(details["assignedVariables"])
                details["assignedVariablesDetails"] = {"truncated": False}
            event[member] = details
        return event

    def __repr__(self) -> str:
        return f"HistoryEvent({self.id}, {self.type}, {self.details!r})"
