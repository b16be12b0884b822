"""Starting executions: what a StartExecution or StartSyncExecution call runs, and its checks.

:func:`resolve_target` turns the ``stateMachineArn`` member (a state machine, a version or an
alias ARN) into the revision to run; :func:`check_input` applies the payload quota and the
JSON rule; :func:`start_standard` stores the execution with its ``ExecutionStarted`` event in
one call and hands it to this process's worker (inserted already leased to it) or wakes the
worker, applying AWS's idempotent-name rule on a collision.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

from stepline.api import ServiceError
from stepline.asl._json import loads
from stepline.service._arns import check_name, parse_state_machine_arn
from stepline.service._context import ServiceContext
from stepline.service._exec_events import execution_started_details
from stepline.service._exec_hub import hub_of
from stepline.store import (
    ClaimedExecution,
    ExecutionRecord,
    HistoryEventRecord,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StoreConflict,
    StoreError,
)

__all__ = [
    "NAME_REUSE_SECONDS",
    "StartTarget",
    "check_input",
    "execution_name",
    "resolve_target",
    "start_standard",
]

NAME_REUSE_SECONDS: Final = 90 * 24 * 3600.0
"""AWS keeps an execution name taken for 90 days after the execution closed."""

_STATE_MACHINE_DOES_NOT_EXIST: Final = "StateMachineDoesNotExist"


@dataclass(frozen=True, slots=True)
class StartTarget:
    """What an execution runs.

    Attributes:
        state_machine: The state machine (its current revision may differ from ``revision``).
        revision: The revision the execution runs.
        version_arn: The version it runs through (a version or alias ARN was given).
        alias_arn: The alias it was started through.
    """

    state_machine: StateMachineRecord
    revision: StateMachineRevisionRecord
    version_arn: str | None = None
    alias_arn: str | None = None


def _does_not_exist(what: str, arn: str) -> ServiceError:
    return ServiceError(
        _STATE_MACHINE_DOES_NOT_EXIST,
        f"{what} Does Not Exist: '{arn}'. Check the ARN (region, account, name, qualifier), "
        "or create it first.",
    )


async def resolve_target(context: ServiceContext, arn: str) -> StartTarget:
    """The state machine and revision ``arn`` (state machine, version or alias) runs.

    An alias picks one of its versions at random by the routing weights.

    Raises:
        ServiceError: ``InvalidArn``, ``StateMachineDoesNotExist``, ``StateMachineDeleting``.
    """
    parsed = parse_state_machine_arn(arn)
    store = context.store
    machine = await store.get_state_machine(parsed.state_machine_arn)
    if machine is None:
        raise _does_not_exist("State Machine", arn)
    if machine.status == "DELETING":
        raise ServiceError(
            "StateMachineDeleting",
            f"State machine '{machine.arn}' is being deleted: it starts no new executions. "
            "Create a new state machine (or wait until the deletion ends and create it again).",
        )
    if parsed.version is not None:
        version = await store.get_version(arn)
        if version is None:
            raise _does_not_exist("State Machine Version", arn)
        return StartTarget(machine, version.revision, version_arn=version.arn)
    if parsed.alias is not None:
        alias = await store.get_alias(arn)
        if alias is None:
            raise _does_not_exist("State Machine Alias", arn)
        arns = [version_arn for version_arn, _ in alias.routing]
        weights = [weight for _, weight in alias.routing]
        chosen = random.choices(arns, weights=weights)[0] if sum(weights) > 0 else arns[0]
        version = await store.get_version(chosen)
        if version is None:  # the store refuses deleting a routed version; a race at most
            raise _does_not_exist("State Machine Version", chosen)
        return StartTarget(machine, version.revision, version_arn=version.arn, alias_arn=alias.arn)
    return StartTarget(machine, machine.revision)


def execution_name(name: str | None) -> str:
    """The execution name given (checked against AWS's rule), or a new UUID.

    Raises:
        ServiceError: ``InvalidName``.
    """
    if name is None:
        return str(uuid.uuid4())
    check_name(name, what="execution")
    return name


def check_input(context: ServiceContext, input_text: str | None) -> tuple[str, Any]:
    """The input text (``{}`` when none was given) and its JSON value.

    Raises:
        ServiceError: ``InvalidExecutionInput``: over the payload quota, or not JSON.
    """
    if input_text is None:
        return "{}", {}
    limit = context.config.max_payload_bytes
    size = len(input_text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ServiceError(
            "InvalidExecutionInput",
            f"The execution input is {size} bytes, over the payload limit of {limit} bytes. "
            "Pass large data by reference (for example a URL or an object key) instead.",
        )
    try:
        value = loads(input_text)
    except ValueError as exc:
        reason = str(exc).split(":", 1)[0]
        raise ServiceError(
            "InvalidExecutionInput",
            f"Invalid State Machine Execution Input: the input is not JSON ({reason}). "
            'Send a JSON text, for example "{}".',
        ) from None
    return input_text, value


async def start_standard(
    context: ServiceContext,
    target: StartTarget,
    name: str,
    input_text: str,
    *,
    trace_header: str | None = None,
    parent_execution_arn: str | None = None,
    parent_task_token: str | None = None,
) -> ExecutionRecord:
    """Store a Standard execution with its ``ExecutionStarted`` event and wake the worker.

    ``parent_execution_arn`` links a nested workflow's child to the execution that started it;
    ``parent_task_token`` (a ``.sync`` task's) links the child to the task that waits for it,
    in the same transaction (see :meth:`~stepline.store.Store.create_execution`).

    Returns:
        The stored execution, or the running one of the same name and input (AWS's
        idempotent rule).

    Raises:
        ServiceError: ``ExecutionAlreadyExists``.
        TaskClosed: ``parent_task_token`` no longer waits (nothing was stored).
    """
    machine = target.state_machine
    now = time.time()
    arn = f"{context.arn_prefix}execution:{machine.name}:{name}"
    record = ExecutionRecord(
        arn=arn,
        state_machine_arn=machine.arn,
        name=name,
        revision_id=target.revision.revision_id,
        status="RUNNING",
        start_date=now,
        input=input_text,
        state_machine_version_arn=target.version_arn,
        state_machine_alias_arn=target.alias_arn,
        trace_header=trace_header,
        parent_execution_arn=parent_execution_arn,
    )
    started = HistoryEventRecord(
        1,
        0,
        now,
        "ExecutionStarted",
        execution_started_details(
            input_text,
            target.revision.role_arn,
            version_arn=target.version_arn,
            alias_arn=target.alias_arn,
        ),
    )
    hub = hub_of(context)
    worker = hub.worker
    lease = worker.offer_lease(now) if worker is not None else None
    try:
        stored = await context.store.create_execution(
            record,
            (started,),
            runnable_at=now,
            reuse_closed_before=now - NAME_REUSE_SECONDS,
            lease=lease,
            parent_task_token=parent_task_token,
        )
    except StoreConflict as conflict:
        if worker is not None and lease is not None:
            worker.withdraw()
        existing = conflict.existing
        if (
            isinstance(existing, ExecutionRecord)
            and existing.status == "RUNNING"
            and existing.input == input_text
        ):
            return existing
        raise ServiceError(
            "ExecutionAlreadyExists",
            f"Execution Already Exists: '{arn}'. An execution name is taken for 90 days: "
            + (
                "the running execution of this name has a different input."
                if isinstance(existing, ExecutionRecord) and existing.status == "RUNNING"
                else "the execution of this name has ended."
            )
            + " Start it with another name (or none, for a new UUID).",
        ) from None
    except BaseException:
        if worker is not None and lease is not None:
            worker.withdraw()
            # Cancelled, the insert may still commit: give its lease back, so that the
            # execution runs at once (by the claim loop) instead of after the lease's expiry.
            _release_soon(context, arn, lease.token, now)
        raise
    if lease is None:
        hub.wake()
        return stored
    assert worker is not None
    claim = ClaimedExecution(stored, lease.token, lease.expires_at, None, ())
    if not worker.adopt(claim, target.revision):
        # The worker began stopping meanwhile: give the lease back so that the next start
        # (or another worker) runs the execution at once instead of after the lease's expiry.
        with contextlib.suppress(StoreError):
            await context.store.release(stored.arn, lease.token, runnable_at=now)
    return stored


_RELEASES: Final[set[asyncio.Task[None]]] = set()


def _release_soon(context: ServiceContext, arn: str, token: str, now: float) -> None:
    async def release() -> None:
        with contextlib.suppress(StoreError):  # not inserted, or taken over: nothing to do
            await context.store.release(arn, token, runnable_at=now)
        hub_of(context).wake()

    with contextlib.suppress(RuntimeError):  # no running loop any more
        task = asyncio.get_running_loop().create_task(release())
        _RELEASES.add(task)
        task.add_done_callback(_RELEASES.discard)
