"""Http1Transport's pool and TLS against real servers on 127.0.0.1: the per-host cap, many
concurrent requests, several event loops in turn, idle expiry, TLS and mutual TLS."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest
from _egress_kit import SECRET, EchoApp, run, serve
from _http1_kit import RawConn, answer_each, ok, serve_script

from stepline._secret import Secret
from stepline.egress import (
    AiohttpTransport,
    EgressFailed,
    EgressRefused,
    EgressSettings,
    HttpRequest,
    HttpResponse,
    TlsOptions,
)
from stepline.egress._http1 import Http1Transport
from stepline.egress._settings import parse_allow
from support.tls import ServerFiles, TestCA

LOOPBACK = EgressSettings(allow=parse_allow("127.0.0.0/8,localhost"))
BOTH = pytest.mark.parametrize("make", [Http1Transport, AiohttpTransport], ids=["http1", "aiohttp"])
TransportType = type[Http1Transport] | type[AiohttpTransport]


async def slow_answers(conn: RawConn) -> None:
    for _ in range(1000):
        request = await conn.request()
        if request is None:
            return
        await asyncio.sleep(0.01)  # hold the connection, so that requests pile up
        path = request[0].split(b" ", 2)[1]
        await conn.write(ok(path))


@BOTH
def test_the_per_host_cap_holds_and_waiters_all_get_served(make: TransportType) -> None:
    settings = EgressSettings(allow=LOOPBACK.allow, max_connections_per_host=3)

    async def main() -> tuple[list[bytes], int, int]:
        async with serve_script(slow_answers) as server, make(settings) as transport:
            responses = await asyncio.gather(
                *(transport.send(HttpRequest("GET", f"{server.url}/{i}")) for i in range(30))
            )
            return [r.body for r in responses], server.most_open, server.connections

    bodies, most_open, connections = run(main())
    assert bodies == [f"/{i}".encode() for i in range(30)]
    assert most_open <= 3 and connections <= 3


@BOTH
def test_many_concurrent_requests_are_all_answered_correctly(make: TransportType) -> None:
    settings = EgressSettings(allow=LOOPBACK.allow, max_connections_per_host=100)

    async def echo_path(conn: RawConn) -> None:
        for _ in range(1000):
            request = await conn.request()
            if request is None:
                return
            await conn.write(ok(request[0].split(b" ", 2)[1] + b"|" + request[1]))

    async def main() -> tuple[list[HttpResponse], int]:
        async with serve_script(echo_path) as server, make(settings) as transport:
            gate = asyncio.Semaphore(100)

            async def one(i: int) -> HttpResponse:
                async with gate:
                    return await transport.send(
                        HttpRequest("POST", f"{server.url}/{i}", body=str(i * 7).encode())
                    )

            responses = await asyncio.gather(*(one(i) for i in range(500)))
            return responses, server.most_open

    responses, most_open = run(main(), limit=60)
    assert [r.body for r in responses] == [f"/{i}|{i * 7}".encode() for i in range(500)]
    assert most_open <= 100


@BOTH
def test_one_transport_serves_several_event_loops_in_turn(make: TransportType) -> None:
    transport = make(LOOPBACK)
    apps: list[EchoApp] = []

    async def once() -> None:
        apps.append(EchoApp())
        async with serve(apps[-1]) as base:
            for _ in range(2):
                assert (await transport.send(HttpRequest("GET", f"{base}/echo"))).status == 200

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            run(once())
        run(transport.aclose())
        gc.collect()
    assert [app.hits for app in apps] == [2, 2, 2]
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_loop_closed_by_hand_leaves_no_open_socket_behind() -> None:
    transport = Http1Transport(LOOPBACK)
    seen: list[bool] = []

    async def script(conn: RawConn) -> None:
        await answer_each(conn, limit=1)
        seen.append(await conn.closed_by_client())

    async def server_side() -> None:
        async with serve_script(script) as server:
            # The client runs on a loop of its own, in a thread, closed without asyncio.run.
            def client() -> None:
                loop = asyncio.new_event_loop()
                loop.run_until_complete(transport.send(HttpRequest("GET", server.url)))
                loop.close()

            await asyncio.to_thread(client)
            # A later loop notices the dead one and closes its socket.
            await transport.send(HttpRequest("GET", server.url))
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.02)
            await transport.aclose()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the dead loop's transport object
        run(server_side())
        gc.collect()
    assert seen[:1] == [True]


def test_idle_connections_are_closed_after_the_idle_time() -> None:
    async def script(conn: RawConn) -> None:
        await answer_each(conn, limit=1)
        conn.server.client_closed.append(await conn.closed_by_client())

    async def main() -> tuple[list[int], int]:
        async with (
            serve_script(script) as server,
            Http1Transport(LOOPBACK, idle_seconds=0.2) as transport,
        ):
            await transport.send(HttpRequest("GET", server.url))
            for _ in range(100):
                if server.client_closed:
                    break
                await asyncio.sleep(0.02)
            closed = list(server.client_closed)
            await transport.send(HttpRequest("GET", server.url))
            return closed, server.connections

    closed, connections = run(main())
    assert closed == [True] and connections == 2


def test_host_names_resolve_once_and_are_checked_each_time() -> None:
    async def main() -> tuple[int, int]:
        async with serve_script(answer_each) as server:
            url = server.url.replace("127.0.0.1", "localhost")
            async with Http1Transport(LOOPBACK) as transport:
                responses = await asyncio.gather(
                    *(transport.send(HttpRequest("GET", url)) for _ in range(5))
                )
                assert all(r.status == 200 for r in responses)
                cached = len(transport._dns)
            # The same name under https is refused: the cached answer is judged again.
            async with Http1Transport(EgressSettings()) as strict:
                with pytest.raises(EgressRefused):
                    await strict.send(HttpRequest("GET", url.replace("http:", "https:")))
            return cached, len(server.requests)

    assert run(main()) == (1, 5)


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA.create()


@pytest.fixture
def server_files(ca: TestCA, tmp_path: Path) -> ServerFiles:
    return ca.issue_server(tmp_path)


def send_tls(
    make: TransportType, server_ctx: object, tls: TlsOptions | None, *, host: str = ""
) -> tuple[HttpResponse | EgressFailed, EchoApp]:
    app = EchoApp()

    async def main() -> HttpResponse | EgressFailed:
        async with serve(app, server_ctx) as base, make(LOOPBACK) as transport:  # type: ignore[arg-type]
            url = (base.replace("127.0.0.1", host) if host else base) + f"/echo?k={SECRET}"
            try:
                first = await transport.send(HttpRequest("GET", url, tls=tls))
                await transport.send(HttpRequest("GET", url, tls=tls))  # over the same line
                return first
            except EgressFailed as error:
                return error

    return run(main()), app


@BOTH
@pytest.mark.parametrize("host", ["", "localhost"])
def test_tls_with_the_test_ca_trusted(
    make: TransportType, ca: TestCA, server_files: ServerFiles, host: str
) -> None:
    outcome, app = send_tls(
        make, server_files.server_context(), TlsOptions(ca_bundle_pem=ca.cert_pem), host=host
    )
    assert isinstance(outcome, HttpResponse) and outcome.status == 200
    assert app.hits == 2


@BOTH
def test_tls_without_trusting_the_ca_fails_verification(
    make: TransportType, server_files: ServerFiles
) -> None:
    outcome, app = send_tls(make, server_files.server_context(), None)
    assert isinstance(outcome, EgressFailed)
    assert str(outcome).startswith("TLS certificate verification failed for https://127.0.0.1:")
    assert SECRET not in str(outcome) and app.hits == 0


@BOTH
def test_tls_checks_the_name_in_the_url(make: TransportType, ca: TestCA, tmp_path: Path) -> None:
    other = ca.issue_server(tmp_path, dns_names=("api.example.com",), ip_addresses=())
    outcome, _ = send_tls(make, other.server_context(), TlsOptions(ca_bundle_pem=ca.cert_pem))
    assert isinstance(outcome, EgressFailed)
    assert "mismatch" in str(outcome).lower()


@BOTH
def test_mutual_tls(make: TransportType, ca: TestCA, server_files: ServerFiles) -> None:
    server_ctx = server_files.server_context(require_client_cert=True, client_ca_pem=ca.cert_pem)
    without, app = send_tls(make, server_ctx, TlsOptions(ca_bundle_pem=ca.cert_pem))
    assert isinstance(without, EgressFailed) and app.hits == 0
    assert "https://127.0.0.1:" in str(without) and SECRET not in str(without)

    client = ca.issue_client("workflow-client")
    tls = TlsOptions(
        ca_bundle_pem=ca.cert_pem,
        client_cert_pem=client.cert_pem,
        client_key_pem=Secret(client.key_pem),
    )
    with_cert, app = send_tls(make, server_ctx, tls)
    assert isinstance(with_cert, HttpResponse) and with_cert.status == 200
    assert app.peer_common_names == ["workflow-client", "workflow-client"]


def test_connections_are_pooled_per_tls_setting(ca: TestCA, server_files: ServerFiles) -> None:
    app = EchoApp()
    first = TlsOptions(ca_bundle_pem=ca.cert_pem)
    second = TlsOptions(ca_bundle_pem=ca.cert_pem + "\n")

    async def main() -> int:
        async with (
            serve(app, server_files.server_context()) as base,
            Http1Transport(LOOPBACK) as transport,
        ):
            for tls in (first, second, first, second):
                await transport.send(HttpRequest("GET", f"{base}/echo", tls=tls))
            loop_pool = transport._current
            assert loop_pool is not None
            return sum(pool.slots for pool in loop_pool.hosts.values())

    assert run(main()) == 2
