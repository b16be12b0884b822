"""The in-memory store's shared service records and pacing (a mixin of ``MemoryStore``).

Same semantics as :mod:`stepline.store._sqlite_shared`; every method runs without awaiting,
so on one event loop each call is atomic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from stepline.store._errors import StoreConflict
from stepline.store._records_shared import ServiceRecord

__all__ = ["MemorySharedMixin"]

_WHOLE_TOKEN: Final = 1.0 - 1e-9


class MemorySharedMixin:
    """Shared records, buckets and slots kept in dicts."""

    if TYPE_CHECKING:

        def _open(self) -> None: ...

    def _init_shared(self) -> None:
        self._service_records: dict[tuple[str, str], ServiceRecord] = {}
        self._record_generations: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._slots: dict[str, tuple[str, str, float]] = {}  # slot id → key, owner, expiry

    # -- shared service records -----------------------------------------------------------

    async def service_records_generation(self, kind: str) -> int:
        self._open()
        return self._record_generations.get(kind, 0)

    async def list_service_records(self, kind: str) -> tuple[int, tuple[ServiceRecord, ...]]:
        self._open()
        records = sorted(
            (record for (k, _), record in self._service_records.items() if k == kind),
            key=lambda record: record.name,
        )
        return self._record_generations.get(kind, 0), tuple(records)

    def _record_conflict(self, kind: str, name: str) -> StoreConflict:
        existing = self._service_records.get((kind, name))
        state = "does not exist" if existing is None else f"is at version {existing.version}"
        return StoreConflict(
            f"The {kind} record {name!r} changed meanwhile (it {state} now); read it again "
            "and retry the change.",
            existing,
        )

    def _records_changed(self, kind: str) -> None:
        self._record_generations[kind] = self._record_generations.get(kind, 0) + 1

    async def put_service_record(
        self,
        kind: str,
        name: str,
        document: str,
        *,
        secret: bytes | None,
        expected_version: int | None,
    ) -> ServiceRecord:
        self._open()
        current = self._service_records.get((kind, name))
        if (current is None) != (expected_version is None) or (
            current is not None and current.version != expected_version
        ):
            raise self._record_conflict(kind, name)
        version = 1 if current is None else current.version + 1
        record = ServiceRecord(kind, name, document, secret, version)
        self._service_records[(kind, name)] = record
        self._records_changed(kind)
        return record

    async def delete_service_record(
        self, kind: str, name: str, *, expected_version: int | None = None
    ) -> bool:
        self._open()
        current = self._service_records.get((kind, name))
        if expected_version is not None and (
            current is None or current.version != expected_version
        ):
            raise self._record_conflict(kind, name)
        if current is None:
            return False
        del self._service_records[(kind, name)]
        self._records_changed(kind)
        return True

    # -- pacing ---------------------------------------------------------------------------

    async def take_pacing_token(self, key: str, *, rate: float, burst: float, now: float) -> float:
        self._open()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = (burst - 1.0, now)
            return 0.0
        tokens, stamp = bucket
        if now > stamp:
            tokens = min(burst, tokens + (now - stamp) * rate)
            stamp = now
        tokens = min(tokens, burst)
        if tokens < _WHOLE_TOKEN:
            return (1.0 - tokens) / rate
        self._buckets[key] = (max(0.0, tokens - 1.0), stamp)
        return 0.0

    async def acquire_pacing_slot(
        self,
        key: str,
        slot_id: str,
        *,
        owner: str,
        limit: int,
        expires_at: float,
        now: float,
    ) -> bool:
        self._open()
        held = 0
        for slot, (slot_key, _, expiry) in list(self._slots.items()):
            if slot_key != key:
                continue
            if expiry < now:
                del self._slots[slot]
            else:
                held += 1
        if held >= limit:
            return False
        self._slots[slot_id] = (key, owner, expires_at)
        return True

    async def release_pacing_slot(self, slot_id: str) -> None:
        self._open()
        self._slots.pop(slot_id, None)

    async def renew_pacing_slots(self, owner: str, *, expires_at: float) -> int:
        self._open()
        renewed = 0
        for slot, (key, slot_owner, _) in list(self._slots.items()):
            if slot_owner == owner:
                self._slots[slot] = (key, slot_owner, expires_at)
                renewed += 1
        return renewed
