"""Which PostgreSQL driver for the store: psycopg 3 in threads (the store) vs asyncpg vs psycopg
async, on the operations that matter, in one run.

Run: ``STEPLINE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test
python benchmarks/bench_pg_driver.py [--ops 2000] [--concurrency 1,8]``

Three ways, each in a schema of its own (created and dropped here), each with 4 connections:

- ``store``: :class:`~stepline.store._postgres.PostgresStore` itself — psycopg 3 synchronous,
  one thread per connection, running the store's shared transaction functions (what the
  service uses).
- ``asyncpg``: the same statements (the store's PostgreSQL SQL, ``$n`` placeholders) written
  directly against asyncpg connections on the event loop, no threads.
- ``psycopg-async``: the same statements on psycopg 3's ``AsyncConnection``.

Operations (each one transaction, as the store runs them): ``create_execution`` (existence
check, execution + runtime + first event, NOTIFY), ``claim_runnable`` (one due execution with
``FOR UPDATE SKIP LOCKED``, lease, snapshot, timers, tokens), ``commit_step`` (lease check with
``FOR UPDATE``, 5 events, runtime update) and ``get_history`` (a page of 101 events). For each
concurrency (coroutines at once) it prints ops/s per way and the ratios to ``store``. Loops
are bounded by count and by ``--seconds`` per measurement. Talks to the URL given only
(127.0.0.1 in CI).

Writes wait for PostgreSQL's WAL flush at each COMMIT, which on a slow disk hides what the
driver costs; ``--no-sync-commit`` sets ``synchronous_commit=off`` on every connection of every
way, leaving the driver, the protocol and the server's work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

import asyncpg
import psycopg
from psycopg import sql as pgsql

from bench_store import DETAILS, SNAPSHOT, record
from stepline.store import ExecutionRecord, HistoryEventRecord, StepCommit
from stepline.store._postgres import PostgresStore
from stepline.store._postgres_sql import translate
from stepline.store._sql import QUERIES

POOL = 4
Q = {name: translate(text) for name, text in QUERIES.items()}


def events(first: int, count: int) -> list[HistoryEventRecord]:
    return [
        HistoryEventRecord(
            i, i - 1, 1.0, "PassStateEntered" if i > 1 else "ExecutionStarted", DETAILS
        )
        for i in range(first, first + count)
    ]


def values(r: ExecutionRecord) -> tuple[Any, ...]:
    return (
        r.arn, r.state_machine_arn, r.name, r.revision_id, r.status, r.start_date, r.input,
        None, None, None, None, None, None, None, 0, None, None, None, None, None,
    )  # fmt: skip


# -- the direct async ways: one tiny interface over both drivers ------------------------------


class Direct:
    """Statements on a driver's async connections (a queue of them: a pool of ``POOL``)."""

    name = ""

    def __init__(self) -> None:
        self.pool: asyncio.Queue[Any] = asyncio.Queue()

    async def transaction(self, body: Callable[[Any], Awaitable[Any]]) -> Any:
        connection = await self.pool.get()
        try:
            await self.run(connection, "BEGIN")
            try:
                result = await body(connection)
            except BaseException:
                await self.run(connection, "ROLLBACK")
                raise
            await self.run(connection, "COMMIT")
            return result
        finally:
            self.pool.put_nowait(connection)

    async def read(self, body: Callable[[Any], Awaitable[Any]]) -> Any:
        connection = await self.pool.get()
        try:
            return await body(connection)
        finally:
            self.pool.put_nowait(connection)

    async def run(self, connection: Any, sql: str, *args: Any) -> None:
        raise NotImplementedError

    async def one(self, connection: Any, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def all(self, connection: Any, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def many(self, connection: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        while not self.pool.empty():
            await self.pool.get_nowait().close()


_PERCENT_S = re.compile(r"%s")


def dollars(sql: str) -> str:
    counter = iter(range(1, 1000))
    return _PERCENT_S.sub(lambda _: f"${next(counter)}", sql).replace("%%", "%")


SETTINGS: dict[str, str] = {}
"""Server settings for every connection of every way (``--no-sync-commit``)."""


def with_settings(url: str) -> str:
    """``url`` with :data:`SETTINGS` as libpq ``options``."""
    if not SETTINGS:
        return url
    options = quote(" ".join(f"-c {k}={v}" for k, v in SETTINGS.items()))
    return f"{url}{'&' if '?' in url else '?'}options={options}"


class Asyncpg(Direct):
    name = "asyncpg"

    async def open(self, url: str, schema: str) -> None:
        for _ in range(POOL):
            connection = await asyncpg.connect(
                url, server_settings={"search_path": schema, **SETTINGS}
            )
            self.pool.put_nowait(connection)
        self._sql: dict[str, str] = {}

    def _text(self, sql: str) -> str:
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = dollars(sql)
        return text

    async def run(self, connection: Any, sql: str, *args: Any) -> None:
        await connection.execute(self._text(sql), *args)

    async def one(self, connection: Any, sql: str, *args: Any) -> Any:
        return await connection.fetchrow(self._text(sql), *args)

    async def all(self, connection: Any, sql: str, *args: Any) -> list[Any]:
        return list(await connection.fetch(self._text(sql), *args))

    async def many(self, connection: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await connection.executemany(self._text(sql), rows)


class PsycopgAsync(Direct):
    name = "psycopg-async"

    async def open(self, url: str, schema: str) -> None:
        for _ in range(POOL):
            connection = await psycopg.AsyncConnection.connect(with_settings(url), autocommit=True)
            await connection.execute(
                pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema))
            )
            self.pool.put_nowait(connection)

    async def run(self, connection: Any, sql: str, *args: Any) -> None:
        await connection.execute(sql, args or None)

    async def one(self, connection: Any, sql: str, *args: Any) -> Any:
        return await (await connection.execute(sql, args)).fetchone()

    async def all(self, connection: Any, sql: str, *args: Any) -> list[Any]:
        return list(await (await connection.execute(sql, args)).fetchall())

    async def many(self, connection: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await connection.cursor().executemany(sql, rows)


async def direct_create(way: Direct, r: ExecutionRecord) -> None:
    async def body(c: Any) -> None:
        await way.one(c, Q["get_execution"], r.arn)
        row = await way.one(c, Q["insert_execution"], *values(r))
        seq = row[0]
        await way.run(c, Q["insert_runtime"], seq, 1, None, 0.0)
        await way.many(
            c, Q["insert_event"], [(seq, e.id, e.previous_event_id, e.timestamp, e.type, e.details)
                                   for e in events(1, 1)]
        )  # fmt: skip
        await way.one(c, Q["notify"], "executions")

    await way.transaction(body)


async def direct_claim(way: Direct) -> tuple[str, str] | None:
    async def body(c: Any) -> tuple[str, str] | None:
        row = await way.one(c, Q["due_executions"], 1.0, 1)
        if row is None:
            return None
        seq, token = row[0], secrets.token_hex(16)
        await way.run(c, Q["take_lease"], "bench", token, 1e12, 1e12, seq)
        execution = await way.one(c, Q["get_execution_by_seq"], seq)
        await way.all(c, Q["list_timers"], seq)
        await way.all(c, Q["open_task_tokens"], seq)
        return execution[0], token

    result: tuple[str, str] | None = await way.transaction(body)
    return result


async def direct_commit(way: Direct, arn: str, token: str, last: int) -> None:
    async def body(c: Any) -> None:
        seq, held_last, held, _ = await way.one(c, Q["lease_state"], arn)
        assert held == token and held_last == last
        rows = [(seq, e.id, e.previous_event_id, e.timestamp, e.type, e.details)
                for e in events(last + 1, 5)]  # fmt: skip
        await way.many(c, Q["insert_event"], rows)
        await way.run(c, Q["step_runtime_keep_lease"], last + 5, SNAPSHOT, 1e12, 1e12, seq)

    await way.transaction(body)


async def direct_history(way: Direct, arn: str) -> int:
    async def body(c: Any) -> int:
        (seq,) = await way.one(c, Q["execution_seq"], arn)
        return len(await way.all(c, Q["history_forward"], seq, 0, 101))

    result: int = await way.read(body)
    return result


# -- measuring --------------------------------------------------------------------------------


async def rate(
    ops: int, concurrency: int, seconds: float, one: Callable[[int, int], Awaitable[Any]]
) -> float:
    """ops/s of ``one(worker, i)`` run by ``concurrency`` coroutines, ``ops`` in all."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker(w: int) -> None:
        nonlocal done
        for i in range(ops // concurrency):
            if time.perf_counter() > deadline:
                return
            await one(w, i)
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*[worker(w) for w in range(concurrency)])
    return done / (time.perf_counter() - began)


async def measure_store(url: str, ops: int, concurrency: int, seconds: float) -> dict[str, float]:
    store = PostgresStore(url)
    figures = {}
    tag = f"c{concurrency}r{secrets.token_hex(3)}w"
    try:
        started = events(1, 1)

        async def create(w: int, i: int) -> None:
            await store.create_execution(record(i, f"{tag}{w}-"), started, runnable_at=0.0)

        figures["create_execution"] = await rate(ops, concurrency, seconds, create)
        claims: list[tuple[str, str]] = []

        async def claim(w: int, i: int) -> None:
            got = await store.claim_runnable("bench", limit=1, lease_seconds=1e12, now=1.0)
            claims.extend((c.execution.arn, c.lease_token) for c in got)

        figures["claim_runnable"] = await rate(ops, concurrency, seconds, claim)
        lasts = dict.fromkeys((arn for arn, _ in claims[:concurrency]), 1)
        held = claims[:concurrency]

        async def commit(w: int, i: int) -> None:
            arn, token = held[w]
            last = lasts[arn]
            await store.commit_step(
                StepCommit(arn, token, tuple(events(last + 1, 5)), SNAPSHOT, keep_lease_until=1e12)
            )
            lasts[arn] = last + 5

        figures["commit_step (5 events)"] = await rate(ops, concurrency, seconds, commit)

        async def history(w: int, i: int) -> None:
            await store.get_history(held[w][0], max_results=100)

        figures["get_history (100)"] = await rate(ops, concurrency, seconds, history)
    finally:
        await store.close()
    return figures


async def measure_direct(
    way: Direct, ops: int, concurrency: int, seconds: float
) -> dict[str, float]:
    figures = {}
    tag = f"c{concurrency}r{secrets.token_hex(3)}w"

    async def create(w: int, i: int) -> None:
        await direct_create(way, record(i, f"{tag}{w}-"))

    figures["create_execution"] = await rate(ops, concurrency, seconds, create)
    claims: list[tuple[str, str]] = []

    async def claim(w: int, i: int) -> None:
        got = await direct_claim(way)
        if got is not None:
            claims.append(got)

    figures["claim_runnable"] = await rate(ops, concurrency, seconds, claim)
    held = claims[:concurrency]
    lasts = dict.fromkeys((arn for arn, _ in held), 1)

    async def commit(w: int, i: int) -> None:
        arn, token = held[w]
        await direct_commit(way, arn, token, lasts[arn])
        lasts[arn] += 5

    figures["commit_step (5 events)"] = await rate(ops, concurrency, seconds, commit)

    async def history(w: int, i: int) -> None:
        await direct_history(way, held[w][0])

    figures["get_history (100)"] = await rate(ops, concurrency, seconds, history)
    return figures


def with_schema(url: str, schema: str) -> str:
    url = with_settings(url)
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


async def measure_all(
    url: str, schemas: dict[str, str], ops: int, concurrency: int, seconds: float
) -> dict[str, dict[str, float]]:
    """One round: every way, one after the other."""
    results = {"store": await measure_store(
        with_schema(url, schemas["store"]), ops, concurrency, seconds)}  # fmt: skip
    for way in (Asyncpg(), PsycopgAsync()):
        await way.open(url, schemas[way.name])
        try:
            results[way.name] = await measure_direct(way, ops, concurrency, seconds)
        finally:
            await way.close()
    return results


async def main_async(
    url: str, ops: int, concurrencies: list[int], seconds: float, rounds: int
) -> None:
    schemas = {way: f"bench_driver_{way.replace('-', '_')}_{secrets.token_hex(4)}"
               for way in ("store", "asyncpg", "psycopg-async")}  # fmt: skip
    for schema in schemas.values():  # migrate each with the store itself
        await PostgresStore(with_schema(url, schema)).close()
    try:
        for concurrency in concurrencies:
            # The best of interleaved rounds: other load on the machine hits every way alike.
            results: dict[str, dict[str, float]] = {}
            for _ in range(rounds):
                got = await measure_all(url, schemas, ops, concurrency, seconds)
                for way, figures in got.items():
                    best = results.setdefault(way, {})
                    for op, value in figures.items():
                        best[op] = max(best.get(op, 0.0), value)
            print(f"\nconcurrency {concurrency} ({POOL} connections each), "
                  f"best of {rounds} rounds, ops/s:")  # fmt: skip
            print(f"  {'operation':<24}{'store':>10}{'asyncpg':>10}{'psycopg-async':>15}"
                  f"{'asyncpg/store':>15}{'psy-async/store':>17}")  # fmt: skip
            for op in results["store"]:
                s, a, p = (results[w][op] for w in ("store", "asyncpg", "psycopg-async"))
                print(f"  {op:<24}{s:10,.0f}{a:10,.0f}{p:15,.0f}{a / s:15.2f}{p / s:17.2f}")
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            for schema in schemas.values():
                connection.execute(
                    pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema))
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("STEPLINE_TEST_POSTGRES_URL"))
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--seconds", type=float, default=20.0, help="bound per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-sync-commit", action="store_true")
    args = parser.parse_args()
    if args.no_sync_commit:
        SETTINGS["synchronous_commit"] = "off"
    if not args.url:
        sys.exit("Set STEPLINE_TEST_POSTGRES_URL or pass --url postgresql://…")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    asyncio.run(main_async(args.url, args.ops, concurrencies, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
