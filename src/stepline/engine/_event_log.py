"""The in-memory history of an execution that no longer holds all of its events.

A restored execution does not have the events recorded before its snapshot (the store has
them), and a durable driver may drop events once it has taken them
(``Execution(..., keep_events=False)``). Event ids must still continue from the true count.

The engine's hot paths number events with ``len(events)`` right after appending one, so
:class:`EventLog` is a ``list`` whose ``len()`` counts the events no longer held as well. Only
executions that need it use this class: a plain execution keeps a plain ``list`` and pays
nothing for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EventLog", "EventTuple"]

EventTuple = tuple[int, float, str, dict[str, Any] | None]
"""``(previousEventId, timestamp, type, details)``; the event id is its position + 1."""


class EventLog(list[EventTuple]):
    """The events from id ``dropped + 1`` on; ``len()`` is the total count of the history.

    Indexing and iteration see only the events held (index 0 is event ``dropped + 1``): use
    ``list.__len__`` for how many are held.

    Args:
        dropped: How many events came before the first one held.
    """

    __slots__ = ("dropped",)

    def __init__(self, dropped: int = 0) -> None:
        super().__init__()
        self.dropped = dropped

    def __len__(self) -> int:
        return self.dropped + list.__len__(self)

    def drop_held(self) -> None:
        """Forget the events held; numbering continues after them."""
        self.dropped += list.__len__(self)
        del self[:]
