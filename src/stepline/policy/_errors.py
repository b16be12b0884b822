"""IAM errors as AWS names them, so the IAM query API can render them without a mapping table.

Every error carries the AWS error :attr:`~IamError.code` (``NoSuchEntity``, ``DeleteConflict``,
``MalformedPolicyDocument`` …), the HTTP status AWS answers with, and a message in AWS's
phrasing followed by what to do about it.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "DeleteConflict",
    "EntityAlreadyExists",
    "IamError",
    "InvalidInput",
    "LimitExceeded",
    "MalformedPolicyDocument",
    "NoSuchEntity",
    "ValidationError",
]

# Status codes from the IAM service model (botocore iam/2010-05-08 error shapes).
_HTTP_STATUS: dict[str, int] = {
    "AccessDenied": 403,
    "DeleteConflict": 409,
    "EntityAlreadyExists": 409,
    "InvalidInput": 400,
    "LimitExceeded": 409,
    "MalformedPolicyDocument": 400,
    "NoSuchEntity": 404,
    "ValidationError": 400,
}


class IamError(Exception):
    """An IAM error with AWS's error code.

    Subclasses fix :attr:`code`; the base class may also be raised with any AWS code (for
    example ``AccessDenied`` when an AWS managed policy is asked to change).

    Args:
        message: AWS-style text: what was wrong and where, then what to do.
        code: The AWS error code; defaults to the subclass's.
    """

    default_code: ClassVar[str] = "ServiceFailure"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code: str = code or self.default_code

    @property
    def http_status(self) -> int:
        """The HTTP status AWS answers this error with."""
        return _HTTP_STATUS.get(self.code, 500)

    @property
    def sender_fault(self) -> bool:
        """Whether AWS blames the caller (``<Type>Sender</Type>`` in the XML error)."""
        return self.http_status < 500


class NoSuchEntity(IamError):
    """A role, policy, policy version or attachment does not exist."""

    default_code = "NoSuchEntity"


class EntityAlreadyExists(IamError):
    """A role or policy with that name already exists (names ignore case)."""

    default_code = "EntityAlreadyExists"


class MalformedPolicyDocument(IamError):
    """A policy document does not follow the IAM policy grammar.

    The message starts with the location in the document, e.g.
    ``Statement[1].Condition.StringLike: …``.
    """

    default_code = "MalformedPolicyDocument"


class DeleteConflict(IamError):
    """The entity still has attached or subordinate entities."""

    default_code = "DeleteConflict"


class LimitExceeded(IamError):
    """An IAM quota would be exceeded (five policy versions, policy size, attachments)."""

    default_code = "LimitExceeded"


class InvalidInput(IamError):
    """An input value is out of range or malformed (an ARN that is not one, a bad version)."""

    default_code = "InvalidInput"


class ValidationError(IamError):
    """An input fails the API model's constraints (pattern, length, range)."""

    default_code = "ValidationError"
