"""The ASL error tree: runtime errors that Retry/Catch match, and definition errors.

Two kinds of failure exist in ASL and they must never be confused:

* :class:`StatesError` is raised *while an execution runs*. It carries an ASL error name
  (``States.Runtime``, ``States.Http.StatusCode.404``, a user's ``MyError``) and a cause, and it
  is what ``Retry`` and ``Catch`` match against.
* :class:`DefinitionError` is raised *while a definition is compiled*: a path that does not
  parse, an intrinsic with a syntax error. The validator turns it into a diagnostic with a
  location such as ``/States/Charge/Parameters/url.$``.
"""

from __future__ import annotations

__all__ = [
    "ALL",
    "BRANCH_FAILED",
    "DATA_LIMIT_EXCEEDED",
    "EXCEED_TOLERATED_FAILURE_THRESHOLD",
    "HEARTBEAT_TIMEOUT",
    "INTRINSIC_FAILURE",
    "ITEM_READER_FAILED",
    "NO_CHOICE_MATCHED",
    "PARAMETER_PATH_FAILURE",
    "PERMISSIONS",
    "QUERY_EVALUATION_ERROR",
    "RESULT_PATH_MATCH_FAILURE",
    "RESULT_WRITER_FAILED",
    "RUNTIME",
    "TASK_FAILED",
    "TIMEOUT",
    "DefinitionError",
    "StatesError",
]

ALL = "States.ALL"
BRANCH_FAILED = "States.BranchFailed"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
ITEM_READER_FAILED = "States.ItemReaderFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
PERMISSIONS = "States.Permissions"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
RUNTIME = "States.Runtime"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"


class StatesError(Exception):
    """A runtime ASL error, matched by ``Retry`` and ``Catch`` on its :attr:`error` name.

    Args:
        error: The ASL error name, e.g. ``States.Runtime`` or a task's own ``PaymentDeclined``.
        cause: A human-readable explanation; it ends up in the history and in ``$.Cause``.
        location: For a JSONata evaluation failure, the field it happened in (``Output/id``),
            recorded in the ``EvaluationFailed`` history event.
        retry_after: The least number of seconds to wait before a retry, when the failed
            call said so (an HTTP ``Retry-After``); a matching ``Retry`` rule then waits at
            least that long. ``None`` leaves the rule's back-off alone.
    """

    __slots__ = ("cause", "error", "location", "retry_after")

    def __init__(
        self,
        error: str,
        cause: str = "",
        location: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
        self.location = location
        self.retry_after = retry_after


class DefinitionError(ValueError):
    """A part of a definition (a path, an intrinsic call, a template) is malformed.

    Raised by the ``compile_*`` functions of the ``asl`` package. The message says what is
    wrong and what to write instead; the caller adds the location.

    Args:
        message: What is wrong, phrased for the author of the definition.
        code: A stable diagnostic code such as ``INVALID_JSON_PATH``.
    """

    def __init__(self, message: str, code: str = "SCHEMA_VALIDATION_FAILED") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
