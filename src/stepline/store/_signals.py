"""Wake-up signals: the store tells subscribers that there may be new work.

Two channels:

- :data:`CHANNEL_EXECUTIONS` — an execution may be due now: one was created runnable now, a
  task of one was completed or taken, one was released runnable now, or one was stopped (its
  holder in another process learns that its lease is gone).
- :data:`CHANNEL_ACTIVITIES` — an activity task was scheduled (``GetActivityTask`` long polls
  look again).

The store signals these itself, inside the transaction that causes them, through the named
query ``notify`` (``SELECT pg_notify(channel, '')``): on PostgreSQL that is PostgreSQL's own
NOTIFY, delivered to every process at commit and dropped on rollback; on SQLite a function of
that name records the channel, and the writer thread signals the subscribers of this process
after the batch committed (:class:`PendingSignals`). Signals are hints: a subscriber must still
poll (a signal can be lost, e.g. while a LISTEN connection reconnects), and one callback may
stand for many signals (they are coalesced until the callback runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

from stepline.store._records import TaskTokenRecord
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection

__all__ = [
    "CHANNELS",
    "CHANNEL_ACTIVITIES",
    "CHANNEL_EXECUTIONS",
    "LocalSignals",
    "PendingSignals",
    "check_channel",
    "due_now",
    "notify",
    "schedules_activity",
]

CHANNEL_EXECUTIONS: Final = "executions"
"""An execution may be due now (created or released runnable now, a task done, a stop)."""
CHANNEL_ACTIVITIES: Final = "activities"
"""An activity task was scheduled."""
CHANNELS: Final = (CHANNEL_EXECUTIONS, CHANNEL_ACTIVITIES)

_NOTIFY: Final = Q["notify"]


def notify(connection: SqlConnection, channel: str) -> None:
    """Signal ``channel`` when the current transaction commits (nothing if it rolls back)."""
    connection.execute(_NOTIFY, (channel,))


def due_now(wake_at: float | None) -> bool:
    """Whether an execution waking at ``wake_at`` is due already (worth a signal)."""
    return wake_at is not None and wake_at <= time.time()


def schedules_activity(tokens_add: Iterable[TaskTokenRecord]) -> bool:
    """Whether a step schedules an activity task (worth a signal to ``GetActivityTask``)."""
    return any(t.activity_arn is not None and t.status == "SCHEDULED" for t in tokens_add)


def check_channel(channel: str) -> None:
    """Raise ``ValueError`` naming the known channels, unless ``channel`` is one of them."""
    if channel not in CHANNELS:
        raise ValueError(f"Unknown store channel {channel!r}; use one of {', '.join(CHANNELS)}.")


class _Subscription:
    """One callback on one event loop; a burst of signals runs it once."""

    __slots__ = ("callback", "loop", "scheduled")

    def __init__(self, callback: Callable[[], None], loop: asyncio.AbstractEventLoop) -> None:
        self.callback = callback
        self.loop = loop
        self.scheduled = False

    def run(self) -> None:
        # Cleared before the call: a signal arriving during it schedules another run.
        self.scheduled = False
        self.callback()


def _run_all(subscriptions: list[_Subscription]) -> None:
    for subscription in subscriptions:
        try:
            subscription.run()
        except Exception as error:  # one failing subscriber must not silence the others
            subscription.loop.call_exception_handler(
                {"message": "A store signal subscriber failed.", "exception": error}
            )


class LocalSignals:
    """The subscribers of one store in this process, and delivery to them from any thread."""

    def __init__(self) -> None:
        self._subscribers: dict[str, tuple[_Subscription, ...]] = {c: () for c in CHANNELS}
        self._lock = threading.Lock()

    def subscribe(self, channel: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` on the running event loop whenever ``channel`` fires.

        Returns:
            The function that unsubscribes (idempotent).

        Raises:
            ValueError: An unknown channel.
            RuntimeError: Called outside a running event loop.
        """
        check_channel(channel)
        subscription = _Subscription(callback, asyncio.get_running_loop())
        with self._lock:
            self._subscribers[channel] = (*self._subscribers[channel], subscription)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers[channel] = tuple(
                    s for s in self._subscribers[channel] if s is not subscription
                )

        return unsubscribe

    def signal(self, channel: str) -> None:
        """Fire one channel in this process.

        Raises:
            ValueError: An unknown channel.
        """
        check_channel(channel)
        self.fire((channel,))

    def fire(self, channels: Iterable[str]) -> None:
        """Schedule the callbacks of ``channels`` on their loops (callable from any thread)."""
        # One loop callback runs every subscriber a signal reaches on that loop, so they all
        # hear it before any of them resumes other work (one callback per subscriber would
        # let the loop run between them when the signal comes from another thread).
        due: dict[asyncio.AbstractEventLoop, list[_Subscription]] = {}
        for channel in channels:
            for subscription in self._subscribers.get(channel, ()):
                if not subscription.scheduled:
                    subscription.scheduled = True
                    due.setdefault(subscription.loop, []).append(subscription)
        for loop, subscriptions in due.items():
            # A closed loop raises RuntimeError: its subscribers are gone with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_run_all, subscriptions)


class PendingSignals:
    """Channels signalled by the transactions of the SQLite writer's current batch.

    The writer connection's ``pg_notify`` SQL function records into it; the writer marks it
    before each transaction, drops what a rolled-back transaction recorded, and fires the rest
    after COMMIT. Used on the writer thread only.
    """

    def __init__(self, signals: LocalSignals) -> None:
        self._signals = signals
        self._pending: list[str] = []

    def record(self, channel: str, _payload: str = "") -> None:
        """The ``pg_notify(channel, payload)`` SQL function."""
        self._pending.append(channel)

    def mark(self) -> int:
        """A position to :meth:`undo` to."""
        return len(self._pending)

    def undo(self, mark: int) -> None:
        """Forget what was recorded since ``mark`` (its transaction rolled back)."""
        del self._pending[mark:]

    def flush(self) -> None:
        """Fire what was recorded (the batch committed)."""
        if self._pending:
            channels = set(self._pending)
            self._pending.clear()
            self._signals.fire(channels)

    def discard(self) -> None:
        """Forget everything (the batch's commit failed)."""
        self._pending.clear()
