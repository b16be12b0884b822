"""The HTTP Task of the service, with its connections and roles kept in step with the store.

Before each call the shared records are refreshed if their ``ttl`` passed (no I/O otherwise),
and a connection ARN this process does not know makes it look in the store at once: a
connection created through another API process a moment ago is found, and the permission
checks run on roles no older than ``ttl``.
"""

from __future__ import annotations

from typing import Any

from stepline.asl._errors import StatesError
from stepline.engine import ExecutionIdentity, HeartbeatSink, TaskEffect
from stepline.service._shared_records import SharedRecords
from stepline.tasks import HttpExchange, HttpTask
from stepline.tasks._http_parameters import connection_arn_of

__all__ = ["SharedHttpInvoker"]


class SharedHttpInvoker:
    """The engine's ``TaskInvoker`` for ``http:invoke`` in the service.

    Args:
        http: The HTTP Task.
        records: The process's shared records.
    """

    __slots__ = ("http", "records")

    def __init__(self, http: HttpTask, records: SharedRecords) -> None:
        self.http = http
        self.records = records

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """The engine's ``TaskInvoker`` port (as :meth:`HttpTask.invoke`)."""
        return await self.call(
            effect.parameters,
            state_name=effect.state_name,
            region=effect.region,
            identity=effect.identity,
            field="Arguments" if effect.jsonata else "Parameters",
        )

    async def call(
        self,
        parameters: Any,
        *,
        state_name: str,
        region: str = "us-east-1",
        identity: ExecutionIdentity | None = None,
        exchange: HttpExchange | None = None,
        field: str = "Parameters",
    ) -> Any:
        """:meth:`HttpTask.call` on fresh records (TestState records the exchange so)."""
        records = self.records
        await records.refresh()
        try:
            arn = connection_arn_of(parameters, state_name, field=field)
        except StatesError:
            arn = None  # the HTTP Task reports the parameters' problem itself
        if arn is not None and records.connections.get(arn) is None:
            await records.refresh(force=True)
        return await self.http.call(
            parameters,
            state_name=state_name,
            region=region,
            identity=identity,
            exchange=exchange,
            field=field,
        )
