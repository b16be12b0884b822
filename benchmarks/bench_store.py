"""Store micro-benchmark: durable step commits on SQLite, next to a raw sqlite3 loop.

Run: ``python benchmarks/bench_store.py [--steps 20000] [--concurrency 1,10,100]``

A step is what a worker commits after each transition: 3 history events and a 1 KB snapshot,
behind the lease check, in one transaction (``SqliteStore.commit_step``, WAL,
``synchronous=NORMAL``, group commit by the writer thread). For each concurrency level,
``concurrency`` executions are claimed and each is driven by its own coroutine until ``--steps``
commits are done; the script prints commits/s, events/s and the mean batch size.

The yardstick, in the same run and on the same schema: a raw ``sqlite3`` loop in one thread
doing the same statements (lease check, 3 inserts, snapshot update) with one COMMIT per step —
what one thread gets without any event loop or thread hop. It also times small reads
(``get_execution``) run inline on the loop thread (the default) against a hop to a reader
pool of 1 or 2 threads. Every loop is bounded by its count.

With ``STEPLINE_TEST_POSTGRES_URL`` set, each concurrency also runs on
:class:`~stepline.store._postgres.PostgresStore` (a schema of its own, dropped afterwards) and
the line gains a PostgreSQL column: its commits/s and its ratio to SQLite's in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import tempfile
import time
from pathlib import Path

from stepline.store import (
    ExecutionRecord,
    HistoryEventRecord,
    SqliteStore,
    StepCommit,
    Store,
)
from stepline.store import _sqlite_runs as runs
from stepline.store._sql import QUERIES

PREFIX = "arn:aws:states:us-east-1:123456789012"
SNAPSHOT = b"x" * 1024
DETAILS = '{"name": "Pass1", "input": "{\\"orderId\\": 12345, \\"items\\": [1, 2, 3]}"}'


def record(index: int, prefix: str = "e") -> ExecutionRecord:
    return ExecutionRecord(
        arn=f"{PREFIX}:execution:Bench:{prefix}{index}",
        state_machine_arn=f"{PREFIX}:stateMachine:Bench",
        name=f"{prefix}{index}",
        revision_id="r",
        status="RUNNING",
        start_date=0.0,
        input='{"orderId": 12345}',
    )


def three_events(last: int) -> tuple[HistoryEventRecord, ...]:
    return tuple(
        HistoryEventRecord(last + k, last + k - 1, 1.0, "PassStateEntered", DETAILS)
        for k in (1, 2, 3)
    )


async def store_run(path: Path, concurrency: int, steps: int) -> tuple[float, float]:
    """Commits/s and mean batch size for ``steps`` commits at ``concurrency`` on SQLite."""
    store = SqliteStore(path)
    try:
        batches, transactions = store.writer.batches, store.writer.transactions
        rate = await commit_rate(store, concurrency, steps)
        mean_batch = (store.writer.transactions - transactions) / max(
            1, store.writer.batches - batches
        )
        return rate, mean_batch
    finally:
        await store.close()


async def postgres_run(url: str, concurrency: int, steps: int) -> float:
    """Commits/s on PostgreSQL, in a schema made and dropped for the run."""
    import psycopg
    from psycopg import sql

    from stepline.store._postgres import PostgresStore

    schema = f"bench_store_{secrets.token_hex(4)}"
    store = await asyncio.to_thread(
        PostgresStore, f"{url}{'&' if '?' in url else '?'}schema={schema}"
    )
    try:
        return await commit_rate(store, concurrency, steps)
    finally:
        await store.close()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def commit_rate(store: Store, concurrency: int, steps: int) -> float:
    """Commits/s of ``concurrency`` executions each driven by its own coroutine."""
    start_event = HistoryEventRecord(1, 0, 0.0, "ExecutionStarted", DETAILS)
    for index in range(concurrency):
        await store.create_execution(record(index), [start_event], runnable_at=0.0)
    claims = await store.claim_runnable("bench", limit=concurrency, lease_seconds=1e9, now=1)
    per_worker = steps // concurrency

    async def worker(arn: str, token: str) -> None:
        last = 1
        for _ in range(per_worker):
            await store.commit_step(
                StepCommit(arn, token, three_events(last), SNAPSHOT, keep_lease_until=1e12)
            )
            last += 3

    began = time.perf_counter()
    await asyncio.gather(*[worker(c.execution.arn, c.lease_token) for c in claims])
    elapsed = time.perf_counter() - began
    return per_worker * concurrency / elapsed


def raw_run(path: Path, steps: int) -> float:
    """Commits/s of the same statements in one thread, one COMMIT per step."""
    asyncio.run(SqliteStore(path).close())  # the schema
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    arn = record(0).arn
    connection.execute("BEGIN")
    runs.create_execution(
        connection,
        record=record(0),
        events=[HistoryEventRecord(1, 0, 0.0, "ExecutionStarted", DETAILS)],
        runnable_at=None,
        snapshot=None,
        reuse_closed_before=None,
    )
    connection.execute("UPDATE execution_runtime SET lease_token = 't'")
    connection.execute("COMMIT")
    lease_state, insert = QUERIES["lease_state"], QUERIES["insert_event"]
    keep = QUERIES["step_runtime_keep_lease"]
    last = 1
    began = time.perf_counter()
    for _ in range(steps):
        connection.execute("BEGIN IMMEDIATE")
        seq, _, _, _ = connection.execute(lease_state, (arn,)).fetchone()
        connection.executemany(
            insert,
            [
                (seq, e.id, e.previous_event_id, e.timestamp, e.type, e.details)
                for e in three_events(last)
            ],
        )
        connection.execute(keep, (last + 3, SNAPSHOT, 1e12, 1e12, seq))
        connection.execute("COMMIT")
        last += 3
    elapsed = time.perf_counter() - began
    connection.close()
    return steps / elapsed


async def read_rate(path: Path, reads: int, concurrency: int, **options: object) -> float:
    """get_execution reads/s with the given SqliteStore options."""
    store = SqliteStore(path, **options)  # type: ignore[arg-type]
    try:
        arn = record(0).arn
        if await store.get_execution(arn) is None:
            await store.create_execution(record(0), [], runnable_at=None)

        async def reader() -> None:
            for _ in range(reads // concurrency):
                await store.get_execution(arn)

        began = time.perf_counter()
        await asyncio.gather(*[reader() for _ in range(concurrency)])
        return reads / (time.perf_counter() - began)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--reads", type=int, default=10000)
    parser.add_argument(
        "--postgres-steps", type=int, default=4000, help="commits per concurrency on PostgreSQL"
    )
    args = parser.parse_args()
    postgres = os.environ.get("STEPLINE_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="stepline-bench-store-") as directory:
        root = Path(directory)
        raw = raw_run(root / "raw.db", args.steps)
        print(
            f"raw sqlite3, one thread, one COMMIT per step: {raw:10,.0f} steps/s "
            f"({3 * raw:,.0f} events/s)"
        )
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            path = root / f"store-{concurrency}.db"
            rate, batch = asyncio.run(store_run(path, concurrency, args.steps))
            column = ""
            if postgres:
                pg = asyncio.run(postgres_run(postgres, concurrency, args.postgres_steps))
                column = f" | PostgreSQL {pg:8,.0f} steps/s, {pg / rate:5.2f}x SQLite"
            print(
                f"SqliteStore.commit_step, concurrency {concurrency:>3}: {rate:10,.0f} steps/s "
                f"({3 * rate:,.0f} events/s), mean batch {batch:6.1f}, {rate / raw:5.2f}x raw"
                + column
            )
        path = root / "reads.db"
        for concurrency in (1, 10):
            figures = [
                asyncio.run(read_rate(path, args.reads, concurrency, inline_point_reads=True)),
                asyncio.run(
                    read_rate(path, args.reads, concurrency, readers=1, inline_point_reads=False)
                ),
                asyncio.run(
                    read_rate(path, args.reads, concurrency, readers=2, inline_point_reads=False)
                ),
            ]
            print(
                f"get_execution at concurrency {concurrency:>2}: inline {figures[0]:8,.0f}/s, "
                f"pool of 1 {figures[1]:8,.0f}/s, pool of 2 {figures[2]:8,.0f}/s"
            )


if __name__ == "__main__":
    main()
