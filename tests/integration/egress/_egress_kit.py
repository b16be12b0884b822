"""Real servers on 127.0.0.1 for the egress transport tests: an aiohttp.web app and a raw one.

Every server lives inside one ``asyncio.run`` of a test (``async with serve(...)``) and every
wait is bounded, so a broken transport fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")

SECRET = "s3cr3t-token-value"
LONG_WAIT = 5.0  # a handler that "hangs" gives up after this long


def run(coro: Coroutine[Any, Any, T], *, limit: float = 20.0) -> T:
    """Run ``coro`` in a fresh loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, limit)

    return asyncio.run(bounded())


class EchoApp:
    """The aiohttp.web application the transport talks to; counts every request it gets."""

    def __init__(self) -> None:
        self.hits = 0
        self.release = asyncio.Event()
        self.peer_common_names: list[str | None] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/echo", self.echo)
        self.app.router.add_get("/sleep", self.sleep)
        self.app.router.add_get("/bytes/{size}", self.sized)
        self.app.router.add_get("/stream/{size}", self.streamed)
        self.app.router.add_get("/redirect", self.redirect)
        self.app.router.add_get("/multi", self.multi)
        self.app.router.add_get("/gzip", self.gzipped)

    async def echo(self, request: web.Request) -> web.Response:
        self.hits += 1
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        common_name = None
        if peer:
            for rdn in peer.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        common_name = value
        self.peer_common_names.append(common_name)
        return web.json_response(
            {
                "method": request.method,
                "path_qs": request.path_qs,
                "headers": [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers
                ],
                "body": (await request.read()).decode("utf-8"),
            }
        )

    async def sleep(self, request: web.Request) -> web.Response:
        self.hits += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), LONG_WAIT)
        return web.Response(text="late")

    async def sized(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(body=b"x" * int(request.match_info["size"]))

    async def streamed(self, request: web.Request) -> web.StreamResponse:
        # Chunked, no Content-Length: the transport cannot know the size up front.
        self.hits += 1
        size = int(request.match_info["size"])
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        while sent < size:
            piece = min(4096, size - sent)
            await response.write(b"y" * piece)
            sent += piece
        await response.write_eof()
        return response

    async def redirect(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(status=302, headers={"Location": "/echo?from=redirect"})

    async def multi(self, request: web.Request) -> web.Response:
        self.hits += 1
        response = web.Response(text="multi")
        response.headers.add("X-Multi", "one")
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("X-Multi", "two")
        response.headers.add("Set-Cookie", "b=2; Path=/")
        return response

    async def gzipped(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(
            body=gzip.compress(b'{"compressed":true}'),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )


@asynccontextmanager
async def serve(app: EchoApp, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port); yields ``http(s)://127.0.0.1:PORT``."""
    runner = web.AppRunner(app.app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        app.release.set()
        await runner.cleanup()


RawHandler = Callable[[bytes], Awaitable[bytes | None]]


@asynccontextmanager
async def serve_raw(answer: Callable[[bytes], bytes | None]) -> AsyncIterator[str]:
    """A TCP server that reads one request head and writes ``answer(head)`` bytes verbatim.

    ``None`` closes the connection without answering. Yields ``http://127.0.0.1:PORT``.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LONG_WAIT)
            reply = answer(head)
            if reply is not None:
                writer.write(reply)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
