"""Connection pools for :class:`~stepline.egress.Http1Transport`: one per event loop.

A connection belongs to the event loop that opened it, so each loop gets its own
:class:`LoopPool`, holding a :class:`HostPool` per ``(scheme, host, port, TlsOptions)``.

A host pool counts *slots*: connections open, being opened, or being handed over. At most
``limit`` slots exist; a request that finds none free waits (first come, first served) for a
connection another request releases, or for a slot freed by a closed one. Idle connections
are kept last-in first-out, so the warmest one is reused and the coldest age out: one idle for
longer than the idle timeout is closed (by a sweep timer, and checked again when taken). An idle
connection the server closes leaves the pool as soon as the loop notices.

When a loop ends, its connections must be closed on it: :func:`close_at_loop_shutdown` is an
async generator kept suspended for the loop's life, which ``asyncio.run`` (through
``loop.shutdown_asyncgens()``) finishes before closing the loop. A loop that was closed without
that gets its sockets closed directly (:meth:`LoopPool.close_dead`); nothing is asked of the
dead loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Hashable
from typing import Final

from stepline.egress._http1_protocol import (
    BUSY,
    GONE,
    IDLE,
    INTERRUPTED,
    ExchangeError,
    Http1Connection,
)

__all__ = [
    "DEFAULT_IDLE_SECONDS",
    "AddressList",
    "HostPool",
    "LoopPool",
    "close_at_loop_shutdown",
]

DEFAULT_IDLE_SECONDS: Final = 30.0

# What a host name resolved to: (address family, socket address) pairs, in the resolver's order.
AddressList = list[tuple[int, tuple[object, ...]]]


class HostPool:
    """The connections to one origin (with one TLS setting) on one event loop.

    Args:
        loop_pool: The loop's pool.
        limit: Slots at most (``EgressSettings.max_connections_per_host``).
    """

    __slots__ = ("idle", "limit", "loop_pool", "slots", "waiters")

    def __init__(self, loop_pool: LoopPool, limit: int) -> None:
        self.loop_pool = loop_pool
        self.limit = limit
        self.slots = 0
        self.idle: list[Http1Connection] = []
        self.waiters: deque[asyncio.Future[Http1Connection | None]] = deque()

    def take_idle(self, now: float) -> Http1Connection | None:
        """The most recently used live idle connection, or ``None``; stale ones are closed."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            conn.state = BUSY
            transport = conn.transport
            if (
                conn.closed
                or transport is None
                or transport.is_closing()
                or now - conn.idle_since > self.loop_pool.idle_seconds
            ):
                self.discard(conn)
                continue
            return conn
        return None

    def reserve(self) -> bool:
        """Take a free slot for a new connection; ``False`` when every slot is in use."""
        if self.slots < self.limit:
            self.slots += 1
            return True
        return False

    async def wait(self) -> Http1Connection | None:
        """Wait for a released connection (returned) or a freed slot (``None``).

        The caller bounds the wait (``asyncio.timeout``); a cancelled wait gives back whatever
        it was handed in the meantime.
        """
        waiter: asyncio.Future[Http1Connection | None] = self.loop_pool.loop.create_future()
        self.waiters.append(waiter)
        try:
            handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give_back(waiter.result())
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(waiter)
            raise
        if handed is not None and handed.closed:
            # It ended on its way here; its slot is ours to open a new connection with.
            handed.state = GONE
            return None
        return handed

    def release(self, conn: Http1Connection) -> None:
        """A request is done with ``conn``: reuse it, hand it on, or close it."""
        conn.finish()
        if not conn.reusable or conn.closed:
            self.discard(conn)
            return
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(conn)  # stays BUSY: it goes straight to the next request
            return
        conn.state = IDLE
        loop_pool = self.loop_pool
        conn.idle_since = loop_pool.loop.time()
        self.idle.append(conn)
        loop_pool.schedule_sweep()

    def give_back(self, handed: Http1Connection | None) -> None:
        """Return what a cancelled waiter was handed: a connection, or a slot (``None``)."""
        if handed is None:
            self.free_slot()
        else:
            self.release(handed)

    def discard(self, conn: Http1Connection) -> None:
        """Close ``conn`` and free its slot."""
        conn.abort()
        if conn.state != GONE:
            conn.state = GONE
            self.free_slot()

    def forget(self, conn: Http1Connection) -> None:
        """Close ``conn`` but keep its slot for the connection that replaces it."""
        conn.abort()
        conn.state = GONE

    def free_slot(self) -> None:
        """A slot is free: give it to the first waiter, or count it as free."""
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(None)
        else:
            self.slots -= 1

    def lost(self, conn: Http1Connection) -> None:
        """``conn`` ended; an idle one leaves the pool now (a busy one when released)."""
        if conn.state == IDLE:
            with contextlib.suppress(ValueError):
                self.idle.remove(conn)
            conn.state = GONE
            self.free_slot()

    def _next_waiter(self) -> asyncio.Future[Http1Connection | None] | None:
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                return waiter
        return None


class LoopPool:
    """Every connection of one event loop, by origin and TLS setting.

    Args:
        loop: The loop the connections belong to.
        idle_seconds: How long a connection may stay idle before it is closed.
    """

    __slots__ = (
        "closed",
        "connections",
        "hosts",
        "idle_seconds",
        "lifetime",
        "loop",
        "resolving",
        "sweeper",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, idle_seconds: float) -> None:
        self.loop = loop
        self.idle_seconds = idle_seconds
        self.closed = False
        self.hosts: dict[Hashable, HostPool] = {}
        self.connections: set[Http1Connection] = set()
        # Host name lookups in flight, shared by the requests that need the same answer.
        self.resolving: dict[Hashable, asyncio.Task[AddressList]] = {}
        self.sweeper: asyncio.TimerHandle | None = None
        self.lifetime: AsyncGenerator[None, None] | None = None

    def host_pool(self, key: Hashable, limit: int) -> HostPool:
        """The pool for ``key``, made on first use."""
        pool = self.hosts.get(key)
        if pool is None:
            pool = self.hosts[key] = HostPool(self, limit)
        return pool

    def opened(self, conn: Http1Connection) -> None:
        """Track a new connection (so that closing the loop's pool reaches it)."""
        self.connections.add(conn)

    def lost(self, conn: Http1Connection) -> None:
        """``conn`` ended (its ``on_lost`` callback)."""
        self.connections.discard(conn)
        host_pool = conn.host_pool
        if isinstance(host_pool, HostPool):
            host_pool.lost(conn)

    def schedule_sweep(self) -> None:
        """Make sure a sweep will close connections that stay idle too long."""
        if self.sweeper is None and not self.closed:
            self.sweeper = self.loop.call_later(self.idle_seconds / 2, self._sweep)

    def _sweep(self) -> None:
        self.sweeper = None
        limit = self.loop.time() - self.idle_seconds
        any_idle = False
        for key, pool in list(self.hosts.items()):
            idle = pool.idle
            # Oldest first: the list is in the order connections became idle.
            while idle and idle[0].idle_since <= limit:
                pool.discard(idle.pop(0))
            if idle:
                any_idle = True
            elif pool.slots == 0 and not pool.waiters:
                del self.hosts[key]
        if any_idle:
            self.schedule_sweep()

    def close(self) -> None:
        """Close every connection (on this loop, which must be running or at least open)."""
        self.closed = True
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None
        for task in self.resolving.values():
            task.cancel()
        self.resolving.clear()
        for pool in self.hosts.values():
            pool.idle.clear()
            for waiter in pool.waiters:
                if not waiter.done():
                    waiter.set_exception(ExchangeError(INTERRUPTED))
            pool.waiters.clear()
        self.hosts.clear()
        for conn in list(self.connections):
            conn.state = GONE
            conn.interrupt()

    def close_dead(self) -> None:
        """Close the sockets of a loop that was closed with connections still open.

        Nothing is asked of the dead loop: only the sockets are closed, so their file
        descriptors do not leak. (asyncio may still warn about the unclosed transports when
        they are collected; ``asyncio.run`` never leaves them behind.)
        """
        self.closed = True
        self.sweeper = None
        self.resolving.clear()
        self.hosts.clear()
        for conn in self.connections:
            conn.sock.close()
        self.connections.clear()


async def close_at_loop_shutdown(pool: LoopPool) -> AsyncGenerator[None, None]:
    """Stay suspended for the loop's life; close ``pool`` when the loop shuts down.

    ``asyncio.run`` closes every live async generator (``loop.shutdown_asyncgens()``) before it
    closes the loop, which runs this ``finally`` on that loop, still able to close connections.
    """
    try:
        yield
    finally:
        pool.close()
        # Let the transports run their connection_lost callbacks (which close the sockets).
        await asyncio.sleep(0)
