"""The records the store keeps: state machines, revisions, versions, aliases, executions, events.

Every record is a frozen, slotted dataclass and holds plain values only, so that a record read
from any backend compares equal to the one written. Conventions shared by all of them:

- Times are seconds since the epoch (UTC) as ``float``, like the engine's history events.
- Structures the store keeps "as given" (logging, tracing and encryption configurations, history
  event details) are JSON text: the store never parses them, so they come back byte for byte.
- Execution input/output, event details and snapshots may carry user data: they are left out of
  ``repr`` so that a record in a log or an assertion message shows no payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Generic, Literal, TypeVar

__all__ = [
    "OPEN_TASK_STATUSES",
    "RUNNING",
    "TERMINAL_STATUSES",
    "ActivityRecord",
    "AliasRecord",
    "ClaimedExecution",
    "ExecutionRecord",
    "ExecutionStatus",
    "HistoryEventRecord",
    "Lease",
    "Page",
    "PendingEvent",
    "RedriveStatus",
    "StateMachineRecord",
    "StateMachineRevisionRecord",
    "StateMachineStatus",
    "StateMachineType",
    "StateMachineVersionRecord",
    "StepCommit",
    "TaskTokenRecord",
    "TaskTokenStatus",
    "TimerRecord",
]

StateMachineType = Literal["STANDARD", "EXPRESS"]
StateMachineStatus = Literal["ACTIVE", "DELETING"]
ExecutionStatus = Literal[
    "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"
]
RedriveStatus = Literal["REDRIVABLE", "NOT_REDRIVABLE", "REDRIVABLE_BY_MAP_RUN"]

TaskTokenStatus = Literal["SCHEDULED", "STARTED", "SUCCEEDED", "FAILED", "CLOSED"]

RUNNING: Final = "RUNNING"
OPEN_TASK_STATUSES: Final = frozenset({"SCHEDULED", "STARTED"})
"""Task token statuses that still accept SendTaskSuccess/Failure/Heartbeat (``STARTED``)."""
TERMINAL_STATUSES: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StateMachineRevisionRecord:
    """One immutable revision of a state machine: what an execution or a version runs.

    Every create and every update makes a new revision; the state machine points at its latest
    one, versions and executions at the one they were made from (so a running execution keeps
    its definition across ``UpdateStateMachine``, and ``DescribeStateMachineForExecution``
    answers with it).

    Attributes:
        revision_id: Unique id chosen by the caller (AWS uses a UUID).
        state_machine_arn: The unqualified state machine ARN.
        definition: The ASL definition text, exactly as given.
        role_arn: The execution role.
        update_date: When this revision was made.
        logging_configuration: JSON text, as given.
        tracing_configuration: JSON text, as given.
        encryption_configuration: JSON text, as given.
    """

    revision_id: str
    state_machine_arn: str
    definition: str = field(repr=False)
    role_arn: str
    update_date: float
    logging_configuration: str | None = None
    tracing_configuration: str | None = None
    encryption_configuration: str | None = None


@dataclass(frozen=True, slots=True)
class StateMachineRecord:
    """A state machine with its current revision (``DescribeStateMachine``).

    Attributes:
        arn: ``arn:…:stateMachine:<name>``; unique, which makes the name unique per account
            and region.
        name: The state machine's name.
        type: ``STANDARD`` or ``EXPRESS``.
        status: ``ACTIVE`` or ``DELETING``.
        creation_date: When it was created.
        revision: Its current revision (definition, role, configurations, update date).
        description: Free text (AWS fills it for versions only; kept for completeness).
    """

    arn: str
    name: str
    type: StateMachineType
    status: StateMachineStatus
    creation_date: float
    revision: StateMachineRevisionRecord
    description: str | None = None

    @property
    def revision_id(self) -> str:
        """The current revision's id."""
        return self.revision.revision_id

    @property
    def definition(self) -> str:
        """The current definition text."""
        return self.revision.definition

    @property
    def role_arn(self) -> str:
        """The current execution role."""
        return self.revision.role_arn

    @property
    def update_date(self) -> float:
        """When the current revision was made."""
        return self.revision.update_date


@dataclass(frozen=True, slots=True)
class StateMachineVersionRecord:
    """A published version: an immutable snapshot of one revision.

    Attributes:
        arn: The state machine ARN followed by ``:<version number>``.
        state_machine_arn: The unqualified state machine ARN.
        version: 1, 2, …; numbers are never reused, even after a version is deleted.
        creation_date: When it was published.
        revision: The revision it snapshots (definition, role, configurations).
        description: The version description given at publication.
    """

    arn: str
    state_machine_arn: str
    version: int
    creation_date: float
    revision: StateMachineRevisionRecord
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AliasRecord:
    """A state machine alias routing executions to one or two versions.

    Attributes:
        arn: The state machine ARN followed by ``:<alias name>``.
        state_machine_arn: The unqualified state machine ARN.
        name: The alias name.
        routing: ``(version ARN, weight)`` pairs in the order given.
        creation_date: When it was created.
        update_date: When it was last updated (the creation date until then).
        description: The alias description.
    """

    arn: str
    state_machine_arn: str
    name: str
    routing: tuple[tuple[str, int], ...]
    creation_date: float
    update_date: float
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """An execution as ``DescribeExecution``/``ListExecutions`` show it.

    Attributes:
        arn: ``arn:…:execution:<state machine name>:<execution name>``.
        state_machine_arn: The unqualified state machine ARN.
        name: The execution name, unique per state machine.
        revision_id: The state machine revision it runs.
        status: AWS's execution status.
        start_date: When it started.
        input: The execution input, JSON text.
        state_machine_version_arn: The version it was started through, if any.
        state_machine_alias_arn: The alias it was started through, if any.
        stop_date: When it ended.
        output: The output of a successful execution, JSON text.
        error: The error of a failed, timed out or aborted execution.
        cause: The cause that goes with ``error``.
        trace_header: The X-Ray trace header given at start.
        redrive_count: How many times it was redriven.
        redrive_date: When it was last redriven.
        redrive_status: Whether it can be redriven.
        redrive_status_reason: Why not, when it cannot.
        map_run_arn: The Map Run that started it (a Distributed Map child).
        parent_execution_arn: The execution that started it (a nested workflow).
        last_event_id: The id of its latest history event.
    """

    arn: str
    state_machine_arn: str
    name: str
    revision_id: str
    status: ExecutionStatus
    start_date: float
    input: str = field(repr=False)
    state_machine_version_arn: str | None = None
    state_machine_alias_arn: str | None = None
    stop_date: float | None = None
    output: str | None = field(default=None, repr=False)
    error: str | None = field(default=None, repr=False)
    cause: str | None = field(default=None, repr=False)
    trace_header: str | None = None
    redrive_count: int = 0
    redrive_date: float | None = None
    redrive_status: RedriveStatus | None = None
    redrive_status_reason: str | None = None
    map_run_arn: str | None = None
    parent_execution_arn: str | None = None
    last_event_id: int = 0


@dataclass(frozen=True, slots=True)
class HistoryEventRecord:
    """One history event, as the engine recorded it.

    Attributes:
        id: 1, 2, … without gaps within an execution.
        previous_event_id: The event this one follows in its branch (0 for the first).
        timestamp: When it happened.
        type: AWS's ``HistoryEventType`` name.
        details: The details member's content as JSON text (or ``None``), stored verbatim.
    """

    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event whose id the store assigns (``stop_execution`` appends after the last one).

    Attributes:
        timestamp: When it happened.
        type: AWS's ``HistoryEventType`` name.
        details: JSON text or ``None``.
        previous_event_id: The event it follows; ``None`` means the one just before it.
    """

    timestamp: float
    type: str
    details: str | None = field(default=None, repr=False)
    previous_event_id: int | None = None


@dataclass(frozen=True, slots=True)
class TimerRecord:
    """A durable timer of an execution (a Wait state, a retry back-off…).

    Attributes:
        timer_id: Chosen by the engine; unique within the execution.
        due: When it fires.
    """

    timer_id: str
    due: float


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """An activity (``CreateActivity``).

    Attributes:
        arn: ``arn:…:activity:<name>``; unique.
        name: The activity's name.
        creation_date: When it was created.
    """

    arn: str
    name: str
    creation_date: float


@dataclass(frozen=True, slots=True)
class TaskTokenRecord:
    """A task that waits for its token: a ``.waitForTaskToken`` callback or an activity task.

    Its life: ``SCHEDULED`` (an activity task no worker has taken) → ``STARTED`` (taken by a
    worker; a callback starts here) → ``SUCCEEDED``/``FAILED`` (SendTaskSuccess/Failure stored
    the outcome; the execution is woken) → ``CLOSED`` (the worker fed the outcome — or a
    timeout, a cancellation, the execution's end — to the engine; the token is used up).

    Attributes:
        token: The task token (unique).
        execution_arn: The execution that waits.
        effect_id: The engine's effect id of the task.
        status: See above.
        scheduled_at: When the task was scheduled.
        activity_arn: The activity, for an activity task.
        input: The activity task's input (JSON text), handed to the worker.
        timeout_at: When ``TimeoutSeconds`` runs out, if set.
        heartbeat_seconds: ``HeartbeatSeconds``, if set.
        heartbeat_due: When the next heartbeat is due, if ``heartbeat_seconds`` is set.
        worker_name: The ``workerName`` of the worker that took an activity task.
        started_at: When a worker took it.
        started_reported: Whether the engine recorded ``ActivityStarted`` for it.
        completed_at: When SendTaskSuccess/Failure came.
        output: The output JSON text of a success.
        error: The error of a failure.
        cause: The cause of a failure.
        child_execution_arn: For a ``.sync``/``.sync:2`` ``startExecution`` task, the child
            execution it waits for (linked when the child is stored; its end completes the
            task: ``SUCCEEDED`` or ``FAILED`` with no output, error or cause — the worker
            describes the child). SendTask* never act on such a token.
    """

    token: str = field(repr=False)
    execution_arn: str
    effect_id: int
    status: TaskTokenStatus
    scheduled_at: float
    activity_arn: str | None = None
    input: str | None = field(default=None, repr=False)
    timeout_at: float | None = None
    heartbeat_seconds: float | None = None
    heartbeat_due: float | None = None
    worker_name: str | None = None
    started_at: float | None = None
    started_reported: bool = False
    completed_at: float | None = None
    output: str | None = field(default=None, repr=False)
    error: str | None = field(default=None, repr=False)
    cause: str | None = field(default=None, repr=False)
    child_execution_arn: str | None = None

    @property
    def wake_at(self) -> float | None:
        """When the execution must look at this task again (``None``: nothing to do)."""
        status = self.status
        if status in ("SUCCEEDED", "FAILED"):
            return self.completed_at
        if status == "CLOSED":
            return None
        if status == "STARTED" and self.activity_arn is not None and not self.started_reported:
            return self.started_at
        deadlines = [d for d in (self.timeout_at, self.heartbeat_due) if d is not None]
        return min(deadlines) if deadlines else None


@dataclass(frozen=True, slots=True)
class StepCommit:
    """Everything one step of a worker commits, in one transaction.

    The commit fails with :class:`~stepline.store.LeaseLost` unless ``lease_token`` is still the
    execution's lease, and with :class:`~stepline.store.HistoryConflict` unless ``events``
    continue the stored history (ids ``last + 1, last + 2, …``). Either way nothing is written.

    Attributes:
        execution_arn: The execution.
        lease_token: The token :meth:`~stepline.store.Store.claim_runnable` handed out.
        events: The new history events, ids continuing the stored ones.
        snapshot: The engine's new snapshot (opaque bytes), or ``None`` to keep the stored one.
        status: The final status when the execution ended with this step, else ``None``.
        stop_date: When it ended (with ``status``).
        output: The output of a successful end.
        error: The error of a failed end.
        cause: The cause of a failed end.
        timers_add: Timers to store (an existing id is replaced).
        timers_remove: Timer ids to delete.
        runnable_at: When the execution must run again regardless of timers (``None``: only
            when a timer is due or something wakes it). The store wakes it at the earliest of
            this and its timers' due times.
        keep_lease_until: ``None`` releases the lease; a time keeps the lease (the worker goes
            on with tasks in flight) and moves its expiry there.
        tokens_add: Task tokens the step scheduled (stored with their status; an existing
            token is left as it is).
        tokens_reported: Tokens whose ``ActivityStarted`` the step recorded.
        tokens_close: Tokens the step used up (outcome fed, timed out, cancelled): ``CLOSED``.
            An ending step closes every token of the execution.
    """

    execution_arn: str
    lease_token: str
    events: tuple[HistoryEventRecord, ...] = ()
    snapshot: bytes | None = field(default=None, repr=False)
    status: ExecutionStatus | None = None
    stop_date: float | None = None
    output: str | None = field(default=None, repr=False)
    error: str | None = field(default=None, repr=False)
    cause: str | None = field(default=None, repr=False)
    timers_add: tuple[TimerRecord, ...] = ()
    timers_remove: tuple[str, ...] = ()
    runnable_at: float | None = None
    keep_lease_until: float | None = None
    tokens_add: tuple[TaskTokenRecord, ...] = ()
    tokens_reported: tuple[str, ...] = field(default=(), repr=False)
    tokens_close: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class ClaimedExecution:
    """An execution a worker has claimed: what it needs to resume.

    Attributes:
        execution: The execution record.
        lease_token: Pass it to ``commit_step``/``renew_lease``/``release``.
        lease_expires_at: When the lease runs out unless renewed.
        snapshot: The last committed snapshot, ``None`` before the first step.
        timers: All its stored timers, earliest first (the due ones are those with
            ``due <= now``).
        tokens: Its task tokens that are not ``CLOSED`` (waiting, taken, or with an outcome
            to feed), by effect id.
    """

    execution: ExecutionRecord
    lease_token: str
    lease_expires_at: float
    snapshot: bytes | None = field(repr=False)
    timers: tuple[TimerRecord, ...]
    tokens: tuple[TaskTokenRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease taken together with a new execution (``create_execution(lease=...)``).

    The process that starts an execution and will drive it at once takes the lease in the
    same transaction as the insert, instead of a later ``claim_runnable`` (one transaction
    less, and no wait for the claim loop). The execution then wakes at ``expires_at``, like a
    claimed one, so that another worker takes it over if this one dies.

    Attributes:
        owner: The worker that holds it.
        token: Its lease token (the caller makes it, e.g. ``secrets.token_hex(16)``).
        expires_at: When it runs out unless renewed.
    """

    owner: str
    token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing.

    Attributes:
        items: The records of this page.
        next_token: Pass it back for the next page; ``None`` on the last page.
    """

    items: tuple[T, ...]
    next_token: str | None = None
