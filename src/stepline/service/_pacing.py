"""Per-connection rate limits and concurrency caps that hold across every process of a deployment.

The in-process :class:`~stepline.egress.ConnectionPacer` keeps one process within a
connection's ``ConnectionLimits``; with several worker processes each would allow the whole
limit. :class:`StorePacer` adds the store as the shared referee, and is consulted only for
connections that declare limits (an unlimited connection's request pays nothing, as before):

1. The local pacer first, with the same limits: a process never exceeds them on its own, and
   only requests that could go now ask the store (no crowd of pollers).
2. A concurrency slot in the store (``acquire_pacing_slot``): a row per request in flight,
   leased until ``lease_seconds`` from now and renewed while the request runs (one statement
   per process for all its slots), so that the slots of a process that died free themselves.
3. A token from the connection's bucket in the store (``take_pacing_token``: a conditional
   update), which says how long to wait when it is empty.

Waiting for a slot polls the store with a growing pause (slots held elsewhere are released by
other processes); a slot released in this process wakes its local waiters at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final

from stepline.egress import ConnectionPacer
from stepline.store import Store, StoreError

if TYPE_CHECKING:
    from stepline.connections._resolved import ConnectionLimits

__all__ = ["StorePacer"]

_log = logging.getLogger("stepline.service.pacing")

_FIRST_PAUSE_SECONDS: Final = 0.005
_LONGEST_PAUSE_SECONDS: Final = 0.1
DEFAULT_SLOT_LEASE_SECONDS: Final = 30.0


class _StoreSlot:
    """One request's place: the local slot, then a store slot and a store token."""

    __slots__ = ("_key", "_limits", "_local", "_pacer", "_slot_id")

    def __init__(self, pacer: StorePacer, key: str, limits: ConnectionLimits) -> None:
        self._pacer = pacer
        self._key = key
        self._limits = limits
        self._local = ConnectionPacer.slot(pacer, key, limits)
        self._slot_id: str | None = None

    async def __aenter__(self) -> None:
        await self._local.__aenter__()
        try:
            pacer, limits = self._pacer, self._limits
            if limits.max_concurrency is not None:
                self._slot_id = await pacer._shared_acquire(self._key, limits.max_concurrency)
            if limits.rate_per_second is not None:
                await pacer._shared_token(self._key, limits)
        except BaseException:
            await self._leave()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._leave()

    async def _leave(self) -> None:
        slot_id, self._slot_id = self._slot_id, None
        try:
            if slot_id is not None:
                await self._pacer._shared_release(slot_id)
        finally:
            await self._local.__aexit__(None, None, None)


class StorePacer(ConnectionPacer):
    """A :class:`~stepline.egress.ConnectionPacer` whose limits hold across processes.

    Args:
        store: The store every process shares.
        owner: This process's name on its slots (unique per process).
        lease_seconds: How long a slot outlives a process that died holding it.
        clock: Epoch seconds (shared by the processes of a deployment: keep clocks in sync).
    """

    def __init__(
        self,
        store: Store,
        *,
        owner: str | None = None,
        lease_seconds: float = DEFAULT_SLOT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.store = store
        self.owner = owner or f"pacer/{secrets.token_hex(6)}"
        self.lease_seconds = lease_seconds
        self._wall = clock
        self._held = 0
        self._renewer: asyncio.Task[None] | None = None
        self._released: asyncio.Event | None = None

    def slot(self, key: str, limits: ConnectionLimits | None) -> _StoreSlot:  # type: ignore[override]
        if limits is None or (limits.rate_per_second is None and limits.max_concurrency is None):
            return super().slot(key, limits)  # type: ignore[return-value]
        return _StoreSlot(self, key, limits)

    async def aclose(self) -> None:
        """Stop renewing slots (the server's shutdown)."""
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _shared_acquire(self, key: str, limit: int) -> str:
        slot_id = secrets.token_hex(12)
        pause = _FIRST_PAUSE_SECONDS
        while True:
            now = self._wall()
            if await self.store.acquire_pacing_slot(
                key,
                slot_id,
                owner=self.owner,
                limit=limit,
                expires_at=now + self.lease_seconds,
                now=now,
            ):
                self._held += 1
                self._start_renewing()
                return slot_id
            released = self._released
            if released is None:
                released = self._released = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), pause)
            pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)

    async def _shared_release(self, slot_id: str) -> None:
        self._held -= 1
        try:
            await self.store.release_pacing_slot(slot_id)
        except StoreError as exc:  # it expires by itself
            _log.warning("could not release a connection slot: %s", exc)
        released, self._released = self._released, None
        if released is not None:
            released.set()

    async def _shared_token(self, key: str, limits: ConnectionLimits) -> None:
        rate = float(limits.rate_per_second or 1.0)
        burst = float(limits.burst) if limits.burst is not None else max(1.0, rate)
        while True:
            wait = await self.store.take_pacing_token(key, rate=rate, burst=burst, now=self._wall())
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew_loop(), name="stepline-pacing-renewer"
            )

    async def _renew_loop(self) -> None:
        while self._held > 0:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.store.renew_pacing_slots(
                    self.owner, expires_at=self._wall() + self.lease_seconds
                )
            except StoreError as exc:
                _log.warning("could not renew connection slots: %s", exc)
