"""SQLite's threads: one writer committing queued transactions in groups, a pool of readers.

The writer owns the only write connection. Callers hand it whole transactions (functions of a
connection) and await a future. It takes everything queued (up to ``max_batch``), runs each
inside its own SAVEPOINT of one ``BEGIN IMMEDIATE … COMMIT``, and then resolves every caller's
future: one commit (and one WAL write) for the whole group — group commit. A transaction that
raises is rolled back to its savepoint and fails alone; its batch-mates commit. A future is
resolved only after COMMIT returned, so an acknowledged write is in the WAL.

Readers are WAL readers on their own connections, never waiting for the writer: listings and
history pages run in a small thread pool, off the event loop; single-row reads by key may run
on the calling thread (:meth:`ReaderPool.run_inline`), which measured faster than the hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from stepline.store._errors import StoreClosed
from stepline.store._signals import PendingSignals

__all__ = ["ReaderPool", "WriterThread"]

T = TypeVar("T")

_STOP: Final = object()
_Outcome = tuple["asyncio.Future[Any]", bool, Any]


def _deliver(outcomes: list[_Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class WriterThread:
    """The single writer with group commit.

    Args:
        connect: Opens the write connection (called on the writer thread).
        max_batch: Most transactions committed together.
        signals: Where the connection's ``pg_notify`` records wake-up signals: fired after
            the batch committed, minus those of transactions that rolled back.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        max_batch: int = 512,
        signals: PendingSignals | None = None,
    ) -> None:
        self._signals = signals
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._closed = False
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.batches = 0
        self.transactions = 0
        self._thread = threading.Thread(
            target=self._run, args=(connect,), name="stepline-sqlite-writer", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def submit(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue a transaction; the future resolves after its batch committed."""
        if self._closed:
            raise StoreClosed
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((work, future))
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the thread and close the connection."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self, connect: Callable[[], sqlite3.Connection]) -> None:
        try:
            connection = connect()
        except BaseException as error:
            self._startup_error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if batch[-1] is _STOP:
                    batch.pop()
                    stopping = True
                if batch:
                    self._commit(connection, batch)
        finally:
            connection.close()

    def _commit(self, connection: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[_Outcome] = []
        single = len(batch) == 1
        signals = self._signals
        try:
            connection.execute("BEGIN IMMEDIATE")
            for work, future in batch:
                if not single:
                    connection.execute("SAVEPOINT tx")
                mark = 0 if signals is None else signals.mark()
                try:
                    result = work(connection)
                except Exception as error:
                    if signals is not None:
                        signals.undo(mark)
                    if single:
                        connection.execute("ROLLBACK")
                    else:
                        connection.execute("ROLLBACK TO tx")
                        connection.execute("RELEASE tx")
                    outcomes.append((future, False, error))
                else:
                    if not single:
                        connection.execute("RELEASE tx")
                    outcomes.append((future, True, result))
            if connection.in_transaction:
                connection.execute("COMMIT")
        except Exception as error:
            # The commit itself failed (disk full, I/O error): nothing of the batch is durable.
            if signals is not None:
                signals.discard()
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [
                (future, False, error if ok else value) for future, ok, value in outcomes
            ] + [(future, False, error) for _, future in batch[len(outcomes) :]]
        self.batches += 1
        self.transactions += len(batch)
        if signals is not None:
            signals.flush()
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, delivered in by_loop.items():
            # A closed loop raises RuntimeError: nobody waits for these results any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, delivered)


class ReaderPool:
    """Read-only queries on their own connections, in a small thread pool.

    Args:
        connect: Opens one reader connection (called once per pool thread).
        size: Threads (and connections).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], size: int = 2) -> None:
        self._connect = connect
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="stepline-sqlite-reader")
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return work(self._connection())

    def run_inline(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the calling thread, with that thread's own reader connection.

        For single-row reads by key: measured at about 4x the throughput of a hop to the pool
        (tens of microseconds, less than the hop itself costs the event loop).
        """
        if self._closed:
            raise StoreClosed
        return work(self._connection())

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` with a reader connection and return its result."""
        if self._closed:
            raise StoreClosed
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, work)

    def close(self) -> None:
        """Wait for running reads, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
