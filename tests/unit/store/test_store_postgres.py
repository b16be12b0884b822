"""What only the PostgreSQL store does: its URL, opening under an advisory lock, refusals."""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest
from psycopg import sql

from stepline.store import SCHEMA_VERSION, SchemaTooNew, StoreUnavailable, open_store
from stepline.store._postgres import PostgresStore
from stepline.store._postgres_conn import parse_url
from support.postgres import POSTGRES_URL


def test_url_keeps_libpq_parameters_and_hides_the_password():
    settings = parse_url(
        "postgres://app:s3cret@db.example:6543/prod?schema=blue&pool_size=9"
        "&sslmode=require&options=-c%20statement_timeout%3D5000"
    )
    assert settings.schema == "blue" and settings.pool_size == 9
    assert settings.conninfo == (
        "postgresql://app:s3cret@db.example:6543/prod?sslmode=require"
        "&options=-c%20statement_timeout%3D5000"
    )
    assert settings.display == "postgres://app:***@db.example:6543/prod"
    assert parse_url("postgresql://db/x").schema is None
    for bad, hint in [
        ("postgresql://db/x?schema=a-b", "not a plain PostgreSQL name"),
        ("postgresql://db/x?pool_size=many", "pool_size must be a whole number"),
        ("postgresql://db/x?pool_size=65", "pool_size must be a whole number"),
    ]:
        with pytest.raises(ValueError, match=hint):
            parse_url(bad)


def test_an_unreachable_server_is_one_clear_error_without_the_password():
    async def body() -> None:
        # Port 1 on this machine: nothing listens there.
        with pytest.raises(StoreUnavailable) as caught:
            await open_store("postgresql://app:s3cret@127.0.0.1:1/x?connect_timeout=5")
        message = str(caught.value)
        assert "postgresql://app:***@127.0.0.1:1/x" in message and "s3cret" not in message
        assert "unavailable" in message

    asyncio.run(body())


def test_processes_opening_a_new_schema_at_once_migrate_it_once(postgres_backend):
    stores: list[PostgresStore] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def open_one() -> None:
        try:
            store = PostgresStore(postgres_backend.url)
        except BaseException as error:
            failures.append(error)
        else:
            with lock:
                stores.append(store)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and len(stores) == 4

    async def close_all() -> None:
        for store in stores:
            await store.close()

    asyncio.run(close_all())
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        versions = connection.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY version").format(
                sql.Identifier(postgres_backend.schema)
            )
        ).fetchall()
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))


def test_a_schema_from_a_newer_stepline_is_refused(postgres_backend):
    asyncio.run(_open_and_close(postgres_backend.url))
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(
            sql.SQL("INSERT INTO {}.schema_migrations VALUES (9999, 'future', 0)").format(
                sql.Identifier(postgres_backend.schema)
            )
        )
    with pytest.raises(SchemaTooNew, match="upgrade stepline") as caught:
        asyncio.run(_open_and_close(postgres_backend.url))
    assert postgres_backend.schema in str(caught.value)


async def _open_and_close(url: str) -> None:
    store = await open_store(url)
    await store.close()
