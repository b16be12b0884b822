"""Http1Transport (and, where they should agree, AiohttpTransport) on the wire, against real
servers on 127.0.0.1: request bytes, response framing, reuse, retries, errors, time limits."""

from __future__ import annotations

import asyncio
import json

import pytest
from _egress_kit import SECRET, EchoApp, run, serve
from _http1_kit import RawConn, answer_each, ok, serve_script

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
from stepline.egress._http1 import Http1Transport
from stepline.egress._settings import parse_allow

LOOPBACK = EgressSettings(allow=parse_allow("127.0.0.0/8"))
BOTH = pytest.mark.parametrize("make", [Http1Transport, AiohttpTransport], ids=["http1", "aiohttp"])
TransportType = type[Http1Transport] | type[AiohttpTransport]


def both_but_aiohttp_differs(reason: str) -> pytest.MarkDecorator:
    """Both transports, with AiohttpTransport's known difference marked (strict xfail)."""
    return pytest.mark.parametrize(
        "make",
        [
            Http1Transport,
            pytest.param(AiohttpTransport, marks=pytest.mark.xfail(reason=reason, strict=True)),
        ],
        ids=["http1", "aiohttp"],
    )


def echoed(response: HttpResponse) -> dict[str, object]:
    assert response.status == 200, response
    result: dict[str, object] = json.loads(response.body)
    return result


@BOTH
def test_request_headers_go_out_exactly_as_given(make: TransportType) -> None:
    app = EchoApp()
    headers = (
        ("X-Trace", "t-1"),
        ("User-Agent", "Amazon|StepFunctions|HttpInvoke|us-east-1"),
        ("x-dup", "first"),
        ("X-Dup", "second"),
        ("Content-Type", "application/json; charset=UTF-8"),
    )

    async def main() -> list[dict[str, object]]:
        async with serve(app) as base, make(LOOPBACK) as transport:
            return [
                echoed(
                    await transport.send(HttpRequest("POST", f"{base}/echo?q=1", headers, b"{}"))
                ),
                echoed(await transport.send(HttpRequest("GET", f"{base}/echo"))),
                echoed(await transport.send(HttpRequest("POST", f"{base}/echo"))),
            ]

    posted, got, empty_post = run(main())
    port = posted["headers"][0][1].rsplit(":", 1)[1]  # type: ignore[index]
    if make is AiohttpTransport:
        # aiohttp respells a repeated name like its first occurrence (reported difference).
        posted["headers"][4][0] = "X-Dup"  # type: ignore[index]
    assert posted["headers"] == [
        ["Host", f"127.0.0.1:{port}"],
        *[[name, value] for name, value in headers],
        ["Content-Length", "2"],
    ]
    assert posted["path_qs"] == "/echo?q=1" and posted["body"] == "{}"
    assert got["headers"] == [["Host", f"127.0.0.1:{port}"]]
    # A body-less POST says so: Content-Length: 0.
    assert empty_post["headers"] == [["Host", f"127.0.0.1:{port}"], ["Content-Length", "0"]]


def test_framing_headers_from_the_caller_are_the_transports() -> None:
    app = EchoApp()
    headers = (("Host", "admin.internal"), ("Content-Length", "999"), ("X-A", "1"))

    async def main() -> dict[str, object]:
        async with serve(app) as base, Http1Transport(LOOPBACK) as transport:
            return echoed(await transport.send(HttpRequest("PUT", f"{base}/echo", headers, b"ab")))

    sent = run(main())
    port = sent["headers"][0][1].rsplit(":", 1)[1]  # type: ignore[index]
    assert sent["headers"] == [["Host", f"127.0.0.1:{port}"], ["X-A", "1"], ["Content-Length", "2"]]


@BOTH
def test_sequential_requests_reuse_one_connection(make: TransportType) -> None:
    async def main() -> int:
        async with serve_script(answer_each) as server, make(LOOPBACK) as transport:
            for _ in range(5):
                response = await transport.send(HttpRequest("GET", f"{server.url}/x"))
                assert (response.status, response.body) == (200, b"ok")
            return server.connections

    assert run(main()) == 1


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
)
UNTIL_CLOSE = b"HTTP/1.1 200 OK\r\nX-Kind: until-close\r\n\r\nhello world"
HTTP10 = b"HTTP/1.0 200 OK\r\n\r\nhello world"


@BOTH
@pytest.mark.parametrize(
    ("reply", "reused"),
    [(ok(b"hello world"), True), (CHUNKED, True), (UNTIL_CLOSE, False), (HTTP10, False)],
    ids=["content-length", "chunked", "until-close", "http-1.0"],
)
def test_body_framings(make: TransportType, reply: bytes, reused: bool) -> None:
    async def script(conn: RawConn) -> None:
        await answer_each(conn, reply, limit=1 if reply in (UNTIL_CLOSE, HTTP10) else 10)

    async def main() -> tuple[list[HttpResponse], int]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            responses = [await transport.send(HttpRequest("GET", server.url)) for _ in range(2)]
            return responses, server.connections

    responses, connections = run(main())
    assert [r.body for r in responses] == [b"hello world"] * 2
    assert connections == (1 if reused else 2)


@BOTH
def test_connection_close_is_honoured(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        await conn.request()
        # Stays open after the response: only the header says not to reuse it.
        await conn.write(ok(b"bye", b"Connection: close\r\n"))
        await conn.closed_by_client()

    async def main() -> int:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            for _ in range(3):
                assert (await transport.send(HttpRequest("GET", server.url))).body == b"bye"
            return server.connections

    assert run(main()) == 3


@BOTH
def test_head_and_no_content_responses_have_no_body(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        for _ in range(10):
            request = await conn.request()
            if request is None:
                return
            if request[0].startswith(b"HEAD"):
                # Announces a body it does not send, as HEAD responses do.
                await conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
            else:
                await conn.write(b"HTTP/1.1 204 No Content\r\n\r\n")

    async def main() -> list[HttpResponse]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            return [
                await transport.send(HttpRequest(method, server.url), timeout=5)
                for method in ("HEAD", "DELETE", "HEAD", "GET")
            ]

    responses = run(main())
    assert [(r.status, r.body) for r in responses] == [
        (200, b""),
        (204, b""),
        (200, b""),
        (204, b""),
    ]
    assert ("Content-Length", "1234") in responses[0].headers


@BOTH
def test_interim_responses_are_skipped(make: TransportType) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"

    async def main() -> HttpResponse:
        async with (
            serve_script(lambda conn: answer_each(conn, interim + ok(b"final"))) as server,
            make(LOOPBACK) as transport,
        ):
            return await transport.send(HttpRequest("POST", server.url, body=b"x"))

    response = run(main())
    assert (response.status, response.reason, response.body) == (200, "OK", b"final")
    assert all(name != "Link" for name, _ in response.headers)


@both_but_aiohttp_differs("aiohttp reuses the connection when the whole body was buffered")
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_window_truncates_and_the_connection_is_not_reused(
    make: TransportType, framing: str
) -> None:
    window = 1000
    big = b"z" * 50_000
    if framing == "chunked":
        reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            len(big),
            big,
        )
    else:
        reply = ok(big)
    settings = EgressSettings(allow=LOOPBACK.allow, response_window_bytes=window)

    async def main() -> tuple[list[HttpResponse], int]:
        async with (
            serve_script(lambda conn: answer_each(conn, reply)) as server,
            make(settings) as transport,
        ):
            responses = [await transport.send(HttpRequest("GET", server.url)) for _ in range(2)]
            return responses, server.connections

    responses, connections = run(main())
    assert all(r.truncated and r.body == b"z" * window for r in responses)
    assert connections == 2


@BOTH
def test_an_idle_connection_closed_by_the_server_is_dropped(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        await answer_each(conn, limit=1)  # then closes, while the client holds it idle

    async def main() -> int:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            for _ in range(3):
                assert (await transport.send(HttpRequest("GET", server.url))).status == 200
                await asyncio.sleep(0.05)  # the client notices the close while idle
            return server.connections

    assert run(main()) == 3


@BOTH
def test_a_request_lost_on_a_reused_connection_is_sent_again_once(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        if conn.index == 1:
            await answer_each(conn, limit=1)
            await conn.request()  # the second request arrives, and the server hangs up
            return
        await answer_each(conn)

    async def main() -> tuple[list[int], int, int]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            statuses = [
                (await transport.send(HttpRequest("GET", f"{server.url}/{i}"))).status
                for i in range(3)
            ]
            return statuses, server.connections, len(server.requests)

    statuses, connections, requests = run(main())
    assert statuses == [200, 200, 200]
    assert connections == 2
    assert requests == 4  # /1 twice: once lost, once answered


def test_http1_sends_a_lost_post_again_on_a_new_connection() -> None:
    # Documented choice: nothing of the response arrived on a reused connection, so the server
    # closed it as the request went out (any method, like GET above).
    async def script(conn: RawConn) -> None:
        if conn.index == 1:
            await answer_each(conn, limit=1)
            await conn.request()
            return
        await answer_each(conn)

    async def main() -> int:
        async with serve_script(script) as server, Http1Transport(LOOPBACK) as transport:
            for _ in range(2):
                response = await transport.send(HttpRequest("POST", server.url, body=b"{}"))
                assert response.status == 200
            return server.connections

    assert run(main()) == 2


@both_but_aiohttp_differs("aiohttp sends the request again after a fresh connection's failure")
def test_a_fresh_connection_failing_is_not_retried(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        await conn.request()  # and hang up without a word

    async def main() -> tuple[str, int]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            with pytest.raises(EgressFailed) as caught:
                await transport.send(HttpRequest("GET", f"{server.url}/?k={SECRET}"))
            return str(caught.value), len(server.requests)

    message, requests = run(main())
    assert requests == 1
    assert "closed the connection without a complete response" in message
    assert SECRET not in message


@BOTH
def test_a_reset_mid_response_fails_and_is_not_retried(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        if conn.index == 1:
            await answer_each(conn, limit=1)  # the connection is now a reused one
        await conn.request()
        await conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        conn.writer.transport.abort()

    async def main() -> tuple[str, int]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            await transport.send(HttpRequest("GET", server.url))
            with pytest.raises(EgressFailed) as caught:
                await transport.send(HttpRequest("GET", f"{server.url}/?k={SECRET}"))
            return str(caught.value), len(server.requests)

    message, requests = run(main())
    assert requests == 2
    assert f"{'http://127.0.0.1:'}" in message and SECRET not in message


@BOTH
def test_timeout_gives_egress_timeout_and_closes_the_connection(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        await conn.request()
        conn.server.client_closed.append(await conn.closed_by_client())

    async def main() -> tuple[str, list[int]]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            with pytest.raises(EgressTimeout) as caught:
                await transport.send(HttpRequest("GET", f"{server.url}/?k={SECRET}"), timeout=0.3)
            for _ in range(100):
                if server.client_closed:
                    break
                await asyncio.sleep(0.02)
            return str(caught.value), server.client_closed

    message, closed = run(main())
    assert "did not complete within 0.3 seconds" in message and SECRET not in message
    assert closed == [True]


@BOTH
def test_cancellation_closes_the_connection_and_propagates(make: TransportType) -> None:
    async def script(conn: RawConn) -> None:
        await conn.request()
        conn.server.client_closed.append(await conn.closed_by_client())

    async def main() -> list[int]:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            task = asyncio.ensure_future(transport.send(HttpRequest("GET", server.url)))
            for _ in range(100):
                if server.requests:
                    break
                await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(100):
                if server.client_closed:
                    break
                await asyncio.sleep(0.02)
            return server.client_closed

    assert run(main()) == [True]


@BOTH
@pytest.mark.parametrize(
    "reply",
    [b"GARBAGE\r\n\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ids=["status-line", "chunk"],
)
def test_malformed_responses_fail_safely(make: TransportType, reply: bytes) -> None:
    async def main() -> str:
        async with (
            serve_script(lambda conn: answer_each(conn, reply)) as server,
            make(LOOPBACK) as transport,
        ):
            with pytest.raises(EgressFailed) as caught:
                await transport.send(HttpRequest("GET", f"{server.url}/?k={SECRET}"))
            return str(caught.value)

    message = run(main())
    assert "http://127.0.0.1:" in message and SECRET not in message


@BOTH
@pytest.mark.parametrize(
    ("status_line", "status", "reason"),
    [
        (b"HTTP/1.1 404 \r\n", 404, "Not Found"),
        (b"HTTP/1.1 299 \r\n", 299, ""),
        (b"HTTP/1.1 200 Fine Thanks\r\n", 200, "Fine Thanks"),
        (b"HTTP/1.0 503 \r\n", 503, "Service Unavailable"),
    ],
)
def test_reason_phrase_and_version(
    make: TransportType, status_line: bytes, status: int, reason: str
) -> None:
    reply = status_line + b"Content-Length: 2\r\nX-Pad:  v \r\n\r\nhi"

    async def main() -> HttpResponse:
        async with (
            serve_script(lambda conn: answer_each(conn, reply)) as server,
            make(LOOPBACK) as transport,
        ):
            return await transport.send(HttpRequest("GET", server.url))

    response = run(main())
    assert (response.status, response.reason, response.body) == (status, reason, b"hi")
    assert response.http_version == status_line[5:8].decode()
    assert ("X-Pad", "v") in response.headers


@BOTH
def test_a_large_request_body_arrives_whole(make: TransportType) -> None:
    body = bytes(range(256)) * 2000  # 512 KB, written in more than one piece

    async def script(conn: RawConn) -> None:
        request = await conn.request()
        assert request is not None
        await conn.write(
            ok(str(len(request[1])).encode() + b" " + str(request[1] == body).encode())
        )

    async def main() -> bytes:
        async with serve_script(script) as server, make(LOOPBACK) as transport:
            return (await transport.send(HttpRequest("PUT", server.url, body=body))).body

    assert run(main()) == b"512000 True"


@BOTH
@pytest.mark.parametrize(
    "headers",
    [
        (("X-Key", f"{SECRET}\r\nX-Evil: 1"),),
        (("X-Key", f"{SECRET}\nX-Evil: 1"),),
        (("X-Key", f"{SECRET}\0"),),
    ],
    ids=["crlf", "lf", "nul"],
)
def test_header_injection_is_refused_without_quoting_the_value(
    make: TransportType, headers: tuple[tuple[str, str], ...]
) -> None:
    async def main() -> tuple[str, int]:
        async with serve_script(answer_each) as server, make(LOOPBACK) as transport:
            with pytest.raises(EgressFailed) as caught:
                await transport.send(HttpRequest("GET", server.url, headers))
            return str(caught.value), len(server.requests)

    message, requests = run(main())
    assert requests == 0
    assert SECRET not in message and "http://127.0.0.1:" in message


@both_but_aiohttp_differs("aiohttp sends a header name that is not an HTTP token")
@pytest.mark.parametrize("name", ["X-Bad:Name", "X Bad", "", "X-\u00e9"])
def test_header_names_must_be_tokens(make: TransportType, name: str) -> None:
    async def main() -> tuple[str, int]:
        async with serve_script(answer_each) as server, make(LOOPBACK) as transport:
            with pytest.raises(EgressFailed) as caught:
                await transport.send(HttpRequest("GET", server.url, ((name, SECRET),)))
            return str(caught.value), len(server.requests)

    message, requests = run(main())
    assert requests == 0 and SECRET not in message


@pytest.mark.parametrize("bad", ["\r\nX-Evil: 1", "\n", "\0", "\t"])
def test_control_characters_in_the_url_are_refused(bad: str) -> None:
    async def main() -> tuple[str, int]:
        async with serve_script(answer_each) as server, Http1Transport(LOOPBACK) as transport:
            with pytest.raises(EgressRefused) as caught:
                await transport.send(HttpRequest("GET", f"{server.url}/a{bad}?k={SECRET}"))
            return str(caught.value), len(server.requests)

    message, requests = run(main())
    assert requests == 0 and SECRET not in message
    assert "control character" in message


def test_urls_are_sent_as_given_and_encoded_where_they_must_be() -> None:
    async def main() -> list[bytes]:
        async with serve_script(answer_each) as server, Http1Transport(LOOPBACK) as transport:
            for tail in ("/a/b?x=1&y=%2F#frag", "?only=query", "", "/é ü?q=a b", "/100%/x"):
                await transport.send(HttpRequest("GET", server.url + tail))
            return [head.split(b"\r\n", 1)[0] for head in server.requests]

    assert run(main()) == [
        b"GET /a/b?x=1&y=%2F HTTP/1.1",
        b"GET /?only=query HTTP/1.1",
        b"GET / HTTP/1.1",
        b"GET /%C3%A9%20%C3%BC?q=a%20b HTTP/1.1",
        b"GET /100%25/x HTTP/1.1",
    ]


@BOTH
@pytest.mark.parametrize(
    ("url", "allow", "phrase"),
    [
        ("http://127.0.0.1:{port}/", "", "plain http:// is allowed only"),
        ("https://127.0.0.1:{port}/", "", "a loopback address"),
        ("https://localhost:{port}/", "", "resolves to"),
        ("http://192.0.2.10:{port}/", "127.0.0.0/8", "plain http:// is allowed only"),
        ("https://169.254.169.254/", "", "cloud metadata"),
        ("ftp://127.0.0.1:{port}/", "127.0.0.0/8", "not supported"),
        ("http://127.1:{port}/", "127.0.0.0/8", "neither a host name"),
        (f"http://user:{SECRET}@127.0.0.1:{{port}}/", "127.0.0.0/8", "user information"),
    ],
)
def test_refused_destinations_are_refused_before_connecting(
    make: TransportType, url: str, allow: str, phrase: str
) -> None:
    settings = EgressSettings(allow=parse_allow(allow))

    async def main() -> tuple[str, int]:
        async with serve_script(answer_each) as server, make(settings) as transport:
            port = server.url.rsplit(":", 1)[1]
            with pytest.raises(EgressRefused) as caught:
                await transport.send(HttpRequest("GET", url.format(port=port) + f"?k={SECRET}"))
            return str(caught.value), server.connections

    message, connections = run(main())
    assert connections == 0
    assert phrase in message and SECRET not in message


def test_transport_satisfies_the_protocol() -> None:
    transport: Transport = Http1Transport(LOOPBACK)
    run(transport.aclose())
