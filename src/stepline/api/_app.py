"""The ASGI application of ``stepline serve``: AWS wire protocols in, handler calls out.

One raw ASGI callable (no framework: the dispatcher is on every request's path) answers:

- ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Op>`` (AWS JSON 1.0) or
  ``AWSEvents.<Op>`` (AWS JSON 1.1);
- the IAM query protocol: ``POST /`` with a form body carrying ``Action=`` (or ``GET`` with
  it in the query string), answered in XML;
- ``GET /-/health``: ``{"status": "ok"}``, without authentication.

The Host header plays no part in routing, so the ``sync-`` host prefix boto3 adds for
StartSyncExecution and TestState needs nothing special (handlers see it in
:attr:`RequestContext.host`). Every response carries ``x-amzn-RequestId``.

This module routes and dispatches; how results and errors look on each protocol is in
:mod:`stepline.api._render`, and what a handler receives besides its input in
:mod:`stepline.api._context`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from stepline.api._context import Handler, RequestContext, RequestIds
from stepline.api._errors import (
    INTERNAL_FAILURE,
    ProtocolError,
    ServiceError,
    UnsupportedOperationError,
)
from stepline.api._model import BOTOCORE_SERVICES, Operation, ServiceModel, load_service_model
from stepline.api._query import decode_query_input, xml_result_body
from stepline.api._render import (
    ServedService,
    auth_error,
    error_response,
    internal_failure,
    json_result_body,
    request_too_large,
    unknown_target,
)
from stepline.api._sigv4 import AuthFailure, SigV4Verifier

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "HEALTH_PATH",
    "AwsApi",
    "create_app",
]

_log = logging.getLogger("stepline.api")

#: Requests larger than this are refused before they are read whole (8 MiB: a 1 MiB
#: definition can take up to six bytes per character once JSON-escaped).
DEFAULT_MAX_REQUEST_BYTES: Final = 8 * 1024 * 1024

HEALTH_PATH: Final = "/-/health"


@dataclass(slots=True)
class _Request:
    """One request's raw parts, as the dispatcher hands them around."""

    scope: dict[str, Any]
    body: bytes
    target: bytes
    host: bytes
    authorization: bytes
    request_id: str


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class AwsApi:
    """The ASGI application; build it with :func:`create_app`."""

    def __init__(
        self,
        services: Mapping[str, ServedService],
        *,
        auth: SigV4Verifier | None,
        max_request_bytes: int,
        lifespan: Callable[[], AbstractAsyncContextManager[object]] | None,
    ) -> None:
        self._by_target = {
            s.model.target_prefix: s for s in services.values() if s.model.protocol == "json"
        }
        query_services = [s for s in services.values() if s.model.protocol == "query"]
        self._query = query_services[0]
        self._default_json = services["states"]
        self._auth = auth
        self._max_bytes = max_request_bytes
        self._lifespan = lifespan
        self._ids = RequestIds()

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        """Answer one ASGI connection scope."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._run_lifespan(receive, send)

    async def _http(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        request_id = self._ids.next()
        target = host = authorization = b""
        content_length = -1
        for name, value in scope["headers"]:
            if name == b"x-amz-target":
                target = value
            elif name == b"host":
                host = value
            elif name == b"authorization":
                authorization = value
            elif name == b"content-length" and value.isdigit():
                content_length = int(value)
        method = scope["method"]
        if method == "GET" and scope["path"] == HEALTH_PATH:
            await _respond(send, 200, b"application/json", b'{"status":"ok"}', request_id)
            return
        service = self._by_target.get(target.partition(b".")[0].decode("latin-1"))
        if service is None and not target:
            query_string = scope.get("query_string", b"")
            if method == "POST" or b"Action=" in query_string:
                service = self._query
        try:
            if content_length > self._max_bytes:
                raise _TooLarge
            body = await _read_body(receive, self._max_bytes)
        except _Disconnected:
            return
        except _TooLarge:
            fallback = service or self._default_json
            error = request_too_large(fallback, self._max_bytes)
            await self._error(send, fallback, error, request_id)
            return
        if service is None:
            await self._error(send, self._default_json, unknown_target(target), request_id)
            return
        request = _Request(scope, body, target, host, authorization, request_id)
        try:
            if service.model.protocol == "json":
                status, payload = await self._json_call(service, request)
            else:
                status, payload = await self._query_call(service, request)
        except ServiceError as error:
            await self._error(send, service, error, request_id)
            return
        except Exception as exc:
            _log.error(
                "Request %s failed with an unexpected %s; the caller got %s.",
                request_id,
                type(exc).__name__,
                INTERNAL_FAILURE,
                exc_info=exc,
            )
            await self._error(send, service, internal_failure(service, request_id), request_id)
            return
        await _respond(send, status, service.content_type, payload, request_id)

    async def _json_call(self, service: ServedService, request: _Request) -> tuple[int, bytes]:
        name = request.target.partition(b".")[2].decode("latin-1")
        operation = service.model.operations.get(name)
        if operation is None:
            raise unknown_target(request.target)
        context = self._authenticate(service, operation, request)
        body = request.body
        try:
            document = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(
                "SerializationException",
                f"The request body is not valid JSON ({exc.msg} at character {exc.pos}); "
                "send the operation's input as one JSON object.",
            ) from None
        handler = self._handler(service, operation)
        result = await handler(service.checker.check(operation.input, document), context)
        return 200, json_result_body(result)

    async def _query_call(self, service: ServedService, request: _Request) -> tuple[int, bytes]:
        scope = request.scope
        source = request.body if scope["method"] == "POST" else scope.get("query_string", b"")
        try:
            params = dict(parse_qsl(source.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ProtocolError(
                "MalformedQueryString",
                "The request parameters are not UTF-8; percent-encode UTF-8 text.",
            ) from None
        action = params.get("Action")
        if not action:
            raise ProtocolError(
                "MissingAction",
                "The request has no Action parameter; name the IAM operation with Action=..., "
                "or send X-Amz-Target for Step Functions and EventBridge.",
            )
        operation = service.model.operations.get(action)
        if operation is None:
            raise ProtocolError(
                "InvalidAction",
                f"The action {action} is not valid for this web service "
                f"({service.model.title} {service.model.api_version}).",
            )
        context = self._authenticate(service, operation, request)
        handler = self._handler(service, operation)
        document = decode_query_input(operation.input, params)
        result = await handler(service.checker.check(operation.input, document), context)
        return 200, xml_result_body(
            operation, result, request.request_id, service.model.xml_namespace
        )

    def _authenticate(
        self, service: ServedService, operation: Operation, request: _Request
    ) -> RequestContext:
        scope = request.scope
        host = request.host.decode("latin-1")
        if self._auth is None:
            return RequestContext(
                request_id=request.request_id,
                operation=operation.key,
                host=host,
                authorization=request.authorization.decode("latin-1"),
            )
        try:
            caller = self._auth.verify(
                service=service.model.service,
                method=scope["method"],
                raw_path=scope.get("raw_path") or scope["path"].encode(),
                query_string=scope.get("query_string", b""),
                headers=scope["headers"],
                body=request.body,
            )
        except AuthFailure as failure:
            _log.info("Request %s refused: authentication %s.", request.request_id, failure.kind)
            raise auth_error(service, failure) from None
        return RequestContext(
            request_id=request.request_id,
            operation=operation.key,
            host=host,
            access_key_id=caller.access_key_id,
            verified_region=caller.region,
        )

    @staticmethod
    def _handler(service: ServedService, operation: Operation) -> Handler:
        handler = service.handlers.get(operation.name)
        if handler is None:
            raise UnsupportedOperationError(
                operation.name, service.model.title, service.hints.get(operation.name, "")
            )
        return handler

    async def _error(
        self,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        service: ServedService,
        error: ServiceError,
        request_id: str,
    ) -> None:
        status, payload = error_response(service, error, request_id)
        await _respond(send, status, service.content_type, payload, request_id)

    async def _run_lifespan(
        self,
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        manager = self._lifespan() if self._lifespan is not None else None
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            if manager is not None:
                await manager.__aenter__()
        except Exception as exc:
            _log.error("Startup failed: %s", type(exc).__name__, exc_info=exc)
            await send({"type": "lifespan.startup.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        try:
            if manager is not None:
                await manager.__aexit__(None, None, None)
        except Exception as exc:
            _log.error("Shutdown failed: %s", type(exc).__name__, exc_info=exc)
            await send({"type": "lifespan.shutdown.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.shutdown.complete"})


def create_app(
    handlers: Mapping[str, Handler],
    *,
    auth: SigV4Verifier | None = None,
    unsupported_hints: Mapping[str, str] | None = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    lifespan: Callable[[], AbstractAsyncContextManager[object]] | None = None,
) -> AwsApi:
    """Build the ASGI application.

    Every operation of the Step Functions, EventBridge and IAM models is routed; those without
    a handler answer ``UnsupportedOperation`` naming the operation.

    Args:
        handlers: Handlers by key ``"<service>:<Operation>"`` with service ``states``,
            ``events`` or ``iam`` (``"states:StartExecution"``, ``"iam:CreateRole"``).
        auth: A SigV4 verifier (see :func:`auth_from_env`); None accepts every request.
        unsupported_hints: Extra text for operations without a handler, by the same keys
            (``{"states:SendTaskSuccess": "Task tokens come with a later release."}``).
        max_request_bytes: Larger requests are refused with HTTP 413.
        lifespan: A factory of an async context manager entered at server startup and exited
            at shutdown (ASGI lifespan).

    Returns:
        The ASGI application.

    Raises:
        ValueError: A key that names no operation of the served models.
    """
    per_service: dict[str, dict[str, Handler]] = {name: {} for name in BOTOCORE_SERVICES}
    hints: dict[str, dict[str, str]] = {name: {} for name in BOTOCORE_SERVICES}
    models = {name: load_service_model(name) for name in BOTOCORE_SERVICES}
    for key, handler in handlers.items():
        service_name, operation = _split_key(key, models)
        per_service[service_name][operation] = handler
    for key, hint in (unsupported_hints or {}).items():
        service_name, operation = _split_key(key, models)
        hints[service_name][operation] = hint
    services = {
        name: ServedService(models[name], per_service[name], hints[name])
        for name in BOTOCORE_SERVICES
    }
    return AwsApi(services, auth=auth, max_request_bytes=max_request_bytes, lifespan=lifespan)


def _split_key(key: str, models: Mapping[str, ServiceModel]) -> tuple[str, str]:
    service_name, _, operation = key.partition(":")
    model = models.get(service_name)
    if model is None or operation not in model.operations:
        raise ValueError(
            f"Handler key {key!r} names no operation stepline serves; keys are "
            f"'<service>:<Operation>' with service one of {sorted(models)} and an operation of "
            "that service's AWS API, like 'states:StartExecution'."
        )
    return service_name, operation


async def _read_body(receive: Callable[[], Awaitable[dict[str, Any]]], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


async def _respond(
    send: Callable[[dict[str, Any]], Awaitable[None]],
    status: int,
    content_type: bytes,
    body: bytes,
    request_id: str,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
