"""The store's errors: each names what was refused, on which record, and what to do.

The service maps them to AWS errors (``StoreConflict`` → ``StateMachineAlreadyExists``,
``ExecutionAlreadyExists``, ``ConflictException``…; ``InvalidPageToken`` → ``InvalidToken``).
Messages name ARNs and ids only, never payloads.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "HistoryConflict",
    "InvalidPageToken",
    "LeaseLost",
    "RecordNotFound",
    "SchemaTooNew",
    "StoreClosed",
    "StoreConflict",
    "StoreError",
    "StoreUnavailable",
    "TaskClosed",
]


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class RecordNotFound(StoreError):
    """The record an operation needs does not exist.

    Attributes:
        kind: What was looked for (``state machine``, ``execution``…).
        key: Its ARN or id.
    """

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"No {kind} {key!r} exists; check the ARN (or create it first).")
        self.kind = kind
        self.key = key


class StoreConflict(StoreError):
    """A write collides with what is stored (a taken name, a referenced version…).

    Attributes:
        existing: The stored record in the way, when there is one (the service applies AWS's
            idempotency rules to it).
    """

    def __init__(self, message: str, existing: Any = None) -> None:
        super().__init__(message)
        self.existing = existing


class LeaseLost(StoreError):
    """The caller's lease on an execution is gone: another worker claimed it, or it was stopped.

    Nothing of the refused write was stored. The worker must drop the execution (and cancel the
    tasks it runs for it): whoever holds it now resumes from the last committed snapshot.
    """

    def __init__(self, execution_arn: str, reason: str) -> None:
        super().__init__(
            f"The lease on execution {execution_arn!r} is no longer this worker's ({reason}); "
            "nothing was committed: drop the execution, its current holder carries on."
        )
        self.execution_arn = execution_arn
        self.reason = reason


class HistoryConflict(StoreError):
    """New history events do not continue the stored history (a double or stale commit)."""

    def __init__(self, execution_arn: str, expected_id: int, got_id: int) -> None:
        super().__init__(
            f"History events for execution {execution_arn!r} must continue with id "
            f"{expected_id}, got {got_id}: the step was computed from a stale state or "
            "committed twice; nothing was committed."
        )
        self.execution_arn = execution_arn
        self.expected_id = expected_id
        self.got_id = got_id


class InvalidPageToken(StoreError):
    """A ``nextToken`` that this store did not issue for this listing, or one that expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Invalid nextToken: {reason}. Pass back the token of the previous page unchanged, "
            "with the same other arguments, within 24 hours; or start again without a token."
        )
        self.reason = reason


class SchemaTooNew(StoreError):
    """The database was migrated by a newer stepline than this one."""

    def __init__(self, location: str, database_version: int, code_version: int) -> None:
        super().__init__(
            f"The database {location} has schema version {database_version}, newer than the "
            f"{code_version} this stepline knows: upgrade stepline, or point it at another "
            "database."
        )
        self.database_version = database_version
        self.code_version = code_version


class StoreClosed(StoreError):
    """The store was closed; open a new one."""

    def __init__(self) -> None:
        super().__init__("The store is closed; open it again (open_store) to use it.")


class TaskClosed(StoreError):
    """A task token's task is closed: completed already, timed out, or its execution ended
    (AWS's ``TaskTimedOut``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The task of this token is closed: {reason}.")
        self.reason = reason


# -- issue #7: PostgreSQL ---------------------------------------------------------------------


class StoreUnavailable(StoreError):
    """The database cannot be reached, or the connection broke during a write.

    Attributes:
        outcome_unknown: The connection broke after the write was sent: it may have been
            committed (read the record again before retrying a write that is not idempotent).
    """

    def __init__(self, location: str, reason: str, *, outcome_unknown: bool = False) -> None:
        detail = (
            " The write may or may not have been committed: read the record again before retrying."
            if outcome_unknown
            else ""
        )
        super().__init__(
            f"The database {location} is unavailable ({reason}): check that the server runs "
            f"and accepts this URL's user, and retry.{detail}"
        )
        self.outcome_unknown = outcome_unknown
