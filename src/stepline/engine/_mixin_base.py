"""What the state-handler mixins may use of :class:`~stepline.engine._execution.Execution`.

The handlers are split by concern into mixins (``_simple``, ``_tasks``, ``_fanout``,
``_jsonata_states``) that :class:`Execution` combines; each calls methods that live on
``Execution`` or on a sibling mixin. :class:`ExecutionMixin` declares those once, for the type
checker only: at run time it is an empty base, so it costs nothing on the hot path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from stepline.asl._model import MapState, ParallelState, State, TaskState
    from stepline.engine._execution import ExecutionIdentity, Status
    from stepline.engine._frames import Fanout, Frame, ScopedContext
    from stepline.engine._ports import TaskEffect, TimerEffect

__all__ = ["ExecutionMixin"]


class ExecutionMixin:
    """The base of every state-handler mixin: the ``Execution`` members they share."""

    __slots__ = ()

    if TYPE_CHECKING:
        # --- owned by Execution
        identity: ExecutionIdentity
        status: Status
        now: Callable[[], float]
        max_payload_bytes: int
        _events: list[tuple[int, float, str, dict[str, Any] | None]]
        _ready: deque[Frame]
        _effects: list[TaskEffect | TimerEffect]
        _cancelled: list[int]
        _next_effect_id: int
        _tasks: dict[int, tuple[Frame, State, Any, Any, TaskEffect]]
        _timers: dict[int, tuple[Frame, str, float]]  # frame, "wait" | "retry", due time
        _task_progress: dict[int, str]  # effect id -> "submitted" | "started"

        def _emit(
            self,
            previous: int,
            event_type: str,
            details: dict[str, Any] | None,
            timestamp: float | None = None,
        ) -> int: ...
        def _emit_in(
            self, frame: Frame, event_type: str, details: dict[str, Any] | None
        ) -> int: ...
        def _encode(self, value: Any, what: str) -> str: ...
        def context_object(self, frame: Frame, state: State) -> ScopedContext: ...
        def _context(self, frame: Frame, state: State) -> Any: ...
        def _exit(
            self,
            frame: Frame,
            state: State,
            output: Any,
            assigned: dict[str, str] | None = None,
            target: str | Literal[False] | None = False,
        ) -> int: ...
        def _assign(
            self, frame: Frame, assign: Any, value: Any, context: Any
        ) -> dict[str, str]: ...
        def _assign_values(self, frame: Frame, values: Mapping[str, Any]) -> dict[str, str]: ...
        def _transition(
            self,
            frame: Frame,
            state: State,
            target: str | None,
            output: Any,
            output_json: str | None = None,
        ) -> int: ...
        def _start_timer(self, frame: Frame, due: float, kind: str) -> None: ...
        def _fail_frame(self, frame: Frame, error: str | None, cause: str | None) -> int: ...

        # --- owned by TaskMixin
        def _schedule_task(
            self,
            frame: Frame,
            state: TaskState,
            effective: Any,
            *,
            timeout: int | None,
            heartbeat: int | None,
            context: Any,
            token: str | None = None,
        ) -> int: ...
        def _task_token(self, state: TaskState, context: dict[str, Any]) -> str | None: ...
        def _finish_with_result(
            self, frame: Frame, state: State, result: Any, context: Any
        ) -> int: ...

        # --- owned by FanoutMixin
        def _start_parallel(self, frame: Frame, state: ParallelState, effective: Any) -> int: ...
        def _start_map(
            self,
            frame: Frame,
            state: MapState,
            items: Any,
            *,
            effective: Any,
            context: Any,
            limits: tuple[int, int | None, float | None],
        ) -> int: ...
        def _fanout_done(
            self, frame: Frame, state: ParallelState | MapState, fanout: Fanout
        ) -> int: ...

        # --- owned by MapRunMixin
        distributed_map_runs: bool

        def _start_map_run(
            self,
            frame: Frame,
            state: MapState,
            items: list[Any],
            *,
            effective: Any,
            context: Any,
            limits: tuple[int, int | None, float | None],
        ) -> int: ...
        def _map_run_ended(self, frame: Frame, state: MapState) -> int: ...

        # --- owned by JsonataStatesMixin
        def _finish_jsonata(self, frame: Frame, state: State, result: Any) -> int: ...
