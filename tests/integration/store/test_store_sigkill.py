"""Durability: a process writing through SqliteStore is killed with SIGKILL mid-writes; every
commit it acknowledged before the kill is in the database after reopening."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stepline.store import SqliteStore

CHILD = Path(__file__).with_name("store_crash_child.py")
EXECUTIONS = 20
ACKS_BEFORE_KILL = 600
DEADLINE_SECONDS = 60.0


def test_acknowledged_commits_survive_sigkill(tmp_path: Path):
    path = tmp_path / "crash" / "store.db"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(EXECUTIONS), "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: dict[int, int] = {}
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        acks = 0
        while acks < ACKS_BEFORE_KILL and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            index, last = map(int, line.split())
            acknowledged[index] = max(acknowledged.get(index, 1), last)
            acks += 1
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert acks == ACKS_BEFORE_KILL

    async def check() -> None:
        store = SqliteStore(path)
        try:
            for index in range(EXECUTIONS):
                arn = f"arn:aws:states:us-east-1:123456789012:execution:Crash:e{index}"
                record = await store.get_execution(arn)
                assert record is not None
                assert record.last_event_id >= acknowledged.get(index, 1)
                ids: list[int] = []
                token = None
                for _ in range(1000):
                    page = await store.get_history(arn, max_results=1000, next_token=token)
                    ids.extend(event.id for event in page.items)
                    token = page.next_token
                    if token is None:
                        break
                # Whole steps only: the history is gap-free and ends at the stored last id.
                assert ids == list(range(1, record.last_event_id + 1))
                assert (record.last_event_id - 1) % 3 == 0
        finally:
            await store.close()

    asyncio.run(check())
