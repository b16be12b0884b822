"""Service throughput and latency: a real ``stepline serve`` process driven over HTTP.

Run: ``python benchmarks/bench_service.py [--seconds 5] [--concurrency 50]``

The server is the ``stepline serve`` command in a subprocess on 127.0.0.1 (a free port) with a
temporary data directory and its SQLite database there (``--database memory://`` to compare).
The load generator is this process: an aiohttp ``ClientSession`` posting AWS JSON 1.0 requests
(``X-Amz-Target: AWSStepFunctions.<Op>``) on keep-alive connections — no boto3, whose own cost
per call (~1 ms) would hide the server's. Both share this machine's cores, so read every figure
next to the baselines printed in the same run.

Measured:

- baseline: DescribeStateMachine req/s at the same concurrency — the API layer's cost for a
  trivial operation (parse, validate, one point read, render); and the engine's in-process rate
  for the same chain (``StateMachine.run``, no service), in transitions/s of one core.
- a. StartSyncExecution/s of a 10-Pass EXPRESS chain at ``--concurrency`` (target ≥ 2,000/s).
- b. StartExecution → terminal latency of a STANDARD 10-Pass chain, one execution at a time:
  measured by the client from sending StartExecution until DescribeExecution (polled back to
  back) answers a terminal status; the server-side span from the history's timestamps
  (``ExecutionStarted`` → ``ExecutionSucceeded``, millisecond resolution) is printed too
  (target p50 ≤ 5 ms).
- c. durable transitions/s on SQLite: ``--durable-count`` STANDARD executions of the chain
  started at ``--concurrency`` (so many are in flight at once); transitions are the states
  entered, counted from every execution's history; the span runs from the first StartExecution
  sent to the last ``ExecutionSucceeded`` timestamp (target ≥ 10,000 transitions/s).

Every loop is bounded by a count and by time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
_ANNOUNCEMENT = re.compile(r"serving AWS Step Functions on http://127\.0\.0\.1:(\d+) ")
_START_TIMEOUT = 30.0
_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def chain_definition(length: int = 10) -> dict[str, Any]:
    """The chain of ``bench_engine.py``: Pass states with Parameters and ResultPath."""
    states: dict[str, Any] = {}
    for index in range(length):
        states[f"S{index}"] = {
            "Type": "Pass",
            "Parameters": {"step": index, "value.$": "$.value", "label": "chain"},
            "ResultPath": f"$.r{index % 3}",
            **({"Next": f"S{index + 1}"} if index < length - 1 else {"End": True}),
        }
    return {"StartAt": "S0", "States": states}


# ------------------------------------------------------------------------------------ server


class AnnouncedProcess:
    """A subprocess whose announcement line (a phrase in its stdout) is awaited.

    Args:
        command: The command line.
        env: Its environment.
        phrase: What the announcement line contains.
        timeout: How long to wait for it.
    """

    def __init__(
        self, command: list[str], env: dict[str, str], phrase: str, timeout: float = _START_TIMEOUT
    ) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._pump, args=(self.process.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, False), daemon=True).start()
        self.announcement = self._wait(phrase, timeout)
        self.announced_at = time.time()

    def _pump(self, stream: Any, to_queue: bool) -> None:
        for line in stream:
            (self.lines.put if to_queue else self.errors.append)(line)
        if to_queue:
            self.lines.put(None)

    def _wait(self, phrase: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            if phrase in line:
                return line
        self.stop()
        raise SystemExit(f"stepline did not start: {''.join(self.errors)[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class ServeProcess(AnnouncedProcess):
    """``stepline serve`` in a subprocess (or, with ``loop``, uvicorn on that event loop)."""

    def __init__(self, data_dir: Path, database: str, loop: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STEPLINE_", "AWS_"))}
        env.update(STEPLINE_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        if loop == "asyncio":
            command = [sys.executable, "-m", "stepline", "serve", "--port", "0"]
            command += ["--database", database]
        else:
            command = [sys.executable, "-c", _UVICORN_SCRIPT, database, loop]
        super().__init__(command, env, "serving AWS Step Functions on")
        match = _ANNOUNCEMENT.search(self.announcement)
        if match is None:
            self.stop()
            raise SystemExit(f"stepline serve announced no port: {self.announcement!r}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}/"


# uvicorn on a chosen event loop (uvloop), serving the same app as `stepline serve`.
_UVICORN_SCRIPT = """
import asyncio, socket, sys
import uvicorn
from stepline.service import ServiceConfig, build_app, open_context

database, loop_name = sys.argv[1], sys.argv[2]
if loop_name == "uvloop":
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

async def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    context = await open_context(ServiceConfig(database_url=database, port=port))
    config = uvicorn.Config(build_app(context), lifespan="on", log_level="warning",
                            access_log=False, http="httptools", backlog=2048)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    print(f"stepline: serving AWS Step Functions on http://127.0.0.1:{port} ({loop_name})",
          flush=True)
    await task

asyncio.run(main())
"""


# ------------------------------------------------------------------------------------ client


class Client:
    """AWS JSON 1.0 over one aiohttp session (keep-alive, up to ``connections`` sockets)."""

    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, force_close=False),
            json_serialize=json.dumps,
        )

    async def close(self) -> None:
        await self.session.close()

    async def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
        }
        async with self.session.post(self.url, data=json.dumps(body), headers=headers) as reply:
            payload = await reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{operation} answered {reply.status}: {payload[:300]!r}")
            result: dict[str, Any] = json.loads(payload) if payload else {}
            return result


async def bounded(
    count: int, concurrency: int, seconds: float, one: Callable[[int], Awaitable[object]]
) -> tuple[int, float]:
    """Run ``one(i)`` for i < ``count`` on ``concurrency`` coroutines, stopping new calls
    after ``seconds``; return (calls done, elapsed seconds)."""
    counter = iter(range(count))
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        for index in counter:
            if time.perf_counter() >= deadline:
                return
            await one(index)
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - began


def engine_rate(seconds: float) -> float:
    """The engine alone: transitions/s of the chain in process (one core, CPU time)."""
    from stepline import StateMachine

    machine = StateMachine(chain_definition())
    machine.run({"value": 42})
    transitions = runs = 0
    start = time.process_time()
    while runs < 1_000_000 and time.process_time() - start < seconds:
        transitions += machine.run({"value": 42}).transitions
        runs += 1
    return transitions / (time.process_time() - start)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


async def history_of(client: Client, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(100):  # pages of 1,000: far more than one chain has
        body: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        if token:
            body["nextToken"] = token
        page = await client.call("GetExecutionHistory", body)
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    return events


# -------------------------------------------------------------------------------- measurements


async def measure(args: argparse.Namespace, url: str) -> None:
    client = Client(url, args.concurrency)
    try:
        definition = json.dumps(chain_definition())
        suffix = str(int(time.time()))
        standard = (
            await client.call(
                "CreateStateMachine",
                {"name": f"chain-{suffix}", "definition": definition, "roleArn": ROLE_ARN},
            )
        )["stateMachineArn"]
        express = (
            await client.call(
                "CreateStateMachine",
                {
                    "name": f"chain-express-{suffix}",
                    "definition": definition,
                    "roleArn": ROLE_ARN,
                    "type": "EXPRESS",
                },
            )
        )["stateMachineArn"]
        chain_input = json.dumps({"value": 42})
        concurrency, seconds = args.concurrency, args.seconds

        # Warm up: connections opened, code paths and caches (compiled definitions) hot.
        await bounded(
            200,
            concurrency,
            seconds,
            lambda _: client.call("DescribeStateMachine", {"stateMachineArn": standard}),
        )
        await bounded(
            200,
            concurrency,
            seconds,
            lambda _: client.call(
                "StartSyncExecution", {"stateMachineArn": express, "input": chain_input}
            ),
        )

        async def describe(_: int) -> None:
            await client.call("DescribeStateMachine", {"stateMachineArn": standard})

        done, elapsed = await bounded(args.count, concurrency, seconds, describe)
        describe_rate = done / elapsed
        print(
            f"baseline  DescribeStateMachine      {describe_rate:>10,.0f} req/s  "
            f"(concurrency {concurrency}, {done:,} calls)"
        )
        engine = args.engine_rate
        print(
            f"baseline  engine in process (chain) {engine:>10,.0f} transitions/s  "
            f"(= {engine / 10:,.0f} executions/s, one core)"
        )

        # a. StartSyncExecution/s on the Express chain.
        failures = 0

        async def start_sync(_: int) -> None:
            nonlocal failures
            reply = await client.call(
                "StartSyncExecution", {"stateMachineArn": express, "input": chain_input}
            )
            if reply["status"] != "SUCCEEDED":
                failures += 1

        done, elapsed = await bounded(args.count, concurrency, seconds, start_sync)
        sync_rate = done / elapsed
        print(
            f"a.        StartSyncExecution        {sync_rate:>10,.0f} executions/s  "
            f"({sync_rate / describe_rate:.2f} of DescribeStateMachine; {done:,} calls, "
            f"{failures} not SUCCEEDED; target >= 2,000/s)"
        )

        # b. Standard latency, one execution at a time.
        client_ms: list[float] = []
        server_ms: list[float] = []
        arns: list[str] = []
        deadline = time.perf_counter() + seconds
        for _ in range(args.latency_count):
            if time.perf_counter() >= deadline:
                break
            began = time.perf_counter()
            arn = (
                await client.call(
                    "StartExecution", {"stateMachineArn": standard, "input": chain_input}
                )
            )["executionArn"]
            for _poll in range(100_000):
                status = (await client.call("DescribeExecution", {"executionArn": arn}))["status"]
                if status in _TERMINAL or time.perf_counter() - began > 10:
                    break
            client_ms.append((time.perf_counter() - began) * 1000)
            arns.append(arn)
        for arn in arns[:200]:
            events = await history_of(client, arn)
            server_ms.append((events[-1]["timestamp"] - events[0]["timestamp"]) * 1000)
        print(
            f"b.        Standard start->terminal  p50 {percentile(client_ms, 0.5):.2f} ms  "
            f"p90 {percentile(client_ms, 0.9):.2f} ms  p99 {percentile(client_ms, 0.99):.2f} ms"
            f"  (client, polling DescribeExecution; {len(client_ms)} executions; "
            f"target p50 <= 5 ms)"
        )
        print(
            f"          from history timestamps   p50 {percentile(server_ms, 0.5):.1f} ms  "
            f"p90 {percentile(server_ms, 0.9):.1f} ms  p99 {percentile(server_ms, 0.99):.1f} ms"
            "  (ExecutionStarted -> ExecutionSucceeded, ms resolution)"
        )

        # c. Durable transitions/s: many Standard executions in flight.
        started: list[str] = []
        first_sent = time.time()

        async def start(_: int) -> None:
            reply = await client.call(
                "StartExecution", {"stateMachineArn": standard, "input": chain_input}
            )
            started.append(reply["executionArn"])

        done, start_elapsed = await bounded(args.durable_count, concurrency, seconds, start)
        # Wait (bounded) until none of them runs any more.
        wait_deadline = time.perf_counter() + max(60.0, seconds * 10)
        while time.perf_counter() < wait_deadline:
            running = await client.call(
                "ListExecutions",
                {"stateMachineArn": standard, "statusFilter": "RUNNING", "maxResults": 1},
            )
            if not running["executions"]:
                break
            await asyncio.sleep(0.01)
        transitions = events_total = succeeded = 0
        last_end = first_sent

        async def read(index: int) -> None:
            nonlocal transitions, events_total, succeeded, last_end
            events = await history_of(client, started[index])
            events_total += len(events)
            transitions += sum(1 for e in events if e["type"].endswith("StateEntered"))
            if events[-1]["type"] == "ExecutionSucceeded":
                succeeded += 1
            last_end = max(last_end, events[-1]["timestamp"])

        await bounded(len(started), concurrency, 600, read)
        span = last_end - first_sent
        print(
            f"c.        durable chain ({args.database:<6})  "
            f"{transitions / span:>10,.0f} transitions/s  "
            f"({len(started):,} executions, {succeeded:,} SUCCEEDED, {transitions:,} states "
            f"entered, {events_total:,} events in {span:.2f} s; starts alone "
            f"{done / start_elapsed:,.0f}/s; target >= 10,000/s)"
        )
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time cap per measurement")
    parser.add_argument(
        "--count", type=int, default=50_000, help="calls cap for a. and the baseline"
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-count", type=int, default=500, help="executions for b.")
    parser.add_argument("--durable-count", type=int, default=5_000, help="executions for c.")
    parser.add_argument("--database", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="asyncio: `stepline serve` as shipped; uvloop: the same app under uvicorn on "
        "uvloop (needs uvloop installed)",
    )
    parser.add_argument("--url", help="measure an already running server instead")
    args = parser.parse_args(argv)

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, database {args.database}, "
        f"loop {args.loop}, concurrency {args.concurrency}, <= {args.seconds:g} s each"
    )
    args.engine_rate = engine_rate(min(args.seconds, 2.0))
    if args.url:
        asyncio.run(measure(args, args.url))
        return 0
    with_server(lambda url: measure(args, url), args.database, args.loop)
    return 0


def with_server(
    work: Callable[[str], Awaitable[None]], database: str = "sqlite", loop: str = "asyncio"
) -> None:
    """Run ``work(url)`` against a fresh ``stepline serve`` (a temporary data directory, SQLite
    there or memory://); stop it and print what it wrote to stderr."""
    data_dir = Path(tempfile.mkdtemp(prefix="stepline-bench-"))
    url = "memory://" if database == "memory" else f"sqlite:///{data_dir}/stepline.db"
    server = ServeProcess(data_dir, url, loop)
    try:
        asyncio.run(work(server.url))
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        errors = "".join(server.errors).strip()
        if errors:
            print(f"server stderr:\n{errors[-3000:]}")


if __name__ == "__main__":
    raise SystemExit(main())
