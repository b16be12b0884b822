"""The ``events`` operations: EventBridge connections over the service's :class:`Connections`.

CreateConnection, DescribeConnection, UpdateConnection, DeleteConnection, ListConnections and
DeauthorizeConnection answer in AWS's shapes straight from the registry (which never puts a
secret into a response). Its errors carry AWS's codes; EventBridge answers them all with HTTP
400 except ``InternalException`` (500). Every change is written to the records file of the
data directory (see :mod:`stepline.service._events_records`) before the response goes out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepline.api import Handler, RequestContext, ServiceError
from stepline.connections import ConnectionsError
from stepline.service._context import ServiceContext
from stepline.service._events_files import records_directory
from stepline.service._events_records import ConnectionRecordsFile

__all__ = ["handlers"]


def _service_error(error: ConnectionsError) -> ServiceError:
    status = 500 if error.code == "InternalException" else 400
    return ServiceError(error.code, error.message, http_status=status)


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The connection operations, by ``events:<Operation>`` key.

    Loads the saved connection records into ``context.connections`` first (when the service
    keeps files: not with ``memory://``).

    Raises:
        RecordsFileError: The saved records cannot be read back.
    """
    connections = context.connections
    directory = records_directory(context.config.database_url)
    records = ConnectionRecordsFile(connections, directory) if directory is not None else None
    if records is not None:
        records.load()

    def changed() -> None:
        if records is not None:
            records.save()

    def mutation(operation: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
        async def handle(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
            # No await between the change and the save: saves happen in the order of changes.
            try:
                response = operation(request)
            except ConnectionsError as error:
                raise _service_error(error) from None
            changed()
            return response

        return handle

    async def describe(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
        try:
            return connections.describe(request["Name"])
        except ConnectionsError as error:
            raise _service_error(error) from None

    async def list_connections(request: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
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
