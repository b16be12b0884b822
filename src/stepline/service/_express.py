"""Express executions: the engine in process memory, no history kept, at most 5 minutes.

StartSyncExecution runs the execution to its end and answers with its outcome (HTTP 200 even
when it failed); StartExecution of an EXPRESS state machine starts the same run in the
background and answers at once, keeping nothing afterwards (AWS keeps Express executions in
CloudWatch Logs only, so DescribeExecution and GetExecutionHistory do not know them).

The limit (``ServiceConfig.express_max_seconds``, AWS's 300 s by default) ends the execution as
``TIMED_OUT``: waits and tasks are cut off by the event loop, and an execution that never waits
(an endless Pass/Choice loop) by its clock, which refuses to tell the time past the limit.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from stepline.engine import Execution, ExecutionIdentity, SystemClock, drive
from stepline.service._context import ServiceContext
from stepline.service._exec_hub import hub_of
from stepline.service._exec_start import StartTarget

__all__ = ["ExpressOutcome", "run_express", "start_express_async"]

_log = logging.getLogger("stepline.service.express")

EXPRESS_TIMEOUT_ERROR: Final = "States.Timeout"
# AWS bills Express executions in 64 MB memory steps and 100 ms duration steps (rounded up).
BILLED_MEMORY_MB: Final = 64
BILLED_DURATION_STEP_MS: Final = 100


class _ExpressLimitReached(Exception):
    """Raised by the clock of an Express execution that ran past its limit."""


class _LimitedClock:
    __slots__ = ("deadline",)

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self) -> float:
        now = time.time()
        if now > self.deadline:
            raise _ExpressLimitReached
        return now


class ExpressOutcome:
    """How an Express execution ended.

    Attributes:
        execution_arn: Its ARN (``…:express:<state machine>:<name>:<uuid>``).
        name: The execution name.
        start: When it started (epoch seconds).
        stop: When it ended.
        status: ``SUCCEEDED``, ``FAILED`` or ``TIMED_OUT``.
        output: The output JSON text when it succeeded.
        error: The error otherwise.
        cause: The cause otherwise.
    """

    __slots__ = ("cause", "error", "execution_arn", "name", "output", "start", "status", "stop")

    def __init__(self, execution_arn: str, name: str, start: float) -> None:
        self.execution_arn = execution_arn
        self.name = name
        self.start = start
        self.stop = start
        self.status = "RUNNING"
        self.output: str | None = None
        self.error: str | None = None
        self.cause: str | None = None

    def billing_details(self) -> dict[str, int]:
        """AWS's ``billingDetails``: memory in 64 MB, duration rounded up to 100 ms."""
        elapsed_ms = max((self.stop - self.start) * 1000.0, 0.0)
        steps = max(math.ceil(elapsed_ms / BILLED_DURATION_STEP_MS), 1)
        return {
            "billedMemoryUsedInMB": BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": steps * BILLED_DURATION_STEP_MS,
        }


def express_arn(context: ServiceContext, target: StartTarget, name: str) -> str:
    """``<prefix>express:<state machine name>:<name>:<uuid>``."""
    return f"{context.arn_prefix}express:{target.state_machine.name}:{name}:{uuid.uuid4()}"


async def run_express(
    context: ServiceContext,
    target: StartTarget,
    name: str,
    value: Any,
    *,
    execution_arn: str | None = None,
) -> ExpressOutcome:
    """Run an Express execution to its end (or its time limit)."""
    arn = execution_arn or express_arn(context, target, name)
    start = time.time()
    outcome = ExpressOutcome(arn, name, start)
    limit = context.config.express_max_seconds
    revision = target.revision
    identity = ExecutionIdentity(target.state_machine.arn, arn, revision.role_arn)
    identity.name = name  # the ARN ends with the run id, not the name
    compiled = context.compiled(revision.revision_id, revision.definition)
    clock = _LimitedClock(start + limit)
    execution = Execution(
        compiled,
        value,
        identity,
        clock,
        max_payload_bytes=context.config.max_payload_bytes,
    )
    execution.region = context.config.region
    log = context.execution_logs.for_revision(revision, arn)
    try:
        effects = execution.advance()
        if not execution.done:
            remaining = start + limit - time.time()
            running = drive(execution, context.tasks, SystemClock(), effects)
            if log is None:
                await asyncio.wait_for(running, remaining)
            else:
                await log.drive(execution, running, remaining)
    except (TimeoutError, _ExpressLimitReached):
        outcome.stop = time.time()
        outcome.status = "TIMED_OUT"
        outcome.error = EXPRESS_TIMEOUT_ERROR
        outcome.cause = (
            f"The Express execution ran longer than its limit of {limit:g} seconds. Use a "
            "Standard state machine for longer work."
        )
        if log is not None:
            log.timed_out(execution, outcome.stop, outcome.error, outcome.cause)
        return outcome
    if log is not None:
        log.events(execution.take_new_events())
    outcome.stop = execution.stop_time or time.time()
    outcome.status = execution.status
    outcome.output = execution.output_json
    outcome.error = execution.error
    outcome.cause = execution.cause
    return outcome


def start_express_async(
    context: ServiceContext, target: StartTarget, name: str, value: Any
) -> tuple[str, datetime]:
    """Start an Express execution in the background; its ARN and start date."""
    arn = express_arn(context, target, name)
    started = datetime.now(UTC)
    hub = hub_of(context)

    async def run() -> None:
        try:
            outcome = await run_express(context, target, name, value, execution_arn=arn)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("express execution %s failed to run", arn)
            return
        _log.debug("express execution %s ended %s", arn, outcome.status)

    task = asyncio.create_task(run(), name=f"stepline-express {name}")
    hub.express.add(task)
    task.add_done_callback(hub.express.discard)
    return arn, started
