"""HTTP Task throughput against a local server, next to a raw aiohttp client in the same run.

Run: ``python benchmarks/bench_http.py [--requests 3000] [--concurrency 1,10,100]``

A small aiohttp.web server runs in a separate process on 127.0.0.1 and answers every request
with a short JSON body (so this measures the client side; the server has its own core). For
each concurrency level the script measures, in one run:

  raw       an aiohttp ``ClientSession`` loop: the same request, ``concurrency`` at a time
  stepline  N executions of a one-state workflow whose HTTP Task makes that request through an
            API-key connection, ``concurrency`` executions at a time in one event loop (the
            whole engine: start, history, request building, the egress guard, response
            mapping), on stepline's default transport (``Http1Transport``)
  on-aiohttp  the same executions with ``AiohttpTransport`` instead

and prints requests/s for each and their ratios to raw (issue #4's target: stepline at least 0.8
of raw at concurrency 100). Every side uses the default asyncio event loop. Every loop is
bounded by its request count and by ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web

from stepline import StateMachine
from stepline.connections import Connections
from stepline.egress import AiohttpTransport, EgressSettings, Http1Transport, Transport
from stepline.tasks import HttpTask

BODY = b'{"id":"ord_42","ok":true,"items":[1,2,3]}'


def _serve(port: int, ready: Any) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _bounded(count: int, concurrency: int, max_seconds: float, one: Any) -> float:
    """Run ``one()`` ``count`` times, ``concurrency`` at a time; return requests/s."""
    deadline = time.perf_counter() + max_seconds
    done = 0

    async def worker(share: int) -> None:
        nonlocal done
        for _ in range(share):
            if time.perf_counter() > deadline:
                return
            await one()
            done += 1

    shares = [
        count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)
    ]
    started = time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    return done / (time.perf_counter() - started)


async def raw_client(url: str, count: int, concurrency: int, max_seconds: float) -> float:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}

        async def one() -> None:
            async with session.post(
                url, data=b'{"sku":"A-1","qty":1}', headers=headers
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"unexpected status {response.status}")

        await _bounded(concurrency, concurrency, max_seconds, one)  # warm the pool
        return await _bounded(count, concurrency, max_seconds, one)


def http_machine(url: str, transport: type[Transport]) -> tuple[StateMachine, HttpTask]:
    connections = Connections()
    arn = connections.create_api_key("Bench", "Authorization", "Bearer bench-key")
    settings = EgressSettings.from_env({"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"})
    http = HttpTask(connections, transport=transport(settings), settings=settings)  # type: ignore[call-arg]
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint": url,
                    "Method": "POST",
                    "InvocationConfig": {"ConnectionArn": arn},
                    "RequestBody": {"sku.$": "$.sku", "qty": 1},
                },
                "ResultSelector": {"id.$": "$.ResponseBody.id"},
                "End": True,
            }
        },
    }
    return StateMachine(definition, tasks={"arn:aws:states:::http:invoke": http}), http


async def stepline_client(
    url: str, count: int, concurrency: int, max_seconds: float, transport: type[Transport]
) -> float:
    machine, http = http_machine(url, transport)

    async def one() -> None:
        result = await machine.run_async({"sku": "A-1"})
        if result.status != "SUCCEEDED":
            raise RuntimeError(f"execution {result.status}: {result.error} {result.cause}")

    try:
        await _bounded(concurrency, concurrency, max_seconds, one)  # warm the pool
        return await _bounded(count, concurrency, max_seconds, one)
    finally:
        await http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--concurrency", default="1,10,100", help="comma-separated levels")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per level")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per measurement")
    args = parser.parse_args()
    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    server.start()
    if not ready.wait(15):
        sys.exit("the benchmark server did not start")
    url = f"http://127.0.0.1:{port}/v1/orders"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; server in pid {server.pid}")
    print(
        f"{'concurrency':>11} {'raw req/s':>10} {'stepline':>9} {'ratio':>6} "
        f"{'on-aiohttp':>11} {'ratio':>6}"
    )
    try:
        for level in (int(x) for x in args.concurrency.split(",")):
            raw: list[float] = []
            ours: list[float] = []
            on_aiohttp: list[float] = []
            for _ in range(args.rounds):
                # Alternate, so drift in the machine's speed hits every side alike.
                raw.append(asyncio.run(raw_client(url, args.requests, level, args.max_seconds)))
                ours.append(
                    asyncio.run(
                        stepline_client(url, args.requests, level, args.max_seconds, Http1Transport)
                    )
                )
                on_aiohttp.append(
                    asyncio.run(
                        stepline_client(
                            url, args.requests, level, args.max_seconds, AiohttpTransport
                        )
                    )
                )
            best_raw, best_ours, best_aiohttp = max(raw), max(ours), max(on_aiohttp)
            print(
                f"{level:>11} {best_raw:>10,.0f} {best_ours:>9,.0f} {best_ours / best_raw:>6.2f} "
                f"{best_aiohttp:>11,.0f} {best_aiohttp / best_raw:>6.2f}"
            )
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
