"""The SQL store's shared service records and cross-process pacing: transactions and reads.

Written for a backend with concurrent writers too (the ``pg`` store runs these same functions
by name): record writes are conditional on the version read, a bucket's token is taken with a
compare-and-set on its version, and a connection's slot acquirers first update one row of
``pacing_slot_keys`` (a row lock until commit), so that the count of live slots they check
cannot change under them. On SQLite the writer thread's transaction serializes them anyway.
"""

from __future__ import annotations

from typing import Any, Final

from stepline.store._errors import StoreConflict
from stepline.store._records_shared import ServiceRecord
from stepline.store._sql import QUERIES as Q
from stepline.store._sql_connection import SqlConnection

__all__ = [
    "acquire_pacing_slot",
    "delete_service_record",
    "list_service_records",
    "put_service_record",
    "release_pacing_slot",
    "renew_pacing_slots",
    "service_records_generation",
    "take_pacing_token",
]

# Refill arithmetic in floats can leave a bucket a hair below one token after exactly 1/rate
# seconds; that close counts as whole (the same rule as the in-process pacer).
_WHOLE_TOKEN: Final = 1.0 - 1e-9
# Another process changed the bucket between this one's read and its update: look again soon.
_RACE_RETRY_SECONDS: Final = 0.001


def _record(row: tuple[Any, ...]) -> ServiceRecord:
    kind, name, document, secret, version = row
    return ServiceRecord(kind, name, document, None if secret is None else bytes(secret), version)


def _generation(connection: SqlConnection, kind: str) -> int:
    row = connection.execute(Q["service_records_generation"], (kind,)).fetchone()
    return 0 if row is None else int(row[0])


def service_records_generation(connection: SqlConnection, kind: str) -> int:
    """How many changes the records of ``kind`` have seen (0: none yet)."""
    return _generation(connection, kind)


def list_service_records(
    connection: SqlConnection, kind: str
) -> tuple[int, tuple[ServiceRecord, ...]]:
    """The generation of ``kind`` and all its records, by name (run in one read transaction)."""
    generation = _generation(connection, kind)
    rows = connection.execute(Q["list_service_records"], (kind,)).fetchall()
    return generation, tuple(_record(row) for row in rows)


def _get(connection: SqlConnection, kind: str, name: str) -> ServiceRecord | None:
    row = connection.execute(Q["get_service_record"], (kind, name)).fetchone()
    return None if row is None else _record(row)


def _conflict(kind: str, name: str, existing: ServiceRecord | None) -> StoreConflict:
    state = "does not exist" if existing is None else f"is at version {existing.version}"
    return StoreConflict(
        f"The {kind} record {name!r} changed meanwhile (it {state} now); read it again and "
        "retry the change.",
        existing,
    )


def put_service_record(
    connection: SqlConnection,
    *,
    kind: str,
    name: str,
    document: str,
    secret: bytes | None,
    expected_version: int | None,
) -> ServiceRecord:
    """Create (``expected_version`` None) or replace the record at ``expected_version``.

    Raises:
        StoreConflict: It exists already (create), or is gone or at another version.
    """
    if expected_version is None:
        cursor = connection.execute(Q["insert_service_record"], (kind, name, document, secret))
        version = 1
    else:
        cursor = connection.execute(
            Q["update_service_record"], (document, secret, kind, name, expected_version)
        )
        version = expected_version + 1
    if cursor.rowcount != 1:
        raise _conflict(kind, name, _get(connection, kind, name))
    connection.execute(Q["bump_service_records_generation"], (kind,))
    return ServiceRecord(kind, name, document, secret, version)


def delete_service_record(
    connection: SqlConnection, *, kind: str, name: str, expected_version: int | None
) -> bool:
    """Delete a record (only at ``expected_version`` when given); whether it existed.

    Raises:
        StoreConflict: ``expected_version`` is not the stored one (or it is gone).
    """
    if expected_version is None:
        cursor = connection.execute(Q["delete_service_record"], (kind, name))
    else:
        cursor = connection.execute(
            Q["delete_service_record_version"], (kind, name, expected_version)
        )
        if cursor.rowcount != 1:
            raise _conflict(kind, name, _get(connection, kind, name))
    if cursor.rowcount != 1:
        return False
    connection.execute(Q["bump_service_records_generation"], (kind,))
    return True


def take_pacing_token(
    connection: SqlConnection, *, key: str, rate: float, burst: float, now: float
) -> float:
    """Take one token of ``key``'s bucket: 0.0 when taken, else the seconds to wait first.

    A new bucket starts full (``burst`` tokens). Time only moves forward for a bucket (the
    latest ``now`` any process brought), so a process whose clock is behind cannot refill it.
    """
    row = connection.execute(Q["get_pacing_bucket"], (key,)).fetchone()
    if row is None:
        cursor = connection.execute(Q["insert_pacing_bucket"], (key, burst - 1.0, now))
        return 0.0 if cursor.rowcount == 1 else _RACE_RETRY_SECONDS
    tokens, stamp, version = row
    if now > stamp:
        tokens = min(burst, tokens + (now - stamp) * rate)
        stamp = now
    tokens = min(tokens, burst)  # the limits may have been lowered
    if tokens < _WHOLE_TOKEN:
        return float((1.0 - tokens) / rate)
    cursor = connection.execute(
        Q["update_pacing_bucket"], (max(0.0, tokens - 1.0), stamp, key, version)
    )
    return 0.0 if cursor.rowcount == 1 else _RACE_RETRY_SECONDS


def acquire_pacing_slot(
    connection: SqlConnection,
    *,
    key: str,
    slot_id: str,
    owner: str,
    limit: int,
    expires_at: float,
    now: float,
) -> bool:
    """Hold one of ``limit`` concurrency slots of ``key`` as ``slot_id``, if one is free.

    Slots whose holder stopped renewing them (``expires_at`` before ``now``) are freed first.
    """
    connection.execute(Q["lock_pacing_slots"], (key,))
    connection.execute(Q["expire_pacing_slots"], (key, now))
    (held,) = connection.execute(Q["count_pacing_slots"], (key,)).fetchone()
    if held >= limit:
        return False
    connection.execute(Q["insert_pacing_slot"], (slot_id, key, owner, expires_at))
    return True


def release_pacing_slot(connection: SqlConnection, slot_id: str) -> None:
    """Give a slot back (nothing happens if it expired and went already)."""
    connection.execute(Q["delete_pacing_slot"], (slot_id,))


def renew_pacing_slots(connection: SqlConnection, owner: str, expires_at: float) -> int:
    """Move every slot ``owner`` holds to expire at ``expires_at``; how many there were."""
    return connection.execute(Q["renew_pacing_slots"], (expires_at, owner)).rowcount
