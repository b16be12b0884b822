"""The store suite's backends: every test taking ``backend`` runs once per backend.

Backends: ``memory``, ``sqlite`` (a fresh file in the test's temp dir) and ``postgres`` (issue
#7: runs when ``STEPLINE_TEST_POSTGRES_URL`` is set, each test in a fresh schema; skipped
otherwise). A backend hands out stores through ``open()``; ``reopen`` says whether a second
``open()`` sees the first one's data (durable backends).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from stepline.store import MemoryStore, SqliteStore, Store, open_store
from support.postgres import POSTGRES_URL, SKIP_REASON, drop_schema, new_schema, schema_url

T = TypeVar("T")

TEST_TIMEOUT = 60.0


class Backend:
    """Opens stores of one backend for one test."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.reopen = name != "memory"
        self._path = tmp_path / "db" / "store.db"
        self.schema = new_schema()

    @property
    def url(self) -> str:
        """The PostgreSQL URL of this test's schema."""
        return schema_url(self.schema)

    async def open(self) -> Store:
        if self.name == "memory":
            return MemoryStore()
        if self.name == "sqlite":
            return await asyncio.to_thread(SqliteStore, self._path)
        return await open_store(self.url)

    def drop(self) -> None:
        """Drop this test's PostgreSQL schema (if it was made)."""
        if self.name == "postgres":
            drop_schema(self.schema)

    def run(self, body: Callable[[Store], Awaitable[T]]) -> T:
        """Open a store, run ``body`` with it (bounded in time), close it."""

        async def main() -> T:
            store = await self.open()
            try:
                return await asyncio.wait_for(body(store), TEST_TIMEOUT)
            finally:
                await store.close()

        return asyncio.run(main())


_BACKENDS: list[Any] = [
    "memory",
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(POSTGRES_URL is None, reason=SKIP_REASON),
    ),
]


@pytest.fixture(params=_BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    chosen = Backend(request.param, tmp_path)
    try:
        yield chosen
    finally:
        chosen.drop()


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", tmp_path)


@pytest.fixture
def postgres_backend(tmp_path: Path) -> Iterator[Backend]:
    """PostgreSQL only (tests of what only a shared database does: several stores at once)."""
    if POSTGRES_URL is None:
        pytest.skip(SKIP_REASON)
    chosen = Backend("postgres", tmp_path)
    try:
        yield chosen
    finally:
        chosen.drop()
