"""Where execution log records go, and the thread that writes them there.

The operator chooses the sink with ``STEPLINE_EXECUTION_LOGS`` (:func:`parse_sink`):

- ``dir:/path`` — one file per log group, ``/path/<log group name, percent-encoded>.jsonl``
  (``/aws/vendedlogs/states/orders`` → ``%2Faws%2Fvendedlogs%2Fstates%2Forders.jsonl``), the
  directory created 0700 and the files 0600 (they may hold execution data);
- ``file:/path`` — every record in one file;
- ``stdout`` or ``stderr`` — the process's stream;
- ``off`` — no execution logs at all, whatever the state machines ask for.

Records are handed to a :class:`LogWriter`, whose thread takes everything queued, writes it
with one call per file and flushes: the event loop only appends to a queue, and what was handed
over is in the file as soon as the thread catches up (well within a second) and at
:meth:`LogWriter.close`. The thread starts with the first record, so a server whose state
machines all log ``OFF`` runs no thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final, Protocol
from urllib.parse import quote

__all__ = [
    "DirSink",
    "FileSink",
    "LogSink",
    "LogWriter",
    "StreamSink",
    "log_group_file_name",
    "parse_sink",
]

_log = logging.getLogger("stepline.service.logs")

_FILE_MODE: Final = 0o600
_DIR_MODE: Final = 0o700
_CLOSE_TIMEOUT_SECONDS: Final = 10.0


class LogSink(Protocol):
    """Receives batches of log records (JSON lines) per log group; used by one thread only."""

    description: str

    def write(self, log_group: str, lines: list[bytes]) -> None:
        """Write the records of one log group (buffered until :meth:`flush`)."""

    def flush(self) -> None:
        """Hand everything written to the operating system."""

    def close(self) -> None:
        """Flush and release files."""


class StreamSink:
    """``stdout`` or ``stderr`` (looked up at each write, so a replaced stream is followed)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = name

    def _stream(self) -> object:
        return getattr(sys, self.name)

    def write(self, log_group: str, lines: list[bytes]) -> None:
        stream = self._stream()
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            binary.write(b"".join(lines))
        else:
            stream.write(b"".join(lines).decode("utf-8", "replace"))  # type: ignore[attr-defined]

    def flush(self) -> None:
        stream = self._stream()
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            binary.flush()
        stream.flush()  # type: ignore[attr-defined]

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.flush()


def _open_append(path: Path) -> BinaryIO:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
    return os.fdopen(descriptor, "ab")


class FileSink:
    """Every record in one file (appended to; created 0600, its directory 0700, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"
        self._file: BinaryIO | None = None

    def write(self, log_group: str, lines: list[bytes]) -> None:
        if self._file is None:
            self.path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            self._file = _open_append(self.path)
        self._file.write(b"".join(lines))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()


def log_group_file_name(log_group: str) -> str:
    """The file of a log group in a ``dir:`` sink: its name percent-encoded, ``.jsonl``.

    Every ``/`` is encoded too, so no log group name (``..`` included) reaches outside the
    directory, and the name can be read back with :func:`urllib.parse.unquote`.
    """
    return quote(log_group, safe="") + ".jsonl"


class DirSink:
    """One file per log group in a directory (created 0700; files 0600, appended to)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"directory {directory}"
        self._files: dict[str, BinaryIO] = {}

    def write(self, log_group: str, lines: list[bytes]) -> None:
        file = self._files.get(log_group)
        if file is None:
            self.directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            file = self._files[log_group] = _open_append(
                self.directory / log_group_file_name(log_group)
            )
        file.write(b"".join(lines))

    def flush(self) -> None:
        for file in self._files.values():
            file.flush()

    def close(self) -> None:
        files, self._files = self._files, {}
        for file in files.values():
            with contextlib.suppress(OSError):
                file.close()


def parse_sink(spec: str, *, variable: str = "STEPLINE_EXECUTION_LOGS") -> LogSink | None:
    """The sink a ``stdout`` / ``stderr`` / ``file:PATH`` / ``dir:PATH`` / ``off`` spec names.

    Returns:
        The sink, or ``None`` for ``off``.

    Raises:
        ValueError: Not one of those forms (the message says which are).
    """
    text = spec.strip()
    kind, separator, where = text.partition(":")
    lowered = kind.lower()
    if not separator and lowered in ("stdout", "stderr"):
        return StreamSink(lowered)
    if not separator and lowered == "off":
        return None
    if separator and lowered in ("file", "dir") and where.strip():
        path = Path(where.strip()).expanduser()
        return FileSink(path) if lowered == "file" else DirSink(path)
    raise ValueError(
        f"{variable}={spec!r} names no execution log sink. Use stdout, stderr, "
        "file:/path/to/records.jsonl, dir:/path/to/directory (one file per log group) or off."
    )


# A batch item: (log group, a function returning its lines), a flush marker, or the stop mark.
_Item = tuple[str, Callable[[], list[bytes]]] | threading.Event | None


class LogWriter:
    """Writes log records on a thread of its own, in batches.

    Args:
        sink: Where the records go.
    """

    def __init__(self, sink: LogSink) -> None:
        self.sink = sink
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._failures: set[tuple[str, str]] = set()

    def submit(self, log_group: str, render: Callable[[], list[bytes]]) -> None:
        """Queue records: ``render()`` makes their lines, on the writer's thread."""
        if self._thread is None and not self._start():
            return
        self._queue.put((log_group, render))

    def _start(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="stepline-execution-logs", daemon=True
                )
                self._thread.start()
            return True

    def flush(self, timeout: float = _CLOSE_TIMEOUT_SECONDS) -> bool:
        """Wait until everything queued so far is written and flushed; whether it was."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = _CLOSE_TIMEOUT_SECONDS) -> None:
        """Write what is queued, flush, stop the thread and close the sink's files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
            if thread.is_alive():
                _log.warning(
                    "execution logs: the writer did not finish within %.0f s; records still "
                    "queued are lost",
                    timeout,
                )
                return
        with contextlib.suppress(OSError):
            self.sink.close()

    def _run(self) -> None:
        take = self._queue.get
        take_more = self._queue.get_nowait
        while True:
            batch = [take()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 10_000:
                    batch.append(take_more())
            stop = self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Item]) -> bool:
        by_group: dict[str, list[bytes]] = {}
        markers: list[threading.Event] = []
        stop = False
        for item in batch:
            if item is None:
                stop = True
            elif isinstance(item, threading.Event):
                markers.append(item)
            else:
                group, render = item
                try:
                    lines = render()
                except Exception:  # a bug in formatting must not stop the writer
                    _log.exception("execution logs: a record could not be formatted")
                    continue
                if lines:
                    by_group.setdefault(group, []).extend(lines)
        for group, lines in by_group.items():
            try:
                self.sink.write(group, lines)
            except OSError as exc:
                self._report(group, exc)
        try:
            self.sink.flush()
        except OSError as exc:
            self._report("", exc)
        for marker in markers:
            marker.set()
        return stop

    def _report(self, group: str, exc: OSError) -> None:
        """Warn once per log group and kind of failure (records carry data: never shown)."""
        key = (group, type(exc).__name__ + str(exc.errno))
        if key in self._failures:
            return
        self._failures.add(key)
        where = f" for log group {group!r}" if group else ""
        _log.warning(
            "execution logs: cannot write to the %s%s: %s; records are dropped until it "
            "works again (check the path and its permissions, or set "
            "STEPLINE_EXECUTION_LOGS)",
            self.sink.description,
            where,
            exc.strerror or exc,
        )
