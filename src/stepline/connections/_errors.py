"""Errors of the connections room: API errors with an AWS code, and secret-handling errors.

Two families, never mixed:

* :class:`ConnectionsError` and its subclasses are what the control plane (create, update,
  describe, list, delete, deauthorize) raises. Each carries the AWS error ``code`` that the
  ``events`` JSON API puts on the wire (``ValidationException``,
  ``ResourceNotFoundException``…), and a message that names the field and what is allowed.
* :class:`SecretKeyError` and :class:`SecretDecryptError` concern the key and the ciphertext at
  rest. They are operator problems (a bad key file, a lost key), not request problems.

At run time the HTTP Task gets :class:`~stepline.asl._errors.StatesError` instead, with the
``Events.ConnectionResource.*`` names below, so that ``Retry``/``Catch`` can match them.

No message in this module's errors ever contains a secret value: validation messages describe
what is allowed, not what was sent.
"""

from __future__ import annotations

from typing import ClassVar, Final

__all__ = [
    "ACCESS_DENIED",
    "AUTH_IN_PROGRESS",
    "CONCURRENT_MODIFICATION",
    "INTERNAL_ERROR",
    "INVALID_CONNECTION_STATE",
    "INVALID_PRIVATE_CONNECTION_STATE",
    "RESOURCE_NOT_FOUND",
    "ConnectionAlreadyExists",
    "ConnectionConflict",
    "ConnectionLimitExceeded",
    "ConnectionNotFound",
    "ConnectionValidationError",
    "ConnectionsError",
    "InvalidPaginationToken",
    "SecretDecryptError",
    "SecretKeyError",
]

# ASL error names the HTTP Task raises for connection problems (spec §5).
ACCESS_DENIED: Final = "Events.ConnectionResource.AccessDenied"
AUTH_IN_PROGRESS: Final = "Events.ConnectionResource.AuthInProgress"
CONCURRENT_MODIFICATION: Final = "Events.ConnectionResource.ConcurrentModification"
INTERNAL_ERROR: Final = "Events.ConnectionResource.InternalError"
INVALID_CONNECTION_STATE: Final = "Events.ConnectionResource.InvalidConnectionState"
INVALID_PRIVATE_CONNECTION_STATE: Final = "Events.ConnectionResource.InvalidPrivateConnectionState"
RESOURCE_NOT_FOUND: Final = "Events.ConnectionResource.ResourceNotFound"


class ConnectionsError(Exception):
    """A control-plane request was refused; :attr:`code` is the AWS error code.

    Args:
        message: What was wrong, where (the field path), and what is allowed. Never a secret.
    """

    code: ClassVar[str] = "InternalException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ConnectionValidationError(ConnectionsError):
    """A request field is missing, of the wrong type, or outside its allowed values."""

    code: ClassVar[str] = "ValidationException"


class ConnectionAlreadyExists(ConnectionsError):
    """A connection with this name already exists."""

    code: ClassVar[str] = "ResourceAlreadyExistsException"


class ConnectionNotFound(ConnectionsError):
    """No connection has this name."""

    code: ClassVar[str] = "ResourceNotFoundException"


class ConnectionConflict(ConnectionsError):
    """The connection changed (or is changing) under the request; retry it."""

    code: ClassVar[str] = "ConcurrentModificationException"


class ConnectionLimitExceeded(ConnectionsError):
    """The configured maximum number of connections is reached."""

    code: ClassVar[str] = "LimitExceededException"


class InvalidPaginationToken(ConnectionsError):
    """``NextToken`` was not issued by this service for this query (EventBridge: HTTP 400)."""

    code: ClassVar[str] = "InvalidToken"


class SecretKeyError(Exception):
    """The secret key (``STEPLINE_SECRET_KEY`` or the key file) is malformed or unsafe."""


class SecretDecryptError(Exception):
    """A stored secret cannot be decrypted: wrong key, unknown format, or tampered ciphertext."""
