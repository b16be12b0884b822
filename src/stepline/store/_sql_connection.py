"""What the SQL store's transaction functions need of a connection.

The functions in ``_sqlite_ops``, ``_sqlite_runs`` and ``_sqlite_tokens`` run on SQLite's
``sqlite3.Connection`` and on PostgreSQL through
:class:`~stepline.store._postgres_conn.PgConnection`; both satisfy these protocols (the
sqlite3-style ``execute``/``executemany``/``fetchone``/``fetchall``/``rowcount``/``lastrowid``
surface), so each operation is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

__all__ = ["SqlConnection", "SqlCursor"]


class SqlCursor(Protocol):
    """The result of one statement."""

    def fetchone(self) -> Any:
        """The next row (a tuple), or ``None``."""

    def fetchall(self) -> list[Any]:
        """The remaining rows."""

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows, one by one."""

    @property
    def rowcount(self) -> int:
        """Rows an INSERT/UPDATE/DELETE changed."""

    @property
    def lastrowid(self) -> int | None:
        """The key the INSERT made (``insert_execution``'s ``seq``)."""


class SqlConnection(Protocol):
    """A connection inside the transaction an operation runs in."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> SqlCursor:
        """Run one statement (SQL text from ``_sql.QUERIES``, ``?`` placeholders)."""

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> SqlCursor:
        """Run one statement once per parameter tuple."""
