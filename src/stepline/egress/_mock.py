"""A transport that answers from a Python function: the one fake at the edge, for workflow tests.

Library users test whole workflows without a network by handing the engine a
:class:`MockTransport`: every request the HTTP Task (or an OAuth token exchange) would send is
recorded and answered by the handler. The handler may raise :class:`EgressTimeout`,
:class:`EgressFailed` or :class:`EgressRefused` to play out failures::

    def handler(request: HttpRequest) -> HttpResponse:
        if request.url.startswith("https://api.example.com/charges"):
            return HttpResponse(200, "OK", (("content-type", "application/json"),), b'{"id":1}')
        raise EgressFailed("no route in this test")

    transport = MockTransport(handler)
    ...
    assert transport.requests[0].method == "POST"
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType

from stepline.egress._messages import HttpRequest, HttpResponse

__all__ = ["MockHandler", "MockTransport"]

MockHandler = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


class MockTransport:
    """Answers each request with ``handler(request)`` and records it.

    Args:
        handler: A function, plain or ``async``, from :class:`HttpRequest` to
            :class:`HttpResponse`; it may raise an :class:`EgressError` subclass.

    Attributes:
        requests: Every request sent, in order (also those the handler failed).
        timeouts: The ``timeout`` argument of each send, in the same order.
    """

    def __init__(self, handler: MockHandler) -> None:
        self._handler = handler
        self.requests: list[HttpRequest] = []
        self.timeouts: list[float | None] = []
        self.closed = False

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        """Record ``request`` and return the handler's answer.

        Raises:
            EgressError: Whatever the handler raised of that kind.
            TypeError: The handler returned something other than an :class:`HttpResponse`.
        """
        self.requests.append(request)
        self.timeouts.append(timeout)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if not isinstance(answer, HttpResponse):
            raise TypeError(
                f"The MockTransport handler returned {type(answer).__name__}; it must return "
                "an HttpResponse or raise an EgressError."
            )
        return answer

    async def aclose(self) -> None:
        """Mark the transport closed (sending afterwards still works, as for a real one)."""
        self.closed = True

    async def __aenter__(self) -> MockTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
