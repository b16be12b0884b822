"""``SqliteStore``: the embedded, durable store (one file, WAL, one writer thread).

Opening creates the file and its directory, sets WAL + ``synchronous=NORMAL`` + a busy
timeout, and applies the pending migrations of :mod:`stepline.store._sql` in one transaction
(refusing a database whose schema is newer than this code). Writes go to the
:class:`~stepline.store._sqlite_threads.WriterThread` (group commit); reads run on WAL reader
connections in a small thread pool.

Durability: a write is acknowledged after its COMMIT reached the WAL, so it survives a crash
or ``kill -9`` of the process. With ``synchronous=NORMAL`` the WAL is fsynced at checkpoints,
not at every commit: a power loss or OS crash may lose the last commits (never corrupt the
database). ``synchronous="FULL"`` trades throughput for that too.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Final, TypeVar

from stepline.store import _sqlite_maps as maps
from stepline.store import _sqlite_ops as ops
from stepline.store import _sqlite_redrive as redrive_ops
from stepline.store import _sqlite_runs as runs
from stepline.store import _sqlite_shared as shared
from stepline.store import _sqlite_tokens as tokens
from stepline.store._errors import RecordNotFound, SchemaTooNew
from stepline.store._map_run_records import (
    MapRunChildRecord,
    MapRunChildStatus,
    MapRunCounts,
    MapRunRecord,
    MapRunStatus,
)
from stepline.store._paging import PageTokens, page_size
from stepline.store._records import (
    ActivityRecord,
    AliasRecord,
    ClaimedExecution,
    ExecutionRecord,
    ExecutionStatus,
    HistoryEventRecord,
    Lease,
    Page,
    PendingEvent,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StateMachineVersionRecord,
    StepCommit,
    TaskTokenRecord,
)
from stepline.store._records_shared import ServiceRecord
from stepline.store._rules import check_step, one_subject
from stepline.store._signals import LocalSignals, PendingSignals
from stepline.store._sql import MIGRATIONS, QUERIES, SCHEMA_VERSION, split_statements
from stepline.store._sql_connection import SqlConnection
from stepline.store._sqlite_threads import ReaderPool, WriterThread

__all__ = ["SqliteStore", "migrate"]

T = TypeVar("T")

_TOKEN_KEY: Final = "page_token_key"
_SYNCHRONOUS: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_NO_UPPER_SEQ: Final = 1 << 62


def _connect(path: str, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
    )
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    # Without a limit the WAL file keeps its largest size forever after a burst of writes.
    connection.execute("PRAGMA journal_size_limit = 67108864")
    return connection


def migrate(connection: sqlite3.Connection, location: str) -> int:
    """Apply pending migrations in one transaction; return the schema version.

    Raises:
        SchemaTooNew: The database was migrated by a newer stepline.
    """
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, title TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = connection.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
        ).fetchone()[0]
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(location, current, SCHEMA_VERSION)
        for version, title, script in MIGRATIONS:
            if version <= current:
                continue
            for statement in split_statements(script):
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, title, applied_at) VALUES (?, ?, ?)",
                (version, title, time.time()),
            )
        connection.execute(QUERIES["put_setting_if_absent"], (_TOKEN_KEY, secrets.token_bytes(32)))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


class SqliteStore:
    """The SQLite :class:`~stepline.store.Store`.

    Args:
        path: The database file; it and its parent directory are created if missing.
        synchronous: SQLite's ``synchronous`` setting (``NORMAL`` by default; see the module
            docstring for what it means for durability).
        readers: Reader threads (and connections) for listings and history pages; one measured
            best on two cores (more threads contend for the GIL).
        inline_point_reads: Run single-row reads by key (``get_*``, ``list_tags``…) on the
            calling thread's own reader connection instead of the pool: ~12 µs of blocking
            instead of a ~50 µs thread hop.
        max_batch: Most transactions the writer commits together.
        busy_timeout: Seconds to wait for a lock another process holds.

    Raises:
        SchemaTooNew: The database belongs to a newer stepline.
        ValueError: ``:memory:`` (use ``MemoryStore``) or an unknown ``synchronous`` value.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        readers: int = 1,
        inline_point_reads: bool = True,
        max_batch: int = 512,
        busy_timeout: float = 5.0,
    ) -> None:
        text = os.fspath(path)
        if text == ":memory:" or text.startswith("file::memory:"):
            raise ValueError(
                "SQLite ':memory:' databases cannot be shared by the store's writer and "
                "readers; use MemoryStore (memory://) for a store without a file."
            )
        synchronous = synchronous.upper()
        if synchronous not in _SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {', '.join(sorted(_SYNCHRONOUS))}, "
                f"got {synchronous!r}."
            )
        file = Path(text).expanduser()
        file.parent.mkdir(parents=True, exist_ok=True)
        self.path = str(file)
        connect = partial(_connect, self.path, synchronous, busy_timeout)
        setup = connect()
        try:
            migrate(setup, self.path)
            key = setup.execute(QUERIES["get_setting"], (_TOKEN_KEY,)).fetchone()[0]
        finally:
            setup.close()
        self._tokens = PageTokens(bytes(key))
        self._signals = LocalSignals()
        pending = PendingSignals(self._signals)

        def connect_writer() -> sqlite3.Connection:
            connection = connect()
            # The ``notify`` query's function: signals fire after the batch commits.
            connection.create_function("pg_notify", 2, pending.record)
            return connection

        self._writer = WriterThread(connect_writer, max_batch, pending)
        self._readers = ReaderPool(connect, readers)
        self._inline = inline_point_reads

    @property
    def writer(self) -> WriterThread:
        """The writer thread (its ``batches``/``transactions`` counters show group commit)."""
        return self._writer

    async def close(self) -> None:
        # Off the loop: the writer delivers the last results to this loop while it drains.
        await asyncio.to_thread(self._writer.close)
        self._readers.close()

    async def _write(self, work: Callable[[SqlConnection], T]) -> T:
        return await self._writer.submit(work)

    async def _read(self, work: Callable[[SqlConnection], T]) -> T:
        return await self._readers.run(work)

    async def _point(self, work: Callable[[SqlConnection], T]) -> T:
        if self._inline:
            return self._readers.run_inline(work)
        return await self._readers.run(work)

    # -- state machines -------------------------------------------------------------------

    async def create_state_machine(
        self,
        record: StateMachineRecord,
        *,
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
        return await self._write(
            partial(
                ops.create_state_machine,
                record=record,
                tags=tags,
                publish=publish,
                version_description=version_description,
            )
        )

    async def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        return await self._point(partial(ops.get_state_machine, arn=arn))

    async def list_state_machines(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[StateMachineRecord]:
        size = page_size(max_results)
        after = str(self._tokens.read(next_token, "sm", [])[0]) if next_token else ""
        rows = await self._read(partial(ops.list_state_machines, after=after, limit=size + 1))
        token = self._tokens.make("sm", [], [rows[size - 1].arn]) if len(rows) > size else None
        return Page(tuple(rows[:size]), token)

    async def update_state_machine(
        self,
        arn: str,
        revision: StateMachineRevisionRecord,
        *,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
        return await self._write(
            partial(
                ops.update_state_machine,
                arn=arn,
                revision=revision,
                publish=publish,
                version_description=version_description,
            )
        )

    async def mark_state_machine_deleting(self, arn: str) -> StateMachineRecord | None:
        return await self._write(partial(ops.mark_state_machine_deleting, arn=arn))

    async def remove_state_machine(self, arn: str) -> bool:
        return await self._write(partial(ops.remove_state_machine, arn=arn))

    async def get_revision(self, revision_id: str) -> StateMachineRevisionRecord | None:
        return await self._point(partial(ops.get_revision, revision_id=revision_id))

    # -- versions -------------------------------------------------------------------------

    async def publish_version(
        self,
        state_machine_arn: str,
        *,
        creation_date: float,
        description: str | None = None,
        expected_revision_id: str | None = None,
    ) -> tuple[StateMachineVersionRecord, bool]:
        return await self._write(
            partial(
                ops.publish_version,
                arn=state_machine_arn,
                creation_date=creation_date,
                description=description,
                expected_revision_id=expected_revision_id,
            )
        )

    async def get_version(self, arn: str) -> StateMachineVersionRecord | None:
        return await self._point(partial(ops.get_version, arn=arn))

    async def list_versions(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[StateMachineVersionRecord]:
        size = page_size(max_results)
        listing = [state_machine_arn]
        below = _NO_UPPER_SEQ
        if next_token:
            below = int(self._tokens.read(next_token, "ver", listing)[0])
        rows = await self._read(
            partial(ops.list_versions, arn=state_machine_arn, below=below, limit=size + 1)
        )
        token = None
        if len(rows) > size:
            token = self._tokens.make("ver", listing, [rows[size - 1].version])
        return Page(tuple(rows[:size]), token)

    async def delete_version(self, arn: str) -> bool:
        return await self._write(partial(ops.delete_version, arn=arn))

    # -- aliases --------------------------------------------------------------------------

    async def create_alias(self, record: AliasRecord) -> AliasRecord:
        return await self._write(partial(ops.create_alias, record=record))

    async def get_alias(self, arn: str) -> AliasRecord | None:
        return await self._point(_in_read_transaction(partial(ops.get_alias, arn=arn)))

    async def list_aliases(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[AliasRecord]:
        size = page_size(max_results)
        listing = [state_machine_arn]
        after = str(self._tokens.read(next_token, "alias", listing)[0]) if next_token else ""
        rows = await self._read(
            _in_read_transaction(
                partial(ops.list_aliases, arn=state_machine_arn, after=after, limit=size + 1)
            )
        )
        token = (
            self._tokens.make("alias", listing, [rows[size - 1].arn]) if len(rows) > size else None
        )
        return Page(tuple(rows[:size]), token)

    async def update_alias(self, record: AliasRecord) -> AliasRecord:
        return await self._write(partial(ops.update_alias, record=record))

    async def delete_alias(self, arn: str) -> bool:
        return await self._write(partial(ops.delete_alias, arn=arn))

    # -- tags -----------------------------------------------------------------------------

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        await self._write(partial(ops.tag_resource, arn=arn, tags=dict(tags)))

    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        await self._write(partial(ops.untag_resource, arn=arn, keys=tuple(keys)))

    async def list_tags(self, arn: str) -> dict[str, str]:
        return await self._point(partial(ops.list_tags, arn=arn))

    # -- executions -----------------------------------------------------------------------

    async def create_execution(
        self,
        record: ExecutionRecord,
        events: Sequence[HistoryEventRecord],
        *,
        runnable_at: float | None,
        snapshot: bytes | None = None,
        reuse_closed_before: float | None = None,
        lease: Lease | None = None,
        parent_task_token: str | None = None,
    ) -> ExecutionRecord:
        return await self._write(
            partial(
                runs.create_execution,
                record=record,
                events=tuple(events),
                runnable_at=runnable_at,
                snapshot=snapshot,
                reuse_closed_before=reuse_closed_before,
                lease=lease,
                parent_task_token=parent_task_token,
            )
        )

    async def get_execution(self, arn: str) -> ExecutionRecord | None:
        return await self._point(partial(runs.get_execution, arn=arn))

    async def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        version_arn: str | None = None,
        alias_arn: str | None = None,
        map_run_arn: str | None = None,
        status: ExecutionStatus | None = None,
        max_results: int = 0,
        next_token: str | None = None,
    ) -> Page[ExecutionRecord]:
        field, subject = one_subject(
            state_machine_arn=state_machine_arn,
            version_arn=version_arn,
            alias_arn=alias_arn,
            map_run_arn=map_run_arn,
        )
        size = page_size(max_results)
        listing = [field, subject, status]
        below = _NO_UPPER_SEQ
        if next_token:
            below = int(self._tokens.read(next_token, "exec", listing)[0])
        rows = await self._read(
            partial(
                runs.list_executions,
                field=field,
                subject=subject,
                status=status,
                below=below,
                limit=size + 1,
            )
        )
        token = (
            self._tokens.make("exec", listing, [rows[size - 1][1]]) if len(rows) > size else None
        )
        return Page(tuple(record for record, _ in rows[:size]), token)

    async def get_history(
        self,
        execution_arn: str,
        *,
        reverse: bool = False,
        max_results: int = 0,
        next_token: str | None = None,
    ) -> Page[HistoryEventRecord]:
        size = page_size(max_results)
        listing = [execution_arn, reverse]
        after = int(self._tokens.read(next_token, "hist", listing)[0]) if next_token else None
        events = await self._read(
            partial(
                runs.get_history, arn=execution_arn, reverse=reverse, after=after, limit=size + 1
            )
        )
        if events is None:
            raise RecordNotFound("execution", execution_arn)
        token = (
            self._tokens.make("hist", listing, [events[size - 1].id])
            if len(events) > size
            else None
        )
        return Page(tuple(events[:size]), token)

    async def has_running_executions(self, state_machine_arn: str) -> bool:
        return await self._point(partial(runs.has_running_executions, arn=state_machine_arn))

    # -- nested workflows (issue #6) ------------------------------------------------------

    async def orphaned_children(self, parent_execution_arn: str) -> tuple[str, ...]:
        return tuple(
            await self._point(partial(tokens.orphaned_children, parent_arn=parent_execution_arn))
        )

    async def stop_execution(
        self,
        execution_arn: str,
        *,
        stop_date: float,
        error: str | None,
        cause: str | None,
        events: Sequence[PendingEvent],
    ) -> tuple[ExecutionRecord, bool]:
        return await self._write(
            partial(
                runs.stop_execution,
                arn=execution_arn,
                stop_date=stop_date,
                error=error,
                cause=cause,
                events=tuple(events),
            )
        )

    # -- redrive ----------------------------------------------------------------------------

    async def redrive_execution(
        self,
        execution_arn: str,
        *,
        redrive_count: int,
        redrive_date: float,
        events: Sequence[PendingEvent],
        client_token: str | None = None,
    ) -> tuple[ExecutionRecord, float | None]:
        return await self._write(
            partial(
                redrive_ops.redrive_execution,
                arn=execution_arn,
                redrive_count=redrive_count,
                redrive_date=redrive_date,
                events=tuple(events),
                client_token=client_token,
            )
        )

    # -- workers --------------------------------------------------------------------------

    async def claim_runnable(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[ClaimedExecution]:
        return await self._write(
            partial(
                runs.claim_runnable, owner=owner, limit=limit, lease_seconds=lease_seconds, now=now
            )
        )

    async def commit_step(self, step: StepCommit) -> None:
        check_step(step)
        await self._write(partial(runs.commit_step, step=step))

    async def renew_lease(
        self, execution_arn: str, lease_token: str, *, lease_seconds: float, now: float
    ) -> float:
        return await self._write(
            partial(
                runs.renew_lease,
                arn=execution_arn,
                token=lease_token,
                lease_seconds=lease_seconds,
                now=now,
            )
        )

    async def release(
        self, execution_arn: str, lease_token: str, *, runnable_at: float | None
    ) -> None:
        await self._write(
            partial(runs.release, arn=execution_arn, token=lease_token, runnable_at=runnable_at)
        )

    async def next_wake_at(self) -> float | None:
        return await self._point(runs.next_wake_at)

    # -- activities and task tokens -------------------------------------------------------

    async def create_activity(self, record: ActivityRecord) -> tuple[ActivityRecord, bool]:
        return await self._write(partial(tokens.create_activity, record=record))

    async def get_activity(self, arn: str) -> ActivityRecord | None:
        return await self._point(partial(tokens.get_activity, arn=arn))

    async def list_activities(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[ActivityRecord]:
        size = page_size(max_results)
        after = str(self._tokens.read(next_token, "act", [])[0]) if next_token else ""
        rows = await self._read(partial(tokens.list_activities, after=after, limit=size + 1))
        token = self._tokens.make("act", [], [rows[size - 1].arn]) if len(rows) > size else None
        return Page(tuple(rows[:size]), token)

    async def delete_activity(self, arn: str) -> bool:
        return await self._write(partial(tokens.delete_activity, arn=arn))

    async def take_activity_task(
        self, activity_arn: str, *, worker_name: str | None, now: float
    ) -> TaskTokenRecord | None:
        return await self._write(
            partial(
                tokens.take_activity_task,
                activity_arn=activity_arn,
                worker_name=worker_name,
                now=now,
            )
        )

    async def complete_task(
        self,
        token: str,
        *,
        failed: bool,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
        now: float,
    ) -> TaskTokenRecord:
        return await self._write(
            partial(
                tokens.complete_task,
                token=token,
                failed=failed,
                output=output,
                error=error,
                cause=cause,
                now=now,
            )
        )

    async def heartbeat_task(self, token: str, *, now: float) -> TaskTokenRecord:
        return await self._write(partial(tokens.heartbeat_task, token=token, now=now))

    # >>> scale-out (issue #7): shared service records and cross-process pacing -------------

    async def service_records_generation(self, kind: str) -> int:
        return await self._point(partial(shared.service_records_generation, kind=kind))

    async def list_service_records(self, kind: str) -> tuple[int, tuple[ServiceRecord, ...]]:
        return await self._read(
            _in_read_transaction(partial(shared.list_service_records, kind=kind))
        )

    async def put_service_record(
        self,
        kind: str,
        name: str,
        document: str,
        *,
        secret: bytes | None,
        expected_version: int | None,
    ) -> ServiceRecord:
        return await self._write(
            partial(
                shared.put_service_record,
                kind=kind,
                name=name,
                document=document,
                secret=secret,
                expected_version=expected_version,
            )
        )

    async def delete_service_record(
        self, kind: str, name: str, *, expected_version: int | None = None
    ) -> bool:
        return await self._write(
            partial(
                shared.delete_service_record,
                kind=kind,
                name=name,
                expected_version=expected_version,
            )
        )

    async def take_pacing_token(self, key: str, *, rate: float, burst: float, now: float) -> float:
        return await self._write(
            partial(shared.take_pacing_token, key=key, rate=rate, burst=burst, now=now)
        )

    async def acquire_pacing_slot(
        self,
        key: str,
        slot_id: str,
        *,
        owner: str,
        limit: int,
        expires_at: float,
        now: float,
    ) -> bool:
        return await self._write(
            partial(
                shared.acquire_pacing_slot,
                key=key,
                slot_id=slot_id,
                owner=owner,
                limit=limit,
                expires_at=expires_at,
                now=now,
            )
        )

    async def release_pacing_slot(self, slot_id: str) -> None:
        await self._write(partial(shared.release_pacing_slot, slot_id=slot_id))

    async def renew_pacing_slots(self, owner: str, *, expires_at: float) -> int:
        return await self._write(
            partial(shared.renew_pacing_slots, owner=owner, expires_at=expires_at)
        )

    # <<< scale-out

    # -- wake-up signals (issue #7) --------------------------------------------------------

    def subscribe(self, channel: str, callback: Callable[[], None]) -> Callable[[], None]:
        return self._signals.subscribe(channel, callback)

    async def signal(self, channel: str) -> None:
        self._signals.signal(channel)

    # -- Distributed Map: map runs (begin) ------------------------------------------------

    async def create_map_run(
        self,
        record: MapRunRecord,
        inputs: Sequence[tuple[int, str]],
        revision: StateMachineRevisionRecord,
    ) -> tuple[MapRunRecord, bool]:
        return await self._write(
            partial(maps.create_map_run, record=record, inputs=tuple(inputs), revision=revision)
        )

    async def get_map_run(self, arn: str) -> MapRunRecord | None:
        return await self._point(partial(maps.get_map_run, arn=arn))

    async def list_map_runs(
        self, execution_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> Page[MapRunRecord]:
        size = page_size(max_results)
        listing = [execution_arn]
        below = _NO_UPPER_SEQ
        if next_token:
            below = int(self._tokens.read(next_token, "maprun", listing)[0])
        rows = await self._read(
            partial(maps.list_map_runs, execution_arn=execution_arn, below=below, limit=size + 1)
        )
        token = (
            self._tokens.make("maprun", listing, [rows[size - 1][1]]) if len(rows) > size else None
        )
        return Page(tuple(record for record, _ in rows[:size]), token)

    async def running_map_runs(self) -> list[MapRunRecord]:
        return await self._read(maps.running_map_runs)

    async def update_map_run(
        self,
        arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_count: int | None = None,
        tolerated_failure_percentage: float | None = None,
    ) -> MapRunRecord:
        return await self._write(
            partial(
                maps.update_map_run,
                arn=arn,
                max_concurrency=max_concurrency,
                tolerated_failure_count=tolerated_failure_count,
                tolerated_failure_percentage=tolerated_failure_percentage,
            )
        )

    async def lease_map_run(self, arn: str, *, owner: str, until: float, now: float) -> bool:
        return await self._write(
            partial(maps.lease_map_run, arn=arn, owner=owner, until=until, now=now)
        )

    async def map_run_parent_waits(self, arn: str) -> bool:
        return await self._point(partial(maps.map_run_parent_waits, arn=arn))

    async def map_run_counts(self, arn: str) -> MapRunCounts:
        return await self._read(partial(maps.map_run_counts, arn=arn))

    async def map_run_children(
        self, arn: str, *, status: MapRunChildStatus | None = None, limit: int = 0
    ) -> list[MapRunChildRecord]:
        return await self._read(partial(maps.map_run_children, arn=arn, status=status, limit=limit))

    async def start_map_run_children(
        self,
        arn: str,
        children: Sequence[tuple[int, str]],
        *,
        executions: Sequence[tuple[ExecutionRecord, HistoryEventRecord]] = (),
        now: float,
    ) -> list[int]:
        return await self._write(
            partial(
                maps.start_map_run_children,
                arn=arn,
                children=tuple(children),
                executions=tuple(executions),
                now=now,
            )
        )

    async def record_map_run_results(
        self, arn: str, results: Sequence[tuple[int, str, str | None, str | None, str | None]]
    ) -> int:
        return await self._write(
            partial(maps.record_map_run_results, arn=arn, results=tuple(results))
        )

    async def ended_map_run_children(
        self, arn: str, *, limit: int = 1000
    ) -> list[tuple[int, str, str | None, str | None, str | None]]:
        return await self._read(partial(maps.ended_map_run_children, arn=arn, limit=limit))

    async def finish_map_run(
        self,
        arn: str,
        *,
        status: MapRunStatus,
        stop_date: float,
        error: str | None = None,
        cause: str | None = None,
        output: str | None = None,
    ) -> TaskTokenRecord | None:
        return await self._write(
            partial(
                maps.finish_map_run,
                arn=arn,
                status=status,
                stop_date=stop_date,
                error=error,
                cause=cause,
                output=output,
            )
        )

    async def redrive_map_run(self, arn: str, *, task_token: str, now: float) -> MapRunRecord:
        return await self._write(
            partial(maps.redrive_map_run, arn=arn, task_token=task_token, now=now)
        )

    # -- Distributed Map: map runs (end) --------------------------------------------------


def _in_read_transaction(
    work: Callable[[SqlConnection], T],
) -> Callable[[SqlConnection], T]:
    """Run a multi-statement read on one WAL snapshot."""

    def run(connection: SqlConnection) -> T:
        connection.execute("BEGIN")
        try:
            return work(connection)
        finally:
            connection.execute("COMMIT")

    return run
