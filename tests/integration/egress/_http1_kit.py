"""A scripted raw HTTP server on 127.0.0.1 for the Http1Transport tests.

Each accepted connection runs ``script(conn)``; :class:`RawConn` reads whole requests (head and
``Content-Length`` body) and writes exact bytes. The server counts connections, the most open
at once, and the requests it read, so tests can check reuse and pool limits from the server's
side. Every read is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

READ_LIMIT = 5.0


class RawConn:
    """One accepted connection, as the script sees it."""

    def __init__(
        self, server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.index = server.connections  # 1 for the first connection

    async def request(self) -> tuple[bytes, bytes] | None:
        """The next request's head and body, or ``None`` when the client closed."""
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_LIMIT)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await asyncio.wait_for(self.reader.readexactly(length), READ_LIMIT)
        self.server.requests.append(head)
        return head, body

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def closed_by_client(self) -> bool:
        """Whether the client closes the connection (EOF) within the read limit."""
        try:
            data = await asyncio.wait_for(self.reader.read(), READ_LIMIT)
        except (TimeoutError, ConnectionError):
            return False
        return data == b""


Script = Callable[[RawConn], Awaitable[None]]


class RawServer:
    """Counts what the scripted server saw."""

    def __init__(self) -> None:
        self.url = ""
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[bytes] = []
        self.client_closed: list[int] = []


@asynccontextmanager
async def serve_script(script: Script) -> AsyncIterator[RawServer]:
    """Serve ``script`` per connection on 127.0.0.1; yields the server (``.url`` set)."""
    stats = RawServer()
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats.connections += 1
        stats.open_now += 1
        stats.most_open = max(stats.most_open, stats.open_now)
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await script(RawConn(stats, reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            stats.open_now -= 1
            tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    stats.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield stats
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await server.wait_closed()


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    """A keep-alive 200 response with ``Content-Length``."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def answer_each(conn: RawConn, reply: bytes = b"", *, limit: int = 1000) -> None:
    """Answer every request on ``conn`` with ``reply`` (default: ``ok()``)."""
    for _ in range(limit):
        if await conn.request() is None:
            return
        await conn.write(reply or ok())
