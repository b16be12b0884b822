"""``stepline worker`` as a real subprocess, for acceptance tests (beside ``ServeProcess``).

Started with ``--database URL``; its output is read by daemon threads, and startup waits for
the line the worker announces itself with. Startup is bounded by :data:`START_TIMEOUT` and
stopping by :data:`STOP_TIMEOUT`; a worker that does not start or stop is killed and the test
fails with the tail of its stderr.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Final

import pytest

from support.serve_process import STDERR_TAIL_CHARS, stepline_command

START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 30.0
ANNOUNCEMENT_PHRASE: Final = "worker running executions"


class WorkerProcess:
    """A running ``stepline worker`` subprocess.

    Attributes:
        process: The subprocess.
        announcement: The stdout line that announced the worker.
        stderr_lines: Everything it wrote to stderr so far (filled by a thread).
    """

    def __init__(self, database_url: str, env: Mapping[str, str], args: Sequence[str] = ()) -> None:
        self.process = subprocess.Popen(
            [*stepline_command(), "worker", "--database", database_url, *args],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stdout_lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_lines: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._pump_stdout, args=(self.process.stdout,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self.process.stderr,), daemon=True).start()
        self.announcement = self._wait_for_announcement()

    def __repr__(self) -> str:
        return f"WorkerProcess(pid={self.process.pid})"

    def _pump_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            self._stdout_lines.put(line)
        self._stdout_lines.put(None)

    def _pump_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self.stderr_lines.append(line)

    def stderr_tail(self, chars: int = STDERR_TAIL_CHARS) -> str:
        """The last ``chars`` characters the worker wrote to stderr."""
        return "".join(self.stderr_lines)[-chars:]

    def _wait_for_announcement(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._stdout_lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            if ANNOUNCEMENT_PHRASE in line:
                return line
        self.kill()
        pytest.fail(f"stepline worker did not start: {self.stderr_tail()}")

    def kill(self) -> None:
        """SIGKILL the worker (if still running) and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for the exit status; kill and fail if it does not come."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"stepline worker did not stop within {STOP_TIMEOUT:.0f} s")
