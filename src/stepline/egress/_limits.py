"""Per-connection pacing: a token bucket and a concurrency cap shared by every execution.

A connection may declare :class:`~stepline.connections._resolved.ConnectionLimits` (a stepline
extension) so that workflows do not overrun a third-party API's rate limit. One
:class:`ConnectionPacer` per process holds the state for each connection (keyed by ARN):

* at most ``max_concurrency`` requests in flight;
* requests start at ``rate_per_second`` on average, with up to ``burst`` at once after a
  quiet period (a token bucket of size ``burst``, refilled at ``rate_per_second``).

Waiters are served first come, first served. A request first waits for a concurrency slot,
then for a token, so the rate is measured where the request really starts. Nothing is bound
to an event loop: waits are futures of the loop that is running at the time, so a pacer can
outlive many ``asyncio.run`` calls. It is not thread-safe (one thread, any loop at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stepline.connections._resolved import ConnectionLimits

__all__ = ["ConnectionPacer"]

# Refill arithmetic in floats can leave a bucket at 0.9999999999 tokens after waiting exactly
# 1/rate seconds; a token that close counts as whole, or the waiter would sleep ~0 s forever.
_WHOLE_TOKEN = 1.0 - 1e-9


class _KeyState:
    """Bucket and cap of one connection."""

    __slots__ = (
        "burst",
        "in_flight",
        "limits",
        "max_concurrency",
        "rate",
        "slot_waiters",
        "stamp",
        "token_waiters",
        "tokens",
    )

    def __init__(self, limits: ConnectionLimits, now: float) -> None:
        self.limits = limits
        self.rate: float | None = None
        self.burst = 1.0
        self.max_concurrency: int | None = None
        self.tokens = 0.0
        self.stamp = now
        self.in_flight = 0
        self.slot_waiters: deque[asyncio.Future[None]] = deque()
        self.token_waiters: deque[asyncio.Future[None]] = deque()
        self.apply(limits, now, initial=True)

    def apply(self, limits: ConnectionLimits, now: float, *, initial: bool = False) -> None:
        """Take new limits (a connection was updated); tokens carry over, capped."""
        _validate(limits)
        if not initial:
            self.refill(now)
        self.limits = limits
        rate = limits.rate_per_second
        self.rate = None if rate is None else float(rate)
        burst = limits.burst
        self.burst = float(burst) if burst is not None else max(1.0, self.rate or 1.0)
        self.tokens = self.burst if initial else min(self.tokens, self.burst)
        self.max_concurrency = limits.max_concurrency

    def refill(self, now: float) -> None:
        rate = self.rate
        if rate is not None and now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = max(self.stamp, now)


def _validate(limits: ConnectionLimits) -> None:
    rate, burst, cap = limits.rate_per_second, limits.burst, limits.max_concurrency
    if rate is not None and not rate > 0:
        raise ValueError(f"ConnectionLimits.rate_per_second must be positive, got {rate!r}.")
    if burst is not None and burst < 1:
        raise ValueError(f"ConnectionLimits.burst must be at least 1, got {burst!r}.")
    if cap is not None and cap < 1:
        raise ValueError(f"ConnectionLimits.max_concurrency must be at least 1, got {cap!r}.")


class _NoSlot:
    """The slot of an unlimited connection: costs two no-op awaits."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


_NO_SLOT = _NoSlot()


class _Slot:
    """One request's place: a concurrency slot (if capped) and a token (if rate-limited)."""

    __slots__ = ("_holding", "_pacer", "_state")

    def __init__(self, pacer: ConnectionPacer, state: _KeyState) -> None:
        self._pacer = pacer
        self._state = state
        self._holding = False

    async def __aenter__(self) -> None:
        pacer, state = self._pacer, self._state
        if state.max_concurrency is not None:
            await pacer._enter(state)
            self._holding = True
        if state.rate is not None:
            try:
                await pacer._take_token(state)
            except BaseException:
                self._leave()
                raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._leave()

    def _leave(self) -> None:
        if self._holding:
            self._holding = False
            self._pacer._leave(self._state)


class ConnectionPacer:
    """Rate limits and concurrency caps per connection, for every execution in the process.

    Args:
        clock: Monotonic seconds; injectable for tests.
        sleep: Waits the given seconds; injectable for tests (with a matching ``clock``).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._states: dict[str, _KeyState] = {}

    def slot(self, key: str, limits: ConnectionLimits | None) -> _Slot | _NoSlot:
        """An async context manager that holds one request's place for ``key``.

        ``async with pacer.slot(arn, limits):`` waits for a concurrency slot and a token, and
        gives the slot back on exit. Without limits it returns at once.

        Args:
            key: The connection ARN (any string naming what is limited).
            limits: The connection's limits; ``None`` or all-``None`` for none.

        Raises:
            ValueError: A limit is zero or negative.
        """
        if limits is None or (limits.rate_per_second is None and limits.max_concurrency is None):
            return _NO_SLOT
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _KeyState(limits, self._clock())
        elif state.limits != limits:
            state.apply(limits, self._clock())
            self._hand_over_slots(state)
        return _Slot(self, state)

    def in_flight(self, key: str) -> int:
        """Requests holding a concurrency slot for ``key`` now (capped connections only)."""
        state = self._states.get(key)
        return 0 if state is None else state.in_flight

    async def _enter(self, state: _KeyState) -> None:
        cap = state.max_concurrency
        assert cap is not None
        waiters = state.slot_waiters
        _prune(waiters)
        if state.in_flight < cap and not waiters:
            state.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(future)
        try:
            # _leave hands its slot over by resolving the future: in_flight stays counted.
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self._leave(state)  # the slot arrived as we were cancelled: pass it on
            else:
                _discard(waiters, future)
            raise

    def _leave(self, state: _KeyState) -> None:
        cap = state.max_concurrency
        if cap is not None and state.in_flight <= cap and _hand_slot(state.slot_waiters):
            return  # the slot went straight to the next waiter
        state.in_flight -= 1
        self._hand_over_slots(state)

    def _hand_over_slots(self, state: _KeyState) -> None:
        # After a raised or lifted cap, start every waiter that now fits.
        cap = state.max_concurrency
        while cap is None or state.in_flight < cap:
            if not _hand_slot(state.slot_waiters):
                break
            state.in_flight += 1

    async def _take_token(self, state: _KeyState) -> None:
        waiters = state.token_waiters
        _prune(waiters)
        state.refill(self._clock())
        if not waiters and state.tokens >= _WHOLE_TOKEN:
            state.tokens = max(0.0, state.tokens - 1.0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(future)
        try:
            while True:
                _prune(waiters)
                if waiters[0] is not future:
                    await future  # resolved when this request reaches the head
                    continue
                rate = state.rate
                if rate is None:
                    break  # the limit was lifted while waiting
                state.refill(self._clock())
                if state.tokens >= _WHOLE_TOKEN:
                    state.tokens = max(0.0, state.tokens - 1.0)
                    break
                await self._sleep((1.0 - state.tokens) / rate)
        except BaseException:
            was_head = bool(waiters) and waiters[0] is future
            _discard(waiters, future)
            if was_head:
                _wake_head(waiters)
            raise
        waiters.popleft()
        _wake_head(waiters)


def _prune(waiters: deque[asyncio.Future[None]]) -> None:
    # A waiter whose loop has closed will never run again: it must not block the line.
    while waiters and waiters[0].get_loop().is_closed():
        waiters.popleft()


def _hand_slot(waiters: deque[asyncio.Future[None]]) -> bool:
    """Give a concurrency slot to the first live waiter (it leaves the queue)."""
    while waiters:
        future = waiters.popleft()
        if not future.done() and not future.get_loop().is_closed():
            future.set_result(None)
            return True
    return False


def _wake_head(waiters: deque[asyncio.Future[None]]) -> None:
    """Tell the first token waiter it is at the head (it leaves once it has its token)."""
    _prune(waiters)
    if waiters and not waiters[0].done():
        waiters[0].set_result(None)


def _discard(waiters: deque[asyncio.Future[None]], future: asyncio.Future[None]) -> None:
    with contextlib.suppress(ValueError):
        waiters.remove(future)
