"""The PostgreSQL store's LISTEN connection: other processes' signals reach this one's subscribers.

One thread per store holds one connection that LISTENs on the store's channels (named after
its schema, :func:`~stepline.store._postgres_sql.channel_name`) and fires the local subscribers
(:class:`~stepline.store._signals.LocalSignals`) for each notification, this process's own
included — that is how this process's subscribers hear its own commits too. When the
connection breaks it reconnects (backing off up to a few seconds) and then fires every channel
once, since signals sent meanwhile were lost; subscribers poll anyway.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any, Final

import psycopg
from psycopg import sql

from stepline.store._postgres_sql import channel_name
from stepline.store._signals import CHANNELS, LocalSignals

__all__ = ["Listener"]

_LOG = logging.getLogger("stepline.store")
_FIRST_BACKOFF: Final = 0.1
_MAX_BACKOFF: Final = 5.0
_POLL: Final = 5.0
"""How long one wait for notifications lasts before the thread checks it should stop (a
stop normally arrives as a notification at once)."""


class Listener:
    """Listens on a schema's channels until :meth:`close`.

    Args:
        connect: Opens an autocommit connection (the store's settings).
        schema: The schema whose channels to listen on (``current_schema()``).
        signals: The subscribers to fire.

    Raises:
        psycopg.OperationalError: The first connection failed.
    """

    def __init__(
        self, connect: Callable[[], psycopg.Connection[Any]], schema: str, signals: LocalSignals
    ) -> None:
        self._connect = connect
        self._signals = signals
        self._channels = {channel_name(schema, channel): channel for channel in CHANNELS}
        # A private channel: close() notifies it so that the thread stops without waiting.
        self.stop_channel = f"stepline.stop.{secrets.token_hex(8)}"
        self._stopping = threading.Event()
        self.backend_pid = 0
        """The PostgreSQL backend of the LISTEN connection (changes when it reconnects)."""
        connection = self._listen()
        self._thread = threading.Thread(
            target=self._run, args=(connection,), name="stepline-pg-listen", daemon=True
        )
        self._thread.start()

    def _listen(self) -> psycopg.Connection[Any]:
        connection = self._connect()
        try:
            for name in (*self._channels, self.stop_channel):
                connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
        except BaseException:
            connection.close()
            raise
        self.backend_pid = connection.info.backend_pid
        return connection

    def _run(self, connection: psycopg.Connection[Any] | None) -> None:
        backoff = _FIRST_BACKOFF
        while not self._stopping.is_set():
            if connection is None:
                try:
                    connection = self._listen()
                except psycopg.Error as error:
                    _LOG.warning(
                        "Store LISTEN connection failed (%s); retrying in %.1fs.",
                        type(error).__name__,
                        backoff,
                    )
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF)
                    continue
                backoff = _FIRST_BACKOFF
                # Signals sent while disconnected are lost: let every subscriber look again.
                self._signals.fire(CHANNELS)
            try:
                for notice in connection.notifies(timeout=_POLL):
                    channel = self._channels.get(notice.channel)
                    if channel is not None:
                        self._signals.fire((channel,))
                    elif notice.channel == self.stop_channel:
                        self._stopping.set()
                        break
            except psycopg.Error:
                with contextlib.suppress(psycopg.Error):
                    connection.close()
                connection = None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def close(self, timeout: float = _POLL + 1) -> None:
        """Stop the thread (the caller has notified :attr:`stop_channel`, or it notices within
        a poll) and close its connection."""
        self._stopping.set()
        self._thread.join(timeout)
