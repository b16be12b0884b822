"""``stepline worker`` as a real subprocess, for acceptance tests (beside ``ServeProcess``).

Started with ``--database URL``; startup waits for the line the worker announces itself with,
and stopping and killing are :class:`~support.serve_process.SteplineProcess`'s (bounded; a
worker that does not start or stop is killed and the test fails with the tail of its stderr).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from support.serve_process import SteplineProcess

ANNOUNCEMENT_PHRASE: Final = "worker running executions"


class WorkerProcess(SteplineProcess):
    """A running ``stepline worker --database URL`` subprocess."""

    def __init__(self, database_url: str, env: Mapping[str, str], args: Sequence[str] = ()) -> None:
        super().__init__(["worker", "--database", database_url, *args], env, ANNOUNCEMENT_PHRASE)
