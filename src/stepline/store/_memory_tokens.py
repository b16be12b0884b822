"""The in-memory store's activities and task tokens (a mixin of ``MemoryStore``).

Same rules as the SQL backends (:mod:`stepline.store._rules`): every method runs without
awaiting, so on one event loop each call is atomic and a task is handed to one caller only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from stepline.store._errors import TaskClosed
from stepline.store._paging import PageTokens, page_size
from stepline.store._records import ActivityRecord, Page, StepCommit, TaskTokenRecord
from stepline.store._rules import check_task_open, started_activity, wake_time
from stepline.store._signals import (
    CHANNEL_ACTIVITIES,
    CHANNEL_EXECUTIONS,
    LocalSignals,
    due_now,
    schedules_activity,
)

__all__ = ["MemoryTokensMixin"]


class MemoryTokensMixin:
    """Activities and task tokens kept in dicts."""

    if TYPE_CHECKING:
        _runs: dict[str, Any]
        _tokens: PageTokens
        _signals: LocalSignals

        def _open(self) -> None: ...

    def _init_task_tokens(self) -> None:
        self._activities: dict[str, ActivityRecord] = {}
        self._task_tokens: dict[str, TaskTokenRecord] = {}
        self._token_order = 0
        self._token_seq: dict[str, int] = {}

    # -- used by MemoryStore's execution methods ---------------------------------------------

    def _token_wakes(self, arn: str) -> list[float]:
        wakes = []
        for token in self._tokens_of(arn):
            wake = token.wake_at
            if wake is not None:
                wakes.append(wake)
        return wakes

    def _wake_of(self, run: Any, runnable_at: float | None) -> float | None:
        """When a released run wakes: ``runnable_at``, its timers, its tokens' needs."""
        dues = [timer.due for timer in run.timers.values()]
        return wake_time(runnable_at, [*dues, *self._token_wakes(run.record.arn)])

    def _tokens_of(self, arn: str) -> list[TaskTokenRecord]:
        return [t for t in self._task_tokens.values() if t.execution_arn == arn]

    def _open_tokens(self, arn: str) -> tuple[TaskTokenRecord, ...]:
        return tuple(
            sorted(
                (t for t in self._tokens_of(arn) if t.status != "CLOSED"),
                key=lambda t: t.effect_id,
            )
        )

    def _apply_token_step(self, step: StepCommit, ended: bool) -> None:
        for record in step.tokens_add:
            if record.token not in self._task_tokens:
                self._token_order += 1
                self._token_seq[record.token] = self._token_order
                self._task_tokens[record.token] = record
        if schedules_activity(step.tokens_add):
            self._signals.fire((CHANNEL_ACTIVITIES,))
        for token in step.tokens_reported:
            reported = self._task_tokens.get(token)
            if reported is not None:
                self._task_tokens[token] = replace(reported, started_reported=True)
        closing = (
            [t.token for t in self._tokens_of(step.execution_arn)] if ended else step.tokens_close
        )
        self._close_tokens(closing)

    def _close_tokens(self, tokens: Any) -> None:
        for token in tokens:
            record = self._task_tokens.get(token)
            if record is not None and record.status != "CLOSED":
                self._task_tokens[token] = replace(record, status="CLOSED", output=None, input=None)

    def _close_execution_tokens(self, arn: str) -> None:
        self._close_tokens([t.token for t in self._tokens_of(arn)])

    def _wake_run(self, arn: str, at: float | None) -> None:
        run = self._runs.get(arn)
        if run is None or at is None or run.lease_token is not None:
            return  # a leased run looks at its tokens when it releases
        if run.wake_at is None or at < run.wake_at:
            run.wake_at = at
            if due_now(at):
                self._signals.fire((CHANNEL_EXECUTIONS,))

    # -- nested workflows: a .sync parent's wait for its child --------------------------------

    def _check_child_link(self, token: str) -> None:
        """Raise ``TaskClosed`` unless ``token`` is a started, unlinked task (before writing)."""
        record = self._task_tokens.get(token)
        if record is None or record.status != "STARTED" or record.child_execution_arn is not None:
            raise TaskClosed("the parent's task no longer waits for a child execution")

    def _link_child(self, token: str, child_arn: str) -> None:
        record = self._task_tokens[token]
        self._task_tokens[token] = replace(record, child_execution_arn=child_arn)

    def _finish_child_wait(self, child_arn: str, status: str, now: float) -> None:
        """The child ended: complete its parent's waiting task and wake the parent."""
        for record in self._task_tokens.values():
            if record.child_execution_arn == child_arn and record.status == "STARTED":
                self._task_tokens[record.token] = replace(
                    record,
                    status="SUCCEEDED" if status == "SUCCEEDED" else "FAILED",
                    completed_at=now,
                )
                self._wake_run(record.execution_arn, now)
                return

    async def orphaned_children(self, parent_execution_arn: str) -> tuple[str, ...]:
        self._open()
        found = []
        for record in self._tokens_of(parent_execution_arn):
            child = record.child_execution_arn
            if (
                record.status == "CLOSED"
                and child is not None
                and self._status_of(child) == "RUNNING"
            ):
                found.append(child)
        return tuple(sorted(found))

    # -- activities ----------------------------------------------------------------------------

    async def create_activity(self, record: ActivityRecord) -> tuple[ActivityRecord, bool]:
        self._open()
        existing = self._activities.get(record.arn)
        if existing is not None:
            return existing, False
        self._activities[record.arn] = record
        return record, True

    async def get_activity(self, arn: str) -> ActivityRecord | None:
        self._open()
        return self._activities.get(arn)

    async def list_activities(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[ActivityRecord]:
        self._open()
        size = page_size(max_results)
        after = str(self._tokens.read(next_token, "act", [])[0]) if next_token else ""
        chosen = [a for arn, a in sorted(self._activities.items()) if arn > after]
        more = len(chosen) > size
        chosen = chosen[:size]
        token = self._tokens.make("act", [], [chosen[-1].arn]) if more else None
        return Page(tuple(chosen), token)

    async def delete_activity(self, arn: str) -> bool:
        self._open()
        return self._activities.pop(arn, None) is not None

    # -- task tokens ---------------------------------------------------------------------------

    def _status_of(self, arn: str) -> str | None:
        run = self._runs.get(arn)
        return None if run is None else str(run.record.status)

    async def take_activity_task(
        self, activity_arn: str, *, worker_name: str | None, now: float
    ) -> TaskTokenRecord | None:
        self._open()
        candidates = [
            t
            for t in self._task_tokens.values()
            if t.activity_arn == activity_arn
            and t.status == "SCHEDULED"
            and self._status_of(t.execution_arn) == "RUNNING"
        ]
        if not candidates:
            return None
        oldest = min(candidates, key=lambda t: (t.scheduled_at, self._token_seq[t.token]))
        taken = started_activity(oldest, worker_name, now)
        self._task_tokens[taken.token] = taken
        self._wake_run(taken.execution_arn, taken.wake_at)
        return taken

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
        self._open()
        record = self._task_tokens.get(token)
        status = None if record is None else self._status_of(record.execution_arn)
        record = check_task_open(record, status, now)
        done = replace(
            record,
            status="FAILED" if failed else "SUCCEEDED",
            completed_at=now,
            output=None if failed else output,
            error=error if failed else None,
            cause=cause if failed else None,
        )
        self._task_tokens[token] = done
        self._wake_run(done.execution_arn, now)
        # Also when the execution is leased: its holder may be waiting for this outcome.
        self._signals.fire((CHANNEL_EXECUTIONS,))
        return done

    async def heartbeat_task(self, token: str, *, now: float) -> TaskTokenRecord:
        self._open()
        record = self._task_tokens.get(token)
        status = None if record is None else self._status_of(record.execution_arn)
        record = check_task_open(record, status, now)
        if record.heartbeat_seconds is not None:
            record = replace(record, heartbeat_due=now + record.heartbeat_seconds)
            self._task_tokens[token] = record
        return record
