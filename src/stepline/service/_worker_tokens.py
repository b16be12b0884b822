"""The worker's side of tasks that wait for a token: callbacks and activity tasks.

A task with a token (``.waitForTaskToken`` or an activity) is not run to its outcome by the
worker. The step that schedules it stores a :class:`~stepline.store.TaskTokenRecord` (a callback
``STARTED`` at once, an activity ``SCHEDULED`` with its input until a worker takes it with
``GetActivityTask``) and the execution's lease is released: nothing waits in memory for the
outside world. SendTaskSuccess/Failure store the outcome and wake the execution; a deadline
(``TimeoutSeconds``, ``HeartbeatSeconds``) wakes it too, through the token's wake time. The
next claim hands the execution's open tokens back (``ClaimedExecution.tokens``), and
:func:`read_claimed_tokens` turns them into what the engine is told: a worker took an activity
(``ActivityStarted``), an outcome, or a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepline.asl._errors import HEARTBEAT_TIMEOUT, TIMEOUT
from stepline.asl._json import dumps_text, loads
from stepline.engine import Execution, TaskEffect
from stepline.engine._tasks import is_activity
from stepline.service._worker_tasks import Outcome
from stepline.store import TaskTokenRecord

__all__ = ["ClaimedTokens", "new_token_record", "read_claimed_tokens"]


def new_token_record(effect: TaskEffect, execution_arn: str, now: float) -> TaskTokenRecord:
    """The record of a task that waits for its token, as the step scheduling it stores it.

    ``TimeoutSeconds`` counts from scheduling for both kinds; ``HeartbeatSeconds`` from now for
    a callback (it starts at once) and from the moment a worker takes an activity task.
    """
    token = effect.task_token
    assert token is not None
    timeout_at = now + effect.timeout_seconds if effect.timeout_seconds is not None else None
    heartbeat = effect.heartbeat_seconds
    if is_activity(effect.resource):
        return TaskTokenRecord(
            token,
            execution_arn,
            effect.id,
            "SCHEDULED",
            now,
            activity_arn=effect.resource,
            input=dumps_text(effect.parameters),
            timeout_at=timeout_at,
            heartbeat_seconds=heartbeat,
        )
    return TaskTokenRecord(
        token,
        execution_arn,
        effect.id,
        "STARTED",
        now,
        timeout_at=timeout_at,
        heartbeat_seconds=heartbeat,
        heartbeat_due=now + heartbeat if heartbeat is not None else None,
        started_at=now,
    )


_TAKEN = frozenset({"STARTED", "SUCCEEDED", "FAILED"})


@dataclass(slots=True)
class ClaimedTokens:
    """What a claim's tokens mean for the run.

    Attributes:
        outcomes: Outcomes and timeouts to feed to the engine.
        reported: Tokens whose ``ActivityStarted`` was recorded now.
        close: Tokens used up by this step (their outcome or timeout is fed).
        open: Tokens still waiting, by effect id.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)
    close: list[str] = field(default_factory=list)
    open: dict[int, str] = field(default_factory=dict)


def read_claimed_tokens(
    execution: Execution,
    tokens: tuple[TaskTokenRecord, ...],
    waiting: set[int],
    now: float,
) -> ClaimedTokens:
    """Tell the engine which activity tasks were taken, and collect outcomes and timeouts.

    Args:
        execution: The loaded execution.
        tokens: The claim's open tokens.
        waiting: The ids of the task effects the execution still waits on.
        now: The worker's time.
    """
    found = ClaimedTokens()
    for record in tokens:
        effect_id = record.effect_id
        if effect_id not in waiting:
            found.close.append(record.token)  # left over from an effect already resolved
            continue
        status = record.status
        # A task taken and completed before this run saw it taken (the news missed it, or it
        # came between two claims) still gets its ActivityStarted, before its outcome.
        if (
            status in _TAKEN
            and record.activity_arn is not None
            and not record.started_reported
            and record.started_at is not None
        ):
            execution.task_started(effect_id, record.worker_name, record.started_at)
            found.reported.append(record.token)
        if status == "SUCCEEDED":
            output = record.output
            found.outcomes.append(
                (effect_id, loads(output) if output is not None else None, None, None, None)
            )
        elif status == "FAILED":
            found.outcomes.append((effect_id, None, record.error or "", record.cause, None))
        elif record.timeout_at is not None and now >= record.timeout_at:
            cause = "The task did not complete within its TimeoutSeconds."
            found.outcomes.append((effect_id, None, TIMEOUT, cause, None))
        elif record.heartbeat_due is not None and now >= record.heartbeat_due:
            cause = "The task sent no heartbeat within its HeartbeatSeconds."
            found.outcomes.append((effect_id, None, HEARTBEAT_TIMEOUT, cause, None))
        else:
            found.open[effect_id] = record.token
            continue
        found.close.append(record.token)
    return found
