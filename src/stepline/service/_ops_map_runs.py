"""Map run operations: DescribeMapRun, ListMapRuns, UpdateMapRun (Distributed Map).

AWS's rules kept here:

- A map run ARN is ``arn:…:mapRun:<state machine name>/<label>:<id>``; anything else is
  ``InvalidArn``, a well-formed ARN of no map run ``ResourceNotFound``.
- DescribeMapRun's counts are recomputed from the children: ``executionCounts`` per child
  execution, ``itemCounts`` per item (a batch counts its items). ``resultsWritten``,
  ``failuresNotRedrivable`` and ``pendingRedrive`` are 0 (no ResultWriter; a redrive resets
  the unsuccessful children to pending at once).
- ListMapRuns lists an execution's map runs, newest first, paged; an unknown execution is
  ``ExecutionDoesNotExist``.
- UpdateMapRun needs at least one of ``maxConcurrency``, ``toleratedFailureCount`` and
  ``toleratedFailurePercentage`` (``ValidationException``), and a map run that still runs; the
  running driver takes the change at its next look (at once in this process).
"""

from __future__ import annotations

from typing import Any, Final

from stepline.api import Handler, RequestContext, ServiceError
from stepline.service._arns import invalid_arn, is_valid_name, parse_execution_arn, parse_states_arn
from stepline.service._context import ServiceContext
from stepline.service._exec_shapes import timestamp
from stepline.service._map_run_driver import wake_map_runs
from stepline.service._sm_common import resource_not_found, validation_error
from stepline.store import InvalidPageToken, MapRunRecord, MapRunStatusCounts, RecordNotFound

__all__ = ["handlers", "parse_map_run_arn"]

_MAP_RUN_HINT: Final = (
    "a Map Run ARN (arn:aws:states:<region>:<account>:mapRun:<state machine name>/<label>:<id>)"
)


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The map run operations, by ``states:<Op>`` key."""
    ops = _MapRunOps(context)
    return {
        "states:DescribeMapRun": ops.describe,
        "states:ListMapRuns": ops.list,
        "states:UpdateMapRun": ops.update,
    }


def parse_map_run_arn(arn: str, *, field: str = "mapRunArn") -> str:
    """Check a map run ARN's form; return it.

    Raises:
        ServiceError: ``InvalidArn``.
    """
    parsed = parse_states_arn(arn, field=field, expected=_MAP_RUN_HINT)
    hint = f"Pass {_MAP_RUN_HINT} as {field}."
    if parsed.resource_type != "mapRun":
        raise invalid_arn(f"Resource type not valid in this context: {parsed.resource_type}", hint)
    labelled, sep, run_id = parsed.resource.rpartition(":")
    machine, slash, label = labelled.partition("/")
    if not sep or not slash or not run_id or not is_valid_name(machine) or not label:
        raise invalid_arn(f"Invalid Map Run ARN resource: {parsed.resource}", hint)
    return arn


def map_run_not_found(arn: str) -> ServiceError:
    """``ResourceNotFound`` for a map run ARN that names none."""
    return resource_not_found(
        "Map Run",
        arn,
        "List the map runs of the execution that ran the Distributed Map (ListMapRuns).",
    )


def _counts(counts: MapRunStatusCounts) -> dict[str, int]:
    return {
        "pending": counts.pending,
        "running": counts.running,
        "succeeded": counts.succeeded,
        "failed": counts.failed,
        "timedOut": counts.timed_out,
        "aborted": counts.aborted,
        "total": counts.total,
        "resultsWritten": 0,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    }


def _list_item(record: MapRunRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "executionArn": record.execution_arn,
        "mapRunArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "startDate": timestamp(record.start_date),
    }
    if record.stop_date is not None:
        item["stopDate"] = timestamp(record.stop_date)
    return item


class _MapRunOps:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.store = context.store

    async def _record(self, arn: str) -> MapRunRecord:
        parse_map_run_arn(arn)
        record = await self.store.get_map_run(arn)
        if record is None:
            raise map_run_not_found(arn)
        return record

    async def describe(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        record = await self._record(request["mapRunArn"])
        counts = await self.store.map_run_counts(record.arn)
        out: dict[str, Any] = {
            "mapRunArn": record.arn,
            "executionArn": record.execution_arn,
            "status": record.status,
            "startDate": timestamp(record.start_date),
            "maxConcurrency": record.max_concurrency,
            "toleratedFailurePercentage": record.tolerated_failure_percentage,
            "toleratedFailureCount": record.tolerated_failure_count,
            "itemCounts": _counts(counts.items),
            "executionCounts": _counts(counts.executions),
            "redriveCount": record.redrive_count,
        }
        if record.stop_date is not None:
            out["stopDate"] = timestamp(record.stop_date)
        if record.redrive_date is not None:
            out["redriveDate"] = timestamp(record.redrive_date)
        return out

    async def list(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        arn = request["executionArn"]
        parse_execution_arn(arn, allow_express=False)
        if await self.store.get_execution(arn) is None:
            raise ServiceError(
                "ExecutionDoesNotExist",
                f"Execution Does Not Exist: '{arn}'. Pass the ARN of the execution that ran "
                "the Distributed Map state.",
            )
        try:
            page = await self.store.list_map_runs(
                arn,
                max_results=request.get("maxResults") or 0,
                next_token=request.get("nextToken"),
            )
        except InvalidPageToken as exc:
            raise ServiceError("InvalidToken", str(exc)) from None
        out: dict[str, Any] = {"mapRuns": [_list_item(record) for record in page.items]}
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    async def update(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        arn = request["mapRunArn"]
        changes = {
            name: request.get(member)
            for name, member in (
                ("max_concurrency", "maxConcurrency"),
                ("tolerated_failure_count", "toleratedFailureCount"),
                ("tolerated_failure_percentage", "toleratedFailurePercentage"),
            )
        }
        if all(value is None for value in changes.values()):
            raise validation_error(
                "UpdateMapRun needs at least one of maxConcurrency, toleratedFailureCount and "
                "toleratedFailurePercentage."
            )
        record = await self._record(arn)
        if record.status != "RUNNING":
            raise validation_error(
                f"Map Run '{arn}' is {record.status}: only a running Map Run can be updated."
            )
        percentage = changes["tolerated_failure_percentage"]
        try:
            await self.store.update_map_run(
                arn,
                max_concurrency=changes["max_concurrency"],
                tolerated_failure_count=changes["tolerated_failure_count"],
                tolerated_failure_percentage=None if percentage is None else float(percentage),
            )
        except RecordNotFound:
            raise map_run_not_found(arn) from None
        wake_map_runs(self.context)
        return {}
