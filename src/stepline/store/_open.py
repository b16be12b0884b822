"""``open_store(url)``: a store from a database URL (``--database``, ``STEPLINE_DATABASE_URL``).

Accepted:

- ``memory://`` — :class:`~stepline.store.MemoryStore`.
- ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (SQLAlchemy's spelling:
  the path is what follows ``sqlite:///``); ``~`` is expanded. ``sqlite:///:memory:`` is refused
  (the writer and readers could not share it): use ``memory://``.
- A bare file path (no scheme) — SQLite.
- ``postgresql://user[:password]@host[:port]/database`` (or ``postgres://``) —
  :class:`~stepline.store._postgres.PostgresStore`; ``?schema=name`` puts the store in that
  schema (created if missing), ``?pool_size=n`` sets its connections (default 4); other
  parameters go to libpq (``sslmode``, ``connect_timeout``…).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

from stepline.store._memory import MemoryStore
from stepline.store._protocol import Store
from stepline.store._sqlite import SqliteStore

__all__ = ["open_store", "redacted_url"]

_SQLITE = "sqlite:///"


async def open_store(url: str) -> Store:
    """Open (creating and migrating if needed) the store ``url`` names.

    Raises:
        ValueError: An unsupported or malformed URL; the message lists what is accepted.
        SchemaTooNew: The database belongs to a newer stepline.
    """
    if url in ("memory://", "memory:"):
        return MemoryStore()
    if url.startswith(_SQLITE):
        path = url[len(_SQLITE) :].split("?", 1)[0]
        if not path:
            raise ValueError(
                f"Database URL {url!r} names no file: write sqlite:///relative.db or "
                "sqlite:////absolute/path.db."
            )
        if path == ":memory:":
            raise ValueError(
                "sqlite:///:memory: is not supported (the store's writer and readers use "
                "separate connections); use memory:// for a store without a file."
            )
        return await asyncio.to_thread(SqliteStore, path)
    if url.startswith(("postgresql://", "postgres://")):
        # Imported here: psycopg is loaded only by those who use PostgreSQL.
        from stepline.store._postgres import PostgresStore

        return await asyncio.to_thread(PostgresStore, url)
    if "://" in url or url.startswith("sqlite:"):
        scheme = url.split(":", 1)[0]
        raise ValueError(
            f"Unsupported database URL scheme {scheme!r}: use sqlite:///path/to/file.db, "
            "postgresql://user@host/database, memory://, or a file path."
        )
    return await asyncio.to_thread(SqliteStore, url)


def redacted_url(url: str) -> str:
    """``url`` fit for a message or a log: the password masked, the query dropped (libpq
    takes ``password=`` there too), e.g. ``postgresql://app:***@db/stepline``."""
    if "@" not in url and "?" not in url and "#" not in url:
        return url  # nothing to hide (and urlunsplit would respell sqlite:////abs.db)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in credentials else f"{user}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
