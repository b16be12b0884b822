"""The store's SQL in PostgreSQL's dialect: the shared SQL of ``_sql.py`` plus small overrides.

Every statement of ``_sql.py`` runs on PostgreSQL after :func:`translate` (``?`` placeholders
become psycopg's ``%s``), except the few whose dialects differ, overridden here BY NAME:

- ``insert_execution`` returns the new ``seq`` (SQLite's ``lastrowid``);
- ``insert_task_token`` leaves ``position`` to its identity column (SQLite takes the maximum
  + 1, which concurrent writers would share);
- the listings with an optional status cast the parameter (PostgreSQL cannot type a bare
  ``? IS NULL``);
- row locks where an operation reads and then writes (SQLite's single writer serialises whole
  transactions; PostgreSQL runs many at once, see ``_postgres.py`` for the reasoning per
  operation): ``lease_state`` locks the execution's runtime row, ``due_executions`` and
  ``oldest_scheduled_task`` skip rows that others hold (``FOR UPDATE SKIP LOCKED``: each due
  execution and each activity task goes to one claimer, and claimers never wait for each
  other), ``lock_task_execution`` locks the runtime row of a token's execution;
- ``notify`` is PostgreSQL's ``pg_notify`` on a channel named after the schema, so that stores
  in different schemas of one database do not wake each other.

Migrations are the same versioned scripts; :func:`migration_statements` maps their types
(``REAL`` → ``DOUBLE PRECISION``, ``BLOB`` → ``BYTEA``, ``INTEGER`` → ``BIGINT``) and the
columns SQLite numbers by itself (an ``INTEGER PRIMARY KEY`` rowid) to identity columns. A new
migration that relies on SQLite numbering a column needs an entry in ``_IDENTITY_COLUMNS``;
one that is not valid PostgreSQL needs an entry in ``_STATEMENT_OVERRIDES``.
"""

from __future__ import annotations

import re
from typing import Final

from stepline.store._sql import _COLUMNS, MIGRATIONS, QUERIES, split_statements

__all__ = [
    "NOTIFY_PREFIX",
    "OVERRIDES",
    "channel_name",
    "migration_statements",
    "translate",
]

NOTIFY_PREFIX: Final = "stepline."
_SCHEMA_CHARS: Final = 40
"""PostgreSQL channel names have at most 63 bytes: prefix + 40 + '.' + channel fit."""

_OVERRIDES_SQL: Final = """
-- name: insert_execution
INSERT INTO executions (arn, state_machine_arn, name, revision_id, status, start_date, input,
    version_arn, alias_arn, stop_date, output, error, cause, trace_header, redrive_count,
    redrive_date, redrive_status, redrive_status_reason, map_run_arn, parent_execution_arn)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING seq
-- name: insert_task_token
INSERT INTO task_tokens (token, seq, effect_id, status, scheduled_at, activity_arn, input,
    timeout_at, heartbeat_seconds, heartbeat_due, worker_name, started_at, started_reported,
    completed_at, output, error, cause, wake_at, child_execution_arn)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token) DO NOTHING
-- name: list_executions_by_version
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.version_arn = ? AND e.seq < ? AND (CAST(? AS TEXT) IS NULL OR e.status = ?)
ORDER BY e.seq DESC LIMIT ?
-- name: list_executions_by_alias
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.alias_arn = ? AND e.seq < ? AND (CAST(? AS TEXT) IS NULL OR e.status = ?)
ORDER BY e.seq DESC LIMIT ?
-- name: list_executions_by_map_run
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.map_run_arn = ? AND e.seq < ? AND (CAST(? AS TEXT) IS NULL OR e.status = ?)
ORDER BY e.seq DESC LIMIT ?
-- name: lease_state
SELECT r.seq, r.last_event_id, r.lease_token, e.status
FROM executions e JOIN execution_runtime r ON r.seq = e.seq WHERE e.arn = ?
FOR UPDATE OF r
-- name: due_executions
SELECT seq FROM execution_runtime WHERE wake_at <= ? ORDER BY wake_at, seq LIMIT ?
FOR UPDATE SKIP LOCKED
-- name: oldest_scheduled_task
SELECT {TOKEN} FROM task_tokens t JOIN executions e ON e.seq = t.seq
WHERE t.activity_arn = ? AND t.status = 'SCHEDULED' AND e.status = 'RUNNING'
ORDER BY t.scheduled_at, t.position LIMIT 1
FOR UPDATE OF t SKIP LOCKED
-- name: lock_task_execution
SELECT r.seq FROM execution_runtime r JOIN task_tokens t ON t.seq = r.seq WHERE t.token = ?
FOR UPDATE OF r
-- name: notify
SELECT pg_notify('stepline.' || left(current_schema(), 40) || '.' || ?, '')
"""

_MARKER: Final = re.compile(r"^-- name: (.+)$", re.MULTILINE)


def _overrides(text: str) -> dict[str, str]:
    parts = _MARKER.split(text)
    found = {}
    for index in range(1, len(parts), 2):
        body = parts[index + 1].strip()
        for placeholder, columns in _COLUMNS.items():
            body = body.replace("{" + placeholder + "}", columns)
        found[parts[index].strip()] = body
    unknown = set(found) - set(QUERIES)
    if unknown:
        raise ValueError(f"_postgres_sql.py overrides unknown queries: {sorted(unknown)}.")
    return found


OVERRIDES: Final[dict[str, str]] = _overrides(_OVERRIDES_SQL)
"""Query name → its PostgreSQL text (still with ``?`` placeholders)."""

_BY_SHARED_TEXT: Final = {
    **{QUERIES[name]: sql for name, sql in OVERRIDES.items()},
    # A multi-statement read (``_in_read_transaction``: an alias with its routes) reads one
    # snapshot, as on SQLite's WAL; PostgreSQL's default BEGIN is READ COMMITTED.
    "BEGIN": "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
}
_CACHE: dict[str, str] = {}


def _placeholders(sql: str) -> str:
    """``?`` → ``%s`` and ``%`` → ``%%`` outside string literals."""
    out: list[str] = []
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
            out.append(char)
        elif quoted:
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def translate(sql: str) -> str:
    """The PostgreSQL text of a statement of ``_sql.py`` (or of plain shared SQL); cached."""
    cached = _CACHE.get(sql)
    if cached is None:
        cached = _CACHE[sql] = _placeholders(_BY_SHARED_TEXT.get(sql, sql))
    return cached


def channel_name(schema: str, channel: str) -> str:
    """The PostgreSQL channel of a store channel in ``schema`` (as the ``notify`` query names
    it)."""
    return f"{NOTIFY_PREFIX}{schema[:_SCHEMA_CHARS]}.{channel}"


# -- migrations -------------------------------------------------------------------------------

_TYPES: Final = (
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
)

_IDENTITY_COLUMNS: Final = {
    # (table, SQLite's column definition) → PostgreSQL's.
    ("executions", "seq INTEGER PRIMARY KEY"): (
        "seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    ),
    (
        "task_tokens",
        "position INTEGER NOT NULL",
    ): "position BIGINT GENERATED BY DEFAULT AS IDENTITY",
    # Distributed Map: map runs are listed in the order they were stored.
    ("map_runs", "seq INTEGER PRIMARY KEY"): (
        "seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    ),
}

_STATEMENT_OVERRIDES: Final[dict[str, str]] = {}
"""A migration statement (exact text) → its PostgreSQL text, for what the maps above miss."""

_CREATE_TABLE: Final = re.compile(r"^CREATE TABLE (\w+) \(")


def _statement(statement: str, used: set[tuple[str, str]]) -> str:
    override = _STATEMENT_OVERRIDES.get(statement)
    if override is not None:
        return override
    table = _CREATE_TABLE.match(statement)
    if table is not None:
        for (name, column), identity in _IDENTITY_COLUMNS.items():
            if name == table.group(1) and column in statement:
                statement = statement.replace(column, identity)
                used.add((name, column))
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return statement


def migration_statements() -> list[tuple[int, str, list[str]]]:
    """``(version, title, statements)`` of every migration, in PostgreSQL's dialect.

    Raises:
        ValueError: An identity override no longer matches its migration (it was edited).
    """
    used: set[tuple[str, str]] = set()
    translated = [
        (version, title, [_statement(s, used) for s in split_statements(script)])
        for version, title, script in MIGRATIONS
    ]
    missing = set(_IDENTITY_COLUMNS) - used
    if missing:
        raise ValueError(f"_postgres_sql.py identity overrides match no migration: {missing}.")
    return translated
