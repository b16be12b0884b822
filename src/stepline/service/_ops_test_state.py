"""The ``TestState`` operation: one state run by the real engine, with the service's parts.

The state's Task runs with the service's task registry, connections, roles and HTTP Task, so
an HTTP Task under test uses the same connections (and the same egress rules and execution-role
checks) as executions do. ``revealSecrets`` needs AWS's ``states:RevealSecrets`` permission of
the caller; stepline has no caller identities to check it against, so it is allowed to every
caller that passed authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stepline.api import Handler, RequestContext, ServiceError
from stepline.engine import TaskEffect
from stepline.engine._ports import HeartbeatSink
from stepline.service._context import ServiceContext
from stepline.tasks import HTTP_INVOKE, TaskRegistry
from stepline.teststate import TestStateError, test_state_async

__all__ = ["handlers"]


class _HttpTaskApart(TaskRegistry):
    """The service's task registry without the HTTP Task's resource.

    TestState runs ``http:invoke`` itself (with ``http=``) only when the registry does not
    serve it, and only then records the request and response that ``TRACE`` shows.
    """

    def __init__(self, tasks: TaskRegistry) -> None:
        super().__init__()
        self._tasks = tasks

    def __contains__(self, resource: object) -> bool:
        return resource != HTTP_INVOKE and resource in self._tasks

    def __iter__(self) -> Iterator[str]:
        return (resource for resource in self._tasks if resource != HTTP_INVOKE)

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        return await self._tasks.invoke(effect, heartbeat)


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """``states:TestState``."""
    config = context.config
    tasks = _HttpTaskApart(context.tasks)

    async def test_state(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
        try:
            return await test_state_async(
                request,
                tasks=tasks,
                connections=context.connections,
                roles=context.roles,
                http=context.http,
                region=config.region,
                account=config.account,
            )
        except TestStateError as error:
            raise ServiceError(error.code, error.message) from None

    return {"states:TestState": test_state}
