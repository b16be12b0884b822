"""The worker: claims runnable executions from the store and drives them, many at once.

One loop claims due executions (``claim_runnable`` with a lease; up to ``worker_concurrency``
at once, :data:`CLAIM_BATCH` per claim so that several workers share a burst) and starts a
:class:`~stepline.service._worker_run.ClaimedRun` for each as an asyncio task, so the steps of
many executions are in flight together and the SQLite store's writer commits
them in groups. The loop sleeps until StartExecution in this process wakes it, a run ends
(capacity freed), or the store's next wake-up time (``next_wake_at``: the earliest timer,
deadline or lease expiry) — bounded by a poll interval so that work written by another process
is seen too. A Standard execution started in this process skips the claim: StartExecution
inserts it already leased to this worker (:meth:`Worker.offer_lease`) and hands it over
(:meth:`Worker.adopt`), so its first step starts right after the insert commits.

:meth:`Worker.stop` (the server's shutdown, SIGTERM) stops claiming, lets the runs in flight
commit their current step or finish within a grace period, then cancels the rest, which give
their leases back so that the next start resumes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable
from typing import Final

from stepline.service._context import ServiceContext
from stepline.service._exec_hub import hub_of
from stepline.service._worker_run import ClaimedRun
from stepline.store import (
    ClaimedExecution,
    Lease,
    StateMachineRevisionRecord,
    StoreError,
)

__all__ = ["Worker"]

_log = logging.getLogger("stepline.service.worker")

DEFAULT_POLL_SECONDS: Final = 1.0
CLAIM_BATCH: Final = 32
"""Most executions one claim takes (see the claim loop)."""
# After a store error in the claim loop, wait this long before trying again.
_ERROR_BACKOFF_SECONDS: Final = 1.0


class Worker:
    """Drives executions of the store; started and stopped with the server.

    Args:
        context: The service context.
        clock: Epoch seconds, for claims, leases and the engine (tests pass a fake one).
        owner: The lease owner name (host, process and a random part by default).
        poll_seconds: The longest sleep between claims when nothing wakes the worker.
        stop_grace_seconds: How long :meth:`stop` lets runs in flight go on (the
            configuration's ``drain_seconds`` when omitted).
    """

    def __init__(
        self,
        context: ServiceContext,
        *,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        stop_grace_seconds: float | None = None,
    ) -> None:
        self.context = context
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}/{secrets.token_hex(4)}"
        self.poll_seconds = poll_seconds
        self.stop_grace_seconds = (
            context.config.drain_seconds if stop_grace_seconds is None else stop_grace_seconds
        )
        self._hub = hub_of(context)
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._runs: set[asyncio.Task[None]] = set()
        # Leases offered to StartExecution whose executions are not adopted yet.
        self._offered = 0

    @property
    def active(self) -> int:
        """How many executions this worker drives right now."""
        return len(self._runs)

    async def start(self) -> None:
        """Begin claiming work."""
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.create_task(self._claim_loop(), name="stepline-worker")
            self._hub.worker = self
            # Executions made due by other processes (started, completed tokens) wake it.
            self._hub.listen(self.context.store)

    async def stop(self) -> None:
        """Stop claiming; let runs in flight finish within the grace period; release the rest.

        Asynchronous Express executions of this process get the same grace period.
        """
        self._stopping = True
        if self._hub.worker is self:
            self._hub.worker = None
        self._hub.wake()
        loop_task, self._loop_task = self._loop_task, None
        if loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
        pending = set(self._runs) | set(self._hub.express)
        if pending:
            _, still = await asyncio.wait(pending, timeout=self.stop_grace_seconds)
            for task in still:
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)

    # ------------------------------------------------------------------------------ claiming

    async def run_claimed(self, claims: list[ClaimedExecution]) -> None:
        """Drive claimed executions to their next release (tests drive the worker so)."""
        tasks = [self._spawn(claim) for claim in claims]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def claim_once(self, limit: int | None = None) -> list[ClaimedExecution]:
        """Claim what is due now (up to ``limit``, else the free capacity)."""
        capacity = self.context.config.worker_concurrency - len(self._runs) - self._offered
        if limit is not None:
            capacity = min(capacity, limit)
        if capacity <= 0:
            return []
        return await self.context.store.claim_runnable(
            self.owner,
            limit=capacity,
            lease_seconds=self.context.config.lease_seconds,
            now=self.clock(),
        )

    # ------------------------------------------------------------------------------ hand-off

    def offer_lease(self, now: float) -> Lease | None:
        """A lease for an execution StartExecution is about to insert, if there is room.

        The execution is inserted already leased to this worker and then handed over with
        :meth:`adopt` (or the offer is withdrawn with :meth:`withdraw`): one transaction less
        than insert-then-claim, and no wait for the claim loop.
        """
        if self._stopping or self._offered + len(self._runs) >= (
            self.context.config.worker_concurrency
        ):
            return None
        self._offered += 1
        return Lease(self.owner, secrets.token_hex(16), now + self.context.config.lease_seconds)

    def withdraw(self) -> None:
        """An offered lease was not used (the insert failed)."""
        self._offered -= 1

    def adopt(self, claim: ClaimedExecution, revision: StateMachineRevisionRecord) -> bool:
        """Drive an execution inserted with an offered lease; ``False`` if stopping (the caller
        then gives the lease back)."""
        self._offered -= 1
        if self._stopping:
            return False
        self._spawn(claim, revision)
        return True

    def _spawn(
        self, claim: ClaimedExecution, revision: StateMachineRevisionRecord | None = None
    ) -> asyncio.Task[None]:
        run = ClaimedRun(self.context, claim, self.clock, revision=revision)
        task = asyncio.create_task(run.drive(), name=f"stepline-run {claim.execution.name}")
        arn = claim.execution.arn
        self._runs.add(task)
        self._hub.runs[arn] = task
        concurrency = self.context.config.worker_concurrency

        def done(finished: asyncio.Task[None]) -> None:
            full = len(self._runs) + self._offered >= concurrency
            self._runs.discard(finished)
            if self._hub.runs.get(arn) is finished:
                del self._hub.runs[arn]
            # A run frees capacity the claim loop may be waiting for, and an execution that
            # did not end is due again later (its timers, a retry after an error): the loop
            # recomputes its sleep. An execution that ended at no full capacity changes
            # neither, so the loop sleeps on (no empty claim per finished execution).
            if full or not run.ended:
                self._hub.wake()

        task.add_done_callback(done)
        return task

    async def _claim_loop(self) -> None:
        event = self._hub.wake_event
        store = self.context.store
        concurrency = self.context.config.worker_concurrency
        while not self._stopping:
            event.clear()
            try:
                capacity = concurrency - len(self._runs) - self._offered
                # Claimed a batch at a time, so that a burst of due executions spreads over the
                # workers sharing the store instead of going whole to whichever claims first
                # (a worker busy with the batches it has claims its next one later).
                batch = min(capacity, CLAIM_BATCH)
                claims = await self.claim_once(batch) if batch > 0 else []
                for claim in claims:
                    self._spawn(claim)
                if claims and len(claims) == batch:
                    # The batch or the capacity ran out before the due work did: claim again
                    # once the new runs have started (or, at capacity, once runs end).
                    await asyncio.sleep(0)
                    continue
                timeout = self.poll_seconds
                if len(self._runs) < concurrency:
                    wake_at = await store.next_wake_at()
                    if wake_at is not None:
                        timeout = min(timeout, max(wake_at - self.clock(), 0.0))
            except asyncio.CancelledError:
                raise
            except StoreError as exc:
                _log.error("worker could not claim executions: %s", exc)
                timeout = _ERROR_BACKOFF_SECONDS
            except Exception:
                _log.exception("worker claim loop failed; trying again")
                timeout = _ERROR_BACKOFF_SECONDS
            if self._stopping:
                break
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
