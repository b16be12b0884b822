"""The SQLite store's transactions and reads for state machines, versions, aliases and tags.

Executions and the worker side are in :mod:`stepline.store._sqlite_runs`. Both are plain
functions of a connection.

Write functions run on the writer thread inside a transaction the writer opened (and, in a
batch, a savepoint), so they only execute statements and raise to roll back. Read functions run
on a reader connection. All SQL comes from :mod:`stepline.store._sql` by name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from stepline.store._errors import RecordNotFound, StoreConflict
from stepline.store._records import (
    AliasRecord,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StateMachineVersionRecord,
)
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection

Row = tuple[Any, ...]

# -- rows to records --------------------------------------------------------------------------


def revision_from(row: Row, start: int) -> StateMachineRevisionRecord:
    """The revision in ``row[start:start + 8]`` (the ``{REVISION}`` columns)."""
    return StateMachineRevisionRecord(*row[start : start + 8])


def machine_from(row: Row) -> StateMachineRecord:
    """A ``get_state_machine``/``list_state_machines`` row."""
    return StateMachineRecord(row[0], row[1], row[2], row[3], row[4], revision_from(row, 7), row[5])


def version_from(row: Row) -> StateMachineVersionRecord:
    """A ``get_version``/``list_versions`` row."""
    return StateMachineVersionRecord(row[0], row[1], row[2], row[3], revision_from(row, 5), row[4])


def _alias(connection: SqlConnection, row: Row) -> AliasRecord:
    routes = tuple(
        (version_arn, weight)
        for version_arn, weight in connection.execute(Q["get_routes"], (row[0],))
    )
    return AliasRecord(row[0], row[1], row[2], routes, row[3], row[4], row[5])


# -- state machines -----------------------------------------------------------------------------


def _insert_revision(connection: SqlConnection, revision: StateMachineRevisionRecord) -> None:
    if connection.execute(Q["revision_exists"], (revision.revision_id,)).fetchone():
        raise StoreConflict(f"Revision id {revision.revision_id!r} is already used.")
    connection.execute(
        Q["insert_revision"],
        (
            revision.revision_id,
            revision.state_machine_arn,
            revision.definition,
            revision.role_arn,
            revision.update_date,
            revision.logging_configuration,
            revision.tracing_configuration,
            revision.encryption_configuration,
        ),
    )


def _machine_row(connection: SqlConnection, arn: str) -> Row | None:
    row: Row | None = connection.execute(Q["get_state_machine"], (arn,)).fetchone()
    return row


def _publish(
    connection: SqlConnection, row: Row, creation_date: float, description: str | None
) -> StateMachineVersionRecord:
    arn, number = row[0], row[6]
    connection.execute(Q["take_version_number"], (arn,))
    version = StateMachineVersionRecord(
        f"{arn}:{number}", arn, number, creation_date, revision_from(row, 7), description
    )
    connection.execute(
        Q["insert_version"],
        (version.arn, arn, number, creation_date, version.revision.revision_id, description),
    )
    return version


def create_state_machine(
    connection: SqlConnection,
    record: StateMachineRecord,
    tags: Mapping[str, str] | None,
    publish: bool,
    version_description: str | None,
) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
    """Insert a state machine, its first revision, tags, and version 1 if asked."""
    existing = _machine_row(connection, record.arn)
    if existing is not None:
        raise StoreConflict(
            f"A state machine named {record.name!r} already exists ({record.arn}).",
            machine_from(existing),
        )
    _insert_revision(connection, record.revision)
    connection.execute(
        Q["insert_state_machine"],
        (
            record.arn,
            record.name,
            record.type,
            record.status,
            record.creation_date,
            record.revision_id,
            record.description,
        ),
    )
    if tags:
        tag_resource(connection, record.arn, tags)
    version = None
    if publish:
        row = _machine_row(connection, record.arn)
        assert row is not None
        version = _publish(connection, row, record.creation_date, version_description)
    return record, version


def update_state_machine(
    connection: SqlConnection,
    arn: str,
    revision: StateMachineRevisionRecord,
    publish: bool,
    version_description: str | None,
) -> tuple[StateMachineRecord, StateMachineVersionRecord | None]:
    """Point the state machine at a new revision; publish it if asked."""
    row = _machine_row(connection, arn)
    if row is None:
        raise RecordNotFound("state machine", arn)
    if row[3] != "ACTIVE":
        raise StoreConflict(f"State machine {arn!r} is being deleted.", machine_from(row))
    _insert_revision(connection, revision)
    connection.execute(Q["set_state_machine_revision"], (revision.revision_id, arn))
    row = _machine_row(connection, arn)
    assert row is not None
    version = (
        _publish(connection, row, revision.update_date, version_description) if publish else None
    )
    return machine_from(row), version


def mark_state_machine_deleting(connection: SqlConnection, arn: str) -> StateMachineRecord | None:
    """Set status DELETING."""
    connection.execute(Q["set_state_machine_status"], ("DELETING", arn))
    row = _machine_row(connection, arn)
    return None if row is None else machine_from(row)


def remove_state_machine(connection: SqlConnection, arn: str) -> bool:
    """Delete the state machine with its versions, aliases and tags."""
    if connection.execute(Q["delete_state_machine"], (arn,)).rowcount == 0:
        return False
    connection.execute(Q["delete_machine_versions"], (arn,))
    connection.execute(Q["delete_machine_alias_routes"], (arn,))
    connection.execute(Q["delete_machine_aliases"], (arn,))
    connection.execute(Q["delete_tags"], (arn,))
    return True


def get_state_machine(connection: SqlConnection, arn: str) -> StateMachineRecord | None:
    """Read one state machine."""
    row = _machine_row(connection, arn)
    return None if row is None else machine_from(row)


def list_state_machines(
    connection: SqlConnection, after: str, limit: int
) -> list[StateMachineRecord]:
    """State machines with ARN after ``after``."""
    return [
        machine_from(row) for row in connection.execute(Q["list_state_machines"], (after, limit))
    ]


def get_revision(connection: SqlConnection, revision_id: str) -> StateMachineRevisionRecord | None:
    """Read one revision."""
    row = connection.execute(Q["get_revision"], (revision_id,)).fetchone()
    return None if row is None else revision_from(row, 0)


# -- versions and aliases ---------------------------------------------------------------------


def publish_version(
    connection: SqlConnection,
    arn: str,
    creation_date: float,
    description: str | None,
    expected_revision_id: str | None,
) -> tuple[StateMachineVersionRecord, bool]:
    """Publish the current revision unless a version holds it already."""
    row = _machine_row(connection, arn)
    if row is None:
        raise RecordNotFound("state machine", arn)
    if row[3] != "ACTIVE":
        raise StoreConflict(f"State machine {arn!r} is being deleted.")
    current = row[7]
    if expected_revision_id is not None and expected_revision_id != current:
        raise StoreConflict(
            f"Revision {expected_revision_id!r} is not the current revision of state machine "
            f"{arn!r}; describe it again and retry."
        )
    existing = connection.execute(Q["find_version_of_revision"], (arn, current)).fetchone()
    if existing is not None:
        return version_from(existing), False
    return _publish(connection, row, creation_date, description), True


def get_version(connection: SqlConnection, arn: str) -> StateMachineVersionRecord | None:
    """Read one version."""
    row = connection.execute(Q["get_version"], (arn,)).fetchone()
    return None if row is None else version_from(row)


def list_versions(
    connection: SqlConnection, arn: str, below: int, limit: int
) -> list[StateMachineVersionRecord]:
    """Versions numbered below ``below``, newest first."""
    rows = connection.execute(Q["list_versions"], (arn, below, limit))
    return [version_from(row) for row in rows]


def delete_version(connection: SqlConnection, arn: str) -> bool:
    """Delete a version no alias routes to."""
    alias = connection.execute(Q["alias_routing_to_version"], (arn,)).fetchone()
    if alias is not None:
        raise StoreConflict(
            f"Version {arn!r} is used by alias {alias[0]!r}; update or delete the alias first."
        )
    return connection.execute(Q["delete_version"], (arn,)).rowcount > 0


def _check_routes(connection: SqlConnection, record: AliasRecord) -> None:
    for version_arn, _ in record.routing:
        version = get_version(connection, version_arn)
        if version is None or version.state_machine_arn != record.state_machine_arn:
            raise RecordNotFound("state machine version", version_arn)


def _insert_routes(connection: SqlConnection, record: AliasRecord) -> None:
    connection.executemany(
        Q["insert_route"],
        [
            (record.arn, position, arn, weight)
            for position, (arn, weight) in enumerate(record.routing)
        ],
    )


def create_alias(connection: SqlConnection, record: AliasRecord) -> AliasRecord:
    """Insert an alias and its routes."""
    machine = _machine_row(connection, record.state_machine_arn)
    if machine is None:
        raise RecordNotFound("state machine", record.state_machine_arn)
    if machine[3] != "ACTIVE":
        raise StoreConflict(f"State machine {record.state_machine_arn!r} is being deleted.")
    existing = get_alias(connection, record.arn)
    if existing is not None:
        raise StoreConflict(f"Alias {record.arn!r} already exists.", existing)
    _check_routes(connection, record)
    connection.execute(
        Q["insert_alias"],
        (
            record.arn,
            record.state_machine_arn,
            record.name,
            record.creation_date,
            record.update_date,
            record.description,
        ),
    )
    _insert_routes(connection, record)
    return record


def get_alias(connection: SqlConnection, arn: str) -> AliasRecord | None:
    """Read one alias with its routes."""
    row = connection.execute(Q["get_alias"], (arn,)).fetchone()
    return None if row is None else _alias(connection, row)


def list_aliases(connection: SqlConnection, arn: str, after: str, limit: int) -> list[AliasRecord]:
    """Aliases of a state machine with ARN after ``after``."""
    rows = connection.execute(Q["list_aliases"], (arn, after, limit)).fetchall()
    return [_alias(connection, row) for row in rows]


def update_alias(connection: SqlConnection, record: AliasRecord) -> AliasRecord:
    """Replace description, routes and update date."""
    existing = get_alias(connection, record.arn)
    if existing is None:
        raise RecordNotFound("state machine alias", record.arn)
    checked = AliasRecord(
        existing.arn,
        existing.state_machine_arn,
        existing.name,
        record.routing,
        existing.creation_date,
        record.update_date,
        record.description,
    )
    _check_routes(connection, checked)
    connection.execute(Q["update_alias"], (record.description, record.update_date, record.arn))
    connection.execute(Q["delete_routes"], (record.arn,))
    _insert_routes(connection, checked)
    return checked


def delete_alias(connection: SqlConnection, arn: str) -> bool:
    """Delete an alias and its routes."""
    connection.execute(Q["delete_routes"], (arn,))
    return connection.execute(Q["delete_alias"], (arn,)).rowcount > 0


# -- tags -------------------------------------------------------------------------------------


def tag_resource(connection: SqlConnection, arn: str, tags: Mapping[str, str]) -> None:
    """Add or overwrite tags."""
    connection.executemany(Q["put_tag"], [(arn, key, value) for key, value in tags.items()])


def untag_resource(connection: SqlConnection, arn: str, keys: Collection[str]) -> None:
    """Remove tags by key."""
    connection.executemany(Q["delete_tag"], [(arn, key) for key in keys])


def list_tags(connection: SqlConnection, arn: str) -> dict[str, str]:
    """All tags of a resource in key order."""
    return dict(connection.execute(Q["list_tags"], (arn,)).fetchall())
