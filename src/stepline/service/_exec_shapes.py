"""Execution records in AWS's output shapes: DescribeExecution, ListExecutions items, and the
Express answers.

AWS decisions kept here: input and output come with ``inputDetails``/``outputDetails``
``{"included": true}`` (``false`` and the data left out under ``includedData=METADATA_ONLY``);
``outputDetails`` only when there is an output. The redrive fields follow AWS's defaults: an
execution that has not been redriven shows ``redriveCount`` 0, and a ``redriveStatus`` of
``REDRIVABLE`` once it failed, timed out or was aborted, else ``NOT_REDRIVABLE`` with AWS's
reason (``Execution is RUNNING and cannot be redriven``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from stepline.store import ExecutionRecord

__all__ = ["describe_execution", "list_item", "timestamp"]

_REDRIVABLE: Final = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
METADATA_ONLY: Final = "METADATA_ONLY"


def timestamp(seconds: float) -> datetime:
    """Epoch seconds as the aware datetime the wire layer sends."""
    return datetime.fromtimestamp(seconds, UTC)


def _redrive(record: ExecutionRecord, out: dict[str, Any]) -> None:
    out["redriveCount"] = record.redrive_count
    if record.redrive_date is not None:
        out["redriveDate"] = timestamp(record.redrive_date)
    status = record.redrive_status
    reason = record.redrive_status_reason
    if status is None:
        if record.status in _REDRIVABLE:
            status = "REDRIVABLE"
        else:
            status = "NOT_REDRIVABLE"
            reason = f"Execution is {record.status} and cannot be redriven"
    out["redriveStatus"] = status
    if reason is not None:
        out["redriveStatusReason"] = reason


def _identity(record: ExecutionRecord) -> dict[str, Any]:
    """The fields DescribeExecution and an ExecutionListItem share first."""
    out: dict[str, Any] = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": timestamp(record.start_date),
    }
    if record.stop_date is not None:
        out["stopDate"] = timestamp(record.stop_date)
    return out


def describe_execution(record: ExecutionRecord, *, included_data: str | None) -> dict[str, Any]:
    """``DescribeExecution``'s output for ``record``."""
    include = included_data != METADATA_ONLY
    out = _identity(record)
    if include:
        out["input"] = record.input
    out["inputDetails"] = {"included": include}
    if record.output is not None:
        if include:
            out["output"] = record.output
        out["outputDetails"] = {"included": include}
    if record.trace_header is not None:
        out["traceHeader"] = record.trace_header
    if record.map_run_arn is not None:
        out["mapRunArn"] = record.map_run_arn
    if record.error is not None:
        out["error"] = record.error
    if record.cause is not None:
        out["cause"] = record.cause
    if record.state_machine_version_arn is not None:
        out["stateMachineVersionArn"] = record.state_machine_version_arn
    if record.state_machine_alias_arn is not None:
        out["stateMachineAliasArn"] = record.state_machine_alias_arn
    _redrive(record, out)
    return out


def list_item(record: ExecutionRecord) -> dict[str, Any]:
    """An ``ExecutionListItem``."""
    item = _identity(record)
    if record.map_run_arn is not None:
        item["mapRunArn"] = record.map_run_arn
    if record.state_machine_version_arn is not None:
        item["stateMachineVersionArn"] = record.state_machine_version_arn
    if record.state_machine_alias_arn is not None:
        item["stateMachineAliasArn"] = record.state_machine_alias_arn
    item["redriveCount"] = record.redrive_count
    if record.redrive_date is not None:
        item["redriveDate"] = timestamp(record.redrive_date)
    return item
