"""MockTransport: the fake at the edge for workflow tests records requests and plays answers."""

from __future__ import annotations

import asyncio

import pytest

from stepline.egress import (
    EgressTimeout,
    HttpRequest,
    HttpResponse,
    MockTransport,
    Transport,
)

OK = HttpResponse(200, "OK", (("content-type", "application/json"),), b'{"ok":true}')


def test_sync_handler_answers_and_requests_are_recorded() -> None:
    seen: list[str] = []

    def handler(request: HttpRequest) -> HttpResponse:
        seen.append(request.url)
        return OK

    transport = MockTransport(handler)
    first = HttpRequest("GET", "https://api.example.com/a")
    second = HttpRequest("POST", "https://api.example.com/b", (("x", "1"),), b"{}")

    async def main() -> list[HttpResponse]:
        answers = [await transport.send(first), await transport.send(second, timeout=5)]
        await transport.aclose()
        return answers

    assert asyncio.run(main()) == [OK, OK]
    assert transport.requests == [first, second]
    assert transport.timeouts == [None, 5]
    assert seen == ["https://api.example.com/a", "https://api.example.com/b"]
    assert transport.closed


def test_async_handler_and_raised_egress_errors() -> None:
    async def handler(request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        if request.method == "DELETE":
            raise EgressTimeout("The request to https://api.example.com:443 timed out.")
        return OK

    async def main() -> None:
        async with MockTransport(handler) as transport:
            assert await transport.send(HttpRequest("GET", "https://api.example.com/")) == OK
            with pytest.raises(EgressTimeout):
                await transport.send(HttpRequest("DELETE", "https://api.example.com/x"))
            assert [r.method for r in transport.requests] == ["GET", "DELETE"]

    asyncio.run(main())


def test_handler_must_return_a_response() -> None:
    transport = MockTransport(lambda request: {"status": 200})  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="must return an HttpResponse"):
        asyncio.run(transport.send(HttpRequest("GET", "https://x.example/")))


def test_mock_satisfies_the_transport_protocol() -> None:
    transport: Transport = MockTransport(lambda request: OK)
    assert asyncio.run(transport.send(HttpRequest("GET", "https://x.example/"))) is OK
