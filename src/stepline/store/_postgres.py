"""``PostgresStore``: the store on PostgreSQL, shared by any number of processes and machines.

It runs the very transaction functions of the SQLite store (``_sqlite_ops``, ``_sqlite_runs``,
``_sqlite_tokens``) through :class:`~stepline.store._postgres_conn.PgConnection`, with the
dialect differences as named SQL overrides (:mod:`stepline.store._postgres_sql`), and inherits
SQLite's method layer (arguments → functions, page tokens); what differs is how a function
runs: psycopg 3 (synchronous) on a pool of threads, each with its own connection, one
PostgreSQL transaction per operation. The driver was chosen by measurement
(``benchmarks/bench_pg_driver.py``, figures in ``docs/performance.md``).

Opening connects, creates the schema named by the URL if missing, and applies the pending
migrations in one transaction under an advisory lock (two processes opening at once do not
race; the second finds the work done), refusing a schema newer than this code.

Concurrency, per operation. SQLite's functions were written for one writer at a time; here
many run at once, so each operation is made as atomic as on SQLite:

- The worker side runs at READ COMMITTED with row locks, all taken in one order (an
  execution's runtime row first, then its tokens), so they never deadlock among themselves:
  ``claim_runnable`` locks due runtime rows with ``FOR UPDATE SKIP LOCKED`` (each execution goes
  to one claimer, and claimers skip what another is claiming or committing instead of waiting;
  a due timer is claimed like this too, so one worker wins it); ``commit_step``,
  ``renew_lease``, ``release`` and ``stop_execution`` lock the runtime row before checking the
  lease (a stop and a commit are serialised: whichever comes second sees the other's result,
  and a stale holder gets ``LeaseLost``); ``complete_task`` and ``heartbeat_task`` lock the
  execution's runtime row before reading the token (exactly one completion succeeds, a
  heartbeat never writes back a stale row); ``take_activity_task`` locks the oldest task with
  ``SKIP LOCKED`` (each task to one poller, concurrent pollers take the next ones), then wakes
  its execution. It is the one operation that locks a token before the runtime row: if the
  execution ends (closing its tokens) at the very moment its task is taken, PostgreSQL
  detects the deadlock after ``deadlock_timeout`` (1 s by default) and one of the two is
  retried. ``create_execution`` relies on the unique
  execution ARN: two creations of one name race to the constraint, the loser is retried and
  then sees the winner (``StoreConflict`` with it, as on SQLite).
- Every other operation — the control plane (state machines, versions, aliases, tags,
  activities) and any operation this module does not list — runs SERIALIZABLE: PostgreSQL
  then guarantees the outcome of some one-at-a-time order, which is exactly what the
  functions assume.
- A transaction that fails with a serialization failure, a deadlock or a unique violation is
  rolled back and run again (a few times, with a short random backoff); the function then
  sees what the other transaction committed and answers as SQLite would (e.g. the existing
  record in ``StoreConflict``).

Wake-up signals: the ``notify`` query is ``pg_notify`` inside the operation's transaction
(delivered at commit, to every process); one LISTEN connection per store
(:class:`~stepline.store._postgres_listen.Listener`) fires this process's subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Final, TypeVar

import psycopg
from psycopg import errors, sql

from stepline.store import _sqlite_runs as runs
from stepline.store import _sqlite_tokens as tokens
from stepline.store._errors import SchemaTooNew, StoreClosed, StoreConflict, StoreUnavailable
from stepline.store._paging import PageTokens
from stepline.store._postgres_conn import PgConnection, PgSettings, connect, parse_url
from stepline.store._postgres_listen import Listener
from stepline.store._postgres_sql import migration_statements
from stepline.store._signals import LocalSignals, check_channel, notify
from stepline.store._sql import QUERIES, SCHEMA_VERSION
from stepline.store._sql_connection import SqlConnection
from stepline.store._sqlite import SqliteStore

__all__ = ["PostgresStore"]

T = TypeVar("T")

_TOKEN_KEY: Final = "page_token_key"
_ATTEMPTS: Final = 12
_BACKOFF: Final = 0.002
_RETRYABLE: Final = (errors.SerializationFailure, errors.DeadlockDetected, errors.UniqueViolation)

_READ_COMMITTED: Final = frozenset(
    {
        runs.create_execution,
        runs.stop_execution,
        runs.claim_runnable,
        runs.commit_step,
        runs.renew_lease,
        runs.release,
        tokens.take_activity_task,
        tokens.complete_task,
        tokens.heartbeat_task,
    }
)
"""The operations that run at READ COMMITTED with the row locks described above."""
_BEGIN_READ_COMMITTED: Final = "BEGIN ISOLATION LEVEL READ COMMITTED"
_BEGIN_SERIALIZABLE: Final = "BEGIN ISOLATION LEVEL SERIALIZABLE"


def migrate(connection: psycopg.Connection[Any], settings: PgSettings) -> int:
    """Create the schema if needed and apply pending migrations, under an advisory lock.

    Raises:
        SchemaTooNew: The schema was migrated by a newer stepline.
    """
    connection.execute("BEGIN")
    try:
        connection.execute(
            "SELECT pg_advisory_xact_lock(hashtext('stepline migrate ' || "
            "COALESCE(%s, current_schema(), '')))",
            (settings.schema,),
        )
        if settings.schema is not None:
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(settings.schema))
            )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
            "title TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        row = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        current = int(row.fetchone()[0])  # type: ignore[index]
        if current > SCHEMA_VERSION:
            where = f"{settings.display} (schema {settings.schema or 'default'})"
            raise SchemaTooNew(where, current, SCHEMA_VERSION)
        for version, title, statements in migration_statements():
            if version <= current:
                continue
            for statement in statements:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, title, applied_at) VALUES (%s, %s, %s)",
                (version, title, time.time()),
            )
        PgConnection(connection).execute(
            QUERIES["put_setting_if_absent"], (_TOKEN_KEY, secrets.token_bytes(32))
        )
        connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(psycopg.Error):
            connection.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


class PostgresStore(SqliteStore):
    """The PostgreSQL :class:`~stepline.store.Store`.

    Args:
        url: ``postgresql://user[:password]@host[:port]/database`` with optional
            ``?schema=name`` (the schema to live in, created if missing; default: the
            connection's ``search_path``) and ``pool_size=n`` (connections and threads for
            operations, default 4); other parameters go to libpq.

    Raises:
        StoreUnavailable: The server cannot be reached or refused the login.
        SchemaTooNew: The schema belongs to a newer stepline.
        ValueError: A malformed ``schema`` or ``pool_size``.
    """

    def __init__(self, url: str) -> None:
        settings = self._settings = parse_url(url)
        self.location = settings.display + (f"?schema={settings.schema}" if settings.schema else "")
        try:
            setup = connect(settings)
        except psycopg.OperationalError as error:
            raise StoreUnavailable(self.location, _reason(error)) from None
        try:
            migrate(setup, settings)
            key = PgConnection(setup).execute(QUERIES["get_setting"], (_TOKEN_KEY,)).fetchone()[0]
            schema = setup.execute("SELECT current_schema()").fetchone()
        except psycopg.Error as error:
            # A refusal such as "permission denied for schema …": one line, as for the login.
            raise StoreUnavailable(self.location, _reason(error)) from None
        finally:
            setup.close()
        assert schema is not None
        self.schema: str = schema[0]
        self._tokens = PageTokens(bytes(key))
        self._signals = LocalSignals()
        self._local = threading.local()
        self._connections: list[PgConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._executor = ThreadPoolExecutor(settings.pool_size, thread_name_prefix="stepline-pg")
        try:
            self._listener = Listener(partial(connect, settings), self.schema, self._signals)
        except psycopg.OperationalError as error:
            self._executor.shutdown()
            raise StoreUnavailable(self.location, _reason(error)) from None

    @property
    def listener(self) -> Listener:
        """The LISTEN connection's thread (its ``backend_pid`` shows which backend it uses)."""
        return self._listener

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        stop = self._listener.stop_channel
        with contextlib.suppress(Exception):
            self._executor.submit(self._call, lambda c: c.raw.execute(_STOP, (stop,))).result()
        self._executor.shutdown(wait=True)
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.raw.close()
            self._connections.clear()

    # -- running the store's functions --------------------------------------------------------

    def _connection(self) -> PgConnection:
        connection: PgConnection | None = getattr(self._local, "connection", None)
        if connection is None or connection.raw.closed:
            try:
                connection = PgConnection(connect(self._settings))
            except psycopg.OperationalError as error:
                raise StoreUnavailable(self.location, _reason(error)) from None
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _drop(self, connection: PgConnection) -> None:
        with contextlib.suppress(psycopg.Error):
            connection.raw.close()
        self._local.connection = None

    def _call(self, work: Callable[[PgConnection], T]) -> T:
        """Run a read (autocommit); a connection found broken is replaced once."""
        for attempt in (1, 2):
            connection = self._connection()
            try:
                return work(connection)
            except psycopg.OperationalError as error:
                self._drop(connection)
                if attempt == 2:
                    raise StoreUnavailable(self.location, _reason(error)) from None
            finally:
                if not connection.raw.closed and connection.raw.info.transaction_status:
                    # A multi-statement read interrupted inside its transaction.
                    with contextlib.suppress(psycopg.Error):
                        connection.raw.execute("ROLLBACK")
        raise AssertionError("unreachable")

    def _transact(self, work: Callable[[PgConnection], T], begin: str) -> T:
        """Run a write in its own transaction, retried on conflicts (see the module doc)."""
        conflict: Exception | None = None
        for attempt in range(_ATTEMPTS):
            connection = self._connection()
            raw = connection.raw
            committing = False
            try:
                with raw.pipeline() as pipeline:
                    connection.pipeline = pipeline
                    raw.execute(begin)
                    result = work(connection)
                    committing = True
                    raw.execute("COMMIT")
                return result
            except _RETRYABLE as error:
                conflict = error
                with contextlib.suppress(psycopg.Error):
                    raw.execute("ROLLBACK")
                time.sleep(random.uniform(0, _BACKOFF * (1 << min(attempt, 6))))
            except psycopg.OperationalError as error:
                self._drop(connection)
                if not committing:
                    # COMMIT was never sent: the server rolled the transaction back. A
                    # connection that broke while idle in the pool ends up here too.
                    conflict = error
                    continue
                raise StoreUnavailable(
                    self.location, _reason(error), outcome_unknown=True
                ) from None
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    raw.execute("ROLLBACK")
                raise
            finally:
                connection.pipeline = None
        if isinstance(conflict, psycopg.OperationalError):
            raise StoreUnavailable(self.location, _reason(conflict)) from None
        raise StoreConflict(
            "Concurrent writes to the same records kept conflicting "
            f"({type(conflict).__name__}); retry the request."
        )

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreClosed
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)

    async def _write(self, work: Callable[[SqlConnection], T]) -> T:
        function = getattr(work, "func", work)
        begin = _BEGIN_READ_COMMITTED if function in _READ_COMMITTED else _BEGIN_SERIALIZABLE
        return await self._run(self._transact, work, begin)

    async def _read(self, work: Callable[[SqlConnection], T]) -> T:
        return await self._run(self._call, work)

    async def _point(self, work: Callable[[SqlConnection], T]) -> T:
        return await self._run(self._call, work)

    # -- wake-up signals ----------------------------------------------------------------------

    async def signal(self, channel: str) -> None:
        check_channel(channel)
        await self._read(partial(notify, channel=channel))


_STOP: Final = "SELECT pg_notify(%s, '')"


def _reason(error: psycopg.Error) -> str:
    """The first line of a driver error (no URL, no password: libpq does not repeat them)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
