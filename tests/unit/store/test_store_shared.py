"""Shared service records and cross-process pacing (issue #7) — on every backend."""

from __future__ import annotations

import asyncio

import pytest
from store_kit import T0

from stepline.store import KIND_CONNECTION, KIND_IAM, Store, StoreConflict


def test_service_records_versions_generations_and_conflicts(backend):
    async def body(store: Store) -> None:
        assert await store.service_records_generation(KIND_CONNECTION) == 0
        assert await store.list_service_records(KIND_CONNECTION) == (0, ())
        first = await store.put_service_record(
            KIND_CONNECTION, "b", '{"n": 1}', secret=b"\x00cipher", expected_version=None
        )
        assert first.version == 1 and first.secret == b"\x00cipher"
        await store.put_service_record(
            KIND_CONNECTION, "a", "{}", secret=None, expected_version=None
        )
        with pytest.raises(StoreConflict) as taken:
            await store.put_service_record(
                KIND_CONNECTION, "b", "{}", secret=None, expected_version=None
            )
        assert taken.value.existing == first
        second = await store.put_service_record(
            KIND_CONNECTION, "b", '{"n": 2}', secret=None, expected_version=1
        )
        assert second.version == 2 and second.secret is None
        with pytest.raises(StoreConflict):  # a stale writer loses
            await store.put_service_record(
                KIND_CONNECTION, "b", '{"n": 3}', secret=None, expected_version=1
            )
        generation, records = await store.list_service_records(KIND_CONNECTION)
        assert generation == 3 == await store.service_records_generation(KIND_CONNECTION)
        assert [(r.name, r.version, r.document) for r in records] == [
            ("a", 1, "{}"),
            ("b", 2, '{"n": 2}'),
        ]
        # Kinds are apart: their names and generations do not mix.
        assert await store.list_service_records(KIND_IAM) == (0, ())
        with pytest.raises(StoreConflict):
            await store.delete_service_record(KIND_CONNECTION, "b", expected_version=1)
        assert await store.delete_service_record(KIND_CONNECTION, "b", expected_version=2)
        assert not await store.delete_service_record(KIND_CONNECTION, "b")
        assert await store.service_records_generation(KIND_CONNECTION) == 4
        with pytest.raises(StoreConflict):  # updating what is gone
            await store.put_service_record(
                KIND_CONNECTION, "b", "{}", secret=None, expected_version=2
            )

    backend.run(body)


def test_service_records_survive_a_reopen(backend):
    if not backend.reopen:
        pytest.skip("the memory backend keeps nothing")

    async def write(store: Store) -> None:
        await store.put_service_record(
            KIND_IAM, "state", '{"roles": []}', secret=None, expected_version=None
        )

    async def read(store: Store) -> None:
        generation, records = await store.list_service_records(KIND_IAM)
        assert generation == 1 and records[0].document == '{"roles": []}'

    backend.run(write)
    backend.run(read)


def test_pacing_bucket_starts_full_refills_at_rate_and_never_goes_back(backend):
    async def body(store: Store) -> None:
        take = store.take_pacing_token
        assert [await take("c", rate=2.0, burst=3.0, now=T0) for _ in range(3)] == [0.0] * 3
        assert await take("c", rate=2.0, burst=3.0, now=T0) == pytest.approx(0.5)
        assert await take("c", rate=2.0, burst=3.0, now=T0 + 0.5) == 0.0
        # A caller whose clock is behind refills nothing.
        assert await take("c", rate=2.0, burst=3.0, now=T0) == pytest.approx(0.5)
        # Long idle: the bucket holds at most burst tokens.
        results = [await take("c", rate=2.0, burst=3.0, now=T0 + 100) for _ in range(4)]
        assert results[:3] == [0.0] * 3 and results[3] > 0
        # Buckets are per key.
        assert await take("other", rate=1.0, burst=1.0, now=T0) == 0.0

    backend.run(body)


def test_pacing_slots_cap_expire_release_and_renew(backend):
    async def body(store: Store) -> None:
        async def acquire(slot: str, owner: str, now: float, expires: float) -> bool:
            return await store.acquire_pacing_slot(
                "c", slot, owner=owner, limit=2, expires_at=expires, now=now
            )

        results = await asyncio.gather(
            *(acquire(f"s{i}", "p1" if i < 3 else "p2", T0, T0 + 10) for i in range(6))
        )
        assert sum(results) == 2  # exactly the cap, however many asked at once
        held = [f"s{i}" for i, ok in enumerate(results) if ok]
        assert not await acquire("x", "p3", T0 + 1, T0 + 11)
        await store.release_pacing_slot(held[0])
        await store.release_pacing_slot(held[0])  # twice: harmless
        assert await acquire("x", "p3", T0 + 1, T0 + 30)
        assert not await acquire("y", "p3", T0 + 2, T0 + 12)
        # The other holder's process died: its slot is free once it expires, not before.
        other = held[1]
        owner = "p1" if int(other[1:]) < 3 else "p2"
        assert await store.renew_pacing_slots(owner, expires_at=T0 + 20) == 1
        assert not await acquire("y", "p3", T0 + 12, T0 + 25)  # renewed past its old expiry
        assert await acquire("z", "p3", T0 + 21, T0 + 31)  # its new expiry passed

    backend.run(body)
