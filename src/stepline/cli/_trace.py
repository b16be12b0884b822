"""Turn an execution's history into a tree of state runs, for the readable trace of ``run``.

The history is a flat list, but each event names the event it follows in its own branch
(``previous_event_id``), so the events of one branch — the execution itself, a Parallel branch,
a Map iteration — form a chain. :func:`build_trace` walks those chains: a ``…StateEntered``
event opens a :class:`StateRun`; task events, retries and catches are noted on it; a Parallel
or Map state's ``…StateStarted`` event fans out into one :class:`Group` of runs per branch or
iteration. Nothing here prints: :mod:`stepline.cli._render` does that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from stepline.engine import HistoryEvent

__all__ = ["TASK_FAILURES", "Group", "Note", "StateRun", "Trace", "build_trace"]

NoteKind = Literal["retry", "caught", "failed"]
RunStatus = Literal["succeeded", "caught", "failed", "unfinished"]
GroupStatus = Literal["succeeded", "failed", "aborted", "unfinished"]

_ENTERED: Final = "StateEntered"
_EXITED: Final = "StateExited"
# A Task state records Task*, LambdaFunction* (a Lambda function ARN) or Activity* events.
TASK_FAILURES: Final = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "ActivityScheduleFailed",
        "EvaluationFailed",
    }
)
"""Event types that record a failed attempt of a state, with ``error`` and ``cause``."""
_ATTEMPTS: Final = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_FANOUT_STARTS: Final = frozenset({"ParallelStateStarted", "MapStateStarted"})
_FANOUT_ENDS: Final = frozenset(
    {
        "ParallelStateSucceeded",
        "ParallelStateFailed",
        "ParallelStateAborted",
        "MapStateSucceeded",
        "MapStateFailed",
        "MapStateAborted",
    }
)
_ITERATION_ENDS: Final[dict[str, GroupStatus]] = {
    "MapIterationSucceeded": "succeeded",
    "MapIterationFailed": "failed",
    "MapIterationAborted": "aborted",
}
_EXECUTION_ENDS: Final = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)


@dataclass(slots=True)
class Note:
    """Something that happened inside a state: a failed attempt, a retry, a catch.

    Attributes:
        kind: ``retry`` (the attempt failed and is retried), ``caught`` (a Catch took it) or
            ``failed`` (the state failed with it).
        error: The ASL error name, when known.
        cause: The error's cause, when known.
        attempt: For ``retry``: the number of the retry (1 for the first).
        waited: For ``retry``: seconds between the failure and the next attempt.
        target: For ``caught``: the state the Catch went to.
        at: When the failure happened (epoch seconds).
        inherited: The error is that of a failed branch or iteration, shown there already.
    """

    kind: NoteKind
    error: str | None = None
    cause: str | None = None
    attempt: int = 0
    waited: float = 0.0
    target: str | None = None
    at: float = 0.0
    inherited: bool = False


@dataclass(slots=True)
class Group:
    """One Parallel branch or Map iteration.

    Attributes:
        label: ``branch 1``, ``iteration 0``… (with the attempt when the state was retried).
        runs: The states run in it, in order.
        status: How it ended, when the history says (Parallel branches are judged by their
            last state).
        attempt: Which attempt of its Parallel or Map state it belongs to (1 for the first).
    """

    label: str
    runs: list[StateRun] = field(default_factory=list)
    status: GroupStatus = "unfinished"
    attempt: int = 1


@dataclass(slots=True)
class StateRun:
    """One visit of one state.

    Attributes:
        name: The state's name.
        type: ``Pass``, ``Task``, ``Map``… (from the event type).
        entered: When it was entered (epoch seconds).
        ended: When its last event happened.
        input: The state input as compact JSON text.
        output: The state output as JSON text; ``None`` until the state exited.
        steps: What happened inside, in order: retries and catches (:class:`Note`), and the
            branches or iterations of Parallel and Map states (:class:`Group`).
        length: For Map: how many items it iterated over (last attempt).
        error: The last failure of the state not yet retried or caught, if any.
        assigned: Workflow variables the state assigned, name to JSON text, in order.
    """

    name: str
    type: str
    entered: float
    ended: float
    input: str | None = None
    output: str | None = None
    steps: list[Group | Note] = field(default_factory=list)
    length: int | None = None
    error: Note | None = None
    assigned: dict[str, str] = field(default_factory=dict)
    _fanout_attempts: int = 0

    @property
    def notes(self) -> list[Note]:
        """The retries and catches, in order."""
        return [step for step in self.steps if isinstance(step, Note)]

    @property
    def groups(self) -> list[Group]:
        """The branches or iterations (of every attempt), in order."""
        return [step for step in self.steps if isinstance(step, Group)]

    @property
    def duration(self) -> float:
        """Seconds from entering to the state's last event."""
        return max(self.ended - self.entered, 0.0)

    @property
    def status(self) -> RunStatus:
        """``succeeded``, ``caught`` (exited through a Catch), ``failed`` or ``unfinished``."""
        if self.output is not None:
            return "caught" if self.notes and self.notes[-1].kind == "caught" else "succeeded"
        return "failed" if self.error is not None else "unfinished"


@dataclass(slots=True)
class Trace:
    """The whole execution.

    Attributes:
        input: The execution input as JSON text.
        runs: The top-level states, in order.
        status: ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT``, ``ABORTED`` or ``RUNNING``.
        error: The execution's error when it did not succeed.
        cause: Its cause.
        duration: Seconds from start to end (or to the last event).
    """

    input: str | None
    runs: list[StateRun]
    status: str
    error: str | None
    cause: str | None
    duration: float


def build_trace(history: Sequence[HistoryEvent]) -> Trace:
    """Build the tree of state runs from an execution's history (in event order)."""
    successors: dict[int, list[HistoryEvent]] = defaultdict(list)
    for event in history:
        successors[event.previous_event_id].append(event)
    walker = _Walker(successors)
    status, error, cause, execution_input = "RUNNING", None, None, None
    runs: list[StateRun] = []
    if history:
        first = history[0]
        if first.type == "ExecutionStarted" and first.details:
            execution_input = first.details.get("input")
        runs, _ = walker.chain(_next(successors, first.id))
        for event in history:
            if event.type in _EXECUTION_ENDS:
                status = _STATUS[event.type]
                details = event.details or {}
                error, cause = details.get("error"), details.get("cause")
        if runs and status != "SUCCEEDED":
            # A state that fails outside a task (a bad path, no Choice matched) records no
            # event of its own; the execution's failure is what it failed with.
            last = runs[-1]
            if last.output is None:
                # It was running until the execution ended (a timeout, an abort, a failure).
                last.ended = max(last.ended, history[-1].timestamp)
            if last.output is None and status == "FAILED":
                if last.error is None:
                    last.error = Note("failed", at=history[-1].timestamp)
                if last.error.error is None:
                    last.error = Note("failed", error, cause, at=last.error.at)
    duration = history[-1].timestamp - history[0].timestamp if history else 0.0
    return Trace(execution_input, runs, status, error, cause, duration)


_STATUS: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def _next(successors: dict[int, list[HistoryEvent]], event_id: int) -> HistoryEvent | None:
    """The event that follows ``event_id`` in its chain (execution ends are not followed)."""
    for event in successors.get(event_id, ()):
        if event.type not in _EXECUTION_ENDS:
            return event
    return None


class _Walker:
    """Walks chains of events; one instance per history."""

    def __init__(self, successors: dict[int, list[HistoryEvent]]) -> None:
        self._successors = successors
        self._visited: set[int] = set()

    def chain(self, event: HistoryEvent | None) -> tuple[list[StateRun], str | None]:
        """The state runs of the chain starting at ``event``, and its ``MapIteration…`` end."""
        runs: list[StateRun] = []
        run: StateRun | None = None
        ending: str | None = None
        while event is not None and event.id not in self._visited:
            self._visited.add(event.id)
            kind, details = event.type, event.details or {}
            if run is not None:
                run.ended = max(run.ended, event.timestamp)
            if kind.endswith(_ENTERED):
                run = StateRun(
                    str(details.get("name", "?")),
                    kind[: -len(_ENTERED)],
                    event.timestamp,
                    event.timestamp,
                    details.get("input"),
                )
                runs.append(run)
            elif run is None:
                if kind in _ITERATION_ENDS:
                    ending = kind
            elif kind.endswith(_EXITED):
                self._exited(run, event, details)
            elif kind in TASK_FAILURES:
                run.error = Note(
                    "failed", details.get("error"), details.get("cause"), at=event.timestamp
                )
            elif kind in _ATTEMPTS or kind in _FANOUT_STARTS:
                self._attempt(run, event)
                if kind in _FANOUT_STARTS:
                    event = self._fan_out(run, event)
                    continue
            elif kind in _ITERATION_ENDS:
                ending = kind
            elif kind in ("ParallelStateFailed", "MapStateFailed") and run.error is None:
                error, cause = _first_child_error(run)
                run.error = Note("failed", error, cause, at=event.timestamp, inherited=True)
            event = _next(self._successors, event.id)
        return runs, ending

    def _attempt(self, run: StateRun, event: HistoryEvent) -> None:
        """A task is scheduled or a fan-out starts: after a failure, that is a retry."""
        failure = run.error
        if failure is None:
            return
        retries = sum(1 for note in run.notes if note.kind == "retry")
        waited = max(event.timestamp - failure.at, 0.0)
        run.steps.append(
            Note(
                "retry",
                failure.error,
                failure.cause,
                attempt=retries + 1,
                waited=waited,
                at=failure.at,
            )
        )
        run.error = None

    def _exited(self, run: StateRun, event: HistoryEvent, details: dict[str, object]) -> None:
        output = details.get("output")
        run.output = output if isinstance(output, str) else "null"
        assigned = details.get("assignedVariables")
        if isinstance(assigned, dict):
            run.assigned = {str(name): str(value) for name, value in assigned.items()}
        if run.error is not None:
            # Exiting after a failure means a Catch took it; the next state is its target.
            target = None
            for following in self._successors.get(event.id, ()):
                if following.type.endswith(_ENTERED) and following.details:
                    target = str(following.details.get("name"))
                    break
            failure = run.error
            run.steps.append(
                Note("caught", failure.error, failure.cause, target=target, at=failure.at)
            )
            run.error = None

    def _fan_out(self, run: StateRun, started: HistoryEvent) -> HistoryEvent | None:
        """Walk the branches or iterations of a fan-out; return where the parent continues."""
        run._fanout_attempts += 1
        suffix = f" (attempt {run._fanout_attempts})" if run._fanout_attempts > 1 else ""
        details = started.details or {}
        length = details.get("length")
        if isinstance(length, int):
            run.length = length
        continuation: HistoryEvent | None = None
        branch = 0
        for child in self._successors.get(started.id, ()):
            if child.id in self._visited:
                continue
            if child.type == "MapIterationStarted":
                self._visited.add(child.id)
                index = (child.details or {}).get("index", "?")
                group = Group(f"iteration {index}{suffix}", attempt=run._fanout_attempts)
                group.runs, ending = self.chain(_next(self._successors, child.id))
                group.status = _ITERATION_ENDS.get(ending or "", "unfinished")
                last = group.runs[-1] if group.runs else None
                if group.status == "failed" and last is not None and last.status == "unfinished":
                    # It failed outside a task, which leaves no event saying with what.
                    last.error = Note("failed", at=last.ended)
                run.steps.append(group)
                run.ended = max(run.ended, child.timestamp, _last_time(group.runs))
            elif child.type.endswith(_ENTERED):
                branch += 1
                group = Group(f"branch {branch}{suffix}", attempt=run._fanout_attempts)
                group.runs, _ = self.chain(child)
                group.status = _branch_status(group.runs)
                run.steps.append(group)
                run.ended = max(run.ended, _last_time(group.runs))
            elif child.type in _FANOUT_ENDS and continuation is None:
                continuation = child
        run.ended = max(run.ended, started.timestamp)
        return continuation


def _branch_status(runs: list[StateRun]) -> GroupStatus:
    if not runs:
        return "unfinished"
    last = runs[-1].status
    if last == "failed":
        return "failed"
    # A branch ends with its last state exiting; the next state would have been entered.
    return "unfinished" if last == "unfinished" else "succeeded"


def _first_child_error(run: StateRun) -> tuple[str | None, str | None]:
    """The error of the failed branch or iteration that made a fan-out fail, if recorded."""
    for group in run.groups:
        if group.status == "failed":
            for child in reversed(group.runs):
                if child.error is not None:
                    return child.error.error, child.error.cause
    return None, None


def _last_time(runs: list[StateRun]) -> float:
    return max((run.ended for run in runs), default=0.0)
