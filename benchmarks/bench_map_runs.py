"""Distributed Map throughput: items/s of map runs, next to the same Map run INLINE.

Run: ``python benchmarks/bench_map_runs.py [--express-items 10000] [--standard-items 1000]``

A real ``stepline serve`` subprocess (SQLite in a temporary data directory, as
``bench_service.py`` starts it) runs one execution of a Map state over N items whose processor
is two Pass states, and the client measures from StartExecution until DescribeExecution
(polled every 10 ms) answers a terminal status:

- EXPRESS children: a Standard parent whose Map is ``DISTRIBUTED``/``EXPRESS`` over
  ``--express-items``; baseline: the same Map ``INLINE`` in an EXPRESS state machine
  (StartSyncExecution: a Standard execution could not hold the inline Map's history).
- STANDARD children: a Standard parent whose Map is ``DISTRIBUTED``/``STANDARD`` over
  ``--standard-items`` (each child a stored, durable execution); baseline: the same Map
  ``INLINE`` in a Standard execution.

Both share this machine's cores with the server: read the ratios, not the absolute figures.
Every wait is bounded by a count and by time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from bench_service import ROLE_ARN, Client, with_server

_POLL_SECONDS = 0.01
_LIMIT_SECONDS = 300.0


def _map(mode: str, execution_type: str | None, items: int) -> dict[str, Any]:
    config: dict[str, Any] = {"Mode": mode}
    if execution_type is not None:
        config["ExecutionType"] = execution_type
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemSelector": {"n.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": config,
                    "StartAt": "Double",
                    "States": {
                        "Double": {
                            "Type": "Pass",
                            "Parameters": {"n.$": "States.MathAdd($.n, $.n)"},
                            "Next": "Keep",
                        },
                        "Keep": {"Type": "Pass", "OutputPath": "$.n", "End": True},
                    },
                },
                "ResultSelector": {"count.$": "States.ArrayLength($)"},
                "End": True,
            }
        },
    }


async def _machine(client: Client, name: str, definition: dict[str, Any], kind: str) -> str:
    answer = await client.call(
        "CreateStateMachine",
        {"name": name, "definition": json.dumps(definition), "roleArn": ROLE_ARN, "type": kind},
    )
    return str(answer["stateMachineArn"])


async def _timed_standard(client: Client, machine: str, items: int) -> float:
    """Seconds from StartExecution until the execution is terminal (it must succeed)."""
    payload = json.dumps(list(range(items)))
    began = time.perf_counter()
    started = await client.call("StartExecution", {"stateMachineArn": machine, "input": payload})
    for _ in range(int(_LIMIT_SECONDS / _POLL_SECONDS)):
        described = await client.call(
            "DescribeExecution", {"executionArn": started["executionArn"]}
        )
        if described["status"] != "RUNNING":
            elapsed = time.perf_counter() - began
            if described["status"] != "SUCCEEDED":
                reason = f"{described.get('error')}: {described.get('cause')}"
                raise SystemExit(f"the execution ended {described['status']} ({reason})")
            if json.loads(described["output"]) != {"count": items}:
                raise SystemExit(f"unexpected output {described['output'][:200]}")
            return elapsed
        await asyncio.sleep(_POLL_SECONDS)
    raise SystemExit(f"the execution did not end within {_LIMIT_SECONDS:g} s")


async def _timed_sync(client: Client, machine: str, items: int) -> float:
    payload = json.dumps(list(range(items)))
    began = time.perf_counter()
    answer = await client.call("StartSyncExecution", {"stateMachineArn": machine, "input": payload})
    elapsed = time.perf_counter() - began
    if answer["status"] != "SUCCEEDED":
        reason = f"{answer.get('error')}: {answer.get('cause')}"
        raise SystemExit(f"the sync execution ended {answer['status']} ({reason})")
    return elapsed


def _line(label: str, items: int, seconds: float, baseline: float | None = None) -> str:
    rate = items / seconds
    text = f"{label:<44} {items:>6} items in {seconds:7.2f} s = {rate:>9,.0f} items/s"
    if baseline is not None:
        text += f"   ({baseline / seconds:.2f}x the inline baseline's rate)"
    return text


async def measure(args: argparse.Namespace, url: str) -> None:
    client = Client(url, 4)
    try:
        inline_express = await _machine(client, "inline-x", _map("INLINE", None, 0), "EXPRESS")
        dist_express = await _machine(
            client, "dist-x", _map("DISTRIBUTED", "EXPRESS", 0), "STANDARD"
        )
        inline_standard = await _machine(client, "inline-s", _map("INLINE", None, 0), "STANDARD")
        dist_standard = await _machine(
            client, "dist-s", _map("DISTRIBUTED", "STANDARD", 0), "STANDARD"
        )
        await _timed_sync(client, inline_express, 10)  # warm up (imports, compile caches)
        await _timed_standard(client, dist_express, 10)

        items = args.express_items
        base = await _timed_sync(client, inline_express, items)
        print(_line("INLINE Map in an EXPRESS execution (baseline)", items, base))
        took = await _timed_standard(client, dist_express, items)
        print(_line("DISTRIBUTED Map, EXPRESS children", items, took, base))

        items = args.standard_items
        base = await _timed_standard(client, inline_standard, items)
        print(_line("INLINE Map in a STANDARD execution (baseline)", items, base))
        took = await _timed_standard(client, dist_standard, items)
        print(_line("DISTRIBUTED Map, STANDARD children", items, took, base))
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--express-items", type=int, default=10_000)
    parser.add_argument("--standard-items", type=int, default=1_000)
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, database sqlite")
    with_server(lambda url: measure(args, url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
