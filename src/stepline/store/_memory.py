"""``MemoryStore``: the store in process memory, for tests, Express and ``stepline run``.

Same semantics as the durable backends, leases included, and nothing persisted. Every method
runs to completion without awaiting, so on one event loop each call is atomic without locks.
"""

from __future__ import annotations

import bisect
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from stepline.store._errors import RecordNotFound, StoreClosed, StoreConflict
from stepline.store._memory_maps import MemoryMapRunsMixin
from stepline.store._memory_redrive import MemoryRedriveMixin
from stepline.store._memory_shared import MemorySharedMixin
from stepline.store._memory_tokens import MemoryTokensMixin
from stepline.store._paging import PageTokens, page_size
from stepline.store._records import (
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
    TimerRecord,
)
from stepline.store._rules import (
    check_continuation,
    check_step,
    lease_lost,
    numbered,
    one_subject,
    sorted_timers,
)
from stepline.store._signals import CHANNEL_EXECUTIONS, LocalSignals, due_now

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Run:
    """The mutable side of one execution."""

    seq: int
    record: ExecutionRecord
    events: list[HistoryEventRecord]
    snapshot: bytes | None
    timers: dict[str, TimerRecord] = field(default_factory=dict)
    wake_at: float | None = None
    lease_owner: str | None = None
    lease_token: str | None = None
    lease_expires_at: float | None = None
    redrives: list[tuple[str, float]] = field(default_factory=list)  # (client token, date)


@dataclass(slots=True)
class _Machine:
    record: StateMachineRecord
    next_version: int = 1


class MemoryStore(MemoryTokensMixin, MemoryRedriveMixin, MemoryMapRunsMixin, MemorySharedMixin):
    """The in-memory :class:`~stepline.store.Store`."""

    def __init__(self) -> None:
        self._machines: dict[str, _Machine] = {}
        self._revisions: dict[str, StateMachineRevisionRecord] = {}
        self._versions: dict[str, StateMachineVersionRecord] = {}
        self._aliases: dict[str, AliasRecord] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._runs: dict[str, _Run] = {}
        self._seq = 0
        self._tokens = PageTokens(secrets.token_bytes(32))
        self._closed = False
        self._signals = LocalSignals()
        self._init_task_tokens()
        self._init_map_runs()
        self._init_shared()  # scale-out: shared records and pacing

    async def close(self) -> None:
        """Mark the store closed (the data goes with the object)."""
        self._closed = True

    def _open(self) -> None:
        if self._closed:
            raise StoreClosed

    # -- state machines -------------------------------------------------------------------

    def _add_revision(self, revision: StateMachineRevisionRecord) -> None:
        if revision.revision_id in self._revisions:
            raise StoreConflict(f"Revision id {revision.revision_id!r} is already used.")
        self._revisions[revision.revision_id] = revision

    def _publish(
        self, machine: _Machine, creation_date: float, description: str | None
    ) -> StateMachineVersionRecord:
        number = machine.next_version
        machine.next_version += 1
        version = StateMachineVersionRecord(
            arn=f"{machine.record.arn}:{number}",
            state_machine_arn=machine.record.arn,
            version=number,
            creation_date=creation_date,
            revision=machine.record.revision,
            description=description,
        )
        self._versions[version.arn] = version
        return version

    async def create_state_machine(
        self,
        record: StateMachineRecord,
        *,
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
        self._open()
        existing = self._machines.get(record.arn)
        if existing is not None:
            raise StoreConflict(
                f"A state machine named {record.name!r} already exists ({record.arn}).",
                existing.record,
            )
        self._add_revision(record.revision)
        machine = _Machine(record)
        self._machines[record.arn] = machine
        if tags:
            self._tags.setdefault(record.arn, {}).update(tags)
        version = (
            self._publish(machine, record.creation_date, version_description) if publish else None
        )
        return record, version

    async def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        self._open()
        machine = self._machines.get(arn)
        return None if machine is None else machine.record

    async def list_state_machines(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[StateMachineRecord]:
        self._open()
        size = page_size(max_results)
        after = self._tokens.read(next_token, "sm", [])[0] if next_token else None
        arns = sorted(self._machines)
        start = 0 if after is None else bisect.bisect_right(arns, after)
        chosen = arns[start : start + size]
        token = None
        if start + size < len(arns):
            token = self._tokens.make("sm", [], [chosen[-1]])
        return Page(tuple(self._machines[arn].record for arn in chosen), token)

    async def update_state_machine(
        self,
        arn: str,
        revision: StateMachineRevisionRecord,
        *,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
        self._open()
        machine = self._machines.get(arn)
        if machine is None:
            raise RecordNotFound("state machine", arn)
        if machine.record.status != "ACTIVE":
            raise StoreConflict(f"State machine {arn!r} is being deleted.", machine.record)
        self._add_revision(revision)
        machine.record = replace(machine.record, revision=revision)
        version = (
            self._publish(machine, revision.update_date, version_description) if publish else None
        )
        return machine.record, version

    async def mark_state_machine_deleting(self, arn: str) -> StateMachineRecord | None:
        self._open()
        machine = self._machines.get(arn)
        if machine is None:
            return None
        machine.record = replace(machine.record, status="DELETING")
        return machine.record

    async def remove_state_machine(self, arn: str) -> bool:
        self._open()
        if self._machines.pop(arn, None) is None:
            return False
        for version_arn in [v.arn for v in self._versions.values() if v.state_machine_arn == arn]:
            del self._versions[version_arn]
        for alias_arn in [a.arn for a in self._aliases.values() if a.state_machine_arn == arn]:
            del self._aliases[alias_arn]
        self._tags.pop(arn, None)
        return True

    async def get_revision(self, revision_id: str) -> StateMachineRevisionRecord | None:
        self._open()
        return self._revisions.get(revision_id)

    # -- versions -------------------------------------------------------------------------

    async def publish_version(
        self,
        state_machine_arn: str,
        *,
        creation_date: float,
        description: str | None = None,
        expected_revision_id: str | None = None,
    ) -> tuple[StateMachineVersionRecord, bool]:
        self._open()
        machine = self._machines.get(state_machine_arn)
        if machine is None:
            raise RecordNotFound("state machine", state_machine_arn)
        if machine.record.status != "ACTIVE":
            raise StoreConflict(f"State machine {state_machine_arn!r} is being deleted.")
        current = machine.record.revision_id
        if expected_revision_id is not None and expected_revision_id != current:
            raise StoreConflict(
                f"Revision {expected_revision_id!r} is not the current revision of state "
                f"machine {state_machine_arn!r}; describe it again and retry."
            )
        for version in self._versions.values():
            if version.state_machine_arn == state_machine_arn and (
                version.revision.revision_id == current
            ):
                return version, False
        return self._publish(machine, creation_date, description), True

    async def get_version(self, arn: str) -> StateMachineVersionRecord | None:
        self._open()
        return self._versions.get(arn)

    async def list_versions(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[StateMachineVersionRecord]:
        self._open()
        size = page_size(max_results)
        listing = [state_machine_arn]
        after = self._tokens.read(next_token, "ver", listing)[0] if next_token else None
        versions = sorted(
            (v for v in self._versions.values() if v.state_machine_arn == state_machine_arn),
            key=lambda v: -v.version,
        )
        if after is not None:
            versions = [v for v in versions if v.version < after]
        chosen = versions[:size]
        token = (
            self._tokens.make("ver", listing, [chosen[-1].version])
            if len(versions) > size
            else None
        )
        return Page(tuple(chosen), token)

    async def delete_version(self, arn: str) -> bool:
        self._open()
        if arn not in self._versions:
            return False
        for alias in self._aliases.values():
            if any(version_arn == arn for version_arn, _ in alias.routing):
                raise StoreConflict(
                    f"Version {arn!r} is used by alias {alias.arn!r}; update or delete the "
                    "alias first."
                )
        del self._versions[arn]
        return True

    # -- aliases --------------------------------------------------------------------------

    def _check_routes(self, record: AliasRecord) -> None:
        for version_arn, _ in record.routing:
            version = self._versions.get(version_arn)
            if version is None or version.state_machine_arn != record.state_machine_arn:
                raise RecordNotFound("state machine version", version_arn)

    async def create_alias(self, record: AliasRecord) -> AliasRecord:
        self._open()
        machine = self._machines.get(record.state_machine_arn)
        if machine is None:
            raise RecordNotFound("state machine", record.state_machine_arn)
        if machine.record.status != "ACTIVE":
            raise StoreConflict(f"State machine {record.state_machine_arn!r} is being deleted.")
        existing = self._aliases.get(record.arn)
        if existing is not None:
            raise StoreConflict(f"Alias {record.arn!r} already exists.", existing)
        self._check_routes(record)
        self._aliases[record.arn] = record
        return record

    async def get_alias(self, arn: str) -> AliasRecord | None:
        self._open()
        return self._aliases.get(arn)

    async def list_aliases(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[AliasRecord]:
        self._open()
        size = page_size(max_results)
        listing = [state_machine_arn]
        after = self._tokens.read(next_token, "alias", listing)[0] if next_token else None
        aliases = sorted(
            (a for a in self._aliases.values() if a.state_machine_arn == state_machine_arn),
            key=lambda a: a.arn,
        )
        if after is not None:
            aliases = [a for a in aliases if a.arn > after]
        chosen = aliases[:size]
        token = (
            self._tokens.make("alias", listing, [chosen[-1].arn]) if len(aliases) > size else None
        )
        return Page(tuple(chosen), token)

    async def update_alias(self, record: AliasRecord) -> AliasRecord:
        self._open()
        existing = self._aliases.get(record.arn)
        if existing is None:
            raise RecordNotFound("state machine alias", record.arn)
        self._check_routes(record)
        stored = replace(
            existing,
            description=record.description,
            routing=record.routing,
            update_date=record.update_date,
        )
        self._aliases[record.arn] = stored
        return stored

    async def delete_alias(self, arn: str) -> bool:
        self._open()
        return self._aliases.pop(arn, None) is not None

    # -- tags -----------------------------------------------------------------------------

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        self._open()
        self._tags.setdefault(arn, {}).update(tags)

    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        self._open()
        held = self._tags.get(arn)
        if held is not None:
            for key in keys:
                held.pop(key, None)

    async def list_tags(self, arn: str) -> dict[str, str]:
        self._open()
        return dict(sorted(self._tags.get(arn, {}).items()))

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
        self._open()
        existing = self._runs.get(record.arn)
        if existing is not None:
            old = existing.record
            reusable = (
                reuse_closed_before is not None
                and old.stop_date is not None
                and old.status != "RUNNING"
                and old.stop_date < reuse_closed_before
            )
            if not reusable:
                raise StoreConflict(f"Execution {record.arn!r} already exists.", old)
        check_continuation(record.arn, 0, events)
        if parent_task_token is not None:
            self._check_child_link(parent_task_token)
        if existing is not None:
            del self._runs[record.arn]
            for token in self._tokens_of(record.arn):
                del self._task_tokens[token.token]
        self._seq += 1
        stored = replace(record, last_event_id=len(events))
        run = self._runs[record.arn] = _Run(
            seq=self._seq,
            record=stored,
            events=list(events),
            snapshot=snapshot,
            wake_at=runnable_at if record.status == "RUNNING" else None,
        )
        if lease is not None and record.status == "RUNNING":
            run.lease_owner = lease.owner
            run.lease_token = lease.token
            run.lease_expires_at = run.wake_at = lease.expires_at
        elif due_now(run.wake_at):
            self._signals.fire((CHANNEL_EXECUTIONS,))
        if parent_task_token is not None:
            self._link_child(parent_task_token, record.arn)
        return stored

    async def get_execution(self, arn: str) -> ExecutionRecord | None:
        self._open()
        run = self._runs.get(arn)
        return None if run is None else run.record

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
        self._open()
        field_name, subject = one_subject(
            state_machine_arn=state_machine_arn,
            version_arn=version_arn,
            alias_arn=alias_arn,
            map_run_arn=map_run_arn,
        )
        size = page_size(max_results)
        listing = [field_name, subject, status]
        before = self._tokens.read(next_token, "exec", listing)[0] if next_token else None
        attribute = {
            "state_machine_arn": "state_machine_arn",
            "version_arn": "state_machine_version_arn",
            "alias_arn": "state_machine_alias_arn",
            "map_run_arn": "map_run_arn",
        }[field_name]
        chosen: list[_Run] = []
        more = False
        for run in sorted(self._runs.values(), key=lambda r: -r.seq):
            if before is not None and run.seq >= before:
                continue
            if getattr(run.record, attribute) != subject:
                continue
            if status is not None and run.record.status != status:
                continue
            if len(chosen) == size:
                more = True
                break
            chosen.append(run)
        token = self._tokens.make("exec", listing, [chosen[-1].seq]) if more else None
        return Page(tuple(run.record for run in chosen), token)

    async def get_history(
        self,
        execution_arn: str,
        *,
        reverse: bool = False,
        max_results: int = 0,
        next_token: str | None = None,
    ) -> Page[HistoryEventRecord]:
        self._open()
        run = self._runs.get(execution_arn)
        if run is None:
            raise RecordNotFound("execution", execution_arn)
        size = page_size(max_results)
        listing = [execution_arn, reverse]
        after = self._tokens.read(next_token, "hist", listing)[0] if next_token else None
        events = run.events
        if reverse:
            end = len(events) if after is None else max(0, after - 1)
            chosen = events[max(0, end - size) : end][::-1]
            more = end - size > 0
        else:
            start = 0 if after is None else after
            chosen = events[start : start + size]
            more = start + size < len(events)
        token = self._tokens.make("hist", listing, [chosen[-1].id]) if more and chosen else None
        return Page(tuple(chosen), token)

    async def has_running_executions(self, state_machine_arn: str) -> bool:
        self._open()
        return any(
            run.record.state_machine_arn == state_machine_arn and run.record.status == "RUNNING"
            for run in self._runs.values()
        )

    async def stop_execution(
        self,
        execution_arn: str,
        *,
        stop_date: float,
        error: str | None,
        cause: str | None,
        events: Sequence[PendingEvent],
    ) -> tuple[ExecutionRecord, bool]:
        self._open()
        run = self._runs.get(execution_arn)
        if run is None:
            raise RecordNotFound("execution", execution_arn)
        if run.record.status != "RUNNING":
            return run.record, False
        appended = numbered(run.record.last_event_id, events)
        run.events.extend(appended)
        last = appended[-1].id if appended else run.record.last_event_id
        run.record = replace(
            run.record,
            status="ABORTED",
            stop_date=stop_date,
            error=error,
            cause=cause,
            last_event_id=last,
        )
        self._end(run)
        self._close_execution_tokens(execution_arn)
        self._finish_child_wait(execution_arn, "ABORTED", stop_date)
        self._signals.fire((CHANNEL_EXECUTIONS,))
        return run.record, True

    @staticmethod
    def _end(run: _Run) -> None:
        run.timers.clear()
        run.wake_at = None
        run.lease_owner = run.lease_token = None
        run.lease_expires_at = None

    # -- workers --------------------------------------------------------------------------

    async def claim_runnable(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[ClaimedExecution]:
        self._open()
        due = sorted(
            (run for run in self._runs.values() if run.wake_at is not None and run.wake_at <= now),
            key=lambda run: (run.wake_at, run.seq),
        )[:limit]
        claimed = []
        expires = now + lease_seconds
        for run in due:
            run.lease_owner = owner
            run.lease_token = secrets.token_hex(16)
            run.lease_expires_at = run.wake_at = expires
            claimed.append(
                ClaimedExecution(
                    execution=run.record,
                    lease_token=run.lease_token,
                    lease_expires_at=expires,
                    snapshot=run.snapshot,
                    timers=sorted_timers(run.timers.values()),
                    tokens=self._open_tokens(run.record.arn),
                )
            )
        return claimed

    def _leased_run(self, execution_arn: str, lease_token: str) -> _Run:
        run = self._runs.get(execution_arn)
        if run is None:
            raise RecordNotFound("execution", execution_arn)
        if run.lease_token != lease_token or run.record.status != "RUNNING":
            raise lease_lost(execution_arn, run.record.status, run.lease_token)
        return run

    async def commit_step(self, step: StepCommit) -> None:
        self._open()
        check_step(step)
        run = self._leased_run(step.execution_arn, step.lease_token)
        check_continuation(step.execution_arn, run.record.last_event_id, step.events)
        self._apply_token_step(step, step.status is not None)
        run.events.extend(step.events)
        if step.snapshot is not None:
            run.snapshot = step.snapshot
        last_event_id = step.events[-1].id if step.events else run.record.last_event_id
        if step.status is not None:
            run.record = replace(
                run.record,
                status=step.status,
                stop_date=step.stop_date,
                output=step.output,
                error=step.error,
                cause=step.cause,
                last_event_id=last_event_id,
            )
            self._end(run)
            assert step.stop_date is not None
            self._finish_child_wait(step.execution_arn, step.status, step.stop_date)
            return
        for timer_id in step.timers_remove:
            run.timers.pop(timer_id, None)
        for timer in step.timers_add:
            run.timers[timer.timer_id] = timer
        if last_event_id != run.record.last_event_id:
            run.record = replace(run.record, last_event_id=last_event_id)
        if step.keep_lease_until is not None:
            run.lease_expires_at = run.wake_at = step.keep_lease_until
        else:
            run.lease_owner = run.lease_token = None
            run.lease_expires_at = None
            run.wake_at = self._wake_of(run, step.runnable_at)
            if due_now(run.wake_at):
                self._signals.fire((CHANNEL_EXECUTIONS,))

    async def renew_lease(
        self, execution_arn: str, lease_token: str, *, lease_seconds: float, now: float
    ) -> float:
        self._open()
        run = self._leased_run(execution_arn, lease_token)
        run.lease_expires_at = run.wake_at = now + lease_seconds
        return run.lease_expires_at

    async def release(
        self, execution_arn: str, lease_token: str, *, runnable_at: float | None
    ) -> None:
        self._open()
        run = self._leased_run(execution_arn, lease_token)
        run.lease_owner = run.lease_token = None
        run.lease_expires_at = None
        run.wake_at = self._wake_of(run, runnable_at)
        if due_now(run.wake_at):
            self._signals.fire((CHANNEL_EXECUTIONS,))

    async def next_wake_at(self) -> float | None:
        self._open()
        return min((r.wake_at for r in self._runs.values() if r.wake_at is not None), default=None)

    # -- wake-up signals (issue #7) --------------------------------------------------------

    def subscribe(self, channel: str, callback: Callable[[], None]) -> Callable[[], None]:
        return self._signals.subscribe(channel, callback)

    async def signal(self, channel: str) -> None:
        self._open()
        self._signals.signal(channel)
