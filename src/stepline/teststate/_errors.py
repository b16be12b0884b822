"""The one exception TestState raises for a request it refuses, carrying AWS's error code.

AWS answers a bad ``TestState`` request with one of four errors (botocore's model lists them):
``ValidationException``, ``InvalidDefinition``, ``InvalidExecutionInput`` and ``InvalidArn``.
:class:`TestStateError` carries that code, so the service's API layer can put it on the wire
unchanged, and a message saying what was wrong, where, and what to do.
"""

from __future__ import annotations

from typing import Final, Literal

from stepline.asl import Diagnostic

__all__ = [
    "INVALID_ARN",
    "INVALID_DEFINITION",
    "INVALID_EXECUTION_INPUT",
    "VALIDATION_EXCEPTION",
    "ErrorCode",
    "TestStateError",
]

ErrorCode = Literal[
    "ValidationException", "InvalidDefinition", "InvalidExecutionInput", "InvalidArn"
]

VALIDATION_EXCEPTION: Final = "ValidationException"
INVALID_DEFINITION: Final = "InvalidDefinition"
INVALID_EXECUTION_INPUT: Final = "InvalidExecutionInput"
INVALID_ARN: Final = "InvalidArn"


class TestStateError(ValueError):
    """A TestState request that cannot run, as AWS would refuse it.

    Args:
        code: AWS's error code (``ValidationException``, ``InvalidDefinition``,
            ``InvalidExecutionInput`` or ``InvalidArn``).
        message: What is wrong, where, and what to do. Never holds a secret: request values
            are not quoted, only their names and shapes.
        diagnostics: For ``InvalidDefinition``, every problem the validator found.

    Attributes:
        code: AWS's error code.
        message: The message.
        diagnostics: The validator's diagnostics (empty unless ``InvalidDefinition``).
    """

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(
        self, code: ErrorCode, message: str, diagnostics: tuple[Diagnostic, ...] = ()
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ErrorCode = code
        self.message = message
        self.diagnostics = diagnostics

    def to_aws(self) -> dict[str, str]:
        """The error as AWS's JSON protocol returns it: ``{"__type", "message"}``."""
        return {"__type": self.code, "message": self.message}
