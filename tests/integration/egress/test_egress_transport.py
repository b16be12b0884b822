"""AiohttpTransport against real servers on 127.0.0.1: the guard, the wire, limits and errors."""

from __future__ import annotations

import gc
import gzip
import json
import warnings

import pytest
from _egress_kit import SECRET, EchoApp, closed_port, run, serve, serve_raw

from stepline.egress import (
    AiohttpTransport,
    EgressFailed,
    EgressRefused,
    EgressSettings,
    EgressTimeout,
    HttpRequest,
    HttpResponse,
    Transport,
)
from stepline.egress._settings import parse_allow

LOOPBACK = EgressSettings(allow=parse_allow("127.0.0.0/8"))


def echoed(response: HttpResponse) -> dict[str, object]:
    assert response.status == 200, response
    result: dict[str, object] = json.loads(response.body)
    return result


def test_plain_http_to_an_allowed_network_goes_through() -> None:
    app = EchoApp()

    async def main() -> HttpResponse:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            return await transport.send(HttpRequest("GET", f"{base}/echo?q={SECRET}"))

    response = run(main())
    assert echoed(response)["path_qs"] == f"/echo?q={SECRET}"
    assert response.reason == "OK"
    assert response.http_version == "1.1"
    assert response.truncated is False


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_loopback_is_refused_by_default_before_connecting(scheme: str) -> None:
    app = EchoApp()

    async def main() -> str:
        async with serve(app) as base, AiohttpTransport(EgressSettings()) as transport:
            url = base.replace("http://", f"{scheme}://") + f"/echo?token={SECRET}"
            with pytest.raises(EgressRefused) as caught:
                await transport.send(HttpRequest("GET", url))
            return str(caught.value)

    message = run(main())
    assert app.hits == 0
    assert f"{scheme}://127.0.0.1:" in message
    assert SECRET not in message and "/echo" not in message
    assert "STEPLINE_HTTP_ALLOW=127.0.0.1:" in message


def test_a_name_resolving_to_loopback_is_refused_by_default() -> None:
    # The check runs on the resolved addresses, the ones the connection would go to.
    app = EchoApp()

    async def main() -> str:
        async with serve(app) as base, AiohttpTransport(EgressSettings()) as transport:
            url = base.replace("http://127.0.0.1", "https://localhost") + "/echo"
            with pytest.raises(EgressRefused) as caught:
                await transport.send(HttpRequest("GET", url))
            return str(caught.value)

    message = run(main())
    assert app.hits == 0
    assert "https://localhost:" in message
    assert "a loopback address" in message and "resolves to" in message


def test_a_name_is_allowed_by_its_addresses_or_by_a_host_rule() -> None:
    app = EchoApp()

    async def main() -> None:
        async with serve(app) as base:
            url = base.replace("127.0.0.1", "localhost") + "/echo"
            for allow in ("127.0.0.0/8,::1", "localhost"):
                settings = EgressSettings(allow=parse_allow(allow))
                async with AiohttpTransport(settings) as transport:
                    echoed(await transport.send(HttpRequest("GET", url)))

    run(main())
    assert app.hits == 2


def test_a_port_rule_allows_only_that_port() -> None:
    app = EchoApp()

    async def main() -> None:
        async with serve(app) as base:
            port = int(base.rsplit(":", 1)[1])
            settings = EgressSettings(allow=parse_allow(f"127.0.0.1:{port + 1}"))
            async with AiohttpTransport(settings) as transport:
                with pytest.raises(EgressRefused):
                    await transport.send(HttpRequest("GET", f"{base}/echo"))
            settings = EgressSettings(allow=parse_allow(f"127.0.0.1:{port}"))
            async with AiohttpTransport(settings) as transport:
                echoed(await transport.send(HttpRequest("GET", f"{base}/echo")))

    run(main())
    assert app.hits == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "/relative/path",
        "http://127.1/",
        "http://2130706433/",
        f"http://user:{SECRET}@127.0.0.1/",
    ],
)
def test_unusable_urls_are_refused_without_quoting_them(url: str) -> None:
    async def main() -> str:
        async with AiohttpTransport(LOOPBACK) as transport:
            with pytest.raises(EgressRefused) as caught:
                await transport.send(HttpRequest("GET", url))
            return str(caught.value)

    message = run(main())
    assert SECRET not in message
    assert "/etc/passwd" not in message and "/relative" not in message


def test_request_headers_go_out_exactly_as_given() -> None:
    app = EchoApp()
    headers = (
        ("X-Trace", "t-1"),
        ("User-Agent", "Amazon|StepFunctions|HttpInvoke|us-east-1"),
        ("Range", "bytes=0-262144"),
        ("x-dup", "first"),
        ("X-Dup", "second"),
        ("Content-Type", "application/json; charset=UTF-8"),
    )

    async def main() -> tuple[dict[str, object], dict[str, object]]:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            posted = await transport.send(HttpRequest("POST", f"{base}/echo", headers, b'{"a":1}'))
            got = await transport.send(HttpRequest("GET", f"{base}/echo"))
            return echoed(posted), echoed(got)

    posted, got = run(main())
    sent = [(name.lower(), value) for name, value in posted["headers"]]  # type: ignore[union-attr]
    port = posted["headers"][0][1].rsplit(":", 1)[1]  # type: ignore[index]
    assert sent == [
        ("host", f"127.0.0.1:{port}"),
        ("x-trace", "t-1"),
        ("user-agent", "Amazon|StepFunctions|HttpInvoke|us-east-1"),
        ("range", "bytes=0-262144"),
        ("x-dup", "first"),
        ("x-dup", "second"),
        ("content-type", "application/json; charset=UTF-8"),
        ("content-length", "7"),
    ]
    assert posted["body"] == '{"a":1}'
    # Nothing added on a bare GET: no Accept, Accept-Encoding, User-Agent or Content-Type.
    assert [name.lower() for name, _ in got["headers"]] == ["host"]  # type: ignore[union-attr]


def test_redirects_are_returned_not_followed() -> None:
    app = EchoApp()

    async def main() -> HttpResponse:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            return await transport.send(HttpRequest("GET", f"{base}/redirect"))

    response = run(main())
    assert response.status == 302
    assert response.reason == "Found"
    assert ("Location", "/echo?from=redirect") in response.headers
    assert app.hits == 1


def test_repeated_response_headers_keep_their_order_and_cookies_are_not_kept() -> None:
    app = EchoApp()

    async def main() -> tuple[HttpResponse, dict[str, object]]:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            multi = await transport.send(HttpRequest("GET", f"{base}/multi"))
            after = await transport.send(HttpRequest("GET", f"{base}/echo"))
            return multi, echoed(after)

    multi, after = run(main())
    repeated = [(n, v) for n, v in multi.headers if n in ("X-Multi", "Set-Cookie")]
    assert repeated == [
        ("X-Multi", "one"),
        ("Set-Cookie", "a=1; Path=/"),
        ("X-Multi", "two"),
        ("Set-Cookie", "b=2; Path=/"),
    ]
    assert all(name.lower() != "cookie" for name, _ in after["headers"])  # type: ignore[union-attr]


@pytest.mark.parametrize("route", ["bytes", "stream"])
def test_response_window_truncates_without_reading_the_rest(route: str) -> None:
    app = EchoApp()
    window = 1000
    settings = EgressSettings(allow=LOOPBACK.allow, response_window_bytes=window)

    async def main() -> list[HttpResponse]:
        async with serve(app) as base, AiohttpTransport(settings) as transport:
            return [
                await transport.send(HttpRequest("GET", f"{base}/{route}/{size}"))
                for size in (window + 10, window, 0, 5 * 1024 * 1024)
            ]

    over, exact, empty, huge = run(main())
    assert over.truncated and len(over.body) == window
    assert not exact.truncated and len(exact.body) == window
    assert not empty.truncated and empty.body == b""
    assert huge.truncated and len(huge.body) == window


def test_timeout_gives_egress_timeout() -> None:
    app = EchoApp()

    async def main() -> str:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            with pytest.raises(EgressTimeout) as caught:
                await transport.send(HttpRequest("GET", f"{base}/sleep?k={SECRET}"), timeout=0.3)
            return str(caught.value)

    message = run(main())
    assert "within 0.3 seconds" in message and "http://127.0.0.1:" in message
    assert SECRET not in message


def test_connection_refused_is_a_safe_egress_failed() -> None:
    port = closed_port()

    async def main() -> EgressFailed:
        async with AiohttpTransport(LOOPBACK) as transport:
            with pytest.raises(EgressFailed) as caught:
                await transport.send(
                    HttpRequest(
                        "POST",
                        f"http://127.0.0.1:{port}/v1/charge?api_key={SECRET}",
                        (("Authorization", f"Bearer {SECRET}"),),
                        SECRET.encode(),
                    )
                )
            return caught.value

    error = run(main())
    assert str(error) == f"Could not connect to http://127.0.0.1:{port}: connection refused."
    assert error.__cause__ is None and error.__suppress_context__


def test_response_bodies_are_not_decompressed() -> None:
    app = EchoApp()

    async def main() -> HttpResponse:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            return await transport.send(HttpRequest("GET", f"{base}/gzip"))

    response = run(main())
    assert ("Content-Encoding", "gzip") in response.headers
    assert gzip.decompress(response.body) == b'{"compressed":true}'


@pytest.mark.parametrize(
    ("status_line", "status", "reason"),
    [
        (b"HTTP/1.1 404 \r\n", 404, "Not Found"),
        (b"HTTP/1.1 299 \r\n", 299, ""),
        (b"HTTP/1.1 200 Fine Thanks\r\n", 200, "Fine Thanks"),
        (b"HTTP/1.0 503 \r\n", 503, "Service Unavailable"),
    ],
)
def test_reason_phrase_is_the_servers_or_the_standard_one(
    status_line: bytes, status: int, reason: str
) -> None:
    async def main() -> HttpResponse:
        reply = status_line + b"Content-Length: 2\r\nConnection: close\r\n\r\nhi"
        async with serve_raw(lambda head: reply) as base, AiohttpTransport(LOOPBACK) as transport:
            return await transport.send(HttpRequest("GET", f"{base}/"))

    response = run(main())
    assert (response.status, response.reason, response.body) == (status, reason, b"hi")
    assert response.http_version == status_line[5:8].decode()


def test_malformed_or_missing_responses_never_echo_the_request() -> None:
    async def main() -> list[str]:
        messages = []
        async with AiohttpTransport(LOOPBACK) as transport:
            for answer in (lambda head: b"GARBAGE " + head, lambda head: None):
                async with serve_raw(answer) as base:
                    with pytest.raises(EgressFailed) as caught:
                        await transport.send(
                            HttpRequest("GET", f"{base}/x?k={SECRET}", (("X-Api-Key", SECRET),))
                        )
                    messages.append(str(caught.value))
        return messages

    garbage, closed = run(main())
    assert "could not be parsed" in garbage
    assert "closed the connection" in closed
    for message in (garbage, closed):
        assert SECRET not in message and "http://127.0.0.1:" in message


def test_header_injection_is_refused_without_quoting_the_value() -> None:
    app = EchoApp()

    async def main() -> str:
        async with serve(app) as base, AiohttpTransport(LOOPBACK) as transport:
            with pytest.raises(EgressFailed) as caught:
                await transport.send(
                    HttpRequest("GET", f"{base}/echo", (("X-Key", f"{SECRET}\r\nX-Evil: 1"),))
                )
            return str(caught.value)

    message = run(main())
    assert "'X-Key'" in message and SECRET not in message
    assert app.hits == 0


def test_one_transport_serves_many_event_loops_cleanly() -> None:
    transport = AiohttpTransport(LOOPBACK)
    apps: list[EchoApp] = []

    async def once() -> None:
        apps.append(EchoApp())  # an aiohttp.web app belongs to one loop
        async with serve(apps[-1]) as base:
            echoed(await transport.send(HttpRequest("GET", f"{base}/echo")))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            run(once())
        run(transport.aclose())
        gc.collect()
    assert [app.hits for app in apps] == [1, 1, 1]
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def test_transport_satisfies_the_protocol() -> None:
    transport: Transport = AiohttpTransport(LOOPBACK)
    run(transport.aclose())
