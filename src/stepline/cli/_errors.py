"""The one exception type the commands raise for a mistake in what the user gave them.

Anything raised as :class:`CliError` is the user's to fix (a missing file, malformed JSON, an
invalid definition, a task module that does not import); the top level prints its message and
exits with status 2. Every other exception is a bug in stepline and is reported as one.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "CliError"]

EXIT_OK: Final = 0
"""The command did what was asked (``run``: the execution succeeded)."""
EXIT_FAILED: Final = 1
"""``run``: the execution failed, timed out or was aborted."""
EXIT_USAGE: Final = 2
"""Bad arguments, unreadable or malformed files, invalid definitions or inputs."""
EXIT_INTERNAL: Final = 70
"""A bug in stepline (``EX_SOFTWARE`` from BSD's sysexits.h)."""


class CliError(Exception):
    """A problem with the user's arguments or files, with a message saying what to do.

    Args:
        message: One paragraph: what is wrong, where, and what to do about it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
