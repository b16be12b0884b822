"""The ``events`` operations: EventBridge connections over the service's :class:`Connections`.

CreateConnection, DescribeConnection, UpdateConnection, DeleteConnection, ListConnections and
DeauthorizeConnection answer in AWS's shapes straight from the registry (which never puts a
secret into a response). Its errors carry AWS's codes; EventBridge answers them all with HTTP
400 except ``InternalException`` (500). Every change is written to the store before the
response goes out, and reads look at the store's copy first (see
:mod:`stepline.service._shared_records`), so every process of a deployment sees one set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepline.api import Handler, RequestContext, ServiceError
from stepline.connections import ConnectionNotFound, ConnectionsError
from stepline.service._context import ServiceContext
from stepline.service._shared_records import records_of

__all__ = ["handlers"]


def _service_error(error: ConnectionsError) -> ServiceError:
    status = 500 if error.code == "InternalException" else 400
    return ServiceError(error.code, error.message, http_status=status)


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The connection operations, by ``events:<Operation>`` key."""
    connections = context.connections
    records = records_of(context)

    def mutation(operation: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
        async def handle(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
            name = request.get("Name")
            try:
                if not isinstance(name, str):
                    return operation(request)  # refused by its validation
                return await records.change_connection(name, lambda: operation(request))
            except ConnectionsError as error:
                raise _service_error(error) from None

        return handle

    async def describe(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
        await records.refresh_connections()
        try:
            try:
                return connections.describe(request["Name"])
            except ConnectionNotFound:
                # Perhaps created through another process a moment ago: look at once.
                await records.refresh_connections(force=True)
                return connections.describe(request["Name"])
        except ConnectionsError as error:
            raise _service_error(error) from None

    async def list_connections(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
        await records.refresh_connections()
        try:
            return connections.list(request)
        except ConnectionsError as error:
            raise _service_error(error) from None

    return {
        "events:CreateConnection": mutation(connections.create),
        "events:UpdateConnection": mutation(connections.update),
        "events:DeleteConnection": mutation(lambda r: connections.delete(r["Name"])),
        "events:DeauthorizeConnection": mutation(lambda r: connections.deauthorize(r["Name"])),
        "events:DescribeConnection": describe,
        "events:ListConnections": list_connections,
    }
