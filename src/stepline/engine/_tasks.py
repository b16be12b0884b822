"""Task states in the engine: schedule the task as an effect, then take its outcome.

The engine records ``TaskScheduled``/``TaskStarted`` when it hands the task to the driver, and
``TaskSucceeded``/``TaskFailed``/``TaskTimedOut`` when the driver reports back through
:meth:`TaskMixin.complete_task`; Retry and Catch then apply as for any other state error.
"""

from __future__ import annotations

import re
from typing import Any

from orjson import dumps as _orjson_dumps
from orjson import loads as _orjson_loads

from stepline.asl._errors import HEARTBEAT_TIMEOUT, RUNTIME, TIMEOUT, StatesError
from stepline.asl._json import loads
from stepline.asl._model import State, TaskState
from stepline.asl._paths import CompiledPath
from stepline.engine._frames import BLOCKED, Frame
from stepline.engine._io import apply_input_path, place_result, select
from stepline.engine._mixin_base import ExecutionMixin
from stepline.engine._ports import TaskEffect

__all__ = ["TaskMixin", "split_resource"]

_SERVICE_ARN = re.compile(r"^arn:[^:]+:states:[^:]*:[^:]*:([^:]+):(.+)$")
_LAMBDA_FUNCTION = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:.+$")
_LAMBDA_FAMILY = "lambda-function"  # internal marker: record LambdaFunction* events


def split_resource(resource: str) -> tuple[str, str]:
    """AWS's ``resourceType`` and ``resource`` for history, from a Task's ``Resource``.

    ``arn:aws:states:::http:invoke`` → ``("http", "invoke")``;
    ``arn:aws:lambda:us-east-1:123:function:f`` → ``("lambda", "<the ARN>")``.
    """
    match = _SERVICE_ARN.match(resource)
    if match:
        return match.group(1), match.group(2)
    parts = resource.split(":")
    if len(parts) > 2 and parts[0] == "arn":
        return parts[2], resource
    return "custom", resource


class TaskMixin(ExecutionMixin):
    """The Task-state part of :class:`~stepline.engine._execution.Execution`."""

    region: str = "us-east-1"

    def _run_task(self, frame: Frame, state: TaskState) -> int:
        resume = frame.resume
        if resume is not None:
            frame.resume = None
            kind, value = resume
            if kind == "error":
                raise StatesError(value[0], value[1], retry_after=value[2])
            context = self._context(frame, state)
            return self._finish_with_result(frame, state, value, context)
        context = self.context_object(frame, state)
        effective = apply_input_path(state, frame.input, context)
        if state.parameters is not None:
            effective = state.parameters(effective, context)
        timeout = self._seconds(
            state,
            state.timeout_seconds,
            state.timeout_seconds_path,
            "TimeoutSecondsPath",
            effective=effective,
            context=context,
        )
        heartbeat = self._seconds(
            state,
            state.heartbeat_seconds,
            state.heartbeat_seconds_path,
            "HeartbeatSecondsPath",
            effective=effective,
            context=context,
        )
        return self._schedule_task(
            frame, state, effective, timeout=timeout, heartbeat=heartbeat, context=context
        )

    def _schedule_task(
        self,
        frame: Frame,
        state: TaskState,
        effective: Any,
        *,
        timeout: int | None,
        heartbeat: int | None,
        context: Any,
    ) -> int:
        """Record the task as scheduled and started, and ask the driver to run it."""
        parameters_json = self._encode(effective, "task parameters")
        resource_type, resource = split_resource(state.resource)
        if _LAMBDA_FUNCTION.match(state.resource):
            # A Lambda function ARN as the Resource is AWS's older integration, recorded with
            # its own event family.
            resource_type = _LAMBDA_FAMILY
            details: dict[str, Any] = {
                "resource": state.resource,
                "input": parameters_json,
            }
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            self._emit_in(frame, "LambdaFunctionScheduled", details)
            self._emit_in(frame, "LambdaFunctionStarted", None)
        else:
            details = {
                "resourceType": resource_type,
                "resource": resource,
                "region": self.region,
                "parameters": parameters_json,
            }
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                details["heartbeatInSeconds"] = heartbeat
            self._emit_in(frame, "TaskScheduled", details)
            self._emit_in(
                frame, "TaskStarted", {"resourceType": resource_type, "resource": resource}
            )
        effect_id = self._next_effect_id
        self._next_effect_id += 1
        effect = TaskEffect(
            id=effect_id,
            resource=state.resource,
            parameters=effective,
            state_name=state.name,
            context=context,
            timeout_seconds=timeout,
            heartbeat_seconds=heartbeat,
            identity=self.identity,
            region=self.region,
            jsonata=state.jsonata,
        )
        # The effect is kept until the outcome arrives: a snapshot records its parameters, and
        # `outstanding()` hands it out again after a restore.
        self._tasks[effect_id] = (frame, state, resource_type, resource, effect)
        frame.pending_effect = effect_id
        self._effects.append(effect)
        return BLOCKED

    def _finish_with_result(self, frame: Frame, state: State, result: Any, context: Any) -> int:
        """Exit a Task, Map or Parallel state with its result.

        ``ResultSelector`` first; ``Assign`` sees that selected result as ``$`` (AWS's rule in
        JSONPath states); then ``ResultPath`` and ``OutputPath`` make the output.
        """
        if state.result_selector is not None:
            result = state.result_selector(result, context)
        assigned = (
            self._assign(frame, state.assign, result, context) if state.assign is not None else None
        )
        return self._exit(frame, state, place_result(state, frame.input, result, context), assigned)

    def _seconds(
        self,
        state: TaskState,
        static: int | None,
        path: CompiledPath | None,
        field: str,
        *,
        effective: Any,
        context: Any,
    ) -> int | None:
        if path is None:
            return static
        value = select(path, field, effective, context)
        if type(value) is not int or value <= 0:
            raise StatesError(
                RUNTIME,
                f"The {field} '{path.text}' of the Task state '{state.name}' must select a "
                f"positive integer, got {value!r}.",
            )
        return value

    def _encode_result(self, result: Any) -> tuple[str, Any]:
        """The result's JSON text (quota enforced) and a copy decoded from that text."""
        try:
            encoded = _orjson_dumps(result)
        except TypeError:
            pass  # an integer wider than 64 bits: the exact, slower path below
        else:
            if len(encoded) <= self.max_payload_bytes:
                # orjson wrote it, so orjson reads it back exactly (no wide integers in it).
                return encoded.decode(), _orjson_loads(encoded)
        output_json = self._encode(result, "task result")
        return output_json, loads(output_json)

    def complete_task(
        self,
        effect_id: int,
        result: Any = None,
        *,
        error: str | None = None,
        cause: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Report the outcome of a :class:`TaskEffect`.

        Args:
            effect_id: The effect's id.
            result: The task's result when it succeeded.
            error: The ASL error name when it failed (``States.Timeout`` and
                ``States.HeartbeatTimeout`` are recorded as ``TaskTimedOut``).
            cause: The failure's cause.
            retry_after: When it failed, the least delay before a retry that the called
                service asked for (see :class:`~stepline.asl.StatesError`).
        """
        entry = self._tasks.pop(effect_id, None)
        if entry is None or self.status != "RUNNING":
            return
        frame, _state, resource_type, resource, _effect = entry
        frame.pending_effect = None
        if frame.aborted:
            return
        if error is None:
            try:
                output_json, copied = self._encode_result(result)
            except StatesError as failure:
                error, cause = failure.error, failure.cause
        lambda_family = resource_type == _LAMBDA_FAMILY
        if error is None:
            if lambda_family:
                self._emit_in(
                    frame,
                    "LambdaFunctionSucceeded",
                    {"output": output_json},
                )
            else:
                self._emit_in(
                    frame,
                    "TaskSucceeded",
                    {
                        "resourceType": resource_type,
                        "resource": resource,
                        "output": output_json,
                    },
                )
            # The state continues from the JSON the history recorded, not from the handler's
            # object, which the handler could still change (AWS passes JSON text too).
            frame.resume = ("result", copied)
        else:
            timed_out = error in (TIMEOUT, HEARTBEAT_TIMEOUT)
            if lambda_family:
                event_type = "LambdaFunctionTimedOut" if timed_out else "LambdaFunctionFailed"
                details: dict[str, Any] = {"error": error}
            else:
                event_type = "TaskTimedOut" if timed_out else "TaskFailed"
                details = {"resourceType": resource_type, "resource": resource, "error": error}
            if cause is not None:
                details["cause"] = cause
            self._emit_in(frame, event_type, details)
            frame.resume = ("error", (error, cause or "", retry_after))
        self._ready.append(frame)
