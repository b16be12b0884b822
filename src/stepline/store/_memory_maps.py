"""The in-memory store's map runs (a mixin of ``MemoryStore``; Distributed Map).

Same rules as :mod:`stepline.store._sqlite_maps`: every method runs without awaiting, so on
one event loop each call is atomic, and a child's status changes only from the one it replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from stepline.store._errors import RecordNotFound, StoreConflict, TaskClosed
from stepline.store._map_run_records import (
    MapRunChildRecord,
    MapRunChildStatus,
    MapRunCounts,
    MapRunRecord,
    MapRunStatus,
    MapRunStatusCounts,
)
from stepline.store._paging import PageTokens, page_size
from stepline.store._records import (
    ExecutionRecord,
    HistoryEventRecord,
    Page,
    StateMachineRevisionRecord,
    TaskTokenRecord,
)

__all__ = ["MemoryMapRunsMixin"]

_NO_UPPER_SEQ = 1 << 62
_UNSUCCESSFUL = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_COUNT_FIELDS = {
    "PENDING": "pending",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "timed_out",
    "ABORTED": "aborted",
}


@dataclass(slots=True)
class _MapRun:
    seq: int
    record: MapRunRecord
    children: list[MapRunChildRecord]
    lease_owner: str | None = None
    lease_expires_at: float = 0.0


class MemoryMapRunsMixin:
    """Map runs and their children kept in dicts."""

    if TYPE_CHECKING:
        _runs: dict[str, Any]
        _revisions: dict[str, StateMachineRevisionRecord]
        _task_tokens: dict[str, TaskTokenRecord]
        _tokens: PageTokens

        def _open(self) -> None: ...
        async def create_execution(
            self,
            record: ExecutionRecord,
            events: Sequence[HistoryEventRecord],
            *,
            runnable_at: float | None,
        ) -> ExecutionRecord: ...
        async def complete_task(
            self,
            token: str,
            *,
            failed: bool,
            output: str | None = None,
            error: str | None = None,
            cause: str | None = None,
            now: float,
        ) -> TaskTokenRecord: ...

    def _init_map_runs(self) -> None:
        self._map_runs: dict[str, _MapRun] = {}
        self._map_run_seq = 0

    def _map_run(self, arn: str) -> _MapRun:
        run = self._map_runs.get(arn)
        if run is None:
            raise RecordNotFound("map run", arn)
        return run

    async def create_map_run(
        self,
        record: MapRunRecord,
        inputs: Sequence[tuple[int, str]],
        revision: StateMachineRevisionRecord,
    ) -> tuple[MapRunRecord, bool]:
        self._open()
        existing = self._map_runs.get(record.arn)
        if existing is not None:
            return existing.record, False
        self._revisions.setdefault(revision.revision_id, revision)
        self._map_run_seq += 1
        children = [
            MapRunChildRecord(record.arn, position, count, text)
            for position, (count, text) in enumerate(inputs)
        ]
        self._map_runs[record.arn] = _MapRun(self._map_run_seq, record, children)
        return record, True

    async def get_map_run(self, arn: str) -> MapRunRecord | None:
        self._open()
        run = self._map_runs.get(arn)
        return None if run is None else run.record

    async def list_map_runs(
        self, execution_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[MapRunRecord]:
        self._open()
        size = page_size(max_results)
        listing = [execution_arn]
        below = _NO_UPPER_SEQ
        if next_token:
            below = int(self._tokens.read(next_token, "maprun", listing)[0])
        runs = sorted(
            (
                run
                for run in self._map_runs.values()
                if run.record.execution_arn == execution_arn and run.seq < below
            ),
            key=lambda run: run.seq,
            reverse=True,
        )
        token = None
        if len(runs) > size:
            token = self._tokens.make("maprun", listing, [runs[size - 1].seq])
        return Page(tuple(run.record for run in runs[:size]), token)

    async def running_map_runs(self) -> list[MapRunRecord]:
        self._open()
        runs = sorted(self._map_runs.values(), key=lambda run: run.seq)
        return [run.record for run in runs if run.record.status == "RUNNING"]

    async def update_map_run(
        self,
        arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_count: int | None = None,
        tolerated_failure_percentage: float | None = None,
    ) -> MapRunRecord:
        self._open()
        run = self._map_run(arn)
        record = run.record
        run.record = replace(
            record,
            max_concurrency=record.max_concurrency if max_concurrency is None else max_concurrency,
            tolerated_failure_count=(
                record.tolerated_failure_count
                if tolerated_failure_count is None
                else tolerated_failure_count
            ),
            tolerated_failure_percentage=(
                record.tolerated_failure_percentage
                if tolerated_failure_percentage is None
                else tolerated_failure_percentage
            ),
        )
        return run.record

    async def lease_map_run(self, arn: str, *, owner: str, until: float, now: float) -> bool:
        self._open()
        run = self._map_runs.get(arn)
        if run is None or run.record.status != "RUNNING":
            return False
        if run.lease_owner not in (None, owner) and run.lease_expires_at > now:
            return False
        run.lease_owner, run.lease_expires_at = owner, until
        return True

    async def map_run_parent_waits(self, arn: str) -> bool:
        self._open()
        run = self._map_runs.get(arn)
        if run is None:
            return False
        parent = self._runs.get(run.record.execution_arn)
        token = self._task_tokens.get(run.record.task_token)
        return (
            parent is not None
            and parent.record.status == "RUNNING"
            and token is not None
            and token.status == "STARTED"
        )

    async def map_run_counts(self, arn: str) -> MapRunCounts:
        self._open()
        run = self._map_runs.get(arn)
        executions = dict.fromkeys(_COUNT_FIELDS.values(), 0)
        items = dict(executions)
        for child in run.children if run is not None else ():
            name = _COUNT_FIELDS[child.status]
            executions[name] += 1
            items[name] += child.item_count
        return MapRunCounts(MapRunStatusCounts(**executions), MapRunStatusCounts(**items))

    async def map_run_children(
        self, arn: str, *, status: MapRunChildStatus | None = None, limit: int = 0
    ) -> list[MapRunChildRecord]:
        self._open()
        run = self._map_runs.get(arn)
        if run is None:
            return []
        if status is None:
            return list(run.children)
        found = [child for child in run.children if child.status == status]
        return found[:limit] if limit else found

    async def start_map_run_children(
        self,
        arn: str,
        children: Sequence[tuple[int, str]],
        *,
        executions: Sequence[tuple[ExecutionRecord, HistoryEventRecord]] = (),
        now: float,
    ) -> list[int]:
        self._open()
        run = self._map_run(arn)
        started = []
        for position, execution_arn in children:
            child = run.children[position]
            if child.status == "PENDING":
                run.children[position] = replace(
                    child, status="RUNNING", execution_arn=execution_arn
                )
                started.append(position)
        for record, event in executions:
            if record.arn not in self._runs:
                await self.create_execution(record, (event,), runnable_at=now)
        return started

    async def record_map_run_results(
        self, arn: str, results: Sequence[tuple[int, str, str | None, str | None, str | None]]
    ) -> int:
        self._open()
        run = self._map_run(arn)
        recorded = 0
        for position, status, output, error, cause in results:
            child = run.children[position]
            if child.status == "RUNNING":
                run.children[position] = replace(
                    child,
                    status=status,  # type: ignore[arg-type]
                    output=output,
                    error=error,
                    cause=cause,
                )
                recorded += 1
        return recorded

    async def ended_map_run_children(
        self, arn: str, *, limit: int = 1000
    ) -> list[tuple[int, str, str | None, str | None, str | None]]:
        self._open()
        run = self._map_runs.get(arn)
        found: list[tuple[int, str, str | None, str | None, str | None]] = []
        for child in run.children if run is not None else ():
            if child.status != "RUNNING" or child.execution_arn is None:
                continue
            execution = self._runs.get(child.execution_arn)
            if execution is None or execution.record.status == "RUNNING":
                continue
            record = execution.record
            found.append((child.position, record.status, record.output, record.error, record.cause))
            if len(found) >= limit:
                break
        return found

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
        self._open()
        run = self._map_run(arn)
        if run.record.status != "RUNNING":
            return None
        run.record = replace(
            run.record, status=status, stop_date=stop_date, error=error, cause=cause
        )
        run.children = [
            replace(child, status="ABORTED") if child.status in ("PENDING", "RUNNING") else child
            for child in run.children
        ]
        if status == "ABORTED":
            return None
        try:
            # No await inside: complete_task finishes before anything else runs.
            return await self.complete_task(
                run.record.task_token,
                failed=status != "SUCCEEDED",
                output=output,
                error=error,
                cause=cause,
                now=stop_date,
            )
        except (RecordNotFound, TaskClosed):
            return None

    async def redrive_map_run(self, arn: str, *, task_token: str, now: float) -> MapRunRecord:
        self._open()
        run = self._map_run(arn)
        record = run.record
        if record.status not in ("FAILED", "ABORTED"):
            raise StoreConflict(f"Map run {arn!r} is {record.status}: it cannot be redriven.")
        run.record = replace(
            record,
            status="RUNNING",
            stop_date=None,
            error=None,
            cause=None,
            redrive_count=record.redrive_count + 1,
            redrive_date=now,
            task_token=task_token,
        )
        run.children = [
            MapRunChildRecord(arn, child.position, child.item_count, child.input)
            if child.status in _UNSUCCESSFUL
            else child
            for child in run.children
        ]
        return run.record
