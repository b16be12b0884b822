"""A value that must never be printed: credentials on their way to a request.

:class:`Secret` wraps a plaintext string so that ``repr``, ``str``, f-strings, logging and
exception messages show a mask instead of the value. Code that really needs the plaintext — the
request builder, at the moment it writes a header — calls :meth:`Secret.reveal`, which makes
every use of a secret easy to find with a search.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MASK", "Secret"]

MASK: Final = "********"


class Secret:
    """A plaintext credential that prints as a mask.

    Args:
        value: The plaintext.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"A secret must be a string, got {type(value).__name__}.")
        self._value = value

    def reveal(self) -> str:
        """The plaintext: call only where the value is written into a request."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would carry the plaintext out of the process: refuse.
        raise TypeError("A Secret cannot be pickled.")
