"""Redrive: a closed, unsuccessful execution continues from its unsuccessful state(s).

Part of :class:`~stepline.engine._execution.Execution` (as a mixin). When an execution ends
``FAILED``, ``TIMED_OUT`` or ``ABORTED`` it keeps its *redrive point*: the top-level frame at
the state that did not succeed and, where that state is a Parallel or Map state that failed
because of its children (or was running when the execution stopped), the fan-out with the
results of the branches/iterations that succeeded and the frames of those that failed, were
aborted or never started. :meth:`RedriveMixin.redrive` turns the execution back into a running
one from there, as AWS's ``RedriveExecution`` does:

- an ``ExecutionRedriven`` event (``redriveCount``) continues the history;
- every unsuccessful state is entered again with its original input and variables (a new
  ``…StateEntered`` event), its retry counters at zero;
- a Parallel or Map state runs again only the branches/iterations that failed or were
  aborted (each from the state where it stopped) and the iterations not started yet; those
  that succeeded keep their results. A state that failed with ``States.DataLimitExceeded``
  runs again whole, as AWS documents;
- the execution's ``TimeoutSeconds`` counts again from the redrive; ``$$.Execution.RedriveCount``
  is the new count.

The redrive point travels in the execution's snapshot (see :mod:`stepline.engine._snapshot`),
so a durable driver redrives an execution restored in any process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.asl._errors import DATA_LIMIT_EXCEEDED
from stepline.engine._event_log import EventLog
from stepline.engine._mixin_base import ExecutionMixin

if TYPE_CHECKING:
    from stepline.asl._model import CompiledDefinition, MapState
    from stepline.engine._execution import Status
    from stepline.engine._frames import Fanout, Frame

__all__ = ["RedriveError", "RedriveMixin"]


class RedriveError(ValueError):
    """The execution cannot be redriven (it is running, succeeded, or has no redrive point)."""


class RedriveMixin(ExecutionMixin):
    """The redrive part of :class:`~stepline.engine._execution.Execution`."""

    if TYPE_CHECKING:
        status: Status
        definition: CompiledDefinition
        redrive_count: int
        _redrive_root: Frame | None
        _taken: int
        _execution_context: dict[str, Any] | None
        output: Any
        output_json: str | None
        error: str | None
        cause: str | None
        stop_time: float | None
        deadline: float | None

        def _start_iteration(self, frame: Frame, state: MapState, fanout: Fanout) -> None: ...

    # ------------------------------------------------------------------- keeping the point

    def _keep_redrive_point(self, failed: Frame | None) -> None:
        """Remember where a redrive would continue (called as the execution closes).

        Args:
            failed: The top-level frame whose state failed the execution; ``None`` when the
                execution is stopped or timed out from outside (the frames still live then).
        """
        if failed is None:
            from stepline.engine._snapshot import live_frames  # the snapshot module needs us

            frames = live_frames(self)  # type: ignore[arg-type]
            failed = frames[0] if frames else None
        self._redrive_root = failed
        if failed is not None:
            _settle(failed)

    @property
    def redrivable(self) -> bool:
        """Whether :meth:`redrive` can run: the execution ended unsuccessfully and knows where
        to continue (or is stopped from outside, see :meth:`redrive`)."""
        return self.status not in ("RUNNING", "SUCCEEDED") and self._redrive_root is not None

    # --------------------------------------------------------------------------- redriving

    def redrive(
        self, redrive_count: int | None = None, *, previous_event_id: int | None = None
    ) -> None:
        """Run this closed, unsuccessful execution again from its unsuccessful state(s).

        Records ``ExecutionRedriven`` and readies the frames to run; call :meth:`advance` next
        (and :meth:`take_new_events` for the events). The definition is the one the execution
        started with (a restored execution checks its digest).

        Args:
            redrive_count: The redrive count after this redrive (default: one more).
            previous_event_id: The id of the last event in the stored history, for a durable
                driver whose store holds events the execution did not record (an
                ``ExecutionAborted`` written by StopExecution): the new events continue after
                it. An execution restored from a snapshot taken while it was still running is
                then treated as stopped at that point.

        Raises:
            RedriveError: The execution is running (and no ``previous_event_id`` says it was
                stopped from outside) or succeeded.
        """
        status = self.status
        if status == "SUCCEEDED":
            raise RedriveError(
                "The execution SUCCEEDED and cannot be redriven; start a new execution instead."
            )
        if status == "RUNNING":
            if previous_event_id is None:
                raise RedriveError(
                    "The execution is RUNNING and cannot be redriven; stop it or wait for it "
                    "to end first."
                )
            # Ended outside the engine: it continues from the frames live at its last step.
            self._keep_redrive_point(None)
        root = self._redrive_root
        if root is None:
            raise RedriveError(
                "The execution has no state to continue from; start a new execution instead."
            )
        events = self._events
        if previous_event_id is not None and previous_event_id != len(events):
            self._events = events = EventLog(previous_event_id)
            self._taken = previous_event_id
        now = self.now()
        self.status = "RUNNING"
        self.stop_time = None
        self.output = self.output_json = None
        self.error = self.cause = None
        self.redrive_count = self.redrive_count + 1 if redrive_count is None else redrive_count
        self._execution_context = None  # $$.Execution.RedriveCount changed
        timeout = self.definition.timeout_seconds
        # AWS: the state machine's TimeoutSeconds is reset on redrive.
        self.deadline = now + timeout if timeout is not None else None
        self._ready.clear()
        self._tasks.clear()
        self._timers.clear()
        self._task_progress.clear()
        self._cancelled.clear()
        self._redrive_root = None
        redriven = self._emit(
            len(events), "ExecutionRedriven", {"redriveCount": self.redrive_count}, now
        )
        self._resume(root, redriven)

    def _resume(self, root: Frame, redriven: int) -> None:
        """Ready the unsuccessful frames under ``root`` (parents first, children by index)."""
        pending = [root]
        while pending:
            frame = pending.pop()
            frame.aborted = False
            frame.pending_effect = None
            frame.resume = None
            frame.last_event_id = redriven
            fanout = frame.fanout
            if fanout is None:
                frame.fresh = True  # entered again: new Entered event, retry counters at 0
                self._ready.append(frame)
                continue
            children = fanout.children
            fanout.error = None
            fanout.failures = 0
            fanout.running = len(children)
            fanout.remaining = len(children) + len(fanout.waiting)
            pending.extend(children[index] for index in sorted(children, reverse=True))
            if fanout.waiting:
                state: Any = fanout.state
                limit = fanout.concurrency or fanout.total
                while fanout.waiting and fanout.running < limit:
                    self._start_iteration(frame, state, fanout)
            elif fanout.remaining == 0:
                self._ready.append(frame)  # every child had ended: the state can finish


def _settle(root: Frame) -> None:
    """Shape the tree under ``root`` for a redrive: each Parallel/Map frame that a redrive
    resumes holds its fan-out with the children to resume in ``children``."""
    pending = [root]
    while pending:
        frame = pending.pop()
        failed_fanout = frame.redrive
        frame.redrive = None
        if (
            frame.fanout is None
            and failed_fanout is not None
            and failed_fanout.state is frame.graph.states[frame.state_name]
            and (failed_fanout.error is None or failed_fanout.error[0] != DATA_LIMIT_EXCEEDED)
        ):
            frame.fanout = failed_fanout
        fanout = frame.fanout
        if fanout is None:
            continue
        for index, child in fanout.failed.items():
            fanout.children.setdefault(index, child)
        fanout.failed = {}
        pending.extend(fanout.children.values())
