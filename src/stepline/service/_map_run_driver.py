"""Driving a map run: start its children, collect their outcomes, end it.

One :class:`MapRunDriver` (an asyncio task) drives each RUNNING map run, in the one process
that leases it (``Store.lease_map_run``, renewed while it drives; given back at shutdown). The
store holds everything a driver needs, so a driver that stops (shutdown, crash) is simply
started again — by :func:`resume_map_runs` when a service starts, and by its watch every lease
period once the lease of a crashed process has expired — and goes on where the store says.

- **STANDARD** children are ordinary executions (``map_run_arn`` set, the labelled state
  machine ARN, deterministic names): stored PENDING→RUNNING together with the child
  executions in one transaction per batch, then run by the worker like any other execution,
  durably. Their outcomes are read back from the store (children whose execution ended) and
  recorded once each (a conditional update).
- **EXPRESS** children run here, in memory, on the processor compiled once per map run; only
  their outcomes are stored (in batches). A child that was running when the process stopped
  runs again when the driver is resumed (Express executions are at-least-once).

``MaxConcurrency`` (changed at any time by UpdateMapRun) bounds the children running at once;
the failure threshold (``ToleratedFailureCount``/``…Percentage``, over items) is checked as
outcomes arrive: exceeding it fails the map run at once with
``States.ExceedToleratedFailureThreshold`` and stops the children still running. When every
child has ended the map run succeeds with their outputs in item order (a tolerated failure
stands in its slot as ``{"Error", "Cause"}``). The outcome completes the parent's task token
in the same transaction as the map run's end (:meth:`Store.finish_map_run`). A parent that no
longer waits for it (stopped, failed or timed out, or the Map state's branch cancelled by a
failing sibling) aborts the map run and its children.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
import uuid
import weakref
from collections import deque
from typing import Any, Final

from orjson import dumps as _dumps

from stepline.asl import CompiledDefinition
from stepline.asl._errors import EXCEED_TOLERATED_FAILURE_THRESHOLD, TIMEOUT
from stepline.asl._json import loads
from stepline.engine import Execution, ExecutionIdentity, SystemClock, drive
from stepline.service._context import ServiceContext
from stepline.service._exec_events import execution_started_details
from stepline.store import (
    ExecutionRecord,
    HistoryEventRecord,
    MapRunRecord,
    StateMachineRevisionRecord,
    StoreError,
)

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "MapRunDriver",
    "ensure_driver",
    "map_run_abort_hint",
    "resume_map_runs",
    "stop_map_runs",
    "wake_map_runs",
]

_log = logging.getLogger("stepline.service.map_runs")

DEFAULT_MAX_CONCURRENCY: Final = 10_000
"""Children running at once when ``MaxConcurrency`` is 0 (AWS runs up to 10,000)."""

_BATCH: Final = 500  # children started (and outcomes recorded) per store write
_FIRST_PAUSE: Final = 0.02
_MAX_PAUSE: Final = 1.0
_UNSUCCESSFUL: Final = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_NAMESPACE: Final = uuid.UUID("7f0e2b4a-9c3d-4e5f-8a1b-2c3d4e5f6a7b")

Result = tuple[int, str, str | None, str | None, str | None]


class _Drivers:
    """The map-run drivers of one service context."""

    __slots__ = ("__weakref__", "owner", "stopping", "tasks", "wakes", "watcher")

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.wakes: dict[str, asyncio.Event] = {}
        self.stopping = False
        self.owner = f"{socket.gethostname()}/{secrets.token_hex(4)}"
        """This process's name on the map runs it leases."""
        self.watcher: asyncio.Task[None] | None = None


_DRIVERS: Final[weakref.WeakKeyDictionary[ServiceContext, _Drivers]] = weakref.WeakKeyDictionary()


def _drivers(context: ServiceContext) -> _Drivers:
    drivers = _DRIVERS.get(context)
    if drivers is None:
        drivers = _DRIVERS[context] = _Drivers()
    return drivers


def ensure_driver(context: ServiceContext, record: MapRunRecord) -> None:
    """Drive ``record`` in this process unless it is driven already (or the service stops)."""
    drivers = _drivers(context)
    task = drivers.tasks.get(record.arn)
    if drivers.stopping or (task is not None and not task.done()) or record.status != "RUNNING":
        return
    driver = MapRunDriver(context, record)
    drivers.wakes[record.arn] = driver.wake
    task = asyncio.get_running_loop().create_task(
        driver.run(), name=f"stepline-maprun {record.arn}"
    )
    drivers.tasks[record.arn] = task

    def done(finished: asyncio.Task[None]) -> None:
        if drivers.tasks.get(record.arn) is finished:
            del drivers.tasks[record.arn]
            drivers.wakes.pop(record.arn, None)

    task.add_done_callback(done)


def wake_map_runs(context: ServiceContext) -> None:
    """Tell this process's drivers to look at the store now (a child ended, a parent
    stopped, a map run was updated)."""
    drivers = _DRIVERS.get(context)
    if drivers is not None:
        for event in drivers.wakes.values():
            event.set()


async def resume_map_runs(context: ServiceContext) -> int:
    """Drive every RUNNING map run of the store that no live process leases (at service start),
    and look again every lease period (for those a stopped process leased); how many now."""
    drivers = _drivers(context)
    drivers.stopping = False
    records = await context.store.running_map_runs()
    for record in records:
        ensure_driver(context, record)
    if drivers.watcher is None or drivers.watcher.done():
        drivers.watcher = asyncio.get_running_loop().create_task(
            _watch(context), name="stepline-maprun-watch"
        )
    return len(records)


async def _watch(context: ServiceContext) -> None:
    period = max(context.config.lease_seconds, 1.0)
    drivers = _drivers(context)
    while not drivers.stopping:
        await asyncio.sleep(period)
        try:
            for record in await context.store.running_map_runs():
                ensure_driver(context, record)
        except StoreError as exc:  # the store closing, a busy database: the next look
            _log.debug("could not look for map runs to drive: %s", exc)


async def stop_map_runs(context: ServiceContext) -> None:
    """Stop driving (at shutdown), giving the leases back; the store keeps every map run."""
    drivers = _drivers(context)
    drivers.stopping = True
    tasks = list(drivers.tasks.values())
    if drivers.watcher is not None:
        tasks.append(drivers.watcher)
        drivers.watcher = None
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def map_run_abort_hint(execution_arn: str) -> str:
    """The cause recorded on children stopped because their map run ended."""
    return f"Stopped with its Map Run: the parent execution '{execution_arn}' no longer needs it."


class MapRunDriver:
    """Drives one map run until it ends or this process stops.

    Args:
        context: The service.
        record: The map run, as stored.
    """

    def __init__(self, context: ServiceContext, record: MapRunRecord) -> None:
        self.context = context
        self.record = record
        self.wake = asyncio.Event()
        self.express = record.execution_type == "EXPRESS"
        machine_name = record.state_machine_arn.rsplit(":", 1)[-1]
        self.labelled = f"{machine_name}/{record.label}"
        self.labelled_arn = f"{context.arn_prefix}stateMachine:{self.labelled}"
        self.item_counts: list[int] = []
        self.inputs: dict[int, str] = {}
        self.pending: deque[int] = deque()
        self.running: set[int] = set()
        self.child_arns: dict[int, str] = {}
        self.failed_items = 0
        self.total_items = 0
        self.done: list[Result] = []
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.revision: StateMachineRevisionRecord | None = None
        self.owner = _drivers(context).owner
        self.renew_at = 0.0
        self.compiled: CompiledDefinition | None = None
        """The processor, compiled once per map run (Express children run it here)."""

    # ------------------------------------------------------------------------------ running

    async def run(self) -> None:
        """Drive the map run while this process leases it; errors are logged and leave it to
        the next look (:func:`resume_map_runs`)."""
        if not await self._lease():
            return  # another live process drives it
        try:
            await self._run()
        except asyncio.CancelledError:
            with contextlib.suppress(StoreError):  # shutdown: the next start takes it at once
                now = time.time()
                await self.context.store.lease_map_run(
                    self.record.arn, owner=self.owner, until=now, now=now
                )
            raise
        except Exception:
            _log.exception(
                "map run %s could not be driven; it resumes at the next start", self.record.arn
            )
        finally:
            for task in self.tasks.values():
                task.cancel()

    async def _run(self) -> None:
        store = self.context.store
        record = self.record
        self.revision = await store.get_revision(record.revision_id)
        if self.revision is None:
            await self._finish(
                "FAILED", error="States.Runtime", cause="The map run's processor is gone."
            )
            return
        for child in await store.map_run_children(record.arn):
            self.item_counts.append(child.item_count)
            if child.status == "PENDING":
                self.pending.append(child.position)
                self.inputs[child.position] = child.input
            elif child.status == "RUNNING":
                self.running.add(child.position)
                if child.execution_arn is not None:
                    self.child_arns[child.position] = child.execution_arn
                if self.express:  # lost with the process that ran it: run it again
                    self._start_express(child.position, child.input)
            elif child.status in _UNSUCCESSFUL:
                self.failed_items += child.item_count
        self.total_items = sum(self.item_counts)
        pause = _FIRST_PAUSE
        while True:
            self.wake.clear()
            if time.time() >= self.renew_at and not await self._lease():
                return  # taken over after this process's lease expired
            if not await store.map_run_parent_waits(record.arn):
                await self._end_with_parent()
                return
            current = await store.get_map_run(record.arn)
            if current is None or current.status != "RUNNING":
                return  # ended by another process
            self.record = record = current
            progressed = await self._collect()
            if self._exceeded():
                await self._fail_threshold()
                return
            if not self.pending and not self.running:
                await self._succeed()
                return
            limit = record.max_concurrency or DEFAULT_MAX_CONCURRENCY
            room = min(limit - len(self.running), _BATCH)
            if room > 0 and self.pending:
                await self._start_children(room)
                pause = _FIRST_PAUSE
                continue
            if progressed:
                pause = _FIRST_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), pause)
            pause = min(pause * 2, _MAX_PAUSE)

    async def _lease(self) -> bool:
        """Take or renew this process's lease on the map run; whether it holds it."""
        now = time.time()
        seconds = self.context.config.lease_seconds
        held = await self.context.store.lease_map_run(
            self.record.arn, owner=self.owner, until=now + seconds, now=now
        )
        self.renew_at = now + seconds / 3
        return held

    async def _collect(self) -> bool:
        """Record the outcomes that arrived; whether any did."""
        store = self.context.store
        if self.express:
            results, self.done = self.done, []
        else:
            results = await store.ended_map_run_children(self.record.arn, limit=_BATCH * 4)
        if not results:
            return False
        for start in range(0, len(results), _BATCH * 4):
            await store.record_map_run_results(self.record.arn, results[start : start + _BATCH * 4])
        for position, status, *_ in results:
            self.running.discard(position)
            self.tasks.pop(position, None)
            if status in _UNSUCCESSFUL:
                self.failed_items += self.item_counts[position]
        return True

    def _exceeded(self) -> bool:
        """Whether the failed items are over the threshold (a limit of 0 that the other one
        replaces does not count: AWS applies the limits the Map state sets)."""
        failed = self.failed_items
        if not failed:
            return False
        count = self.record.tolerated_failure_count
        percentage = self.record.tolerated_failure_percentage
        by_count = count > 0 or percentage == 0
        if by_count and failed > count:
            return True
        return percentage > 0 and failed * 100.0 > percentage * self.total_items

    # ---------------------------------------------------------------------------- children

    def _child_name(self, position: int) -> str:
        seed = f"{self.record.arn}#{self.record.redrive_count}#{position}"
        return str(uuid.uuid5(_NAMESPACE, seed))

    async def _start_children(self, room: int) -> None:
        store = self.context.store
        now = time.time()
        positions = [self.pending.popleft() for _ in range(min(room, len(self.pending)))]
        prefix = self.context.arn_prefix
        children: list[tuple[int, str]] = []
        executions: list[tuple[ExecutionRecord, HistoryEventRecord]] = []
        revision = self.revision
        assert revision is not None
        for position in positions:
            if self.express:  # not stored: a random name, as AWS gives Express children
                arn = f"{prefix}express:{self.labelled}:{uuid.uuid4()}:{uuid.uuid4()}"
            else:
                name = self._child_name(position)
                arn = f"{prefix}execution:{self.labelled}:{name}"
                text = self.inputs[position]
                executions.append(
                    (
                        ExecutionRecord(
                            arn=arn,
                            state_machine_arn=self.labelled_arn,
                            name=name,
                            revision_id=revision.revision_id,
                            status="RUNNING",
                            start_date=now,
                            input=text,
                            map_run_arn=self.record.arn,
                        ),
                        HistoryEventRecord(
                            1,
                            0,
                            now,
                            "ExecutionStarted",
                            execution_started_details(text, revision.role_arn),
                        ),
                    )
                )
            children.append((position, arn))
            self.child_arns[position] = arn
        started = await store.start_map_run_children(
            self.record.arn, children, executions=executions, now=now
        )
        self.running.update(started)
        if self.express:
            for position in started:
                self._start_express(position, self.inputs.pop(position))
        else:
            for position in positions:
                self.inputs.pop(position, None)
            if executions:
                from stepline.service._exec_hub import hub_of

                hub_of(self.context).wake()

    def _start_express(self, position: int, input_text: str) -> None:
        """Run one Express child here: at once when it needs no effect, else as a task."""
        context = self.context
        revision = self.revision
        assert revision is not None
        compiled = self.compiled
        if compiled is None:
            compiled = self.compiled = context.compiled(revision.revision_id, revision.definition)
        arn = self.child_arns.get(position) or (
            f"{context.arn_prefix}express:{self.labelled}:{uuid.uuid4()}:{uuid.uuid4()}"
        )
        identity = ExecutionIdentity(self.labelled_arn, arn, revision.role_arn)
        identity.name = arn.rsplit(":", 2)[-2]  # the ARN ends with the run id, not the name
        deadline = time.time() + context.config.express_max_seconds
        try:
            execution = Execution(
                compiled,
                loads(input_text),
                identity,
                time.time,
                max_payload_bytes=context.config.max_payload_bytes,
            )
            execution.region = context.config.region
            effects = execution.advance()
        except Exception as exc:  # a bad input (over the quota): the child fails
            self.done.append((position, "FAILED", None, type(exc).__name__, str(exc)))
            self.wake.set()
            return
        if execution.done:
            self.done.append(_outcome(position, execution))
            return
        self.tasks[position] = asyncio.get_running_loop().create_task(
            self._drive_express(position, execution, effects, deadline)
        )

    async def _drive_express(
        self, position: int, execution: Execution, effects: Any, deadline: float
    ) -> None:
        try:
            await asyncio.wait_for(
                drive(execution, self.context.tasks, SystemClock(), effects),
                max(deadline - time.time(), 0.0),
            )
            result = _outcome(position, execution)
        except TimeoutError:
            limit = self.context.config.express_max_seconds
            cause = f"The Express child execution ran longer than its limit of {limit:g} seconds."
            result = (position, "TIMED_OUT", None, TIMEOUT, cause)
        self.done.append(result)
        self.wake.set()

    # ------------------------------------------------------------------------------- ending

    async def _succeed(self) -> None:
        parts = []
        for child in await self.context.store.map_run_children(self.record.arn):
            if child.status == "SUCCEEDED":
                parts.append(child.output or "null")
            else:
                parts.append(_dumps({"Error": child.error, "Cause": child.cause}).decode())
        await self._finish("SUCCEEDED", output="[" + ",".join(parts) + "]")

    async def _fail_threshold(self) -> None:
        record = self.record
        cause = (
            f"The Map Run of state '{record.state_name}' failed because {self.failed_items} of "
            f"{self.total_items} items failed, more than its tolerated failure threshold "
            f"allows (ToleratedFailureCount {record.tolerated_failure_count}, "
            f"ToleratedFailurePercentage {record.tolerated_failure_percentage:g})."
        )
        await self._finish("FAILED", error=EXCEED_TOLERATED_FAILURE_THRESHOLD, cause=cause)
        await self._stop_running_children()

    async def _end_with_parent(self) -> None:
        await self._finish("ABORTED")
        await self._stop_running_children()

    async def _finish(
        self,
        status: Any,
        *,
        error: str | None = None,
        cause: str | None = None,
        output: str | None = None,
    ) -> None:
        from stepline.service._exec_hub import hub_of

        token = await self.context.store.finish_map_run(
            self.record.arn,
            status=status,
            stop_date=time.time(),
            error=error,
            cause=cause,
            output=output,
        )
        if token is not None:
            hub = hub_of(self.context)
            hub.token_changed(token)
            hub.wake()

    async def _stop_running_children(self) -> None:
        """Stop what still runs: Express tasks here, Standard child executions."""
        for task in self.tasks.values():
            task.cancel()
        if self.express:
            return
        from stepline.service._exec_ends import stop_execution

        cause = map_run_abort_hint(self.record.execution_arn)
        for position in sorted(self.running):
            arn = self.child_arns.get(position)
            if arn is None:
                continue
            with contextlib.suppress(StoreError):
                await stop_execution(self.context, arn, error=None, cause=cause)


def _outcome(position: int, execution: Execution) -> Result:
    status = execution.status
    if status == "SUCCEEDED":
        return (position, status, execution.output_json, None, None)
    return (position, status, None, execution.error, execution.cause)
