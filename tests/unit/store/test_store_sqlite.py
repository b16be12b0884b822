"""What only the SQLite backend has: a file, migrations, WAL, the writer's group commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from store_kit import T0, machine, started, step

from stepline.store import (
    SCHEMA_VERSION,
    MemoryStore,
    SchemaTooNew,
    SqliteStore,
    StoreClosed,
    open_store,
)
from stepline.store._sql import MIGRATIONS, QUERIES, split_statements


def test_open_creates_file_and_directories_in_wal_mode(tmp_path: Path):
    path = tmp_path / "a" / "b" / "store.db"
    store = SqliteStore(path)
    asyncio.run(store.close())
    assert path.exists()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = connection.execute("SELECT version FROM schema_migrations").fetchall()
    assert versions == [(v,) for v, _, _ in MIGRATIONS]


def test_reopen_keeps_everything_and_page_tokens(sqlite_backend):
    async def first(store) -> str | None:
        for index in range(3):
            await store.create_state_machine(machine(f"r{index}"))
        record = await started(store, "r0", "e")
        (claim,) = await store.claim_runnable("w", limit=1, lease_seconds=10, now=T0)
        await store.commit_step(step(record.arn, claim.lease_token, 2))
        return (await store.list_state_machines(max_results=1)).next_token

    token = sqlite_backend.run(first)

    async def second(store) -> None:
        assert len((await store.list_state_machines()).items) == 3
        rest = await store.list_state_machines(max_results=5, next_token=token)
        assert [m.name for m in rest.items] == ["r1", "r2"]
        history = await store.get_history(started_arn)
        assert [e.id for e in history.items] == [1, 2, 3, 4]

    from store_kit import exec_arn

    started_arn = exec_arn("r0", "e")
    sqlite_backend.run(second)


def test_migrations_are_idempotent_and_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "m.db"
    asyncio.run(SqliteStore(path).close())
    asyncio.run(SqliteStore(path).close())
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(
            MIGRATIONS
        )
        connection.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from the future', 0)", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(SchemaTooNew) as caught:
        SqliteStore(path)
    message = str(caught.value)
    assert str(path) in message and "upgrade stepline" in message


def test_migrations_are_numbered_in_order():
    assert [version for version, _, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    for _, _, script in MIGRATIONS:
        assert all(sqlite3.complete_statement(s) for s in split_statements(script))
    assert all(sql.strip() for sql in QUERIES.values())


def test_memory_database_and_bad_settings_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="memory://"):
        SqliteStore(":memory:")
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(tmp_path / "x.db", synchronous="sometimes")


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async def body() -> None:
        memory = await open_store("memory://")
        assert isinstance(memory, MemoryStore)
        absolute = await open_store(f"sqlite:///{tmp_path}/abs.db")
        assert isinstance(absolute, SqliteStore) and Path(absolute.path) == tmp_path / "abs.db"
        await absolute.close()
        monkeypatch.chdir(tmp_path)
        relative = await open_store("sqlite:///rel/r.db")
        assert isinstance(relative, SqliteStore)
        await relative.close()
        assert (tmp_path / "rel" / "r.db").exists()
        bare = await open_store(str(tmp_path / "bare.db"))
        assert isinstance(bare, SqliteStore)
        await bare.close()
        for bad, hint in [
            ("sqlite:///:memory:", "memory://"),
            ("sqlite:///", "names no file"),
            ("postgresql://u@h/db?schema=1bad", "not a plain PostgreSQL name"),
            ("postgresql://u@h/db?pool_size=0", "pool_size must be a whole number"),
            ("mysql://h/db", "Unsupported database URL scheme 'mysql'"),
        ]:
            with pytest.raises(ValueError, match=hint):
                await open_store(bad)

    asyncio.run(body())


def test_closed_store_refuses_work(tmp_path: Path):
    async def body() -> None:
        store = SqliteStore(tmp_path / "c.db")
        await store.close()
        await store.close()
        with pytest.raises(StoreClosed):
            await store.get_state_machine("x")
        with pytest.raises(StoreClosed):
            await store.create_state_machine(machine("x"))

    asyncio.run(body())


def test_group_commit_takes_the_whole_queue_in_one_batch(tmp_path: Path):
    """With the writer held busy, 200 queued step commits commit as one batch; one bad
    transaction among them fails alone."""

    async def body() -> None:
        store = SqliteStore(tmp_path / "g.db")
        try:
            for index in range(200):
                await started(store, "G", f"g{index}")
            claims = await store.claim_runnable("w", limit=200, lease_seconds=60, now=T0)
            gate = threading.Event()
            blocker = store.writer.submit(lambda connection: gate.wait(10))
            batches_before = store.writer.batches
            commits = [
                asyncio.ensure_future(
                    store.commit_step(step(c.execution.arn, c.lease_token, 9 if i == 5 else 2))
                )
                for i, c in enumerate(claims)
            ]
            await asyncio.sleep(0)  # let every commit reach the writer's queue
            gate.set()
            assert await blocker is True
            results = await asyncio.gather(*commits, return_exceptions=True)
            # The blocker's batch and at most one more (the writer may have woken up after the
            # commits were queued and taken them with the blocker).
            assert store.writer.batches - batches_before <= 2
            assert [i for i, r in enumerate(results) if r is not None] == [5]
            histories = [await store.get_execution(c.execution.arn) for c in claims]
            assert [h.last_event_id for h in histories if h] == [
                1 if i == 5 else 4 for i in range(200)
            ]
        finally:
            await store.close()

    asyncio.run(body())


def test_reads_see_acknowledged_writes_immediately(tmp_path: Path):
    async def body() -> None:
        store = SqliteStore(tmp_path / "r.db", readers=3)
        try:
            for index in range(50):
                record = await started(store, "V", f"v{index}")
                assert await store.get_execution(record.arn) == record
        finally:
            await store.close()

    asyncio.run(body())
