"""What the state machine operations share: AWS's errors, times, lookups, deletion.

Also the entry points other parts of the service use:

- :func:`resolve_state_machine` — what a (possibly qualified) state machine ARN runs: the
  state machine, the revision, and the version/alias it went through (StartExecution);
- :func:`remove_if_idle` — the second half of ``DeleteStateMachine``: the worker calls it when
  an execution of a ``DELETING`` state machine ends, and it removes the state machine once
  none of its executions is running.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from stepline.api import ServiceError
from stepline.service._arns import StateMachineArn, parse_state_machine_arn
from stepline.service._context import ServiceContext
from stepline.store import (
    AliasRecord,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StateMachineVersionRecord,
)

__all__ = [
    "ResolvedStateMachine",
    "conflict",
    "does_not_exist",
    "is_deleting",
    "new_revision_id",
    "now",
    "remove_if_idle",
    "resolve_state_machine",
    "resource_not_found",
    "timestamp",
    "validation_error",
]

VALIDATION: Final = "ValidationException"


def now() -> float:
    """The current time, seconds since the epoch (what the store keeps)."""
    return time.time()


def timestamp(seconds: float) -> datetime:
    """A store time as the aware ``datetime`` the API layer renders."""
    return datetime.fromtimestamp(seconds, UTC)


def new_revision_id() -> str:
    """A fresh revision id (AWS uses UUIDs)."""
    return str(uuid.uuid4())


def does_not_exist(arn: str) -> ServiceError:
    """``StateMachineDoesNotExist`` in AWS's message form."""
    return ServiceError(
        "StateMachineDoesNotExist",
        f"State Machine Does Not Exist: '{arn}'. Check the ARN (ListStateMachines shows "
        "every state machine) or create it with CreateStateMachine.",
    )


def is_deleting(arn: str) -> ServiceError:
    """``StateMachineDeleting``: it is on its way out."""
    return ServiceError(
        "StateMachineDeleting",
        f"State machine is being deleted: '{arn}'. It is removed once none of its executions "
        "is running; create a new one (under another name, or this one after it is gone).",
    )


def resource_not_found(what: str, arn: str, hint: str) -> ServiceError:
    """``ResourceNotFound`` naming the resource (and carrying it as ``resourceName``)."""
    return ServiceError(
        "ResourceNotFound",
        f"Resource not found: {what} '{arn}' does not exist. {hint}",
        fields={"resourceName": arn},
    )


def conflict(message: str) -> ServiceError:
    """``ConflictException`` (HTTP 409, as AWS documents it)."""
    return ServiceError("ConflictException", message, http_status=409)


def validation_error(message: str, reason: str | None = None) -> ServiceError:
    """``ValidationException``, with AWS's ``reason`` when one applies."""
    return ServiceError(VALIDATION, message, fields={"reason": reason} if reason else None)


@dataclass(frozen=True, slots=True)
class ResolvedStateMachine:
    """What a state machine, version or alias ARN stands for right now.

    Attributes:
        arn: The parsed ARN as given.
        machine: The state machine (``status`` may be ``DELETING``).
        revision: The revision to run: the current one, the version's, or the one of the
            version the alias routed to.
        version: The version (given, or chosen by the alias), else ``None``.
        alias: The alias given, else ``None``.
    """

    arn: StateMachineArn
    machine: StateMachineRecord
    revision: StateMachineRevisionRecord
    version: StateMachineVersionRecord | None = None
    alias: AliasRecord | None = None


async def resolve_state_machine(
    context: ServiceContext,
    arn: str,
    *,
    field: str = "stateMachineArn",
    chooser: random.Random | None = None,
) -> ResolvedStateMachine:
    """Resolve a state machine, version or alias ARN (StartExecution's target).

    An alias picks one of its versions by weight (``chooser`` or the module's random source).

    Raises:
        ServiceError: ``InvalidArn``; ``StateMachineDoesNotExist`` (no such state machine or
            version, or an alias that does not exist).
    """
    parsed = parse_state_machine_arn(arn, field=field)
    machine = await context.store.get_state_machine(parsed.state_machine_arn)
    if machine is None:
        raise does_not_exist(arn)
    if parsed.version is not None:
        version = await context.store.get_version(arn)
        if version is None:
            raise does_not_exist(arn)
        return ResolvedStateMachine(parsed, machine, version.revision, version)
    if parsed.alias is not None:
        alias = await context.store.get_alias(arn)
        if alias is None:
            raise does_not_exist(arn)
        draw = chooser.random() if chooser is not None else random.random()
        version_arn = _pick(alias.routing, draw)
        version = await context.store.get_version(version_arn)
        if version is None:  # the store refuses deleting a routed version; defensive
            raise does_not_exist(version_arn)
        return ResolvedStateMachine(parsed, machine, version.revision, version, alias)
    return ResolvedStateMachine(parsed, machine, machine.revision)


def _pick(routing: tuple[tuple[str, int], ...], draw: float) -> str:
    """The version a draw in [0, 1) lands on, weights read as shares of their sum."""
    total = sum(weight for _, weight in routing)
    if total <= 0:
        return routing[0][0]
    point = draw * total
    for version_arn, weight in routing:
        point -= weight
        if point < 0:
            return version_arn
    return routing[-1][0]


async def remove_if_idle(context: ServiceContext, state_machine_arn: str) -> bool:
    """Finish deleting a ``DELETING`` state machine once no execution of it is running.

    ``DeleteStateMachine`` marks the state machine ``DELETING`` and calls this at once; the
    worker calls it again whenever an execution of a ``DELETING`` state machine ends.
    Versions, aliases and tags go with it; executions and their history stay (so they can
    still be described, as on AWS).

    Returns:
        Whether the state machine was removed now.
    """
    record = await context.store.get_state_machine(state_machine_arn)
    if record is None or record.status != "DELETING":
        return False
    if await context.store.has_running_executions(state_machine_arn):
        return False
    return await context.store.remove_state_machine(state_machine_arn)
