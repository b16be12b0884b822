"""What the execution operations and the worker of one process share: wake-ups and live runs.

StartExecution hands a new execution straight to this process's worker (leased in the
insert's transaction) or, when there is none or it is busy, wakes it at once instead of leaving
it to its next poll; a worker that scheduled an activity task wakes the ``GetActivityTask``
long polls of this process, and SendTaskSuccess/Failure wake the worker; StopExecution
cancels the run that drives the stopped execution in this process (its tasks stop at once, not
at the next commit); asynchronous Express executions are tracked so that a clean stop can wait
for them. Through :meth:`ExecutionHub.listen` the store's signals (``subscribe``) wake the same
events for work of other processes sharing the store. One :class:`ExecutionHub` exists per
:class:`~stepline.service.ServiceContext` (:func:`hub_of`), so the context itself needs no
field for it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from stepline.service._context import ServiceContext
from stepline.store import CHANNEL_ACTIVITIES, CHANNEL_EXECUTIONS, Store, TaskTokenRecord

if TYPE_CHECKING:
    from stepline.service._worker import Worker

__all__ = ["ExecutionHub", "hub_of"]


class ExecutionHub:
    """Wake-ups and the runs in flight of one process."""

    __slots__ = (
        "__weakref__",
        "_activity",
        "_closing",
        "_unsubscribe",
        "_wake",
        "express",
        "runs",
        "token_runs",
        "worker",
    )

    def __init__(self) -> None:
        self._wake: asyncio.Event | None = None
        self._activity: asyncio.Event | None = None
        self.worker: Worker | None = None
        """The worker of this process while it runs (StartExecution hands it new executions)."""
        self.runs: dict[str, asyncio.Task[None]] = {}
        """Execution ARN → the asyncio task driving it in this process."""
        self.express: set[asyncio.Task[None]] = set()
        """Asynchronous Express executions still running."""
        self.token_runs: dict[str, Callable[[TaskTokenRecord], None]] = {}
        """Execution ARN → how the run holding it here takes news of its tokens (an outcome
        stored, an activity task taken) without waiting for its lease to be released."""
        self._unsubscribe: list[Callable[[], None]] | None = None
        self._closing = False

    @property
    def closing(self) -> bool:
        """Whether the process is shutting down (long polls answer at once)."""
        return self._closing

    def shut_down(self) -> None:
        """The process stops: wake the long polls, which then answer without a task."""
        self._closing = True
        self.activity_scheduled()

    def listen(self, store: Store) -> None:
        """Hear the store's signals too (idempotent; call from the running event loop): work
        made due and activity tasks scheduled by other processes wake this one at once
        (on PostgreSQL; SQLite signals reach the processes of the same store object only, and
        the worker's and GetActivityTask's polling finds the rest)."""
        if self._unsubscribe is None:
            self._unsubscribe = [
                store.subscribe(CHANNEL_EXECUTIONS, self.wake),
                store.subscribe(CHANNEL_ACTIVITIES, self.activity_scheduled),
            ]

    def stop_listening(self) -> None:
        """Stop hearing the store's signals (before it closes)."""
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        for cancel in unsubscribe or ():
            cancel()

    @property
    def wake_event(self) -> asyncio.Event:
        """Set when there may be new work (created on first use, in the running loop)."""
        event = self._wake
        if event is None:
            event = self._wake = asyncio.Event()
        return event

    def wake(self) -> None:
        """Tell the worker that an execution became runnable now."""
        self.wake_event.set()

    @property
    def activity_event(self) -> asyncio.Event:
        """Set when an activity task was scheduled here (``GetActivityTask`` pollers look)."""
        event = self._activity
        if event is None:
            event = self._activity = asyncio.Event()
        return event

    def activity_scheduled(self) -> None:
        """Wake this process's ``GetActivityTask`` long polls: a task may wait for them."""
        event = self.activity_event
        event.set()
        # Each poller waits on the event it saw; the next waiters get a fresh one.
        self._activity = None

    def token_changed(self, record: TaskTokenRecord) -> None:
        """Tell the run driving the token's execution here, if any, what the store now holds."""
        listener = self.token_runs.get(record.execution_arn)
        if listener is not None:
            listener(record)

    def cancel_run(self, execution_arn: str) -> bool:
        """Stop driving ``execution_arn`` here (after StopExecution); whether a run was found."""
        task = self.runs.get(execution_arn)
        if task is None or task.done():
            return False
        task.cancel()
        return True


_HUBS: Final[weakref.WeakKeyDictionary[ServiceContext, ExecutionHub]] = weakref.WeakKeyDictionary()


def hub_of(context: ServiceContext) -> ExecutionHub:
    """The hub of ``context`` (made on first use)."""
    hub = _HUBS.get(context)
    if hub is None:
        hub = _HUBS[context] = ExecutionHub()
    return hub
