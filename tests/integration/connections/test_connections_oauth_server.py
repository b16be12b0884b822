"""OAuth client credentials against a real token server on 127.0.0.1, through AiohttpTransport.

Time is an injected clock, never a sleep: expiry and proactive refresh are driven by moving it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from stepline.asl._errors import StatesError
from stepline.connections import Connections
from stepline.egress import AiohttpTransport, AllowRule, EgressSettings

CLIENT_SECRET = "cs-Integration-Zq81"


@dataclass
class Seen:
    method: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: str


@dataclass
class TokenServer:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    status: int = 200
    expires_in: int | None = 3600
    gate: asyncio.Event | None = None

    def token(self) -> str:
        return f"token-{len(self.seen)}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def token_server() -> AsyncIterator[TokenServer]:
    server = TokenServer()

    async def handle(request: web.Request) -> web.Response:
        server.seen.append(
            Seen(
                request.method,
                list(request.query.items()),
                dict(request.headers),
                (await request.read()).decode(),
            )
        )
        if server.gate is not None:
            await asyncio.wait_for(server.gate.wait(), timeout=10)
        if server.status != 200:
            return web.json_response({"error": "invalid_client"}, status=server.status)
        document: dict[str, Any] = {"access_token": server.token(), "token_type": "Bearer"}
        if server.expires_in is not None:
            document["expires_in"] = server.expires_in
        return web.Response(text=json.dumps(document), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/oauth/token", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/oauth/token"
    try:
        yield server
    finally:
        await runner.cleanup()


@asynccontextmanager
async def registry(clock: Clock) -> AsyncIterator[Connections]:
    settings = EgressSettings(allow=(AllowRule.parse("127.0.0.1"),), timeout_seconds=10)
    async with AiohttpTransport(settings) as transport:
        yield Connections(transport=transport, clock=clock)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=60))


async def bearer(connections: Connections, arn: str) -> str:
    resolved = await connections.resolve(arn)
    return resolved.authorization[0].plaintext()


def test_token_issued_and_used_with_basic_client_credentials() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            arn = connections.create_oauth_client_credentials(
                "idp",
                server.url,
                "client-1",
                CLIENT_SECRET,
                oauth_parameters={
                    "BodyParameters": [
                        {"Key": "scope", "Value": "orders:read", "IsValueSecret": False}
                    ],
                    "HeaderParameters": [{"Key": "X-Tenant", "Value": "t1", "IsValueSecret": True}],
                },
            )
            assert await bearer(connections, arn) == "Bearer token-1"
            assert connections.describe("idp")["ConnectionState"] == "AUTHORIZED"
            [seen] = server.seen
            assert seen.method == "POST"
            expected = base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
            assert seen.headers["Authorization"] == f"Basic {expected}"
            assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
            assert seen.headers["X-Tenant"] == "t1"
            assert seen.body == "grant_type=client_credentials&scope=orders%3Aread"
            clock.now += 3000  # 600 s left: still good
            assert await bearer(connections, arn) == "Bearer token-1"
            assert len(server.seen) == 1

    run(scenario)


def test_proactive_refresh_when_less_than_60_seconds_remain() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            arn = connections.create_oauth_client_credentials("idp", server.url, "c", CLIENT_SECRET)
            assert await bearer(connections, arn) == "Bearer token-1"
            clock.now += 3600 - 61  # 61 s left: used as is
            assert await bearer(connections, arn) == "Bearer token-1"
            clock.now += 2  # 59 s left: refreshed before use
            assert await bearer(connections, arn) == "Bearer token-2"
            assert len(server.seen) == 2

    run(scenario)


def test_fifty_concurrent_resolves_make_one_token_request() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            server.gate = asyncio.Event()
            arn = connections.create_oauth_client_credentials("idp", server.url, "c", CLIENT_SECRET)
            waiting = [asyncio.ensure_future(bearer(connections, arn)) for _ in range(50)]
            for _ in range(500):  # until the single request reached the server
                if server.seen:
                    break
                await asyncio.sleep(0.01)
            for _ in range(20):  # let every resolve reach the shared exchange
                await asyncio.sleep(0)
            server.gate.set()
            tokens = await asyncio.gather(*waiting)
            assert set(tokens) == {"Bearer token-1"}
            assert len(server.seen) == 1

    run(scenario)


def test_token_rejected_fetches_a_new_token_and_stale_generations_are_ignored() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            server.expires_in = None  # used until a target rejects it
            arn = connections.create_oauth_client_credentials("idp", server.url, "c", CLIENT_SECRET)
            first = await connections.resolve(arn)
            clock.now += 10**6
            assert await bearer(connections, arn) == "Bearer token-1"  # no expiry
            # Many requests got 401 with the same token: one refresh.
            for _ in range(5):
                await connections.token_rejected(arn, first.oauth_generation)
            results = await asyncio.gather(*(bearer(connections, arn) for _ in range(10)))
            assert set(results) == {"Bearer token-2"}
            await connections.token_rejected(arn, first.oauth_generation)  # stale
            assert await bearer(connections, arn) == "Bearer token-2"
            assert len(server.seen) == 2

    run(scenario)


def test_failing_endpoint_deauthorizes_the_connection() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            server.status = 401
            arn = connections.create_oauth_client_credentials("idp", server.url, "c", CLIENT_SECRET)
            with pytest.raises(StatesError) as caught:
                await connections.resolve(arn)
            error = caught.value
            assert error.error == "Events.ConnectionResource.InvalidConnectionState"
            assert f"{server.url} answered 401 Unauthorized" in error.cause
            assert 'OAuth error "invalid_client"' in error.cause
            assert CLIENT_SECRET not in error.cause
            described = connections.describe("idp")
            assert described["ConnectionState"] == "DEAUTHORIZED"
            assert "answered 401" in described["StateReason"]
            # Fixed server + update: authorized again.
            server.status = 200
            connections.update({"Name": "idp", "Description": "fixed"})
            assert await bearer(connections, arn) == "Bearer token-2"

    run(scenario)


def test_refresh_failure_deauthorizes_an_authorized_connection() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            arn = connections.create_oauth_client_credentials("idp", server.url, "c", CLIENT_SECRET)
            await bearer(connections, arn)
            server.status = 503
            clock.now += 3600
            with pytest.raises(StatesError, match="answered 503"):
                await connections.resolve(arn)
            assert connections.describe("idp")["ConnectionState"] == "DEAUTHORIZED"

    run(scenario)


def test_get_method_puts_the_parameters_in_the_query() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server, registry(clock) as connections:
            arn = connections.create_oauth_client_credentials(
                "idp",
                server.url + "?realm=r1",
                "c",
                CLIENT_SECRET,
                http_method="GET",
                oauth_parameters={
                    "BodyParameters": [
                        {"Key": "audience", "Value": "api://x", "IsValueSecret": True}
                    ],
                    "QueryStringParameters": [{"Key": "v", "Value": "2", "IsValueSecret": False}],
                },
            )
            assert await bearer(connections, arn) == "Bearer token-1"
            [seen] = server.seen
            assert seen.method == "GET"
            assert seen.body == ""
            assert "Content-Type" not in seen.headers
            assert seen.query == [
                ("realm", "r1"),
                ("grant_type", "client_credentials"),
                ("audience", "api://x"),
                ("v", "2"),
            ]

    run(scenario)


def test_unreachable_endpoint_deauthorizes_with_the_transport_reason() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with token_server() as server:
            url = server.url
        # The server is gone: connection refused on that port.
        async with registry(clock) as connections:
            arn = connections.create_oauth_client_credentials("idp", url, "c", CLIENT_SECRET)
            with pytest.raises(StatesError) as caught:
                await connections.resolve(arn)
            assert caught.value.error == "Events.ConnectionResource.InvalidConnectionState"
            assert "the token request to http://127.0.0.1:" in caught.value.cause
            assert CLIENT_SECRET not in caught.value.cause

    run(scenario)
