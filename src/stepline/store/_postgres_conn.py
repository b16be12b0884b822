"""PostgreSQL connections for the store: the URL, and the sqlite3-style adapter.

:class:`PgConnection` gives the store's transaction functions (``_sqlite_ops``,
``_sqlite_runs``, ``_sqlite_tokens``) the surface they use on SQLite — ``execute(sql,
params)`` returning a cursor with ``fetchone``/``fetchall``/``rowcount``/``lastrowid``, and
``executemany`` — over a psycopg 3 connection, mapping each SQL text once (cached) to its
PostgreSQL text (:func:`~stepline.store._postgres_sql.translate`). psycopg prepares a
statement on the server after a few executions, so the hot statements are parsed once per
connection.

Writes run in psycopg's pipeline mode (:attr:`PgConnection.pipeline`): statements whose
results the function does not look at (``BEGIN``, most INSERTs and UPDATEs, NOTIFY,
``COMMIT``) are sent without waiting for their answers, so a transaction costs a round trip
per result it reads instead of one per statement. Reading a row or ``rowcount`` waits for the
answers (``rowcount`` asks for them explicitly); an error of a statement sent earlier is raised
there, or at the latest when the pipeline ends, before the outcome is returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from stepline.store._open import redacted_url
from stepline.store._postgres_sql import translate

__all__ = ["DEFAULT_POOL_SIZE", "PgConnection", "PgCursor", "PgSettings", "parse_url"]

DEFAULT_POOL_SIZE: Final = 4
_MAX_POOL_SIZE: Final = 64
_SCHEMA: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class PgSettings:
    """What a ``postgresql://`` URL asks for.

    Attributes:
        conninfo: The URL psycopg connects with (stepline's own parameters removed).
        schema: The schema the store lives in (created if missing), or ``None``: the
            connection's default ``search_path`` (usually ``public``).
        pool_size: Connections (and threads) for the store's operations.
        display: The URL without its password, for messages.
    """

    conninfo: str
    schema: str | None
    pool_size: int
    display: str


def parse_url(url: str) -> PgSettings:
    """Read ``postgresql://user[:password]@host[:port]/database[?schema=…&pool_size=…&…]``.

    ``schema`` and ``pool_size`` are stepline's; every other query parameter goes to libpq
    (``sslmode``, ``connect_timeout``, ``options``, …).

    Raises:
        ValueError: A malformed schema name or pool size; the message says what is accepted.
    """
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    kept = []
    schema: str | None = None
    pool_size = DEFAULT_POOL_SIZE
    display = redacted_url(url)
    for key, value in params:
        if key == "schema":
            if not _SCHEMA.match(value):
                raise ValueError(
                    f"Database URL {display}: schema {value!r} is not a plain PostgreSQL name; "
                    "use letters, digits and underscores (at most 63, not starting with a digit)."
                )
            schema = value
        elif key == "pool_size":
            if not value.isdigit() or not 1 <= int(value) <= _MAX_POOL_SIZE:
                raise ValueError(
                    f"Database URL {display}: pool_size must be a whole number from 1 to "
                    f"{_MAX_POOL_SIZE}, got {value!r}."
                )
            pool_size = int(value)
        else:
            kept.append((key, value))
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    # %20, not '+', for spaces: libpq decodes only %XX escapes (``options=-c a=b -c c=d``).
    query = urlencode(kept, quote_via=quote)
    conninfo = urlunsplit((scheme, parts.netloc, parts.path, query, parts.fragment))
    return PgSettings(conninfo, schema, pool_size, display)


def connect(settings: PgSettings) -> psycopg.Connection[Any]:
    """An autocommit connection whose ``search_path`` is the store's schema.

    Raises:
        psycopg.OperationalError: The server cannot be reached or refused the login.
    """
    connection = psycopg.connect(settings.conninfo, autocommit=True)
    if settings.schema is not None:
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.schema)))
    return connection


class PgCursor:
    """A psycopg cursor seen through the sqlite3-style :class:`SqlCursor` surface."""

    __slots__ = ("_cursor", "_pipeline")

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline | None) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    @property
    def rowcount(self) -> int:
        if self._pipeline is not None:
            self._pipeline.sync()  # the count arrives with the statement's answer
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        # PostgreSQL's INSERTs that need it say ``RETURNING seq`` (see _postgres_sql.py).
        row = self._cursor.fetchone()
        return None if row is None else int(row[0])


class PgConnection:
    """A psycopg connection seen through the sqlite3-style :class:`SqlConnection` surface.

    Args:
        raw: An autocommit psycopg connection; transactions are opened and ended by whoever
            runs the store's functions (``BEGIN``/``COMMIT`` pass through :meth:`execute`).
    """

    __slots__ = ("pipeline", "raw")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.pipeline: psycopg.Pipeline | None = None
        """The pipeline a write runs in (set by the store around the transaction)."""

    def execute(self, sql_text: str, parameters: Sequence[Any] = (), /) -> PgCursor:
        return PgCursor(self.raw.execute(translate(sql_text), parameters), self.pipeline)

    def executemany(self, sql_text: str, parameters: Iterable[Sequence[Any]], /) -> PgCursor:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql_text), parameters)
        return PgCursor(cursor, self.pipeline)
