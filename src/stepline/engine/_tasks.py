"""Task states in the engine: schedule the task as an effect, then take its outcome.

The engine records ``TaskScheduled``/``TaskStarted`` when it hands the task to the driver, and
``TaskSucceeded``/``TaskFailed``/``TaskTimedOut`` when the driver reports back through
:meth:`TaskMixin.complete_task`; Retry and Catch then apply as for any other state error.

Two kinds of task wait for the outside world, identified by a task token the engine makes
(:func:`new_task_token`: 256 random bits, URL-safe) and puts on the :class:`TaskEffect`:

- ``.waitForTaskToken`` (a ``Resource`` ending so): the token is in the context object as
  ``Task.Token`` (``$$.Task.Token`` / ``$states.context.Task.Token``) — only for these states,
  as on AWS. The driver calls the base resource (the ARN without the suffix) with it, reports
  that call with :meth:`TaskMixin.task_submitted` (``TaskSubmitted``), and the outcome arrives
  later with ``SendTaskSuccess``/``SendTaskFailure``.
- Activities (``arn:…:states:…:activity:<name>``): recorded with AWS's ``Activity*`` events;
  :meth:`TaskMixin.task_started` records the worker that took the task (``ActivityStarted``).

A driver may ask for tokens on more resources (:attr:`TaskMixin.token_resources`): the
service waits for its ``.sync`` nested workflows that way, durably, without holding a lease.

Every attempt (a retry included) gets a new token.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from typing import Any, Final

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

__all__ = [
    "MAP_RUN_FAMILY",
    "WAIT_FOR_TASK_TOKEN",
    "TaskMixin",
    "base_resource",
    "is_activity",
    "new_task_token",
    "split_resource",
    "waits_for_token",
]

WAIT_FOR_TASK_TOKEN: Final = ".waitForTaskToken"
"""The ``Resource`` suffix of the callback pattern."""

_SERVICE_ARN = re.compile(r"^arn:[^:]+:states:[^:]*:[^:]*:([^:]+):(.+)$")
_LAMBDA_FUNCTION = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:.+$")
_LAMBDA_FAMILY = "lambda-function"  # internal marker: record LambdaFunction* events
_ACTIVITY_ARN = re.compile(r"^arn:[^:]+:states:[^:]*:[^:]*:activity:[^:]+$")
_ACTIVITY_FAMILY = "activity-task"  # internal marker: record Activity* events
MAP_RUN_FAMILY: Final = "map-run"
"""Internal resource type of a Distributed Map's map-run effect (``MapRun*`` events)."""


def new_task_token() -> str:
    """A fresh task token: 32 random bytes (256 bits), URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def is_activity(resource: str) -> bool:
    """Whether a Task ``Resource`` is an activity ARN (``arn:…:states:…:activity:<name>``)."""
    return _ACTIVITY_ARN.match(resource) is not None


def waits_for_token(resource: str) -> bool:
    """Whether a Task ``Resource`` uses the callback pattern (``….waitForTaskToken``)."""
    return resource.endswith(WAIT_FOR_TASK_TOKEN)


def base_resource(resource: str) -> str:
    """The resource a ``.waitForTaskToken`` task calls: its ARN without the suffix."""
    return resource.removesuffix(WAIT_FOR_TASK_TOKEN)


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
    token_resources: frozenset[str] = frozenset()
    """Resources whose tasks also get a token, kept out of the context object: a driver that
    waits for them durably sets it (the service, for ``.sync`` nested workflows) and completes
    them like callbacks."""

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
        token = self._task_token(state, context)
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
            frame,
            state,
            effective,
            timeout=timeout,
            heartbeat=heartbeat,
            context=context,
            token=token,
        )

    def _task_token(self, state: TaskState, context: dict[str, Any]) -> str | None:
        """A new token for a task that waits for one (``Task.Token`` in the context of a
        ``.waitForTaskToken`` state); ``None`` for other tasks."""
        resource = state.resource
        if resource.endswith(WAIT_FOR_TASK_TOKEN):
            token = new_task_token()
            context["Task"] = {"Token": token}
            return token
        if _ACTIVITY_ARN.match(resource) or resource in self.token_resources:
            return new_task_token()
        return None

    def _schedule_task(
        self,
        frame: Frame,
        state: TaskState,
        effective: Any,
        *,
        timeout: int | None,
        heartbeat: int | None,
        context: Any,
        token: str | None = None,
    ) -> int:
        """Record the task as scheduled (and started), and ask the driver to run it."""
        parameters_json = self._encode(effective, "task parameters")
        resource_type, resource = split_resource(state.resource)
        if token is not None and _ACTIVITY_ARN.match(state.resource):
            # An activity starts when a worker takes it (task_started), not now.
            resource_type = _ACTIVITY_FAMILY
            details: dict[str, Any] = {"resource": state.resource, "input": parameters_json}
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                details["heartbeatInSeconds"] = heartbeat
            self._emit_in(frame, "ActivityScheduled", details)
        elif _LAMBDA_FUNCTION.match(state.resource):
            # A Lambda function ARN as the Resource is AWS's older integration, recorded with
            # its own event family.
            resource_type = _LAMBDA_FAMILY
            details = {
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
            task_token=token,
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
        self._task_progress.pop(effect_id, None)
        frame.pending_effect = None
        if frame.aborted:
            return
        if error is None:
            try:
                output_json, copied = self._encode_result(result)
            except StatesError as failure:
                error, cause = failure.error, failure.cause
        lambda_family = resource_type == _LAMBDA_FAMILY
        activity = resource_type == _ACTIVITY_FAMILY
        if resource_type == MAP_RUN_FAMILY:
            if error is None:
                self._emit_in(frame, "MapRunSucceeded", None)
                frame.resume = ("result", copied)
            else:
                failed = {"error": error}
                if cause is not None:
                    failed["cause"] = cause
                self._emit_in(frame, "MapRunFailed", failed)
                frame.resume = ("error", (error, cause or "", None))
            self._ready.append(frame)
            return
        if error is None:
            if activity:
                self._emit_in(frame, "ActivitySucceeded", {"output": output_json})
            elif lambda_family:
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
            if activity:
                event_type = "ActivityTimedOut" if timed_out else "ActivityFailed"
                details: dict[str, Any] = {"error": error}
            elif lambda_family:
                event_type = "LambdaFunctionTimedOut" if timed_out else "LambdaFunctionFailed"
                details = {"error": error}
            else:
                event_type = "TaskTimedOut" if timed_out else "TaskFailed"
                details = {"resourceType": resource_type, "resource": resource, "error": error}
            if cause is not None:
                details["cause"] = cause
            self._emit_in(frame, event_type, details)
            frame.resume = ("error", (error, cause or "", retry_after))
        self._ready.append(frame)

    def task_submitted(self, effect_id: int, output: Any = None) -> None:
        """The base resource of a ``.waitForTaskToken`` task was called: record
        ``TaskSubmitted`` (with its response as ``output``); the task now waits for its token.

        Ignored for an effect that is not awaited any more or was reported already.
        """
        entry = self._tasks.get(effect_id)
        if entry is None or self.status != "RUNNING" or effect_id in self._task_progress:
            return
        frame, _state, resource_type, resource, _effect = entry
        if frame.aborted:
            return
        self._task_progress[effect_id] = "submitted"
        if resource_type == MAP_RUN_FAMILY:
            # The map run's start answers {"mapRunArn"} (and "redriveCount" when the parent's
            # redrive took an earlier map run up again).
            started = output if isinstance(output, dict) else {}
            arn, redrives = started.get("mapRunArn"), started.get("redriveCount")
            if redrives:
                self._emit_in(frame, "MapRunRedriven", {"mapRunArn": arn, "redriveCount": redrives})
            else:
                self._emit_in(frame, "MapRunStarted", {"mapRunArn": arn} if arn else None)
            return
        details: dict[str, Any] = {"resourceType": resource_type, "resource": resource}
        if output is not None:
            # Too large or not JSON: the event goes without it.
            with contextlib.suppress(StatesError):
                details["output"] = self._encode(output, "task submission response")
        self._emit_in(frame, "TaskSubmitted", details)

    def task_started(
        self, effect_id: int, worker_name: str | None = None, timestamp: float | None = None
    ) -> None:
        """An activity worker took the task (``GetActivityTask``): record ``ActivityStarted``.

        Args:
            effect_id: The activity task's effect id.
            worker_name: The ``workerName`` the worker gave, if any.
            timestamp: When it took the task (defaults to now).
        """
        entry = self._tasks.get(effect_id)
        if entry is None or self.status != "RUNNING" or effect_id in self._task_progress:
            return
        frame = entry[0]
        if frame.aborted or entry[2] != _ACTIVITY_FAMILY:
            return
        self._task_progress[effect_id] = "started"
        details = {"workerName": worker_name} if worker_name is not None else None
        frame.last_event_id = self._emit(frame.last_event_id, "ActivityStarted", details, timestamp)

    def task_progress(self, effect_id: int) -> str | None:
        """``"submitted"`` (a ``.waitForTaskToken`` task's resource was called), ``"started"``
        (an activity was taken by a worker) or ``None``."""
        return self._task_progress.get(effect_id)
