"""How answers look on the wire: per-protocol rendering of results and errors.

A :class:`ServedService` is one botocore model prepared once for answering (content type, JSON
``__type`` namespaces, input checker with the protocol's error codes). :func:`json_result_body`
and :func:`error_response` render results and :class:`ServiceError` instances on the AWS JSON
and query (XML) protocols; the ``*_error`` functions build the layer's own refusals (unknown
operation, authentication, size limit, internal failure) with the codes, statuses and standard
messages AWS uses on each protocol.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from stepline.api._context import Handler
from stepline.api._errors import INTERNAL_FAILURE, ErrorOrigin, ProtocolError, ServiceError
from stepline.api._model import ServiceModel
from stepline.api._query import xml_error_body
from stepline.api._sigv4 import AuthFailure
from stepline.api._validate import InputChecker

__all__ = [
    "ServedService",
    "auth_error",
    "error_response",
    "internal_failure",
    "json_result_body",
    "request_too_large",
    "unknown_target",
]

# JSON __type namespaces AWS uses, by service and by where the error comes from. botocore keeps
# what follows '#', so these matter only to clients that compare the whole string.
_JSON_NAMESPACES: Final[Mapping[str, Mapping[ErrorOrigin, str]]] = {
    "states": {
        "service": "com.amazonaws.swf.service.v2.model#",
        "validation": "com.amazon.coral.validate#",
        "protocol": "com.amazon.coral.service#",
    },
    "events": {
        "service": "",
        "validation": "com.amazon.coral.validate#",
        "protocol": "com.amazon.coral.service#",
    },
}

# Authentication failures: (code, HTTP status, AWS's standard message) per protocol.
_JSON_AUTH_ERRORS: Final = {
    "missing": ("MissingAuthenticationTokenException", 400, "Missing Authentication Token"),
    "incomplete": ("IncompleteSignatureException", 400, "The request signature is incomplete."),
    "unknown_key": (
        "UnrecognizedClientException",
        400,
        "The security token included in the request is invalid.",
    ),
    "signature": ("InvalidSignatureException", 400, ""),
    "expired": ("InvalidSignatureException", 400, ""),
}
_QUERY_AUTH_ERRORS: Final = {
    "missing": ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    "incomplete": ("IncompleteSignature", 400, "The request signature is incomplete."),
    "unknown_key": (
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    ),
    "signature": ("SignatureDoesNotMatch", 403, ""),
    "expired": ("SignatureDoesNotMatch", 403, ""),
}
_SIGNATURE_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class ServedService:
    """One served model with what answering it needs, prepared once.

    Attributes:
        model: The botocore service model.
        handlers: Handlers by operation name.
        hints: Extra text for operations without a handler, by operation name.
        content_type: The Content-Type of every answer on this service's protocol.
        namespaces: JSON ``__type`` prefixes by error origin (empty for the query protocol).
        checker: The input checker, with this protocol's validation error codes.
    """

    __slots__ = ("checker", "content_type", "handlers", "hints", "model", "namespaces")

    def __init__(
        self, model: ServiceModel, handlers: dict[str, Handler], hints: dict[str, str]
    ) -> None:
        self.model = model
        self.handlers = handlers
        self.hints = hints
        if model.protocol == "json":
            self.content_type = f"application/x-amz-json-{model.json_version}".encode()
            self.namespaces = _JSON_NAMESPACES.get(model.service, _JSON_NAMESPACES["events"])
            self.checker = InputChecker(
                validation_code="ValidationException",
                serialization_code="SerializationException",
            )
        else:
            self.content_type = b"text/xml"
            self.namespaces = {}
            self.checker = InputChecker(
                validation_code="ValidationError", serialization_code="ValidationError"
            )


def json_result_body(result: dict[str, Any] | None) -> bytes:
    """A handler's output as an AWS JSON response body (``{}`` for None)."""
    return orjson.dumps(
        result if result is not None else {},
        default=_json_default,
        option=orjson.OPT_PASSTHROUGH_DATETIME,
    )


def error_response(
    service: ServedService, error: ServiceError, request_id: str
) -> tuple[int, bytes]:
    """The HTTP status and body answering ``error`` on ``service``'s protocol.

    The status and fault side come from the error when it gives them, else from the service
    model's entry for the code (service errors only), else 400 and "the sender's fault below 500".
    """
    model = service.model
    info = model.error_info(error.code) if error.origin == "service" else None
    status = error.http_status or (info.http_status if info else 400)
    if error.sender_fault is not None:
        sender_fault = error.sender_fault
    else:
        sender_fault = info.sender_fault if info else status < 500
    if model.protocol == "json":
        document: dict[str, Any] = dict(error.fields) if error.fields else {}
        document["__type"] = service.namespaces[error.origin] + error.code
        document["message"] = error.message
        return status, orjson.dumps(document, default=_json_default)
    return status, xml_error_body(
        error.code, error.message, sender_fault, request_id, model.xml_namespace
    )


def unknown_target(target: bytes) -> ProtocolError:
    """The refusal of an X-Amz-Target (or its absence) that names no served operation."""
    shown = target.decode("latin-1")[:200] or "(none)"
    return ProtocolError(
        "UnknownOperationException",
        f"Unknown operation {shown!r}: this server answers X-Amz-Target AWSStepFunctions.<Op> "
        "(AWS JSON 1.0) and AWSEvents.<Op> (AWS JSON 1.1), and IAM's query protocol "
        "(Action=<Op>).",
    )


def request_too_large(service: ServedService, max_request_bytes: int) -> ProtocolError:
    """The HTTP 413 refusal of a request larger than ``max_request_bytes``."""
    return ProtocolError(
        "RequestEntityTooLargeException"
        if service.model.protocol == "json"
        else "RequestEntityTooLarge",
        f"The request is larger than this server's limit of {max_request_bytes} bytes; "
        "send a smaller request (large state machine inputs belong in S3 or a database).",
        http_status=413,
    )


def internal_failure(service: ServedService, request_id: str) -> ProtocolError:
    """The HTTP 500 answer to a handler's unexpected exception (details only in the log)."""
    code = "ServiceFailure" if service.model.protocol == "query" else INTERNAL_FAILURE
    return ProtocolError(
        code,
        f"The server failed to process the request (request id {request_id}); the server "
        "log has the details under this request id. Retrying may succeed.",
        http_status=500,
        sender_fault=False,
    )


def auth_error(service: ServedService, failure: AuthFailure) -> ProtocolError:
    """The refusal of a request that failed SigV4 verification, as AWS words it."""
    table = _JSON_AUTH_ERRORS if service.model.protocol == "json" else _QUERY_AUTH_ERRORS
    code, status, standard = table[failure.kind]
    message = failure.detail or standard or _SIGNATURE_MISMATCH
    return ProtocolError(code, message, http_status=status, sender_fault=True)


def _json_default(value: object) -> object:
    """orjson's fallback: timestamps as epoch seconds (milliseconds kept), blobs as base64."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return round(moment.timestamp(), 3)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not a JSON value")
