"""The ``stepline`` command line: run and validate state machine definitions locally.

``main`` is the console script's entry point (``stepline = "stepline.cli:main"``) and is also
what ``python -m stepline`` calls; it returns the process exit status instead of exiting, so
that it can be called from tests and other Python code.
"""

from __future__ import annotations

from stepline.cli._main import main

__all__ = ["main"]
