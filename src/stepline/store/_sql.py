"""All of the store's SQL, by name: the versioned migrations and the queries.

Written in the SQL that SQLite and PostgreSQL share (``?`` placeholders, ``ON CONFLICT``,
``RETURNING``-free), so that a PostgreSQL backend converts placeholders and overrides only the
few statements whose dialects differ, by name. ``{EXECUTION}`` and the other braces are column
lists substituted once at import, in the field order of the records they build.

Migrations are applied in order at open, each in one transaction, and recorded in
``schema_migrations``; never edit an applied migration, add a new one.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Final

__all__ = ["MIGRATIONS", "QUERIES", "SCHEMA_VERSION", "split_statements"]

_COLUMNS: Final = {
    "REVISION": (
        "v.revision_id, v.state_machine_arn, v.definition, v.role_arn, v.update_date, "
        "v.logging_configuration, v.tracing_configuration, v.encryption_configuration"
    ),
    "EXECUTION": (
        "e.arn, e.state_machine_arn, e.name, e.revision_id, e.status, e.start_date, e.input, "
        "e.version_arn, e.alias_arn, e.stop_date, e.output, e.error, e.cause, e.trace_header, "
        "e.redrive_count, e.redrive_date, e.redrive_status, e.redrive_status_reason, "
        "e.map_run_arn, e.parent_execution_arn, r.last_event_id"
    ),
    "MAP_RUN": (
        "m.arn, m.execution_arn, m.state_machine_arn, m.label, m.state_name, "
        "m.execution_type, m.revision_id, m.status, m.start_date, m.max_concurrency, "
        "m.tolerated_failure_count, m.tolerated_failure_percentage, m.task_token, m.stop_date, "
        "m.error, m.cause, m.redrive_count, m.redrive_date"
    ),
    "MAP_CHILD": (
        "c.map_run_arn, c.position, c.item_count, c.input, c.status, c.execution_arn, "
        "c.output, c.error, c.cause"
    ),
    "TOKEN": (
        "t.token, e.arn, t.effect_id, t.status, t.scheduled_at, t.activity_arn, t.input, "
        "t.timeout_at, t.heartbeat_seconds, t.heartbeat_due, t.worker_name, t.started_at, "
        "t.started_reported, t.completed_at, t.output, t.error, t.cause, "
        "t.child_execution_arn"
    ),
}

_MIGRATIONS_SQL: Final = """
-- migration: 1 initial
CREATE TABLE store_settings (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE state_machine_revisions (
    revision_id TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    update_date REAL NOT NULL,
    logging_configuration TEXT,
    tracing_configuration TEXT,
    encryption_configuration TEXT
);
CREATE INDEX state_machine_revisions_by_machine
    ON state_machine_revisions (state_machine_arn);
CREATE TABLE state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    creation_date REAL NOT NULL,
    revision_id TEXT NOT NULL,
    description TEXT,
    next_version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE state_machine_versions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    version INTEGER NOT NULL,
    creation_date REAL NOT NULL,
    revision_id TEXT NOT NULL,
    description TEXT,
    UNIQUE (state_machine_arn, version)
);
CREATE INDEX state_machine_versions_by_revision ON state_machine_versions (revision_id);
CREATE TABLE state_machine_aliases (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    creation_date REAL NOT NULL,
    update_date REAL NOT NULL,
    description TEXT
);
CREATE INDEX state_machine_aliases_by_machine ON state_machine_aliases (state_machine_arn, arn);
CREATE TABLE alias_routes (
    alias_arn TEXT NOT NULL,
    position INTEGER NOT NULL,
    version_arn TEXT NOT NULL,
    weight INTEGER NOT NULL,
    PRIMARY KEY (alias_arn, position)
);
CREATE INDEX alias_routes_by_version ON alias_routes (version_arn);
CREATE TABLE resource_tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);
CREATE TABLE executions (
    seq INTEGER PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date REAL NOT NULL,
    input TEXT NOT NULL,
    version_arn TEXT,
    alias_arn TEXT,
    stop_date REAL,
    output TEXT,
    error TEXT,
    cause TEXT,
    trace_header TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL,
    redrive_status TEXT,
    redrive_status_reason TEXT,
    map_run_arn TEXT,
    parent_execution_arn TEXT
);
CREATE INDEX executions_by_machine ON executions (state_machine_arn, seq);
CREATE INDEX executions_by_machine_status ON executions (state_machine_arn, status, seq);
CREATE INDEX executions_by_version ON executions (version_arn, seq) WHERE version_arn IS NOT NULL;
CREATE INDEX executions_by_alias ON executions (alias_arn, seq) WHERE alias_arn IS NOT NULL;
CREATE INDEX executions_by_map_run ON executions (map_run_arn, seq)
    WHERE map_run_arn IS NOT NULL;
-- The hot, small, per-step row: kept apart so a step never rewrites a large input/output.
CREATE TABLE execution_runtime (
    seq INTEGER PRIMARY KEY,
    last_event_id INTEGER NOT NULL,
    snapshot BLOB,
    wake_at REAL,
    lease_owner TEXT,
    lease_token TEXT,
    lease_expires_at REAL
);
CREATE INDEX execution_runtime_by_wake ON execution_runtime (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE history_events (
    seq INTEGER NOT NULL,
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (seq, id)
);
CREATE TABLE timers (
    seq INTEGER NOT NULL,
    timer_id TEXT NOT NULL,
    due REAL NOT NULL,
    PRIMARY KEY (seq, timer_id)
);
-- migration: 2 activities and task tokens
CREATE TABLE activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    creation_date REAL NOT NULL
);
-- One row per task that waits for its token (a .waitForTaskToken callback or an activity
-- task), from scheduling until the execution is purged; wake_at is when its execution must
-- look at it again (an outcome to feed, a worker to record, a deadline), NULL once CLOSED.
CREATE TABLE task_tokens (
    token TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    effect_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    scheduled_at REAL NOT NULL,
    activity_arn TEXT,
    input TEXT,
    timeout_at REAL,
    heartbeat_seconds REAL,
    heartbeat_due REAL,
    worker_name TEXT,
    started_at REAL,
    started_reported INTEGER NOT NULL DEFAULT 0,
    completed_at REAL,
    output TEXT,
    error TEXT,
    cause TEXT,
    wake_at REAL,
    position INTEGER NOT NULL
);
CREATE INDEX task_tokens_open_by_execution ON task_tokens (seq) WHERE status <> 'CLOSED';
CREATE INDEX task_tokens_scheduled_by_activity ON task_tokens (activity_arn, scheduled_at, position)
    WHERE status = 'SCHEDULED';
-- migration: 3 redrives
-- One row per successful RedriveExecution with a client token: the idempotency rule's memory.
CREATE TABLE execution_redrives (
    seq INTEGER NOT NULL,
    client_token TEXT NOT NULL,
    redrive_date REAL NOT NULL,
    PRIMARY KEY (seq, client_token)
);
-- migration: 4 map runs
-- ---- Distributed Map (map runs): begin ----
-- One row per map run a Distributed Map state started; its outcome completes the parent's
-- task_token. Counts are not stored: they are recomputed from map_run_children.
CREATE TABLE map_runs (
    seq INTEGER PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    execution_arn TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    label TEXT NOT NULL,
    state_name TEXT NOT NULL,
    execution_type TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date REAL NOT NULL,
    max_concurrency INTEGER NOT NULL,
    tolerated_failure_count INTEGER NOT NULL,
    tolerated_failure_percentage REAL NOT NULL,
    task_token TEXT NOT NULL,
    stop_date REAL,
    error TEXT,
    cause TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL,
    lease_owner TEXT,
    lease_expires_at REAL
);
CREATE INDEX map_runs_by_execution ON map_runs (execution_arn, seq);
CREATE INDEX map_runs_running ON map_runs (status) WHERE status = 'RUNNING';
-- One row per child (an item, or a batch of items) of a map run.
CREATE TABLE map_run_children (
    map_run_arn TEXT NOT NULL,
    position INTEGER NOT NULL,
    item_count INTEGER NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    execution_arn TEXT,
    output TEXT,
    error TEXT,
    cause TEXT,
    PRIMARY KEY (map_run_arn, position)
);
CREATE INDEX map_run_children_by_status ON map_run_children (map_run_arn, status, position);
-- ---- Distributed Map (map runs): end ----
-- >>> scale-out (issue #7): shared service records and cross-process pacing
-- migration: 5 shared service records and connection pacing
-- Records every API and worker process must see alike: EventBridge connections (a JSON
-- document without secrets, and the secret's ciphertext) and the IAM state. version is 1 on
-- create and grows by one per change (conditional writes); the generation of a kind grows with
-- every change of one of its records, so that a process learns in one read whether its copy
-- is stale.
CREATE TABLE service_records (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    secret BLOB,
    version INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE service_record_generations (
    kind TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
-- A connection's token bucket (rate_per_second/burst), shared by every process.
CREATE TABLE pacing_buckets (
    key TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    stamp REAL NOT NULL,
    version INTEGER NOT NULL
);
-- One row per request holding a concurrency slot of a connection; a slot whose process died
-- is freed when expires_at passes (the holder renews it while the request runs).
CREATE TABLE pacing_slots (
    slot_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX pacing_slots_by_key ON pacing_slots (key, expires_at);
CREATE INDEX pacing_slots_by_owner ON pacing_slots (owner);
-- The row every acquirer of a connection's slots updates first: it serializes them on a
-- backend with concurrent writers (a row lock), so that the count they check stays true.
CREATE TABLE pacing_slot_keys (
    key TEXT PRIMARY KEY,
    acquisitions INTEGER NOT NULL
);
-- <<< scale-out
-- migration: 6 nested workflow waits
-- A .sync/.sync:2 startExecution task waits on a token like a callback; child_execution_arn
-- links that token to the child execution it started (set in the child's insert), so that
-- the child's terminal commit completes the parent's task in the same transaction.
ALTER TABLE task_tokens ADD COLUMN child_execution_arn TEXT;
CREATE INDEX task_tokens_by_child ON task_tokens (child_execution_arn)
    WHERE child_execution_arn IS NOT NULL;
"""

_QUERIES_SQL: Final = """
-- name: get_setting
SELECT value FROM store_settings WHERE name = ?
-- name: put_setting_if_absent
INSERT INTO store_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING

-- name: insert_revision
INSERT INTO state_machine_revisions (revision_id, state_machine_arn, definition, role_arn,
    update_date, logging_configuration, tracing_configuration, encryption_configuration)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
-- name: revision_exists
SELECT 1 FROM state_machine_revisions WHERE revision_id = ?
-- name: get_revision
SELECT {REVISION} FROM state_machine_revisions v WHERE v.revision_id = ?
-- name: insert_state_machine
INSERT INTO state_machines (arn, name, type, status, creation_date, revision_id, description)
VALUES (?, ?, ?, ?, ?, ?, ?)
-- name: get_state_machine
SELECT m.arn, m.name, m.type, m.status, m.creation_date, m.description, m.next_version,
    {REVISION}
FROM state_machines m JOIN state_machine_revisions v ON v.revision_id = m.revision_id
WHERE m.arn = ?
-- name: list_state_machines
SELECT m.arn, m.name, m.type, m.status, m.creation_date, m.description, m.next_version,
    {REVISION}
FROM state_machines m JOIN state_machine_revisions v ON v.revision_id = m.revision_id
WHERE m.arn > ? ORDER BY m.arn LIMIT ?
-- name: set_state_machine_revision
UPDATE state_machines SET revision_id = ? WHERE arn = ?
-- name: set_state_machine_status
UPDATE state_machines SET status = ? WHERE arn = ?
-- name: take_version_number
UPDATE state_machines SET next_version = next_version + 1 WHERE arn = ?
-- name: delete_state_machine
DELETE FROM state_machines WHERE arn = ?
-- name: delete_machine_versions
DELETE FROM state_machine_versions WHERE state_machine_arn = ?
-- name: delete_machine_alias_routes
DELETE FROM alias_routes WHERE alias_arn IN
    (SELECT arn FROM state_machine_aliases WHERE state_machine_arn = ?)
-- name: delete_machine_aliases
DELETE FROM state_machine_aliases WHERE state_machine_arn = ?

-- name: insert_version
INSERT INTO state_machine_versions (arn, state_machine_arn, version, creation_date, revision_id,
    description)
VALUES (?, ?, ?, ?, ?, ?)
-- name: get_version
SELECT s.arn, s.state_machine_arn, s.version, s.creation_date, s.description, {REVISION}
FROM state_machine_versions s JOIN state_machine_revisions v ON v.revision_id = s.revision_id
WHERE s.arn = ?
-- name: find_version_of_revision
SELECT s.arn, s.state_machine_arn, s.version, s.creation_date, s.description, {REVISION}
FROM state_machine_versions s JOIN state_machine_revisions v ON v.revision_id = s.revision_id
WHERE s.state_machine_arn = ? AND s.revision_id = ?
ORDER BY s.version DESC LIMIT 1
-- name: list_versions
SELECT s.arn, s.state_machine_arn, s.version, s.creation_date, s.description, {REVISION}
FROM state_machine_versions s JOIN state_machine_revisions v ON v.revision_id = s.revision_id
WHERE s.state_machine_arn = ? AND s.version < ?
ORDER BY s.version DESC LIMIT ?
-- name: alias_routing_to_version
SELECT alias_arn FROM alias_routes WHERE version_arn = ? LIMIT 1
-- name: delete_version
DELETE FROM state_machine_versions WHERE arn = ?

-- name: insert_alias
INSERT INTO state_machine_aliases (arn, state_machine_arn, name, creation_date, update_date,
    description)
VALUES (?, ?, ?, ?, ?, ?)
-- name: get_alias
SELECT arn, state_machine_arn, name, creation_date, update_date, description
FROM state_machine_aliases WHERE arn = ?
-- name: list_aliases
SELECT arn, state_machine_arn, name, creation_date, update_date, description
FROM state_machine_aliases WHERE state_machine_arn = ? AND arn > ? ORDER BY arn LIMIT ?
-- name: update_alias
UPDATE state_machine_aliases SET description = ?, update_date = ? WHERE arn = ?
-- name: delete_alias
DELETE FROM state_machine_aliases WHERE arn = ?
-- name: insert_route
INSERT INTO alias_routes (alias_arn, position, version_arn, weight) VALUES (?, ?, ?, ?)
-- name: get_routes
SELECT version_arn, weight FROM alias_routes WHERE alias_arn = ? ORDER BY position
-- name: delete_routes
DELETE FROM alias_routes WHERE alias_arn = ?

-- name: put_tag
INSERT INTO resource_tags (resource_arn, key, value) VALUES (?, ?, ?)
ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value
-- name: delete_tag
DELETE FROM resource_tags WHERE resource_arn = ? AND key = ?
-- name: delete_tags
DELETE FROM resource_tags WHERE resource_arn = ?
-- name: list_tags
SELECT key, value FROM resource_tags WHERE resource_arn = ? ORDER BY key

-- name: insert_execution
INSERT INTO executions (arn, state_machine_arn, name, revision_id, status, start_date, input,
    version_arn, alias_arn, stop_date, output, error, cause, trace_header, redrive_count,
    redrive_date, redrive_status, redrive_status_reason, map_run_arn, parent_execution_arn)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
-- name: insert_runtime
INSERT INTO execution_runtime (seq, last_event_id, snapshot, wake_at) VALUES (?, ?, ?, ?)
-- name: insert_runtime_leased
INSERT INTO execution_runtime
    (seq, last_event_id, snapshot, wake_at, lease_owner, lease_token, lease_expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
-- name: get_execution
SELECT {EXECUTION} FROM executions e JOIN execution_runtime r ON r.seq = e.seq WHERE e.arn = ?
-- name: get_execution_by_seq
SELECT {EXECUTION}, r.snapshot FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.seq = ?
-- name: execution_seq
SELECT seq FROM executions WHERE arn = ?
-- name: purge_execution
DELETE FROM executions WHERE seq = ?
-- name: purge_runtime
DELETE FROM execution_runtime WHERE seq = ?
-- name: purge_history
DELETE FROM history_events WHERE seq = ?
-- name: list_executions_by_machine
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.state_machine_arn = ? AND e.seq < ? ORDER BY e.seq DESC LIMIT ?
-- name: list_executions_by_machine_status
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.state_machine_arn = ? AND e.status = ? AND e.seq < ? ORDER BY e.seq DESC LIMIT ?
-- name: list_executions_by_version
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.version_arn = ? AND e.seq < ? AND (? IS NULL OR e.status = ?)
ORDER BY e.seq DESC LIMIT ?
-- name: list_executions_by_alias
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.alias_arn = ? AND e.seq < ? AND (? IS NULL OR e.status = ?)
ORDER BY e.seq DESC LIMIT ?
-- name: list_executions_by_map_run
SELECT {EXECUTION}, e.seq FROM executions e JOIN execution_runtime r ON r.seq = e.seq
WHERE e.map_run_arn = ? AND e.seq < ? AND (? IS NULL OR e.status = ?)
ORDER BY e.seq DESC LIMIT ?
-- name: running_execution_of_machine
SELECT 1 FROM executions WHERE state_machine_arn = ? AND status = 'RUNNING' LIMIT 1
-- name: history_forward
SELECT id, previous_event_id, timestamp, type, details FROM history_events
WHERE seq = ? AND id > ? ORDER BY id LIMIT ?
-- name: history_reverse
SELECT id, previous_event_id, timestamp, type, details FROM history_events
WHERE seq = ? AND id < ? ORDER BY id DESC LIMIT ?
-- name: insert_event
INSERT INTO history_events (seq, id, previous_event_id, timestamp, type, details)
VALUES (?, ?, ?, ?, ?, ?)

-- name: lease_state
SELECT r.seq, r.last_event_id, r.lease_token, e.status
FROM executions e JOIN execution_runtime r ON r.seq = e.seq WHERE e.arn = ?
-- name: end_execution
UPDATE executions SET status = ?, stop_date = ?, output = ?, error = ?, cause = ? WHERE seq = ?
-- name: end_runtime
UPDATE execution_runtime SET last_event_id = ?, snapshot = COALESCE(?, snapshot),
    wake_at = NULL, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE seq = ?
-- name: step_runtime_keep_lease
UPDATE execution_runtime SET last_event_id = ?, snapshot = COALESCE(?, snapshot),
    wake_at = ?, lease_expires_at = ?
WHERE seq = ?
-- name: step_runtime_release
UPDATE execution_runtime SET last_event_id = ?, snapshot = COALESCE(?, snapshot),
    wake_at = ?, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE seq = ?
-- name: renew_lease
UPDATE execution_runtime SET wake_at = ?, lease_expires_at = ? WHERE seq = ?
-- name: release_lease
UPDATE execution_runtime SET wake_at = ?, lease_owner = NULL, lease_token = NULL,
    lease_expires_at = NULL
WHERE seq = ?
-- name: put_timer
INSERT INTO timers (seq, timer_id, due) VALUES (?, ?, ?)
ON CONFLICT (seq, timer_id) DO UPDATE SET due = excluded.due
-- name: delete_timer
DELETE FROM timers WHERE seq = ? AND timer_id = ?
-- name: delete_timers
DELETE FROM timers WHERE seq = ?
-- name: earliest_timer
SELECT MIN(due) FROM timers WHERE seq = ?
-- name: list_timers
SELECT timer_id, due FROM timers WHERE seq = ? ORDER BY due, timer_id
-- name: due_executions
SELECT seq FROM execution_runtime WHERE wake_at <= ? ORDER BY wake_at, seq LIMIT ?
-- name: take_lease
UPDATE execution_runtime SET lease_owner = ?, lease_token = ?, lease_expires_at = ?,
    wake_at = ?
WHERE seq = ?
-- name: next_wake_at
SELECT MIN(wake_at) FROM execution_runtime WHERE wake_at IS NOT NULL

-- name: insert_activity
INSERT INTO activities (arn, name, creation_date) VALUES (?, ?, ?)
ON CONFLICT (arn) DO NOTHING
-- name: get_activity
SELECT arn, name, creation_date FROM activities WHERE arn = ?
-- name: list_activities
SELECT arn, name, creation_date FROM activities WHERE arn > ? ORDER BY arn LIMIT ?
-- name: delete_activity
DELETE FROM activities WHERE arn = ?
-- name: insert_task_token
INSERT INTO task_tokens (token, seq, effect_id, status, scheduled_at, activity_arn, input,
    timeout_at, heartbeat_seconds, heartbeat_due, worker_name, started_at, started_reported,
    completed_at, output, error, cause, wake_at, child_execution_arn, position)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    (SELECT COALESCE(MAX(position), 0) + 1 FROM task_tokens))
ON CONFLICT (token) DO NOTHING
-- name: get_task_token
SELECT {TOKEN}, e.status FROM task_tokens t JOIN executions e ON e.seq = t.seq
WHERE t.token = ?
-- name: open_task_tokens
SELECT {TOKEN} FROM task_tokens t JOIN executions e ON e.seq = t.seq
WHERE t.seq = ? AND t.status <> 'CLOSED' ORDER BY t.effect_id
-- name: oldest_scheduled_task
SELECT {TOKEN} FROM task_tokens t JOIN executions e ON e.seq = t.seq
WHERE t.activity_arn = ? AND t.status = 'SCHEDULED' AND e.status = 'RUNNING'
ORDER BY t.scheduled_at, t.position LIMIT 1
-- name: update_task_token
UPDATE task_tokens SET status = ?, worker_name = ?, started_at = ?, started_reported = ?,
    heartbeat_due = ?, completed_at = ?, output = ?, error = ?, cause = ?, wake_at = ?
WHERE token = ? AND status = ?
-- name: close_task_token
UPDATE task_tokens SET status = 'CLOSED', input = NULL, output = NULL, wake_at = NULL
WHERE seq = ? AND token = ?
-- name: close_execution_task_tokens
UPDATE task_tokens SET status = 'CLOSED', input = NULL, output = NULL, wake_at = NULL
WHERE seq = ? AND status <> 'CLOSED'
-- name: earliest_task_wake
SELECT MIN(wake_at) FROM task_tokens WHERE seq = ? AND status <> 'CLOSED'
-- name: purge_task_tokens
DELETE FROM task_tokens WHERE seq = ?
-- ---- redrive (RedriveExecution) -----------------------------------------------------------
-- name: redrive_execution
UPDATE executions SET status = 'RUNNING', stop_date = NULL, output = NULL, error = NULL,
    cause = NULL, redrive_count = redrive_count + 1, redrive_date = ?, redrive_status = NULL,
    redrive_status_reason = NULL
WHERE seq = ? AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED') AND redrive_count = ?
-- name: redrive_runtime
UPDATE execution_runtime SET last_event_id = ?, wake_at = ?, lease_owner = NULL,
    lease_token = NULL, lease_expires_at = NULL
WHERE seq = ?
-- name: record_redrive
INSERT INTO execution_redrives (seq, client_token, redrive_date) VALUES (?, ?, ?)
ON CONFLICT (seq, client_token) DO UPDATE SET redrive_date = excluded.redrive_date
-- name: earlier_redrive
SELECT redrive_date FROM execution_redrives
WHERE seq = ? AND client_token = ? AND redrive_date >= ? AND redrive_date >= COALESCE(
    (SELECT redrive_date FROM execution_redrives WHERE seq = ?
     ORDER BY redrive_date DESC LIMIT 1 OFFSET ?), 0)
-- name: purge_redrives
DELETE FROM execution_redrives WHERE seq = ?
-- ---- end of redrive ------------------------------------------------------------------------

-- name: wake_unleased_runtime
UPDATE execution_runtime SET wake_at = ?
WHERE seq = ? AND lease_token IS NULL AND (wake_at IS NULL OR wake_at > ?)

-- name: notify
SELECT pg_notify(?, '')
-- name: mark_task_token_reported
UPDATE task_tokens SET started_reported = 1,
    wake_at = CASE
        WHEN status IN ('SUCCEEDED', 'FAILED') THEN completed_at
        WHEN status <> 'STARTED' THEN NULL
        WHEN timeout_at IS NULL THEN heartbeat_due
        WHEN heartbeat_due IS NULL OR timeout_at <= heartbeat_due THEN timeout_at
        ELSE heartbeat_due
    END
WHERE token = ?
-- name: lock_task_execution
SELECT seq FROM task_tokens WHERE token = ?
-- name: insert_map_run
INSERT INTO map_runs (arn, execution_arn, state_machine_arn, label, state_name, execution_type,
    revision_id, status, start_date, max_concurrency, tolerated_failure_count,
    tolerated_failure_percentage, task_token, stop_date, error, cause, redrive_count,
    redrive_date)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO NOTHING
-- name: insert_map_run_child
INSERT INTO map_run_children (map_run_arn, position, item_count, input, status)
VALUES (?, ?, ?, ?, 'PENDING')
ON CONFLICT (map_run_arn, position) DO NOTHING
-- name: get_map_run
SELECT {MAP_RUN} FROM map_runs m WHERE m.arn = ?
-- name: list_map_runs
SELECT {MAP_RUN}, m.seq FROM map_runs m WHERE m.execution_arn = ? AND m.seq < ?
ORDER BY m.seq DESC LIMIT ?
-- name: running_map_runs
SELECT {MAP_RUN} FROM map_runs m WHERE m.status = 'RUNNING' ORDER BY m.seq
-- name: update_map_run_limits
UPDATE map_runs SET max_concurrency = COALESCE(?, max_concurrency),
    tolerated_failure_count = COALESCE(?, tolerated_failure_count),
    tolerated_failure_percentage = COALESCE(?, tolerated_failure_percentage)
WHERE arn = ?
-- name: map_run_counts
SELECT status, COUNT(*), SUM(item_count) FROM map_run_children WHERE map_run_arn = ?
GROUP BY status
-- name: map_run_children
SELECT {MAP_CHILD} FROM map_run_children c WHERE c.map_run_arn = ? ORDER BY c.position
-- name: map_run_children_by_status
SELECT {MAP_CHILD} FROM map_run_children c WHERE c.map_run_arn = ? AND c.status = ?
ORDER BY c.position LIMIT ?
-- name: start_map_run_child
UPDATE map_run_children SET status = 'RUNNING', execution_arn = ?
WHERE map_run_arn = ? AND position = ? AND status = 'PENDING'
-- name: record_map_run_child
UPDATE map_run_children SET status = ?, output = ?, error = ?, cause = ?
WHERE map_run_arn = ? AND position = ? AND status = 'RUNNING'
-- name: ended_map_run_children
SELECT c.position, e.status, e.output, e.error, e.cause
FROM map_run_children c JOIN executions e ON e.arn = c.execution_arn
WHERE c.map_run_arn = ? AND c.status = 'RUNNING' AND e.status <> 'RUNNING'
ORDER BY c.position LIMIT ?
-- name: end_map_run
UPDATE map_runs SET status = ?, stop_date = ?, error = ?, cause = ?
WHERE arn = ? AND status = 'RUNNING'
-- name: abort_open_map_run_children
UPDATE map_run_children SET status = 'ABORTED'
WHERE map_run_arn = ? AND status IN ('PENDING', 'RUNNING')
-- name: lease_map_run
UPDATE map_runs SET lease_owner = ?, lease_expires_at = ?
WHERE arn = ? AND status = 'RUNNING'
    AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at <= ?)
-- name: map_run_parent_waits
SELECT e.status, t.status FROM map_runs m
LEFT JOIN executions e ON e.arn = m.execution_arn
LEFT JOIN task_tokens t ON t.token = m.task_token
WHERE m.arn = ?
-- name: redrive_map_run
UPDATE map_runs SET status = 'RUNNING', stop_date = NULL, error = NULL, cause = NULL,
    redrive_count = redrive_count + 1, redrive_date = ?, task_token = ?
WHERE arn = ? AND status IN ('FAILED', 'ABORTED')
-- name: redrive_map_run_children
UPDATE map_run_children SET status = 'PENDING', output = NULL, error = NULL, cause = NULL
WHERE map_run_arn = ? AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED')

-- >>> scale-out (issue #7): shared service records and cross-process pacing
-- name: list_service_records
SELECT kind, name, document, secret, version FROM service_records WHERE kind = ? ORDER BY name
-- name: get_service_record
SELECT kind, name, document, secret, version FROM service_records WHERE kind = ? AND name = ?
-- name: service_records_generation
SELECT generation FROM service_record_generations WHERE kind = ?
-- name: bump_service_records_generation
INSERT INTO service_record_generations (kind, generation) VALUES (?, 1)
ON CONFLICT (kind) DO UPDATE SET generation = service_record_generations.generation + 1
-- name: insert_service_record
INSERT INTO service_records (kind, name, document, secret, version) VALUES (?, ?, ?, ?, 1)
ON CONFLICT (kind, name) DO NOTHING
-- name: update_service_record
UPDATE service_records SET document = ?, secret = ?, version = version + 1
WHERE kind = ? AND name = ? AND version = ?
-- name: delete_service_record
DELETE FROM service_records WHERE kind = ? AND name = ?
-- name: delete_service_record_version
DELETE FROM service_records WHERE kind = ? AND name = ? AND version = ?
-- name: get_pacing_bucket
SELECT tokens, stamp, version FROM pacing_buckets WHERE key = ?
-- name: insert_pacing_bucket
INSERT INTO pacing_buckets (key, tokens, stamp, version) VALUES (?, ?, ?, 1)
ON CONFLICT (key) DO NOTHING
-- name: update_pacing_bucket
UPDATE pacing_buckets SET tokens = ?, stamp = ?, version = version + 1
WHERE key = ? AND version = ?
-- name: lock_pacing_slots
INSERT INTO pacing_slot_keys (key, acquisitions) VALUES (?, 1)
ON CONFLICT (key) DO UPDATE SET acquisitions = pacing_slot_keys.acquisitions + 1
-- name: expire_pacing_slots
DELETE FROM pacing_slots WHERE key = ? AND expires_at < ?
-- name: count_pacing_slots
SELECT COUNT(*) FROM pacing_slots WHERE key = ?
-- name: insert_pacing_slot
INSERT INTO pacing_slots (slot_id, key, owner, expires_at) VALUES (?, ?, ?, ?)
-- name: delete_pacing_slot
DELETE FROM pacing_slots WHERE slot_id = ?
-- name: renew_pacing_slots
UPDATE pacing_slots SET expires_at = ? WHERE owner = ?
-- <<< scale-out
-- name: link_child_execution
UPDATE task_tokens SET child_execution_arn = ?
WHERE token = ? AND status = 'STARTED' AND child_execution_arn IS NULL
-- name: child_wait_of
SELECT token, seq FROM task_tokens WHERE child_execution_arn = ? AND status = 'STARTED'
-- name: finish_child_wait
UPDATE task_tokens SET status = ?, completed_at = ?, wake_at = ?
WHERE token = ? AND status = 'STARTED'
-- name: orphaned_children
SELECT c.arn FROM executions p
JOIN task_tokens t ON t.seq = p.seq
JOIN executions c ON c.arn = t.child_execution_arn
WHERE p.arn = ? AND t.status = 'CLOSED' AND c.status = 'RUNNING'
ORDER BY c.arn
"""

# Issue #7 (the queries after wake_unleased_runtime): ``notify`` signals a wake-up channel at
# commit (PostgreSQL's NOTIFY; a function of that name on SQLite's writer, see
# ``_signals.py``). ``mark_task_token_reported`` sets the flag and the wake time it implies
# (TaskTokenRecord.wake_at) from the row's own columns, so that it never writes back stale
# values of a row that another transaction changed (SendTaskSuccess racing the step that
# records ActivityStarted); without the new wake time, a released execution would be due again
# at once (its token still asking for ActivityStarted) and be claimed over and over.
# ``lock_task_execution``: PostgreSQL locks the execution's runtime row there, before any token
# row, so that every transaction touching an execution's tokens locks in one order (runtime,
# then tokens) and then reads the latest committed rows; SQLite's single writer needs no lock,
# so its version only reads.

_MARKER = re.compile(r"^-- (name|migration): (.+)$", re.MULTILINE)


def _sections(text: str, kind: str) -> list[tuple[str, str]]:
    parts = _MARKER.split(text)
    sections = []
    for index in range(1, len(parts), 3):
        if parts[index] != kind:
            raise ValueError(f"_sql.py: a {parts[index]!r} marker among the {kind} sections.")
        body = parts[index + 2].strip()
        for placeholder, columns in _COLUMNS.items():
            body = body.replace("{" + placeholder + "}", columns)
        sections.append((parts[index + 1].strip(), body))
    return sections


def split_statements(script: str) -> list[str]:
    """A script's statements, one by one (so a migration can run inside one transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


QUERIES: Final[dict[str, str]] = dict(_sections(_QUERIES_SQL, "name"))
"""Query name → SQL text."""

MIGRATIONS: Final[list[tuple[int, str, str]]] = [
    (int(number), title.strip(), body)
    for header, body in _sections(_MIGRATIONS_SQL, "migration")
    for number, _, title in [header.partition(" ")]
]
"""``(version, title, script)`` in order, versions 1, 2, … without gaps."""

SCHEMA_VERSION: Final = MIGRATIONS[-1][0]
"""The newest schema version this code knows."""
