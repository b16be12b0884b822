"""Execution operations: start (Standard, Express, sync), stop, describe, list, history.

Standard executions are stored and driven by the worker (:mod:`stepline.service._worker`);
Express ones run in this process (:mod:`stepline.service._express`). AWS's rules kept here:

- StartExecution: the same name with the same input while the execution runs answers the
  running execution (idempotent); any other reuse of a name within 90 days is
  ``ExecutionAlreadyExists``. On an EXPRESS state machine it starts an asynchronous Express
  execution, which no other operation knows afterwards.
- StartSyncExecution: EXPRESS state machines only (``StateMachineTypeNotSupported``); answers
  HTTP 200 with the status, whatever it is.
- StopExecution of an execution that has already ended changes nothing and answers its stop
  date.
- Express execution ARNs are ``InvalidArn`` for the operations on stored executions (AWS keeps
  Express executions in CloudWatch Logs only).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from stepline.api import Handler, RequestContext, ServiceError
from stepline.service._arns import ExecutionArn, invalid_arn, parse_execution_arn
from stepline.service._arns import parse_state_machine_arn as parse_machine_arn
from stepline.service._context import ServiceContext
from stepline.service._exec_ends import stop_execution
from stepline.service._exec_events import event_to_aws
from stepline.service._exec_shapes import (
    METADATA_ONLY,
    describe_execution,
    list_item,
    timestamp,
)
from stepline.service._exec_start import (
    check_input,
    execution_name,
    resolve_target,
    start_standard,
)
from stepline.service._express import run_express, start_express_async
from stepline.service._map_run_list import list_map_run_executions
from stepline.service._redrive import with_redrive_status
from stepline.store import ExecutionRecord, InvalidPageToken, RecordNotFound

__all__ = ["handlers"]

_EXPRESS_HINT: Final = (
    "Express executions keep no record here (as on AWS, where they are in CloudWatch Logs "
    "only); pass the ARN of a Standard execution."
)
_LOGGING_DEFAULT: Final = {"level": "OFF", "includeExecutionData": False}
_TRACING_DEFAULT: Final = {"enabled": False}


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The execution operations, by ``states:<Op>`` key."""
    ops = _ExecutionOps(context)
    return {
        "states:StartExecution": ops.start,
        "states:StartSyncExecution": ops.start_sync,
        "states:StopExecution": ops.stop,
        "states:DescribeExecution": ops.describe,
        "states:ListExecutions": ops.list,
        "states:GetExecutionHistory": ops.history,
        "states:DescribeStateMachineForExecution": ops.describe_state_machine,
    }


def _does_not_exist(arn: str) -> ServiceError:
    return ServiceError(
        "ExecutionDoesNotExist",
        f"Execution Does Not Exist: '{arn}'. Check the ARN, or list the state machine's "
        "executions (ListExecutions).",
    )


def _invalid_token(exc: InvalidPageToken) -> ServiceError:
    return ServiceError("InvalidToken", str(exc))


def _standard_arn(arn: str) -> ExecutionArn:
    parsed = parse_execution_arn(arn)
    if parsed.express:
        raise invalid_arn("Resource type not valid in this context: express", _EXPRESS_HINT)
    return parsed


class _ExecutionOps:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.store = context.store

    async def _record(self, arn: str) -> ExecutionRecord:
        _standard_arn(arn)
        record = await self.store.get_execution(arn)
        if record is None:
            raise _does_not_exist(arn)
        return record

    # -------------------------------------------------------------------------------- start

    async def start(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        context = self.context
        target = await resolve_target(context, request["stateMachineArn"])
        name = execution_name(request.get("name"))
        input_text, value = check_input(context, request.get("input"))
        if target.state_machine.type == "EXPRESS":
            arn, started = start_express_async(context, target, name, value)
            return {"executionArn": arn, "startDate": started}
        record = await start_standard(
            context, target, name, input_text, trace_header=request.get("traceHeader")
        )
        return {"executionArn": record.arn, "startDate": timestamp(record.start_date)}

    async def start_sync(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        context = self.context
        target = await resolve_target(context, request["stateMachineArn"])
        machine = target.state_machine
        if machine.type != "EXPRESS":
            raise ServiceError(
                "StateMachineTypeNotSupported",
                f"StartSyncExecution runs EXPRESS state machines only; '{machine.arn}' is "
                f"{machine.type}. Use StartExecution for it.",
            )
        name = execution_name(request.get("name"))
        input_text, value = check_input(context, request.get("input"))
        outcome = await run_express(context, target, name, value)
        include = request.get("includedData") != METADATA_ONLY
        out: dict[str, Any] = {
            "executionArn": outcome.execution_arn,
            "stateMachineArn": machine.arn,
            "name": name,
            "startDate": timestamp(outcome.start),
            "stopDate": timestamp(outcome.stop),
            "status": outcome.status,
        }
        if outcome.error is not None:
            out["error"] = outcome.error
        if outcome.cause is not None:
            out["cause"] = outcome.cause
        if include:
            out["input"] = input_text
        out["inputDetails"] = {"included": include}
        if outcome.output is not None:
            if include:
                out["output"] = outcome.output
            out["outputDetails"] = {"included": include}
        trace_header = request.get("traceHeader")
        if trace_header is not None:
            out["traceHeader"] = trace_header
        out["billingDetails"] = outcome.billing_details()
        return out

    # --------------------------------------------------------------------------------- stop

    async def stop(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        arn = request["executionArn"]
        record = await self._record(arn)
        if record.status != "RUNNING":
            assert record.stop_date is not None
            return {"stopDate": timestamp(record.stop_date)}
        try:
            record, _stopped = await stop_execution(
                self.context, arn, error=request.get("error"), cause=request.get("cause")
            )
        except RecordNotFound:
            raise _does_not_exist(arn) from None
        assert record.stop_date is not None
        return {"stopDate": timestamp(record.stop_date)}

    # ------------------------------------------------------------------------------ reading

    async def describe(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        record = await self._record(request["executionArn"])
        record = await with_redrive_status(self.context, record)
        return describe_execution(record, included_data=request.get("includedData"))

    async def list(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        machine_arn = request.get("stateMachineArn")
        map_run_arn = request.get("mapRunArn")
        if (machine_arn is None) == (map_run_arn is None):
            raise ServiceError(
                "ValidationException",
                "ListExecutions needs exactly one of stateMachineArn and mapRunArn; "
                f"got {'both' if machine_arn is not None else 'neither'}.",
            )
        if map_run_arn is not None:
            return await list_map_run_executions(self.context, request)
        assert machine_arn is not None
        parsed = parse_machine_arn(machine_arn)
        machine = await self.store.get_state_machine(parsed.state_machine_arn)
        if machine is None:
            raise ServiceError(
                "StateMachineDoesNotExist",
                f"State Machine Does Not Exist: '{machine_arn}'. Check the ARN.",
            )
        if machine.type == "EXPRESS":
            raise ServiceError(
                "StateMachineTypeNotSupported",
                f"ListExecutions lists STANDARD state machines only; '{machine.arn}' is "
                "EXPRESS (its executions are not kept).",
            )
        subject: dict[str, str] = {}
        if parsed.version is not None:
            subject["version_arn"] = machine_arn
        elif parsed.alias is not None:
            subject["alias_arn"] = machine_arn
        else:
            subject["state_machine_arn"] = machine.arn
        try:
            page = await self.store.list_executions(
                **subject,
                status=request.get("statusFilter"),
                max_results=request.get("maxResults") or 0,
                next_token=request.get("nextToken"),
            )
        except InvalidPageToken as exc:
            raise _invalid_token(exc) from None
        items = page.items
        redrive_filter = request.get("redriveFilter")
        if redrive_filter == "REDRIVEN":
            items = tuple(record for record in items if record.redrive_count > 0)
        elif redrive_filter == "NOT_REDRIVEN":
            items = tuple(record for record in items if record.redrive_count == 0)
        out: dict[str, Any] = {"executions": [list_item(record) for record in items]}
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    async def history(self, request: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        arn = request["executionArn"]
        _standard_arn(arn)
        try:
            page = await self.store.get_history(
                arn,
                reverse=bool(request.get("reverseOrder", False)),
                max_results=request.get("maxResults") or 0,
                next_token=request.get("nextToken"),
            )
        except RecordNotFound:
            raise _does_not_exist(arn) from None
        except InvalidPageToken as exc:
            raise _invalid_token(exc) from None
        include = request.get("includeExecutionData", True) is not False
        out: dict[str, Any] = {
            "events": [event_to_aws(record, include_data=include) for record in page.items]
        }
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    async def describe_state_machine(
        self, request: dict[str, Any], _: RequestContext
    ) -> dict[str, Any]:
        record = await self._record(request["executionArn"])
        revision = await self.store.get_revision(record.revision_id)
        if revision is None:
            raise _does_not_exist(request["executionArn"])
        out: dict[str, Any] = {
            "stateMachineArn": record.state_machine_arn,
            "name": record.state_machine_arn.rsplit(":", 1)[-1],
            "definition": revision.definition,
            "roleArn": revision.role_arn,
            "updateDate": timestamp(revision.update_date),
            "loggingConfiguration": _configuration(
                revision.logging_configuration, _LOGGING_DEFAULT
            ),
            "tracingConfiguration": _configuration(
                revision.tracing_configuration, _TRACING_DEFAULT
            ),
            "revisionId": revision.revision_id,
        }
        if record.map_run_arn is not None:
            out["mapRunArn"] = record.map_run_arn
            out["label"] = record.state_machine_arn.rsplit("/", 1)[-1]
        if revision.encryption_configuration is not None:
            out["encryptionConfiguration"] = orjson.loads(revision.encryption_configuration)
        return out


def _configuration(text: str | None, default: dict[str, Any]) -> dict[str, Any]:
    if text is None:
        return dict(default)
    value = orjson.loads(text)
    return value if isinstance(value, dict) else dict(default)
