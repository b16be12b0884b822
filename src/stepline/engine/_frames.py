"""The mutable bookkeeping of a running execution: frames and fan-outs.

A *frame* is one thread of control walking a :class:`StateGraph`: the top level, one Parallel
branch, or one Map iteration. A frame blocked on a Parallel or Map state owns a *fan-out* that
tracks its children. Both are plain data so that a store can later persist them as a snapshot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._model import State, StateGraph

__all__ = ["BLOCKED", "CONTINUE", "ENDED", "Fanout", "Frame", "ScopedContext"]

# What a state handler tells the frame loop.
CONTINUE: Final = 0  # the frame moved to its next state: keep going
BLOCKED: Final = 1  # the frame waits for an effect or for children
ENDED: Final = 2  # the frame finished (succeeded or failed)


_NO_VARIABLES: Mapping[str, Any] = {}


class ScopedContext(dict[str, Any]):
    """The context object ``$$`` as a state sees it, carrying the workflow variables it reads.

    A plain ``dict`` to everything that reads ``$$`` (and to JSON encoders); the variables ride
    along as an attribute, so paths like ``$orderId.total`` need no extra argument.
    """

    __slots__ = ("variables",)

    def __init__(self, members: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
        super().__init__(members)
        self.variables = variables

    def with_map_item(self, index: int, value: Any) -> ScopedContext:
        """A copy with ``Map.Item`` set, as a Map's ItemSelector sees it."""
        scoped = ScopedContext(self, self.variables)
        scoped["Map"] = {"Item": {"Index": index, "Value": value}}
        return scoped


class Frame:
    """One thread of control in an execution.

    Attributes:
        graph: The scope it walks.
        state_name: The current state.
        input: The raw input of the current state.
        input_json: Its JSON text once encoded (reused when a state passes it through).
        parent: The frame whose Parallel/Map state spawned this one (``None`` at the top).
        index: The branch or item index within the parent's fan-out.
        fresh: True until the current state's Entered event is recorded.
        last_event_id: The last event of this frame (``previousEventId`` of the next).
        entered_event_id: The Entered event of the current state (quoted in runtime errors).
        entered_at: When the current state was entered (for ``$$.State.EnteredTime``).
        retry_counts: Attempts used per retrier of the current state.
        resume: What the current state was waiting for, once it arrived:
            ``("result", value)``, ``("error", (name, cause, retry_after))`` or ``("timer", None)``.
        pending_effect: Id of the effect the frame waits on, if any.
        fanout: The children of the current Parallel/Map state, if any.
        variables: The workflow variables visible here. Never changed in place: an ``Assign``
            replaces the mapping, so a child frame (a Map iteration, a Parallel branch) can
            share its parent's and its own assignments never flow out.
        aborted: Set when a sibling's failure (or a stop) ends this frame from outside.
        redrive: The fan-out of the Parallel/Map state that failed this frame (what a redrive
            resumes: its results, failed and unstarted children), kept until the state runs
            again.
    """

    __slots__ = (
        "aborted",
        "entered_at",
        "entered_event_id",
        "fanout",
        "fresh",
        "graph",
        "index",
        "input",
        "input_json",
        "last_event_id",
        "parent",
        "pending_effect",
        "redrive",
        "resume",
        "retry_counts",
        "state_name",
        "variables",
    )

    def __init__(
        self,
        graph: StateGraph,
        state_input: Any,
        parent: Frame | None,
        index: int,
        last_event_id: int,
    ) -> None:
        self.graph = graph
        self.state_name = graph.start_at
        self.input = state_input
        self.input_json: str | None = None
        self.parent = parent
        self.index = index
        self.fresh = True
        self.last_event_id = last_event_id
        self.entered_event_id = 0
        self.entered_at = 0.0
        self.retry_counts: list[int] | None = None
        self.resume: tuple[str, Any] | None = None
        self.pending_effect: int | None = None
        self.fanout: Fanout | None = None
        self.aborted = False
        self.redrive: Fanout | None = None
        self.variables: Mapping[str, Any] = (
            parent.variables if parent is not None else _NO_VARIABLES
        )


class Fanout:
    """The children of a Parallel or Map state and how far they have come.

    Attributes:
        state: The Parallel or Map state.
        raw_input: The state's raw input (ResultPath merges into it).
        effective_input: Its input after InputPath/Parameters (Map items are read from it).
        results: One slot per branch/item, filled as children finish.
        waiting: Items not yet started (Map with MaxConcurrency), as ``(index, item)``.
        running: Children started and not finished.
        remaining: Children not finished (started or not).
        failures: Map iterations that failed (tolerated ones included).
        tolerated_count: Failures allowed by count (``None``: no limit by count).
        tolerated_percentage: Failures allowed by percentage (``None``: no limit by percentage).
        children: The running child frames.
        failed: Child frames that failed (tolerated or not) or were aborted by a sibling's
            failure, by index: what a redrive runs again from their unsuccessful state.
        error: ``(name, cause)`` once the fan-out has failed.
    """

    __slots__ = (
        "children",
        "concurrency",
        "context",
        "effective_input",
        "error",
        "failed",
        "failures",
        "is_map",
        "raw_input",
        "remaining",
        "results",
        "running",
        "state",
        "tolerated_count",
        "tolerated_percentage",
        "total",
        "waiting",
    )

    def __init__(self, state: State, raw_input: Any, effective_input: Any, total: int) -> None:
        self.state = state
        self.is_map = state.type == "Map"
        self.raw_input = raw_input
        self.effective_input = effective_input
        self.total = total
        self.results: list[Any] = [None] * total
        self.waiting: deque[tuple[int, Any]] = deque()
        self.running = 0
        self.remaining = total
        self.failures = 0
        self.concurrency = 0
        self.tolerated_count: int | None = None
        self.tolerated_percentage: float | None = None
        self.children: dict[int, Frame] = {}
        self.failed: dict[int, Frame] = {}
        self.error: tuple[str, str] | None = None
        self.context: Any = None
