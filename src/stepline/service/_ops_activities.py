"""Activity and task-token operations: the activities, their workers' long poll, SendTask*.

AWS's rules kept here:

- CreateActivity is idempotent on the name: an existing activity is answered as it is
  (different tags are ignored, not an error).
- DeleteActivity of an activity that does not exist succeeds (nothing to do); its scheduled
  tasks stay and time out by their own limits, as on AWS.
- GetActivityTask waits up to 60 seconds for a task and answers without ``taskToken`` when
  none came. A task is handed to exactly one poller (the store's conditional update); pollers
  of this process are woken as soon as a worker here commits a new task, and tasks scheduled
  by another process are seen at the next poll (every second). Taking a task starts its
  ``HeartbeatSeconds`` clock and wakes the execution to record ``ActivityStarted``.
- SendTaskSuccess/Failure/Heartbeat: a token no task has (or an activity task no worker took
  yet) is ``TaskDoesNotExist``; a task completed already, past its deadline, or whose
  execution ended is ``TaskTimedOut``; a success's output must be JSON (``InvalidOutput``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Final

from stepline.api import Handler, RequestContext, ServiceError
from stepline.asl._json import loads
from stepline.service._arns import Arns, check_name, parse_activity_arn
from stepline.service._context import ServiceContext
from stepline.service._exec_hub import hub_of
from stepline.service._sm_common import timestamp
from stepline.service._sm_config import check_tags
from stepline.store import (
    ActivityRecord,
    InvalidPageToken,
    RecordNotFound,
    TaskClosed,
    TaskTokenRecord,
)

__all__ = ["handlers"]

LONG_POLL_SECONDS: Final = 60.0
"""How long GetActivityTask waits for a task (AWS's figure)."""
_POLL_SECONDS: Final = 1.0
"""How often a waiting GetActivityTask looks for tasks another process scheduled."""
_MAX_TOKEN_LENGTH: Final = 2048


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The activity and task-token operations, by ``states:<Op>`` key."""
    ops = _ActivityOps(context)
    return {
        "states:CreateActivity": ops.create,
        "states:DescribeActivity": ops.describe,
        "states:DeleteActivity": ops.delete,
        "states:ListActivities": ops.list,
        "states:GetActivityTask": ops.get_task,
        "states:SendTaskSuccess": ops.send_success,
        "states:SendTaskFailure": ops.send_failure,
        "states:SendTaskHeartbeat": ops.send_heartbeat,
    }


def _activity_does_not_exist(arn: str) -> ServiceError:
    return ServiceError(
        "ActivityDoesNotExist",
        f"Activity Does Not Exist: '{arn}'. Create it with CreateActivity, or list the "
        "activities (ListActivities) for the right ARN.",
    )


def _task_does_not_exist() -> ServiceError:
    return ServiceError(
        "TaskDoesNotExist",
        "Task Does Not Exist: no task has this token (or no worker has taken the activity "
        "task with GetActivityTask yet). Pass the token the task received, unchanged.",
    )


def _task_timed_out(exc: TaskClosed) -> ServiceError:
    return ServiceError(
        "TaskTimedOut",
        f"Task Timed Out: {exc.reason}. A token can be used once, while its task waits; the "
        "execution's history shows what happened to the task.",
    )


def _checked_token(request: dict[str, Any]) -> str:
    token = request.get("taskToken")
    # Tokens are 43 URL-safe characters; anything else cannot be one.
    if (
        not isinstance(token, str)
        or not 1 <= len(token) <= _MAX_TOKEN_LENGTH
        or not token.replace("-", "").replace("_", "").isalnum()
        or not token.isascii()
    ):
        raise ServiceError(
            "InvalidToken",
            "Invalid Token: taskToken is not a task token. Pass the token exactly as the task "
            "received it ($$.Task.Token, $states.context.Task.Token or GetActivityTask).",
        )
    return token


class _ActivityOps:
    """The handlers, sharing the context."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.store = context.store
        self.arns = Arns(context.config.region, context.config.account)
        self.hub = hub_of(context)

    # ------------------------------------------------------------------------ activities

    async def create(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        name = request["name"]
        check_name(name, what="activity")
        arn = self.arns.activity(name)
        tags = check_tags(request.get("tags"), arn)
        record, created = await self.store.create_activity(ActivityRecord(arn, name, time.time()))
        if created and tags:
            await self.store.tag_resource(arn, tags)
        return {"activityArn": record.arn, "creationDate": timestamp(record.creation_date)}

    async def describe(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn = parse_activity_arn(request["activityArn"]).arn
        record = await self.store.get_activity(arn)
        if record is None:
            raise _activity_does_not_exist(arn)
        return {
            "activityArn": record.arn,
            "name": record.name,
            "creationDate": timestamp(record.creation_date),
        }

    async def delete(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn = parse_activity_arn(request["activityArn"]).arn
        if await self.store.delete_activity(arn):
            tags = await self.store.list_tags(arn)
            if tags:
                await self.store.untag_resource(arn, tags.keys())
        return {}

    async def list(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        try:
            page = await self.store.list_activities(
                max_results=request.get("maxResults", 0), next_token=request.get("nextToken")
            )
        except InvalidPageToken as exc:
            raise ServiceError("InvalidToken", str(exc)) from exc
        result: dict[str, Any] = {
            "activities": [
                {
                    "activityArn": record.arn,
                    "name": record.name,
                    "creationDate": timestamp(record.creation_date),
                }
                for record in page.items
            ]
        }
        if page.next_token is not None:
            result["nextToken"] = page.next_token
        return result

    # ------------------------------------------------------------------------ workers

    async def get_task(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn = parse_activity_arn(request["activityArn"]).arn
        if await self.store.get_activity(arn) is None:
            raise _activity_does_not_exist(arn)
        worker_name = request.get("workerName")
        # Tasks scheduled by workers in other processes wake this poll too.
        self.hub.listen(self.store)
        deadline = time.monotonic() + LONG_POLL_SECONDS
        while True:
            # Taken before the take, so that a task committed meanwhile sets it.
            event = self.hub.activity_event
            taken = await self._take(arn, worker_name)
            if taken is not None:
                return {"taskToken": taken.token, "input": taken.input or "{}"}
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.hub.closing:
                # Shutting down (SIGTERM): answer "no task" now rather than hold the drain.
                return {}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, _POLL_SECONDS))

    async def _take(self, arn: str, worker_name: str | None) -> TaskTokenRecord | None:
        now = time.time()
        taken = await self.store.take_activity_task(arn, worker_name=worker_name, now=now)
        if taken is None:
            return None
        # The take started the task's heartbeat clock in its own transaction. The execution
        # records ActivityStarted: at once if its run is here, else when claimed.
        self.hub.token_changed(taken)
        self.hub.wake()
        return taken

    # ------------------------------------------------------------------------ outcomes

    async def send_success(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        token = _checked_token(request)
        output = request["output"]
        try:
            loads(output)
        except ValueError as exc:
            raise ServiceError(
                "InvalidOutput",
                f"Invalid Output: output is not valid JSON ({exc}). Pass the task's result as "
                "JSON text, e.g. '{\"ok\": true}'.",
            ) from exc
        await self._complete(token, failed=False, output=output)
        return {}

    async def send_failure(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        token = _checked_token(request)
        await self._complete(
            token, failed=True, error=request.get("error"), cause=request.get("cause")
        )
        return {}

    async def send_heartbeat(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        token = _checked_token(request)
        try:
            await self.store.heartbeat_task(token, now=time.time())
        except RecordNotFound as exc:
            raise _task_does_not_exist() from exc
        except TaskClosed as exc:
            raise _task_timed_out(exc) from exc
        return {}

    async def _complete(
        self,
        token: str,
        *,
        failed: bool,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        try:
            record = await self.store.complete_task(
                token, failed=failed, output=output, error=error, cause=cause, now=time.time()
            )
        except RecordNotFound as exc:
            raise _task_does_not_exist() from exc
        except TaskClosed as exc:
            raise _task_timed_out(exc) from exc
        self.hub.token_changed(record)
        self.hub.wake()
