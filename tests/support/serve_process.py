"""``stepline serve`` as a real subprocess on 127.0.0.1, for acceptance tests.

The server is started with ``--port 0``; its stdout and stderr are read by two daemon threads
(so a chatty server never blocks on a full pipe), and the port is taken from the line the server
announces itself with. Typical use::

    from support.serve_process import ServeProcess, base_environment

    server = ServeProcess([], base_environment(tmp_path), credentials=("AKIDX", "secret"))
    sfn = server.client("stepfunctions")
    ...
    assert server.stop() == 0

Startup is bounded by :data:`START_TIMEOUT` and stopping by :data:`STOP_TIMEOUT`; a server that
does not start or does not stop is killed and the test fails with the tail of its stderr. The
credentials given for the boto3 clients never appear in any message.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

import boto3
import pytest
from botocore.config import Config

START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 30.0
# How much of the server's stderr a failure message carries: enough for a traceback's end.
STDERR_TAIL_CHARS: Final = 3000
ANNOUNCEMENT_PHRASE: Final = "serving AWS Step Functions"
_ANNOUNCEMENT: Final = re.compile(r"serving AWS Step Functions on http://127\.0\.0\.1:(\d+) ")


def stepline_command() -> list[str]:
    """The installed console script beside this interpreter (``python -m stepline`` if none)."""
    script = Path(sys.executable).with_name("stepline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stepline"]


def base_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without ``STEPLINE_*``/``AWS_*``, plus the data directory.

    Args:
        data_dir: The server's ``STEPLINE_DATA_DIR``.
        **extra: Further variables, which win over everything else.

    Returns:
        A fresh mapping for ``subprocess``.
    """
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("STEPLINE_", "AWS_"))
    }
    env.update({"STEPLINE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


class SteplineProcess:
    """A running ``stepline`` subprocess whose output is read by threads, started once it has
    printed the line with ``phrase`` (``serve``, ``worker``).

    Attributes:
        process: The subprocess.
        announcement: The stdout line that announced it.
        stderr_lines: Everything it wrote to stderr so far (filled by a thread).
    """

    def __init__(self, args: Sequence[str], env: Mapping[str, str], phrase: str) -> None:
        self._what = f"stepline {args[0]}"
        self.process = subprocess.Popen(
            [*stepline_command(), *args],
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
        self.announcement = self._wait_for_announcement(phrase)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pid={self.process.pid})"

    def _pump_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            self._stdout_lines.put(line)
        self._stdout_lines.put(None)  # end of output: the process has closed stdout

    def _pump_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self.stderr_lines.append(line)

    def stderr_tail(self, chars: int = STDERR_TAIL_CHARS) -> str:
        """The last ``chars`` characters the process wrote to stderr."""
        return "".join(self.stderr_lines)[-chars:]

    def _wait_for_announcement(self, phrase: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._stdout_lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            if phrase in line:
                return line
        self.kill()
        pytest.fail(f"{self._what} did not start: {self.stderr_tail()}")

    def kill(self) -> None:
        """SIGKILL the process (if still running) and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for the exit status; kill and fail if it does not come.

        Returns:
            The process's exit status.
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            name = signal.Signals(sig).name
            pytest.fail(f"{self._what} did not stop within {STOP_TIMEOUT:.0f} s of {name}")


class ServeProcess(SteplineProcess):
    """A running ``stepline serve --port 0`` subprocess.

    Attributes:
        port: The port the server listens on, on 127.0.0.1.
        endpoint: ``http://127.0.0.1:<port>``.
    """

    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        credentials: tuple[str, str],
    ) -> None:
        """Start the server and wait for its announcement.

        Args:
            args: Extra ``serve`` arguments (after ``--port 0``, so a later ``--port`` wins).
            env: The complete environment of the process (see :func:`base_environment`).
            credentials: The default (access key id, secret key) of :meth:`client`.
        """
        self._key_id, self._secret = credentials
        super().__init__(["serve", "--port", "0", *args], env, ANNOUNCEMENT_PHRASE)
        match = _ANNOUNCEMENT.search(self.announcement)
        if match is None:
            self.kill()
            pytest.fail(f"stepline serve announced itself unexpectedly: {self.announcement!r}")
        self.port = int(match.group(1))
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        return f"ServeProcess(pid={self.process.pid}, endpoint={getattr(self, 'endpoint', None)!r})"

    def client(
        self, service: str, *, key_id: str | None = None, secret: str | None = None, **options: Any
    ) -> Any:
        """A boto3 client for this server: one attempt, no host prefix.

        Args:
            service: The boto3 service name (``stepfunctions``, ``events``, ``iam``).
            key_id: The access key id (default: the one given at start).
            secret: The secret key (default: the one given at start).
            **options: More ``botocore.config.Config`` options.
        """
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self._key_id if key_id is None else key_id,
            aws_secret_access_key=self._secret if secret is None else secret,
            config=Config(
                retries={"max_attempts": 1, "mode": "standard"},
                inject_host_prefix=False,
                **options,
            ),
        )
