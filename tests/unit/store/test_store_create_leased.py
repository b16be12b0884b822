"""``create_execution(lease=...)``: an execution inserted already leased to its starter."""

from __future__ import annotations

import pytest
from store_kit import T0, events, execution, step

from stepline.store import Lease, LeaseLost, Store


def test_created_with_a_lease_is_held_until_it_expires(backend):
    async def body(store: Store) -> None:
        lease = Lease("starter", "token-1", T0 + 30)
        record = await store.create_execution(
            execution("L", "l"), events(1, 1), runnable_at=T0, lease=lease
        )
        # Not due for anyone else while the lease holds, though runnable_at has come.
        assert await store.claim_runnable("other", limit=5, lease_seconds=30, now=T0 + 29) == []
        assert await store.next_wake_at() == T0 + 30
        await store.commit_step(step(record.arn, "token-1", 2, keep_lease_until=T0 + 60))
        with pytest.raises(LeaseLost):
            await store.commit_step(step(record.arn, "not-the-token", 5))
        # The starter died: after the expiry another worker resumes it.
        (claim,) = await store.claim_runnable("other", limit=5, lease_seconds=30, now=T0 + 60)
        assert claim.execution.last_event_id == 4 and claim.snapshot == b"s" * 1024
        with pytest.raises(LeaseLost):
            await store.release(record.arn, "token-1", runnable_at=None)

    backend.run(body)


def test_released_lease_makes_it_due_at_once(backend):
    async def body(store: Store) -> None:
        record = await store.create_execution(
            execution("L", "r"),
            events(1, 1),
            runnable_at=None,
            lease=Lease("starter", "token-2", T0 + 30),
        )
        await store.release(record.arn, "token-2", runnable_at=T0)
        (claim,) = await store.claim_runnable("other", limit=5, lease_seconds=30, now=T0)
        assert claim.execution.arn == record.arn

    backend.run(body)
