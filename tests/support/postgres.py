"""PostgreSQL for tests: the server from ``STEPLINE_TEST_POSTGRES_URL``, one schema per user.

Several test runs (and helpers' worktrees) may share one database at once, so every test that
opens a store there does it in a schema of its own (:func:`new_schema`, :func:`schema_url`)
and drops it at the end (:func:`drop_schema`).
"""

from __future__ import annotations

import os
import secrets
from typing import Final

__all__ = ["POSTGRES_URL", "SKIP_REASON", "drop_schema", "new_schema", "schema_url"]

POSTGRES_URL: Final = os.environ.get("STEPLINE_TEST_POSTGRES_URL")
SKIP_REASON: Final = (
    "set STEPLINE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run "
    "the PostgreSQL tests"
)


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"stepline_test_{secrets.token_hex(6)}"


def schema_url(schema: str) -> str:
    """The URL of the test server with the store in ``schema``."""
    assert POSTGRES_URL is not None, SKIP_REASON
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}schema={schema}"


def drop_schema(schema: str) -> None:
    """Drop a test schema and everything in it."""
    import psycopg
    from psycopg import sql

    assert POSTGRES_URL is not None, SKIP_REASON
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )
