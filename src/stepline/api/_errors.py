"""The errors the wire layer answers with: what handlers raise and what the layer raises itself.

Handlers raise :class:`ServiceError` with an AWS error code (``StateMachineDoesNotExist``,
``NoSuchEntity``) and a message; the layer renders it in the protocol of the request, taking
the HTTP status and fault side from the service model when the handler does not give them.
The layer's own refusals (malformed input, unknown operations, authentication) are
:class:`ProtocolError` instances, which AWS namespaces differently on the JSON wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

__all__ = [
    "INTERNAL_FAILURE",
    "ErrorOrigin",
    "ProtocolError",
    "ServiceError",
    "UnsupportedOperationError",
]

#: Where an error comes from, which decides its JSON ``__type`` namespace.
ErrorOrigin = Literal["service", "validation", "protocol"]

INTERNAL_FAILURE: Final = "InternalFailure"


class ServiceError(Exception):
    """An AWS error answered to the caller: raise it from a handler.

    Args:
        code: The AWS error code (``ExecutionDoesNotExist``, ``NoSuchEntity``...).
        message: What went wrong, where, and what to do; never a secret.
        http_status: The HTTP status; by default the one the service model gives the code,
            else 400.
        sender_fault: Whether the caller is at fault (XML ``<Type>Sender</Type>``); by default
            what the model says, else True for 4xx.
        fields: Extra members of the error shape to send on the JSON wire (for example
            ``{"reason": "CANNOT_UPDATE_COMPLETED_MAP_RUN"}`` or ``{"resourceName": arn}``).
    """

    origin: ErrorOrigin = "service"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        sender_fault: bool | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.sender_fault = sender_fault
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class ProtocolError(ServiceError):
    """An error of the AWS request protocol itself (unknown target, bad JSON, authentication)."""

    origin: ErrorOrigin = "protocol"


class ValidationFailure(ServiceError):
    """Input that broke the model's constraints: AWS's ``1 validation error detected: ...``."""

    origin: ErrorOrigin = "validation"


class UnsupportedOperationError(ServiceError):
    """An operation of the model that stepline does not implement yet.

    Answered as ``UnsupportedOperation`` (HTTP 400), naming the operation, so that a client sees
    at once what it called and that the call itself, not its input, is the problem.

    Args:
        operation: The operation name as the client called it (``SendTaskSuccess``).
        service_title: The service's name, for the message.
        hint: What the caller can do instead, or when it comes.
    """

    def __init__(self, operation: str, service_title: str, hint: str = "") -> None:
        message = f"stepline does not implement the {service_title} operation {operation} yet."
        if hint:
            message = f"{message} {hint}"
        super().__init__("UnsupportedOperation", message, http_status=400, sender_fault=True)
        self.operation = operation


def validation_message(violations: list[str]) -> str:
    """AWS's validation message for a list of ``Value ... failed to satisfy ...`` parts."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(violations)
