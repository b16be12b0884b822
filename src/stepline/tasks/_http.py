"""The HTTP Task: ``arn:aws:states:::http:invoke`` calls a third-party API through a connection.

One call, in AWS's order:

1. read ``ApiEndpoint``, ``Method`` and the connection ARN from the effective parameters;
2. ask the execution role's policies for ``states:InvokeHTTPEndpoint`` (with the
   ``states:HTTPMethod`` and ``states:HTTPEndpoint`` condition keys) and for
   ``events:RetrieveConnectionCredentials`` and the connection secret's Secrets Manager actions;
3. resolve the connection (its authorization and invocation parameters, secrets as
   :class:`~stepline._secret.Secret`), build the request, wait for the connection's pace
   (a stepline extension), send it through the :class:`~stepline.egress.Transport`;
4. on 401/407 with an OAuth connection, refresh the token once and send again;
5. turn the response into AWS's result or error.

Every failure becomes an ASL error here, in one place: transport errors
(:class:`~stepline.egress.EgressError`) and permission denials are mapped in
:meth:`HttpTask.call`; request and response problems are raised as
:class:`~stepline.asl.StatesError` by the pure builder and reader.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from stepline.asl._errors import PERMISSIONS, RUNTIME, StatesError
from stepline.connections._resolved import ResolvedConnection
from stepline.egress._messages import (
    EgressError,
    EgressRefused,
    EgressTimeout,
    HttpRequest,
    HttpResponse,
    Transport,
)
from stepline.tasks._http_parameters import connection_arn_of, endpoint_and_method
from stepline.tasks._http_request import PreparedRequest, build_request
from stepline.tasks._http_response import read_response, retry_after_seconds
from stepline.tasks._resources import HTTP_INVOKE

if TYPE_CHECKING:
    from stepline.connections import Connections
    from stepline.egress import ConnectionPacer, EgressSettings
    from stepline.engine._execution import ExecutionIdentity
    from stepline.engine._ports import HeartbeatSink, TaskEffect
    from stepline.policy import PolicyEnforcer

__all__ = [
    "HTTP_INVOKE",
    "HTTP_SOCKET",
    "ConnectionResolver",
    "HttpExchange",
    "HttpTask",
]

HTTP_SOCKET: Final = "States.Http.Socket"
CONNECTION_ACCESS_DENIED: Final = "Events.ConnectionResource.AccessDenied"

_INVOKE_ACTION: Final = "states:InvokeHTTPEndpoint"
_RETRIEVE_ACTION: Final = "events:RetrieveConnectionCredentials"
_SECRET_ACTIONS: Final = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
_REFRESH_STATUSES: Final = frozenset({401, 407})
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})


class ConnectionResolver(Protocol):
    """What the HTTP Task needs of the connections room (``stepline.connections.Connections``)."""

    async def resolve(
        self, connection_arn: str, *, transport: Transport | None = None
    ) -> ResolvedConnection:
        """The connection, ready to apply (OAuth token requests go through ``transport``).

        Raises:
            StatesError: ``Events.ConnectionResource.*`` when it cannot be used.
        """
        ...

    async def token_rejected(self, connection_arn: str, generation: int) -> None:
        """The API refused this OAuth token (401/407): fetch a new one next time."""
        ...

    def secret_arn(self, connection_arn: str) -> str | None:
        """The ARN of the connection's secret, for the permission check; ``None`` if unknown."""
        ...


@dataclass(slots=True)
class HttpExchange:
    """What one HTTP Task call sent and received, for TestState's ``TRACE`` inspection level.

    Attributes:
        request: The last request built (``None`` if the call failed before building one).
        response: The last response received (``None`` if none came back).
    """

    request: PreparedRequest | None = None
    response: HttpResponse | None = None


class HttpTask:
    """Serves ``arn:aws:states:::http:invoke``: the engine's ``TaskInvoker`` for HTTP calls.

    One instance serves every execution of a process (library, CLI or service), so its
    transport's connection pool and its per-connection pacing are shared.

    Args:
        connections: The connections the tasks may use.
        transport: Sends requests; an :class:`~stepline.egress.Http1Transport` with
            ``settings`` when omitted (created on first use).
        settings: Egress rules and limits; from the environment when omitted.
        policy: Checks the execution role's permissions; no checks when omitted.
        pacer: Per-connection rate limits and concurrency caps; the process-wide pacer when
            omitted, so that every HTTP Task of the process counts against one limit per
            connection ARN.
        honour_retry_after: Extension (off, as on AWS): on a 429 or 503 with a
            ``Retry-After`` header, a matching ``Retry`` waits at least that long.
    """

    def __init__(
        self,
        connections: ConnectionResolver | Connections,
        *,
        transport: Transport | None = None,
        settings: EgressSettings | None = None,
        policy: PolicyEnforcer | None = None,
        pacer: ConnectionPacer | None = None,
        honour_retry_after: bool = False,
    ) -> None:
        from stepline.egress import ConnectionPacer, EgressSettings

        self.connections: ConnectionResolver = connections
        self.settings = settings if settings is not None else EgressSettings.from_env()
        self._transport = transport
        self.policy = policy
        self.pacer = pacer if pacer is not None else _process_pacer(ConnectionPacer)
        self.honour_retry_after = honour_retry_after

    @property
    def transport(self) -> Transport:
        """The transport, created on first use."""
        transport = self._transport
        if transport is None:
            from stepline.egress import Http1Transport

            transport = self._transport = Http1Transport(self.settings)
        return transport

    async def aclose(self) -> None:
        """Close the transport's connections (for the running event loop)."""
        if self._transport is not None:
            await self._transport.aclose()

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """The engine's entry point (``TaskInvoker``): run one HTTP Task."""
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
        """Make the call the parameters describe and return AWS's task result.

        Args:
            parameters: The effective parameters (after ``InputPath``/``Parameters`` or
                ``Arguments``).
            state_name: The Task state's name (for error causes).
            region: The execution's region (``User-Agent``).
            identity: The execution's ARNs and role, for the permission checks.
            exchange: Filled with what was sent and received, when given (TestState).
            field: ``Parameters`` (JSONPath) or ``Arguments`` (JSONata), for error causes.

        Raises:
            StatesError: With AWS's error name: ``States.Http.StatusCode.<code>``,
                ``States.Http.Socket``, ``States.Runtime``, ``States.DataLimitExceeded``,
                ``States.Permissions`` or ``Events.ConnectionResource.*``.
        """
        endpoint, method = endpoint_and_method(parameters, state_name, field=field)
        connection_arn = connection_arn_of(parameters, state_name, field=field)
        if self.policy is not None and identity is not None:
            self._check_permissions(identity, connection_arn, endpoint, method)
        # OAuth token requests go through this task's transport: the same egress rules.
        transport = self.transport
        connection = await self.connections.resolve(connection_arn, transport=transport)
        response = await self._exchange(
            parameters,
            connection,
            state_name=state_name,
            region=region,
            field=field,
            exchange=exchange,
        )
        generation = connection.oauth_generation
        if response.status in _REFRESH_STATUSES and generation is not None:
            # The token went stale before its announced expiry: refresh once, send again.
            await self.connections.token_rejected(connection_arn, generation)
            connection = await self.connections.resolve(connection_arn, transport=transport)
            response = await self._exchange(
                parameters,
                connection,
                state_name=state_name,
                region=region,
                field=field,
                exchange=exchange,
            )
        try:
            return read_response(response, state_name=state_name, method=method)
        except StatesError as failure:
            if self.honour_retry_after and response.status in _RETRY_AFTER_STATUSES:
                failure.retry_after = retry_after_seconds(response, time.time())
            raise

    async def _exchange(
        self,
        parameters: Any,
        connection: ResolvedConnection,
        *,
        state_name: str,
        region: str,
        field: str,
        exchange: HttpExchange | None,
    ) -> HttpResponse:
        prepared = build_request(
            parameters,
            connection,
            region=region,
            state_name=state_name,
            response_window_bytes=self.settings.response_window_bytes,
            field=field,
        )
        if exchange is not None:
            exchange.request = prepared
        request = prepared.request
        limits = connection.limits
        if limits is None:
            response = await self._send(request, state_name)
        else:
            async with self.pacer.slot(connection.arn, limits):
                response = await self._send(request, state_name)
        if exchange is not None:
            exchange.response = response
        return response

    async def _send(self, request: HttpRequest, state_name: str) -> HttpResponse:
        try:
            return await self.transport.send(request, timeout=self.settings.timeout_seconds)
        except EgressRefused as refused:
            # A configuration problem that no retry can fix: terminal, like AWS's checks.
            raise StatesError(
                RUNTIME, f"The HTTP Task '{state_name}' may not call this endpoint: {refused}"
            ) from None
        except EgressTimeout as timed_out:
            raise StatesError(
                HTTP_SOCKET,
                f"The HTTP Task '{state_name}' did not get a response within "
                f"{self.settings.timeout_seconds:g} seconds: {timed_out}",
            ) from None
        except EgressError as failed:
            raise StatesError(
                HTTP_SOCKET, f"The HTTP Task '{state_name}' could not complete its call: {failed}"
            ) from None

    def _check_permissions(
        self, identity: ExecutionIdentity, connection_arn: str, endpoint: str, method: str
    ) -> None:
        from stepline.policy import AccessDenied

        assert self.policy is not None
        role = identity.role_arn
        try:
            self.policy.check(
                role,
                _INVOKE_ACTION,
                identity.state_machine_arn,
                {"states:HTTPMethod": method, "states:HTTPEndpoint": endpoint},
            )
        except AccessDenied as denied:
            raise StatesError(
                PERMISSIONS,
                f"The execution role is not authorized to perform {_INVOKE_ACTION} on the API "
                f"endpoint {endpoint} (method {method}): {denied}. Allow {_INVOKE_ACTION} on "
                f"the state machine, with conditions on states:HTTPEndpoint and "
                f"states:HTTPMethod that admit this call.",
            ) from None
        resources: list[tuple[str, str]] = [(_RETRIEVE_ACTION, connection_arn)]
        secret_arn = self.connections.secret_arn(connection_arn)
        if secret_arn is not None:
            resources.extend((action, secret_arn) for action in _SECRET_ACTIONS)
        for action, resource in resources:
            try:
                self.policy.check(role, action, resource, _NO_CONTEXT)
            except AccessDenied as denied:
                raise StatesError(
                    CONNECTION_ACCESS_DENIED,
                    f"The execution role may not read the credentials of the connection "
                    f"{connection_arn}: {denied}.",
                ) from None


_NO_CONTEXT: Final[Mapping[str, str]] = {}
_PACER: list[ConnectionPacer] = []


def _process_pacer(factory: type[ConnectionPacer]) -> ConnectionPacer:
    """The pacer every HTTP Task of this process shares unless it is given its own."""
    if not _PACER:
        _PACER.append(factory())
    return _PACER[0]
