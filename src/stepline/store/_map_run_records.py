"""The records of Distributed Map runs: the map run, its children, their counts.

A map run is what a Distributed Map state starts: one child per item (or per batch of items),
each run as a child execution. The store keeps the run (limits, status, the parent's task token
that its outcome completes) and one row per child (its input, its status, its outcome once
known), so that counts are recomputed from the children at any time and a restarted service
takes the run up where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "CHILD_STATUSES",
    "MapRunChildRecord",
    "MapRunChildStatus",
    "MapRunCounts",
    "MapRunRecord",
    "MapRunStatus",
    "MapRunStatusCounts",
]

MapRunStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "ABORTED"]
MapRunChildStatus = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
CHILD_STATUSES: Final = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True, slots=True)
class MapRunRecord:
    """One map run (``DescribeMapRun`` without the counts).

    Attributes:
        arn: ``arn:…:mapRun:<state machine name>/<label>:<uuid>``.
        execution_arn: The parent execution.
        state_machine_arn: The parent's state machine (``MapRunListItem.stateMachineArn``).
        label: The Map state's ``Label``, or the generated one.
        state_name: The Distributed Map state's name.
        execution_type: ``STANDARD`` or ``EXPRESS`` (``ProcessorConfig.ExecutionType``).
        revision_id: The revision the children run (the ItemProcessor as a state machine).
        status: ``RUNNING``, ``SUCCEEDED``, ``FAILED`` or ``ABORTED``.
        start_date: When it started.
        max_concurrency: Children running at once at most (0: no limit).
        tolerated_failure_count: Failed items tolerated.
        tolerated_failure_percentage: Failed items tolerated, in percent of all items.
        task_token: The parent's token its outcome completes (never shown to users).
        stop_date: When it ended.
        error: Why it failed.
        cause: The cause that goes with ``error``.
        redrive_count: How many times it was redriven.
        redrive_date: When it was last redriven.
    """

    arn: str
    execution_arn: str
    state_machine_arn: str
    label: str
    state_name: str
    execution_type: str
    revision_id: str
    status: MapRunStatus
    start_date: float
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    task_token: str = field(repr=False)
    stop_date: float | None = None
    error: str | None = field(default=None, repr=False)
    cause: str | None = field(default=None, repr=False)
    redrive_count: int = 0
    redrive_date: float | None = None


@dataclass(frozen=True, slots=True)
class MapRunChildRecord:
    """One child of a map run: one item, or one batch of items.

    Attributes:
        map_run_arn: The map run.
        position: Its index among the children (its result's place in the Map's output).
        item_count: How many items it processes (1 without an ``ItemBatcher``).
        input: Its input, JSON text.
        status: ``PENDING`` (not started), ``RUNNING``, or how it ended.
        execution_arn: Its execution, once started.
        output: Its output (JSON text) once it succeeded.
        error: Its error once it failed.
        cause: The cause that goes with ``error``.
    """

    map_run_arn: str
    position: int
    item_count: int
    input: str = field(repr=False)
    status: MapRunChildStatus = "PENDING"
    execution_arn: str | None = None
    output: str | None = field(default=None, repr=False)
    error: str | None = field(default=None, repr=False)
    cause: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MapRunStatusCounts:
    """Children (or items) per status, as ``MapRunExecutionCounts``/``MapRunItemCounts``."""

    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    aborted: int = 0

    @property
    def total(self) -> int:
        """All of them."""
        return (
            self.pending
            + self.running
            + self.succeeded
            + self.failed
            + self.timed_out
            + self.aborted
        )

    @property
    def unsuccessful(self) -> int:
        """Failed, timed out or aborted (what a failure threshold counts)."""
        return self.failed + self.timed_out + self.aborted


@dataclass(frozen=True, slots=True)
class MapRunCounts:
    """A map run's counts, recomputed from its children.

    Attributes:
        executions: Children per status.
        items: Items per status (a batch counts its items).
    """

    executions: MapRunStatusCounts
    items: MapRunStatusCounts
