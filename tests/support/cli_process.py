"""The ``stepline`` command run to completion as ``python -m stepline``, for CLI tests.

Typical use::

    from support.cli_process import run_stepline

    proc = run_stepline("run", "greet.json", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr

No run may print a traceback: :func:`run_stepline` asserts that on both streams.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

# A run may take a while on a loaded 2-core machine; this only stops a hung command.
RUN_TIMEOUT: Final = 120.0
# Variables of the developer's shell that would change what the command does: debug output
# (tracebacks), a foreign import path, an egress allow-list or an IAM mode.
_DROPPED_VARIABLES: Final = frozenset(
    {"STEPLINE_DEBUG", "PYTHONPATH", "STEPLINE_HTTP_ALLOW", "STEPLINE_IAM"}
)


def run_stepline(
    *args: str | Path,
    cwd: Path,
    stdin: str | None = None,
    pythonpath: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stepline *args`` and return the finished process (any exit status).

    Args:
        *args: The command's arguments.
        cwd: The working directory.
        stdin: Text for standard input (none: no input).
        pythonpath: ``PYTHONPATH`` of the run (for task handler modules).
        env: Extra variables, which win over everything else.

    Returns:
        The completed process with text stdout and stderr (UTF-8).
    """
    environment = {k: v for k, v in os.environ.items() if k not in _DROPPED_VARIABLES}
    environment.update(NO_COLOR="1", PYTHONIOENCODING="utf-8")
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    environment.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "stepline", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc
