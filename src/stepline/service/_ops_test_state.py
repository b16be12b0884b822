"""The ``TestState`` operation: one state run by the real engine, with the service's parts.

The state's Task runs with the service's task registry, connections, roles and HTTP Task, so
an HTTP Task under test uses the same connections (and the same egress rules and execution-role
checks) as executions do. ``revealSecrets`` needs AWS's ``states:RevealSecrets`` permission of
the caller; stepline has no caller identities to check it against, so it is allowed to every
caller that passed authentication.
"""

from __future__ import annotations

from typing import Any

from stepline.api import Handler, RequestContext, ServiceError
from stepline.service._context import ServiceContext
from stepline.teststate import TestStateError, test_state_async

__all__ = ["handlers"]


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """``states:TestState``."""
    config = context.config

    async def test_state(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
        try:
            return await test_state_async(
                request,
                tasks=context.tasks,
                connections=context.connections,
                roles=context.roles,
                http=context.http,
                region=config.region,
                account=config.account,
            )
        except TestStateError as error:
            raise ServiceError(error.code, error.message) from None

    return {"states:TestState": test_state}
