"""Driving one claimed execution durably: restore, step, commit, release.

A :class:`ClaimedRun` holds the lease a worker got from ``claim_runnable``. It rebuilds the
engine's :class:`~stepline.engine.Execution` (from the last committed snapshot, or from the
execution's input when it has not run yet — its ``ExecutionStarted`` event is already stored
by StartExecution, so the engine's own is dropped), re-runs the tasks that were in flight
(at-least-once), and then repeats: feed outcomes and due timers to the engine, advance it,
commit ONE :class:`~stepline.store.StepCommit` (new events, snapshot, timers, final status),
until the execution ends or only time can move it on. Then the lease is released with the
execution's next wake-up stored (its earliest timer, or its deadline): nothing waits in memory
for a Wait state or a retry back-off.

Tasks that wait for a token (``.waitForTaskToken`` callbacks, activity tasks) are stored with
the step that schedules them (see :mod:`stepline.service._worker_tokens`) instead of being run;
a callback's base resource is called only after that commit (so the token it hands out is
known to SendTaskSuccess), and the execution is released while it waits. The claim that
follows an outcome, a worker taking an activity task, or a deadline feeds it to the engine.
A run that holds the lease meanwhile (a sibling branch's task in flight) hears of outcomes and
takes stored by this process's operations at once (``ExecutionHub.token_runs``); those of
another process, and token deadlines, wait for its release.

While tasks run, the run keeps its lease (renewing it at half its length) and fires timers
that come due meanwhile itself. A ``LeaseLost`` (another worker took over after an expiry, or
StopExecution cleared the lease) ends the run at once: its tasks are cancelled and nothing
more is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from typing import Final

from stepline.asl._json import loads
from stepline.engine import Execution, ExecutionIdentity, TaskEffect, TimerEffect
from stepline.engine._snapshot import decode_snapshot, encode_snapshot
from stepline.engine._tasks import base_resource, is_activity
from stepline.service._context import ServiceContext
from stepline.service._exec_ends import execution_ended, stop_orphaned_children
from stepline.service._exec_events import event_records
from stepline.service._exec_hub import hub_of
from stepline.service._logs import ExecutionLog
from stepline.service._nested_outcome import child_outcomes
from stepline.service._sm_common import remove_if_idle
from stepline.service._worker_tasks import Outcome, Settled, run_task
from stepline.service._worker_tokens import new_token_record, read_claimed_tokens
from stepline.store import (
    ClaimedExecution,
    HistoryConflict,
    HistoryEventRecord,
    LeaseLost,
    RecordNotFound,
    StateMachineRevisionRecord,
    StepCommit,
    StoreError,
    TaskTokenRecord,
    TimerRecord,
)
from stepline.tasks._nested import SYNC_RESOURCES

__all__ = ["ClaimedRun", "HistoryLimitReached"]

_log = logging.getLogger("stepline.service.worker")

HISTORY_LIMIT_ERROR: Final = "States.Runtime"
_LOAD_ERROR: Final = "States.Runtime"


class HistoryLimitReached(Exception):
    """Raised by the run's clock when the engine is about to record one event too many."""


class _GuardedClock:
    """The engine's clock for a durable run: the worker's time, and the history quota's guard.

    The engine reads the clock right before it records an event, so refusing to tell the time
    once the history is full stops even a run of states that never waits (an endless
    Pass/Choice loop) after at most ``limit`` events.
    """

    __slots__ = ("execution", "limit", "time")

    def __init__(self, time: Callable[[], float], limit: int) -> None:
        self.time = time
        self.limit = limit
        self.execution: Execution | None = None

    def __call__(self) -> float:
        execution = self.execution
        if execution is not None and execution.event_count >= self.limit:
            raise HistoryLimitReached
        return self.time()


class ClaimedRun:
    """One claimed execution, driven until it ends, waits on time only, or is lost.

    Args:
        context: The service context (store, tasks, compiled definitions, limits).
        claim: What ``claim_runnable`` handed out (or StartExecution, for an execution it
            inserted leased to this worker).
        clock: The worker's clock (epoch seconds); also the engine's.
        revision: The revision the execution runs, when the caller has it (else it is read).
    """

    def __init__(
        self,
        context: ServiceContext,
        claim: ClaimedExecution,
        clock: Callable[[], float],
        *,
        revision: StateMachineRevisionRecord | None = None,
    ) -> None:
        self.context = context
        self.claim = claim
        self.clock = clock
        self.revision = revision
        self.ended = False
        """Whether the execution reached a terminal status in this run."""
        self.arn = claim.execution.arn
        self.token = claim.lease_token
        self.lease_expires_at = claim.lease_expires_at
        self.last_event_id = claim.execution.last_event_id
        self.running: dict[int, asyncio.Future[Outcome]] = {}
        self.timers: dict[int, float] = {}
        self.stored_timers: set[str] = {timer.timer_id for timer in claim.timers}
        self.open_tokens: dict[int, str] = {}
        """Effect id → token of the tasks waiting for their token."""
        self.submitting: set[int] = set()
        """Callbacks whose base resource call is in flight (its outcome is a submission)."""
        self.to_submit: list[TaskEffect] = []
        self.tokens_add: list[TaskTokenRecord] = []
        self.tokens_reported: list[str] = []
        self.tokens_close: list[str] = []
        self.token_news: list[TaskTokenRecord] = []
        self.early_outcomes: dict[int, Outcome] = {}
        """Token outcomes that arrived while their submission call was still in flight."""
        """Token records this process's operations stored while the run holds the lease."""
        self.token_wake: asyncio.Future[None] | None = None
        self.child_waits: set[str] = set()
        """Tokens of ``.sync`` nested workflow tasks (closing one may orphan its child)."""
        self.log: ExecutionLog | None = None
        """Where committed events are logged (``None``: its logging level is ``OFF``)."""

    # ------------------------------------------------------------------------------ loading

    async def _load(self) -> Execution | None:
        """The engine execution, or ``None`` after failing an execution that cannot load."""
        record = self.claim.execution
        config = self.context.config
        revision = self.revision
        if revision is None or revision.revision_id != record.revision_id:
            revision = await self.context.store.get_revision(record.revision_id)
        if revision is None:
            await self._fail_unloadable(
                f"The state machine revision {record.revision_id!r} this execution runs is gone."
            )
            return None
        self.log = self.context.execution_logs.for_revision(
            revision, record.arn, redrive_count=record.redrive_count
        )
        if self.log is not None and self.claim.snapshot is None and record.redrive_count == 0:
            self.log.started(record, revision.role_arn)
        guard = _GuardedClock(self.clock, config.max_history_events)
        identity = ExecutionIdentity(record.state_machine_arn, record.arn, revision.role_arn)
        try:
            compiled = self.context.compiled(revision.revision_id, revision.definition)
            if self.claim.snapshot is None:
                start = record.start_date
                execution = Execution(
                    compiled,
                    loads(record.input),
                    identity,
                    lambda: start,
                    max_payload_bytes=config.max_payload_bytes,
                    keep_events=False,
                )
                execution.region = config.region
                # StartExecution stored ExecutionStarted (id 1) already.
                execution.take_new_events()
                execution.now = guard
            else:
                execution = Execution.restore(
                    compiled,
                    decode_snapshot(self.claim.snapshot),
                    identity,
                    guard,
                    max_payload_bytes=config.max_payload_bytes,
                    keep_events=False,
                )
            if execution.redrive_count < record.redrive_count:
                # RedriveExecution stored ExecutionRedriven (the last event) already.
                execution.redrive(record.redrive_count, previous_event_id=record.last_event_id - 1)
                execution.take_new_events()
        except Exception as exc:  # an invalid definition, a damaged snapshot, a bad input
            _log.error("execution %s cannot be loaded: %s", record.arn, exc)
            await self._fail_unloadable(f"The execution cannot be resumed: {exc}")
            return None
        # `.sync` nested workflows wait for their child on a token, durably (no lease held).
        execution.token_resources = SYNC_RESOURCES
        guard.execution = execution
        # Distributed Map states start map runs of child executions (the service runs them).
        execution.distributed_map_runs = True
        return execution

    async def _fail_unloadable(self, cause: str) -> None:
        now = self.clock()
        event = HistoryEventRecord(
            self.last_event_id + 1,
            self.last_event_id,
            now,
            "ExecutionFailed",
            _failed_details(_LOAD_ERROR, cause),
        )
        await self.context.store.commit_step(
            StepCommit(
                self.arn,
                self.token,
                events=(event,),
                status="FAILED",
                stop_date=now,
                error=_LOAD_ERROR,
                cause=cause,
            )
        )
        if self.log is not None:
            self.log.records((event,))
        self.ended = True
        execution_ended(self.context, self.arn)
        await remove_if_idle(self.context, self.claim.execution.state_machine_arn)

    # ------------------------------------------------------------------------------ driving

    async def drive(self) -> None:
        """Drive the execution until it ends, waits on time only, or the lease is lost."""
        hub = hub_of(self.context)
        hub.token_runs[self.arn] = self._token_changed
        try:
            execution = await self._load()
            if execution is None:
                return
            tokens = self.claim.tokens
            if tokens:
                tokens = await child_outcomes(self.context, tokens, execution)
            outcomes = self._resume(execution, tokens)
            while True:
                if not await self._step(execution, outcomes):
                    return
                outcomes = await self._wait(execution)
        except (LeaseLost, HistoryConflict, RecordNotFound) as lost:
            _log.debug("dropping execution %s: %s", self.arn, lost)
        except asyncio.CancelledError:
            # Shutdown or StopExecution: give the lease back (refused after a stop; harmless).
            with contextlib.suppress(StoreError):
                await self.context.store.release(self.arn, self.token, runnable_at=self.clock())
            raise
        except Exception:
            _log.exception("worker failed driving execution %s; releasing it", self.arn)
            with contextlib.suppress(StoreError):
                await self.context.store.release(
                    self.arn,
                    self.token,
                    runnable_at=self.clock() + self.context.config.lease_seconds,
                )
        finally:
            if hub.token_runs.get(self.arn) == self._token_changed:
                del hub.token_runs[self.arn]
            for future in self.running.values():
                future.cancel()

    def _resume(self, execution: Execution, tokens: tuple[TaskTokenRecord, ...]) -> list[Outcome]:
        """Take up the restored effects and the claim's tokens (ended children's outcomes
        filled in); the outcomes to feed first."""
        waiting: set[int] = set()
        for effect in execution.outstanding():
            if isinstance(effect, TimerEffect):
                self.timers[effect.id] = effect.due
            elif effect.task_token is None:
                self._start(effect)
            else:
                waiting.add(effect.id)
                if effect.resource in SYNC_RESOURCES:
                    self.child_waits.add(effect.task_token)
        claimed = read_claimed_tokens(execution, tokens, waiting, self.clock())
        self.open_tokens.update(claimed.open)
        self.tokens_reported.extend(claimed.reported)
        self.tokens_close.extend(claimed.close)
        for effect in execution.outstanding():
            if (
                isinstance(effect, TaskEffect)
                and effect.id in claimed.open
                and not is_activity(effect.resource)
                and execution.task_progress(effect.id) is None
            ):
                # Called before, but TaskSubmitted was not committed: call again
                # (at-least-once, like any task re-run after a restore).
                self.to_submit.append(effect)
        return claimed.outcomes

    def _token_changed(self, record: TaskTokenRecord) -> None:
        """A token of this execution changed in the store (SendTask*, GetActivityTask)."""
        if self.open_tokens.get(record.effect_id) != record.token:
            return
        self.token_news.append(record)
        wake = self.token_wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _take_token_news(self, execution: Execution) -> list[Outcome]:
        """Feed what the operations told the run about its tokens (see :meth:`_resume`)."""
        news, self.token_news = tuple(self.token_news), []
        claimed = read_claimed_tokens(execution, news, set(self.open_tokens), self.clock())
        for token in claimed.close:
            for effect_id, open_token in list(self.open_tokens.items()):
                if open_token == token:
                    del self.open_tokens[effect_id]
        self.tokens_reported.extend(claimed.reported)
        self.tokens_close.extend(claimed.close)
        outcomes = []
        for outcome in claimed.outcomes:
            if outcome[0] in self.submitting:
                # Completed before its submission call returned (a map run of instant
                # children, a fast callback): fed right after the submission.
                self.early_outcomes[outcome[0]] = outcome
            else:
                outcomes.append(outcome)
        return outcomes

    def _start(self, effect: TaskEffect) -> None:
        if effect.task_token is not None:
            # Stored with this step's commit; a callback's resource is called after it.
            self.tokens_add.append(new_token_record(effect, self.arn, self.clock()))
            self.open_tokens[effect.id] = effect.task_token
            if effect.resource in SYNC_RESOURCES:
                self.child_waits.add(effect.task_token)
            if not is_activity(effect.resource):
                self.to_submit.append(effect)
            return
        self.running[effect.id] = asyncio.ensure_future(run_task(self.context.tasks, effect))

    def _submit(self, effect: TaskEffect) -> None:
        """Call a callback's base resource (its outcome is fed as the submission)."""
        base = dataclasses.replace(effect, resource=base_resource(effect.resource))
        self.submitting.add(effect.id)
        self.running[effect.id] = asyncio.ensure_future(run_task(self.context.tasks, base))

    def _advance(self, execution: Execution, outcomes: list[Outcome]) -> list[int]:
        """Feed outcomes and due timers, advance; return the ids of timers fired or dropped."""
        gone: list[int] = []
        running, timers, clock = self.running, self.timers, self.clock
        pending = list(outcomes)
        while pending:
            effect_id, result, error, cause, retry_after = pending.pop(0)
            if effect_id in self.submitting:
                self.submitting.discard(effect_id)
                early = self.early_outcomes.pop(effect_id, None)
                if isinstance(result, Settled):
                    # The base call settled the task itself (an Express `.sync` child).
                    execution.task_submitted(effect_id, result.submitted)
                    result, error, cause = result.result, result.error, result.cause
                elif error is None:
                    execution.task_submitted(effect_id, result)
                    if early is not None:
                        pending.insert(0, early)
                    continue
                # The base resource failed (so does the task) or settled it: the token is
                # used up.
                token = self.open_tokens.pop(effect_id, None)
                if token is not None:
                    self.tokens_close.append(token)
                    self.child_waits.discard(token)
            elif effect_id in self.open_tokens:
                self.open_tokens.pop(effect_id)
            execution.complete_task(
                effect_id, result, error=error, cause=cause, retry_after=retry_after
            )
        while True:
            now = clock()
            if execution.deadline is not None and now >= execution.deadline:
                execution.time_out()
            else:
                for effect_id in sorted(
                    (i for i, due in timers.items() if due <= now), key=timers.__getitem__
                ):
                    del timers[effect_id]
                    gone.append(effect_id)
                    execution.fire_timer(effect_id)
                for effect in execution.advance():
                    if isinstance(effect, TimerEffect):
                        timers[effect.id] = effect.due
                    else:
                        self._start(effect)
            for effect_id in execution.take_cancelled():
                future = running.pop(effect_id, None)
                if future is not None:
                    future.cancel()
                self.submitting.discard(effect_id)
                token = self.open_tokens.pop(effect_id, None)
                if token is not None:
                    self.tokens_close.append(token)
                    self.to_submit = [e for e in self.to_submit if e.id != effect_id]
                if timers.pop(effect_id, None) is not None:
                    gone.append(effect_id)
            if execution.done:
                return gone
            # A timer due already (a zero-second Wait) fires in this step, not after a round
            # trip through the store.
            now = clock()
            if not any(due <= now for due in timers.values()):
                return gone

    async def _step(self, execution: Execution, outcomes: list[Outcome]) -> bool:
        """One step and its commit; whether the run goes on (tasks still in flight)."""
        history_full = False
        try:
            gone = self._advance(execution, outcomes)
        except HistoryLimitReached:
            history_full, gone = True, []
        events = execution.take_new_events()
        limit = self.context.config.max_history_events
        if events and events[-1].id >= limit:
            last = events[-1]
            if not (last.id == limit and last.type == "ExecutionSucceeded" and not history_full):
                history_full = True
        if history_full:
            await self._fail_history_full(event_records(e for e in events if e.id < limit))
            return False
        added = tuple(
            TimerRecord(str(effect_id), due)
            for effect_id, due in self.timers.items()
            if str(effect_id) not in self.stored_timers
        )
        removed = tuple(str(i) for i in gone if str(i) in self.stored_timers)
        done = execution.done
        store = self.context.store
        tokens_add, self.tokens_add = tuple(self.tokens_add), []
        tokens_reported, self.tokens_reported = tuple(self.tokens_reported), []
        tokens_close, self.tokens_close = tuple(self.tokens_close), []
        to_submit, self.to_submit = ([] if done else self.to_submit), []
        tokens_changed = bool(tokens_add or tokens_reported or tokens_close)
        if not events and not added and not removed and not done and not tokens_changed:
            for effect in to_submit:
                self._submit(effect)
            if self.running:
                return True  # nothing to record; the lease is still held for the tasks
            await store.release(self.arn, self.token, runnable_at=execution.deadline)
            return False
        keep_lease = bool(self.running or to_submit) and not done
        now = self.clock()
        step = StepCommit(
            self.arn,
            self.token,
            events=event_records(events),
            # A closed, unsuccessful execution keeps the snapshot of its end: a redrive
            # continues from it.
            snapshot=None
            if done and execution.status == "SUCCEEDED"
            else encode_snapshot(execution.snapshot()),
            status=execution.status if done else None,
            stop_date=execution.stop_time if done else None,
            output=execution.output_json if done else None,
            error=execution.error if done else None,
            cause=execution.cause if done else None,
            timers_add=added,
            timers_remove=removed,
            runnable_at=None if keep_lease else execution.deadline,
            keep_lease_until=now + self.context.config.lease_seconds if keep_lease else None,
            tokens_add=tokens_add,
            tokens_reported=tokens_reported,
            tokens_close=tokens_close,
        )
        await store.commit_step(step)
        if any(record.activity_arn is not None for record in tokens_add):
            hub_of(self.context).activity_scheduled()
        if self.child_waits and (done or not self.child_waits.isdisjoint(tokens_close)):
            # A .sync task stopped waiting (cancelled, timed out, or the execution ended):
            # its child, wherever it runs, is stopped.
            await stop_orphaned_children(self.context, self.arn)
            self.child_waits.difference_update(tokens_close)
        for effect in to_submit:
            self._submit(effect)
        if self.log is not None:
            self.log.records(step.events)
        if events:
            self.last_event_id = events[-1].id
        if keep_lease:
            self.lease_expires_at = now + self.context.config.lease_seconds
        self.stored_timers.difference_update(removed)
        self.stored_timers.update(timer.timer_id for timer in added)
        if done:
            self.ended = True
            execution_ended(self.context, self.arn)
            if self.claim.execution.parent_execution_arn is not None:
                # The commit completed a .sync parent's task (if one waits) and made the parent
                # due: claim it now rather than at the next poll.
                hub_of(self.context).wake()
            await remove_if_idle(self.context, self.claim.execution.state_machine_arn)
            return False
        if (
            not self.running
            and not self.timers
            and not self.open_tokens
            and execution.deadline is None
        ):
            _log.error("execution %s is running but waits on nothing", self.arn)
        return keep_lease

    async def _fail_history_full(self, kept: tuple[HistoryEventRecord, ...]) -> None:
        limit = self.context.config.max_history_events
        previous = kept[-1].id if kept else self.last_event_id
        cause = (
            f"The execution reached the maximum execution history size of {limit} events. "
            "Split long loops into nested executions (or raise max_history_events)."
        )
        now = self.clock()
        failed = HistoryEventRecord(
            previous + 1,
            previous,
            now,
            "ExecutionFailed",
            _failed_details(HISTORY_LIMIT_ERROR, cause),
        )
        await self.context.store.commit_step(
            StepCommit(
                self.arn,
                self.token,
                events=(*kept, failed),
                status="FAILED",
                stop_date=now,
                error=HISTORY_LIMIT_ERROR,
                cause=cause,
            )
        )
        if self.log is not None:
            self.log.records((*kept, failed))
        self.ended = True
        execution_ended(self.context, self.arn)
        for future in self.running.values():
            future.cancel()
        if self.child_waits:
            await stop_orphaned_children(self.context, self.arn)
        await remove_if_idle(self.context, self.claim.execution.state_machine_arn)

    async def _wait(self, execution: Execution) -> list[Outcome]:
        """Wait for task outcomes, a due timer or the deadline, renewing the lease meanwhile."""
        lease_seconds = self.context.config.lease_seconds
        while True:
            if self.token_news:
                return self._take_token_news(execution)
            now = self.clock()
            renew_at = self.lease_expires_at - lease_seconds / 2
            wake_at = min(self.timers.values(), default=renew_at)
            if execution.deadline is not None:
                wake_at = min(wake_at, execution.deadline)
            wake_at = min(wake_at, renew_at)
            wake = self.token_wake = asyncio.get_running_loop().create_future()
            try:
                done, _ = await asyncio.wait(
                    [*self.running.values(), wake],
                    timeout=max(wake_at - now, 0.0),
                    return_when=FIRST_COMPLETED,
                )
            finally:
                self.token_wake = None
                wake.cancel()
            done.discard(wake)
            outcomes = self._take_token_news(execution) if self.token_news else []
            if done:
                for effect_id in [i for i, future in self.running.items() if future.done()]:
                    outcomes.append(self.running.pop(effect_id).result())
                return outcomes
            if outcomes or self.tokens_reported or self.tokens_close:
                return outcomes
            now = self.clock()
            if now >= renew_at:
                self.lease_expires_at = await self.context.store.renew_lease(
                    self.arn, self.token, lease_seconds=lease_seconds, now=now
                )
            if any(due <= now for due in self.timers.values()) or (
                execution.deadline is not None and now >= execution.deadline
            ):
                return []


def _failed_details(error: str, cause: str) -> str:
    import orjson

    return orjson.dumps({"error": error, "cause": cause}).decode()
