"""Scale-out: executions per second with 1, 2 and 4 ``stepline worker`` processes on one database.

Run: ``python benchmarks/bench_workers.py [--database URL] [--io-count 600] [--cpu-count 300]``

The database is PostgreSQL — ``--database``, else ``STEPLINE_TEST_POSTGRES_URL`` — each
configuration in a fresh schema (``?schema=``); without one (or with ``--database sqlite``) a
fresh SQLite file per configuration, for comparison. For each workload and worker count:

1. one ``stepline serve --no-worker`` process takes ``count`` executions (StartExecution; no
   worker is up, so they queue);
2. N ``stepline worker`` processes start together; the clock starts when the last of them is
   ready (T0), so that no worker's start-up competes with the measured work;
3. throughput = executions that ended after T0 / (last ``stopDate`` - T0).

Workloads:

- I/O-bound: 3 HTTP Tasks in sequence against a local server (this process, 127.0.0.1) that
  answers after 20 ms — time spent waiting, which more workers overlap.
- CPU-bound: a chain of 40 Pass states — the engine, the commits and the database round trips
  are all CPU work on this machine's cores, which the workers, the API process, PostgreSQL and
  this process share (read the ratios with the core count printed in the same run).

Each worker drives at most ``--worker-concurrency`` executions at once (16 by default): with
stepline's default of 256 a single worker already overlaps all the 20 ms waits of this queue,
and the I/O-bound case turns into a CPU-bound one on a small machine.

Every wait is bounded by a count and by ``--timeout`` seconds per configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench_service import AnnouncedProcess, Client, bounded

ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
WORKER_COUNTS = (1, 2, 4)
_API = re.compile(r"serving AWS Step Functions on http://127\.0\.0\.1:(\d+) ")
_WORKER = "worker running executions"
_START_TIMEOUT = 60.0
_REPLY_DELAY = 0.02


class Process(AnnouncedProcess):
    """A ``stepline`` subprocess (``serve`` or ``worker``) whose announcement is awaited."""

    def __init__(self, args: list[str], env: dict[str, str], phrase: str) -> None:
        super().__init__([sys.executable, "-m", "stepline", *args], env, phrase, _START_TIMEOUT)


class SlowServer:
    """An HTTP server on 127.0.0.1 answering every request after 20 ms (its own thread)."""

    def __init__(self) -> None:
        self.port = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def answer(_request: web.Request) -> web.Response:
            await asyncio.sleep(_REPLY_DELAY)
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        self.loop.run_forever()


def io_definition(url: str, connection_arn: str) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index in range(3):
        states[f"Call{index}"] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {
                "ApiEndpoint": f"{url}/call/{index}",
                "Method": "GET",
                "Authentication": {"ConnectionArn": connection_arn},
            },
            "ResultSelector": {"ok.$": "$.ResponseBody.ok"},
            "ResultPath": f"$.r{index}",
            **({"Next": f"Call{index + 1}"} if index < 2 else {"End": True}),
        }
    return {"StartAt": "Call0", "States": states}


def cpu_definition(length: int = 40) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index in range(length):
        states[f"S{index}"] = {
            "Type": "Pass",
            "Parameters": {"step": index, "value.$": "$.value"},
            "ResultPath": f"$.r{index % 3}",
            **({"Next": f"S{index + 1}"} if index < length - 1 else {"End": True}),
        }
    return {"StartAt": "S0", "States": states}


def database_for(base: str | None, directory: Path, label: str) -> tuple[str, str | None]:
    """The database URL of one configuration, and its PostgreSQL schema (None: SQLite)."""
    if base and base.startswith(("postgresql://", "postgres://")):
        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}schema={schema}", schema
    return f"sqlite:///{directory / f'{label}.db'}", None


def drop_schema(base: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(base.split("?", 1)[0], autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


async def events_call(url: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"AWSEvents.{operation}",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(body), headers=headers) as reply,
    ):
        payload: dict[str, Any] = json.loads(await reply.read())
        if reply.status != 200:
            raise RuntimeError(f"{operation} answered {reply.status}: {payload}")
        return payload


async def run_one(
    workload: str, workers: int, args: argparse.Namespace, server: SlowServer, scratch: Path
) -> dict[str, float]:
    label = f"{workload}{workers}"
    database, schema = database_for(args.database, scratch, label)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEPLINE_", "AWS_"))}
    env.update(
        STEPLINE_DATA_DIR=str(scratch / label),
        STEPLINE_HTTP_ALLOW="127.0.0.0/8",
        STEPLINE_WORKER_CONCURRENCY=str(args.worker_concurrency),
        PYTHONUNBUFFERED="1",
    )
    api = Process(["serve", "--port", "0", "--no-worker", "--database", database], env, "serving")
    match = _API.search(api.announcement)
    assert match is not None
    url = f"http://127.0.0.1:{match.group(1)}/"
    client = Client(url, 32)
    started: list[Process] = []
    try:
        if workload == "io":
            arn = (
                await events_call(
                    url,
                    "CreateConnection",
                    {
                        "Name": "bench",
                        "AuthorizationType": "API_KEY",
                        "AuthParameters": {
                            "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "k"}
                        },
                    },
                )
            )["ConnectionArn"]
            definition = io_definition(f"http://127.0.0.1:{server.port}", arn)
            count = args.io_count
        else:
            definition = cpu_definition()
            count = args.cpu_count
        machine = await client.call(
            "CreateStateMachine",
            {"name": label, "definition": json.dumps(definition), "roleArn": ROLE_ARN},
        )
        machine_arn = machine["stateMachineArn"]

        async def start(index: int) -> None:
            await client.call(
                "StartExecution",
                {"stateMachineArn": machine_arn, "name": f"e{index}", "input": '{"value": 1}'},
            )

        queued, _ = await bounded(count, 32, args.timeout, start)
        processes = await asyncio.gather(
            *(
                asyncio.to_thread(Process, ["worker", "--database", database], env, _WORKER)
                for _ in range(workers)
            )
        )
        started.extend(processes)
        t0 = max(process.announced_at for process in processes)
        # The API closed the starts' keep-alive connections while the workers started.
        await client.close()
        client = Client(url, 4)
        deadline = time.monotonic() + args.timeout
        finished: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            finished = await listing(client, machine_arn, "SUCCEEDED")
            if len(finished) >= queued:
                break
            await asyncio.sleep(0.2)
        stops = [item["stopDate"] for item in finished if item["stopDate"] >= t0]
        span = max(max(stops, default=t0) - t0, 1e-6)
        return {"executions": len(stops), "seconds": span, "rate": len(stops) / span}
    finally:
        await client.close()
        for process in started:
            process.stop()
        api.stop()
        if schema is not None:
            drop_schema(args.database, schema)


async def listing(client: Client, machine_arn: str, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    body: dict[str, Any] = {
        "stateMachineArn": machine_arn,
        "statusFilter": status,
        "maxResults": 1000,
    }
    for _ in range(100):
        page = await client.call("ListExecutions", body)
        found.extend(page["executions"])
        if not page.get("nextToken"):
            break
        body["nextToken"] = page["nextToken"]
    return found


async def measure(args: argparse.Namespace) -> None:
    server = SlowServer()
    where = args.database or "SQLite files"
    shown = re.sub(r"://([^:@/]+):[^@]+@", r"://\1:***@", where)
    print(
        f"bench_workers: {os.cpu_count()} cores; database {shown}; "
        f"{args.worker_concurrency} executions at once per worker"
    )
    with tempfile.TemporaryDirectory(prefix="stepline-bench-workers-") as scratch:
        for workload, title in (
            ("io", "I/O-bound (3 HTTP Tasks, 20 ms each)"),
            ("cpu", "CPU-bound (40 Pass states)"),
        ):
            print(f"\n{title}")
            base: float | None = None
            for workers in WORKER_COUNTS:
                result = await run_one(workload, workers, args, server, Path(scratch))
                base = base or result["rate"]
                print(
                    f"  {workers} worker(s): {result['executions']:.0f} executions in "
                    f"{result['seconds']:.2f} s = {result['rate']:.1f}/s "
                    f"(x{result['rate'] / base:.2f} of 1 worker)",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default=os.environ.get("STEPLINE_TEST_POSTGRES_URL"),
        help="postgresql://… (default $STEPLINE_TEST_POSTGRES_URL); 'sqlite' for SQLite files",
    )
    parser.add_argument("--io-count", type=int, default=600, help="I/O-bound executions")
    parser.add_argument("--cpu-count", type=int, default=300, help="CPU-bound executions")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per configuration")
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=16,
        help="executions one worker drives at once (STEPLINE_WORKER_CONCURRENCY; stepline's "
        "default is 256, with which one worker overlaps every wait and the run is CPU-bound "
        "on a small machine)",
    )
    args = parser.parse_args(argv)
    if args.database == "sqlite":
        args.database = None
    asyncio.run(measure(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
