"""The ``Store`` protocol: every operation the service needs, on every backend.

Backends (:class:`~stepline.store.MemoryStore`, :class:`~stepline.store.SqliteStore`, and the
PostgreSQL one of issue #7) implement exactly these coroutines with the same semantics; the
shared test suite in ``tests/unit/store`` holds them to it. Later issues add operations
(activities, task tokens, map runs, redrive) beside these, not instead of them.

Rules every backend keeps:

- Each call is one atomic transaction: it happens entirely or not at all.
- Names are unique per state machine (executions) and per account/region (state machines,
  through their ARN); a collision raises :class:`~stepline.store.StoreConflict` carrying the
  stored record so the service can apply AWS's idempotency rules.
- Execution work is handed out with leases. ``claim_runnable`` gives each due execution to one
  owner with a fresh ``lease_token``; ``commit_step``, ``renew_lease`` and ``release`` succeed
  only while that token is still the execution's lease (a later claim or a stop replaces or
  clears it), else raise :class:`~stepline.store.LeaseLost` and change nothing.
- An execution is due when it is not leased and its wake time (the earliest of the
  ``runnable_at`` it was released with and its timers) has come, or when its lease expired.
- History event ids are 1, 2, 3… per execution; a write that does not continue them raises
  :class:`~stepline.store.HistoryConflict`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from stepline.store._map_run_records import (
    MapRunChildRecord,
    MapRunChildStatus,
    MapRunCounts,
    MapRunRecord,
    MapRunStatus,
)
from stepline.store._records import (
    ActivityRecord,
    AliasRecord,
    ClaimedExecution,
    ExecutionRecord,
    ExecutionStatus,
    HistoryEventRecord,
    Lease,
    Page,
    PendingEvent,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StateMachineVersionRecord,
    StepCommit,
    TaskTokenRecord,
)
from stepline.store._records_shared import ServiceRecord

__all__ = ["Store"]


class Store(Protocol):
    """Persistence for state machines, versions, aliases, tags, executions and their history."""

    async def close(self) -> None:
        """Finish pending writes and release connections and threads; idempotent."""

    # -- state machines -------------------------------------------------------------------

    async def create_state_machine(
        self,
        record: StateMachineRecord,
        *,
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
        """Store a new state machine with its first revision (and version 1 when ``publish``).

        Raises:
            StoreConflict: Its ARN (so its name) is taken; ``existing`` is the stored record
                (status ``DELETING`` or not: the service decides what AWS would answer).
        """

    async def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine, or ``None``."""

    async def list_state_machines(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[StateMachineRecord]:
        """State machines in ARN (so name) order."""

    async def update_state_machine(
        self,
        arn: str,
        revision: StateMachineRevisionRecord,
        *,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
        """Make ``revision`` (a complete new revision) the current one; publish it if asked.

        Raises:
            RecordNotFound: No such state machine.
            StoreConflict: It is ``DELETING``, or the revision id is taken.
        """

    async def mark_state_machine_deleting(self, arn: str) -> StateMachineRecord | None:
        """Set status ``DELETING`` (AWS's first step of deletion); ``None`` if it is gone."""

    async def remove_state_machine(self, arn: str) -> bool:
        """Remove the state machine, its versions, aliases and tags (executions stay).

        Returns:
            Whether it existed.
        """

    async def get_revision(self, revision_id: str) -> StateMachineRevisionRecord | None:
        """A revision by id (what an execution runs), or ``None``."""

    # -- versions -------------------------------------------------------------------------

    async def publish_version(
        self,
        state_machine_arn: str,
        *,
        creation_date: float,
        description: str | None = None,
        expected_revision_id: str | None = None,
    ) -> tuple[StateMachineVersionRecord, bool]:
        """Publish the current revision as the next version, unless one already holds it.

        Returns:
            The version, and whether it was created now (``False``: the existing version of
            the current revision, AWS's idempotent answer).

        Raises:
            RecordNotFound: No such state machine.
            StoreConflict: It is ``DELETING``, or ``expected_revision_id`` is not current.
        """

    async def get_version(self, arn: str) -> StateMachineVersionRecord | None:
        """A version by ARN, or ``None``."""

    async def list_versions(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[StateMachineVersionRecord]:
        """Versions, newest first."""

    async def delete_version(self, arn: str) -> bool:
        """Delete a version; ``False`` if it did not exist.

        Raises:
            StoreConflict: An alias routes to it.
        """

    # -- aliases --------------------------------------------------------------------------

    async def create_alias(self, record: AliasRecord) -> AliasRecord:
        """Store a new alias.

        Raises:
            RecordNotFound: Its state machine or a routed version does not exist.
            StoreConflict: The name is taken (``existing`` is the alias), or the state machine
                is ``DELETING``.
        """

    async def get_alias(self, arn: str) -> AliasRecord | None:
        """An alias by ARN, or ``None``."""

    async def list_aliases(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[AliasRecord]:
        """Aliases in name order."""

    async def update_alias(self, record: AliasRecord) -> AliasRecord:
        """Replace an alias's description, routing and update date.

        Raises:
            RecordNotFound: No such alias, or a routed version does not exist.
        """

    async def delete_alias(self, arn: str) -> bool:
        """Delete an alias; ``False`` if it did not exist."""

    # -- tags -----------------------------------------------------------------------------

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags of any resource ARN (the service checks it exists)."""

    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        """Remove tags by key; absent keys are ignored."""

    async def list_tags(self, arn: str) -> dict[str, str]:
        """All tags of a resource, in key order."""

    # -- executions -----------------------------------------------------------------------

    async def create_execution(
        self,
        record: ExecutionRecord,
        events: Sequence[HistoryEventRecord],
        *,
        runnable_at: float | None,
        snapshot: bytes | None = None,
        reuse_closed_before: float | None = None,
        lease: Lease | None = None,
        parent_task_token: str | None = None,
    ) -> ExecutionRecord:
        """Store a new execution with its first events (ids 1…n), runnable at ``runnable_at``.

        Args:
            record: The execution (status ``RUNNING`` for one that will run).
            events: Its first events, ``ExecutionStarted`` usually.
            runnable_at: When a worker may claim it (``None``: not until something wakes it).
            snapshot: An initial engine snapshot, if the caller has one.
            reuse_closed_before: A closed execution of the same name that stopped before this
                time is purged (history included) and replaced (AWS's 90-day name reuse).
            lease: Lease the new execution to its caller at once, as ``claim_runnable``
                would (``runnable_at`` is then ignored: it wakes at the lease's expiry). For a
                worker that drives the execution it has just started.
            parent_task_token: The ``STARTED`` task token of the parent's ``.sync`` task that
                waits for this child (a nested workflow): linked to the child in the same
                transaction (``TaskTokenRecord.child_execution_arn``). When the child ends
                (``commit_step`` with a final status, or ``stop_execution``), that same
                transaction completes the token — ``SUCCEEDED`` if the child succeeded, else
                ``FAILED``, with ``completed_at`` the stop date — and wakes the parent.

        Returns:
            The stored record (``last_event_id`` set).

        Raises:
            StoreConflict: The name is taken; ``existing`` is the stored execution (AWS's
                idempotent StartExecution rule needs its status and input).
            HistoryConflict: ``events`` do not start at 1 or have gaps.
            TaskClosed: ``parent_task_token`` is not a ``STARTED`` token without a child
                (the parent's task was cancelled or timed out, or the parent ended); nothing
                was written.
        """

    async def get_execution(self, arn: str) -> ExecutionRecord | None:
        """An execution by ARN, or ``None``."""

    async def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        version_arn: str | None = None,
        alias_arn: str | None = None,
        map_run_arn: str | None = None,
        status: ExecutionStatus | None = None,
        max_results: int = 0,
        next_token: str | None = None,
    ) -> Page[ExecutionRecord]:
        """Executions of exactly one subject (state machine, version, alias or map run),
        newest first, optionally of one status.

        Raises:
            ValueError: Not exactly one subject given.
            InvalidPageToken: A token not made for this listing, altered, or expired.
        """

    async def get_history(
        self,
        execution_arn: str,
        *,
        reverse: bool = False,
        max_results: int = 0,
        next_token: str | None = None,
    ) -> Page[HistoryEventRecord]:
        """A page of history in id order (newest first when ``reverse``).

        Raises:
            RecordNotFound: No such execution.
            InvalidPageToken: A token not made for this listing, altered, or expired.
        """

    async def has_running_executions(self, state_machine_arn: str) -> bool:
        """Whether any execution of the state machine (any version) is ``RUNNING``."""

    # -- nested workflows (issue #6) ------------------------------------------------------

    async def orphaned_children(self, parent_execution_arn: str) -> tuple[str, ...]:
        """The ``RUNNING`` children of ``parent_execution_arn`` linked to a ``.sync`` task of
        it that no longer waits (its token is ``CLOSED``: the task was cancelled or timed
        out, or the parent ended), in ARN order — the children to stop."""

    async def stop_execution(
        self,
        execution_arn: str,
        *,
        stop_date: float,
        error: str | None,
        cause: str | None,
        events: Sequence[PendingEvent],
    ) -> tuple[ExecutionRecord, bool]:
        """Abort a running execution now, whoever holds its lease.

        Sets ``ABORTED`` with the stop date, error and cause, appends ``events`` (ids assigned
        after the last one; ``ExecutionAborted`` at least), drops its timers and clears its
        lease, so the holder's next ``commit_step``/``renew_lease`` raises ``LeaseLost``.

        Returns:
            The execution and whether this call stopped it (``False``: it was not running and
            nothing changed).

        Raises:
            RecordNotFound: No such execution.
        """

    # -- redrive (RedriveExecution) ------------------------------------------------------------

    async def redrive_execution(
        self,
        execution_arn: str,
        *,
        redrive_count: int,
        redrive_date: float,
        events: Sequence[PendingEvent],
        client_token: str | None = None,
    ) -> tuple[ExecutionRecord, float | None]:
        """Turn a closed, unsuccessful execution back into a running one, atomically.

        Only when the execution is ``FAILED``, ``TIMED_OUT`` or ``ABORTED`` and has been
        redriven ``redrive_count`` times so far (so of two concurrent redrives one wins and
        the other changes nothing): sets it ``RUNNING`` with no stop date, output, error or
        cause, one more redrive and ``redrive_date``, appends ``events`` (ids after the last
        one; ``ExecutionRedriven``), and makes it runnable at ``redrive_date`` without a lease
        (its stored snapshot stays: the worker redrives the engine from it), signalling
        ``CHANNEL_EXECUTIONS``. The client token, if given, is kept with the redrive date.

        Returns:
            The execution and the date of the redrive this call made, or of the earlier one
            ``client_token`` was used for within AWS's idempotency window (15 minutes, the
            last 10 redrives: nothing changes then); ``None`` when nothing changed.

        Raises:
            RecordNotFound: No such execution.
        """

    # -- workers --------------------------------------------------------------------------

    async def claim_runnable(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[ClaimedExecution]:
        """Lease up to ``limit`` due executions to ``owner``, earliest due first."""

    async def commit_step(self, step: StepCommit) -> None:
        """Commit one step atomically (see :class:`~stepline.store.StepCommit`).

        Raises:
            RecordNotFound: No such execution.
            LeaseLost: The lease is not the caller's any more; nothing was written.
            HistoryConflict: The events do not continue the history; nothing was written.
        """

    async def renew_lease(
        self, execution_arn: str, lease_token: str, *, lease_seconds: float, now: float
    ) -> float:
        """Extend the caller's lease to ``now + lease_seconds`` and return that.

        Raises:
            LeaseLost: The lease is not the caller's any more.
        """

    async def release(
        self, execution_arn: str, lease_token: str, *, runnable_at: float | None
    ) -> None:
        """Give the lease up; the execution wakes at the earliest of ``runnable_at`` and its
        timers.

        Raises:
            LeaseLost: The lease is not the caller's any more.
        """

    async def next_wake_at(self) -> float | None:
        """The earliest time any running execution becomes due (a worker's sleep bound)."""

    # -- activities and task tokens -------------------------------------------------------

    async def create_activity(self, record: ActivityRecord) -> tuple[ActivityRecord, bool]:
        """Store an activity unless its ARN is taken.

        Returns:
            The stored activity and whether it was created now (``False``: the existing one,
            AWS's idempotent CreateActivity).
        """

    async def get_activity(self, arn: str) -> ActivityRecord | None:
        """An activity by ARN, or ``None``."""

    async def list_activities(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[ActivityRecord]:
        """Activities in ARN (so name) order.

        Raises:
            InvalidPageToken: A token not made for this listing, altered, or expired.
        """

    async def delete_activity(self, arn: str) -> bool:
        """Delete an activity (its scheduled tasks stay); whether it existed."""

    async def take_activity_task(
        self, activity_arn: str, *, worker_name: str | None, now: float
    ) -> TaskTokenRecord | None:
        """Hand the oldest ``SCHEDULED`` task of a running execution for the activity to one
        caller: it becomes ``STARTED`` with the worker's name (a conditional update, so each
        task goes to exactly one caller), its heartbeat clock starts (``heartbeat_due`` is
        ``now + heartbeat_seconds`` when it has ``HeartbeatSeconds``), and its execution is
        woken to record ``ActivityStarted``. ``None`` when there is none."""

    async def complete_task(
        self,
        token: str,
        *,
        failed: bool,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
        now: float,
    ) -> TaskTokenRecord:
        """Store the outcome of a ``STARTED`` task (SendTaskSuccess/Failure) and wake its
        execution. Exactly one completion of a token succeeds.

        Raises:
            RecordNotFound: No such token, or an activity task no worker has taken yet.
            TaskClosed: It is completed or closed already, a deadline (``timeout_at``,
                ``heartbeat_due``) has passed, or its execution is not running.
        """

    async def heartbeat_task(self, token: str, *, now: float) -> TaskTokenRecord:
        """Move a ``STARTED`` task's ``heartbeat_due`` to ``now + heartbeat_seconds``.

        Raises:
            RecordNotFound: As for :meth:`complete_task`.
            TaskClosed: As for :meth:`complete_task`.
        """

    # >>> scale-out (issue #7): shared service records and cross-process pacing -------------

    async def service_records_generation(self, kind: str) -> int:
        """How many changes the records of ``kind`` have seen (0: none): one cheap read that
        tells a process whether its copy is stale."""

    async def list_service_records(self, kind: str) -> tuple[int, tuple[ServiceRecord, ...]]:
        """The generation of ``kind`` and all its records in name order, read together."""

    async def put_service_record(
        self,
        kind: str,
        name: str,
        document: str,
        *,
        secret: bytes | None,
        expected_version: int | None,
    ) -> ServiceRecord:
        """Create the record (``expected_version`` None) or replace it at that version.

        Raises:
            StoreConflict: It exists already, or is gone or at another version (``existing``
                is the stored record or ``None``): someone changed it meanwhile.
        """

    async def delete_service_record(
        self, kind: str, name: str, *, expected_version: int | None = None
    ) -> bool:
        """Delete a record (only at ``expected_version`` when given); whether it existed.

        Raises:
            StoreConflict: ``expected_version`` is given and is not the stored one.
        """

    async def take_pacing_token(self, key: str, *, rate: float, burst: float, now: float) -> float:
        """Take a token from ``key``'s bucket (``rate`` per second, at most ``burst``, full
        when new), shared by every process: 0.0 when taken, else the seconds to wait before
        asking again."""

    async def acquire_pacing_slot(
        self,
        key: str,
        slot_id: str,
        *,
        owner: str,
        limit: int,
        expires_at: float,
        now: float,
    ) -> bool:
        """Hold one of ``limit`` concurrency slots of ``key`` (``slot_id`` names this hold)
        until ``expires_at`` unless released or renewed; ``False`` when all are held. Slots
        past their expiry (their process died) are free."""

    async def release_pacing_slot(self, slot_id: str) -> None:
        """Give a slot back; nothing happens if it is gone already."""

    async def renew_pacing_slots(self, owner: str, *, expires_at: float) -> int:
        """Extend every slot ``owner`` holds to ``expires_at``; how many it holds."""

    # <<< scale-out

    # -- wake-up signals (issue #7) ----------------------------------------------------------

    def subscribe(self, channel: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` on the event loop whenever ``channel`` is signalled by this or any
        other process sharing the store; returns the function that unsubscribes.

        Channels are :data:`~stepline.store.CHANNEL_EXECUTIONS` and
        :data:`~stepline.store.CHANNEL_ACTIVITIES`; the store signals them itself in the
        transactions that cause them (callers need not). Signals are hints, coalesced until
        the callback runs and lost while a backend reconnects: subscribers must still poll.
        Call it from the event loop that should run ``callback``.

        Raises:
            ValueError: An unknown channel.
        """

    async def signal(self, channel: str) -> None:
        """Signal ``channel`` to every subscriber of every process sharing the store.

        Raises:
            ValueError: An unknown channel.
        """

    # -- Distributed Map: map runs (begin) ------------------------------------------------

    async def create_map_run(
        self,
        record: MapRunRecord,
        inputs: Sequence[tuple[int, str]],
        revision: StateMachineRevisionRecord,
    ) -> tuple[MapRunRecord, bool]:
        """Store a map run with one PENDING child per ``(item count, input text)``, and the
        revision its children run (kept if its id exists), unless the ARN is taken.

        Returns:
            The stored map run and whether it was created now (``False``: the existing one,
            e.g. a start repeated after a restart).
        """

    async def get_map_run(self, arn: str) -> MapRunRecord | None:
        """A map run by ARN, or ``None``."""

    async def list_map_runs(
        self, execution_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[MapRunRecord]:
        """The map runs an execution started, newest first.

        Raises:
            InvalidPageToken: A token not made for this listing, altered, or expired.
        """

    async def running_map_runs(self) -> list[MapRunRecord]:
        """Every map run still ``RUNNING`` (a service takes them up when it starts)."""

    async def update_map_run(
        self,
        arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_count: int | None = None,
        tolerated_failure_percentage: float | None = None,
    ) -> MapRunRecord:
        """Change a map run's limits (``None`` keeps one); the updated record.

        Raises:
            RecordNotFound: No such map run.
        """

    async def lease_map_run(self, arn: str, *, owner: str, until: float, now: float) -> bool:
        """Lease a RUNNING map run to ``owner`` until ``until`` (the one process that drives
        it); renews the owner's own lease. ``until <= now`` gives it up.

        Returns:
            Whether ``owner`` holds it now (``False``: another owner's lease has not expired,
            or the map run is not RUNNING or does not exist).
        """

    async def map_run_parent_waits(self, arn: str) -> bool:
        """Whether the map run's parent execution still runs and waits for it (its task token
        is open): ``False`` once the parent stopped, ended or moved on (the map-run state was
        cancelled with its branch), or for an unknown map run."""

    async def map_run_counts(self, arn: str) -> MapRunCounts:
        """Children and items per status, recomputed from the children."""

    async def map_run_children(
        self, arn: str, *, status: MapRunChildStatus | None = None, limit: int = 0
    ) -> list[MapRunChildRecord]:
        """Children in position order; of one status and at most ``limit`` (0: all) if given."""

    async def start_map_run_children(
        self,
        arn: str,
        children: Sequence[tuple[int, str]],
        *,
        executions: Sequence[tuple[ExecutionRecord, HistoryEventRecord]] = (),
        now: float,
    ) -> list[int]:
        """Mark PENDING children ``(position, execution ARN)`` RUNNING and, in the same
        transaction, store the Standard child ``executions`` (runnable now, with their
        ``ExecutionStarted`` event; one that exists already is left as it is).

        Returns:
            The positions started now (a child that was not PENDING is not started again).
        """

    async def record_map_run_results(
        self, arn: str, results: Sequence[tuple[int, str, str | None, str | None, str | None]]
    ) -> int:
        """Store ``(position, status, output, error, cause)`` of RUNNING children; how many
        were recorded now (a child's outcome is recorded once)."""

    async def ended_map_run_children(
        self, arn: str, *, limit: int = 1000
    ) -> list[tuple[int, str, str | None, str | None, str | None]]:
        """RUNNING children whose execution (Standard) has ended, with its outcome as
        ``(position, status, output, error, cause)``, in position order."""

    async def finish_map_run(
        self,
        arn: str,
        *,
        status: MapRunStatus,
        stop_date: float,
        error: str | None = None,
        cause: str | None = None,
        output: str | None = None,
    ) -> TaskTokenRecord | None:
        """End a RUNNING map run (children not ended become ABORTED) and, in the same
        transaction, complete the parent's task token with its outcome (``output`` when
        ``SUCCEEDED``, else ``error``/``cause``; nothing for ``ABORTED``).

        Returns:
            The completed token record, or ``None`` (the map run had ended already, or the
            token is closed: the parent stopped or moved on).

        Raises:
            RecordNotFound: No such map run.
        """

    async def redrive_map_run(self, arn: str, *, task_token: str, now: float) -> MapRunRecord:
        """Make a FAILED or ABORTED map run RUNNING again: its unsuccessful children become
        PENDING (keeping their ``execution_arn``: Standard children are redriven in place),
        ``redrive_count`` goes up, ``redrive_date`` is ``now``, and its outcome will complete
        ``task_token``.

        Raises:
            RecordNotFound: No such map run.
            StoreConflict: It is RUNNING or SUCCEEDED.
        """

    # -- Distributed Map: map runs (end) --------------------------------------------------
