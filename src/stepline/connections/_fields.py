"""Shared helpers for checking request members: types, structures and field-path messages.

Every refusal is a :class:`~stepline.connections.ConnectionValidationError` whose message starts
with the field path and never quotes the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from stepline._secret import Secret
from stepline.connections._checks import Check
from stepline.connections._errors import ConnectionValidationError

__all__ = ["boolean", "fail", "join", "required_missing", "string", "structure"]


def fail(path: str, problem: str) -> NoReturn:
    """Refuse the field at ``path``: ``"<path> <problem>."``."""
    raise ConnectionValidationError(f"{path} {problem}.")


def join(path: str, member: str) -> str:
    """The path of ``member`` inside ``path`` (dotted)."""
    return f"{path}.{member}" if path else member


def structure(value: object, path: str, members: frozenset[str]) -> Mapping[str, object]:
    """``value`` as an object whose keys are all among ``members``."""
    if not isinstance(value, Mapping):
        fail(path or "The request", "must be an object")
    for key in value:
        if key not in members:
            allowed = ", ".join(sorted(members))
            fail(join(path, str(key)), f"is not a known member; the allowed members are {allowed}")
    return value


def string(value: object, path: str, check: Check | None, *, sensitive: bool = False) -> str:
    """``value`` as a string passing ``check``; sensitive values may come as :class:`Secret`."""
    if sensitive and isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, str):
        fail(path, "must be a string")
    if check is not None:
        problem = check(value)
        if problem:
            fail(path, problem)
    return value


def boolean(value: object, path: str) -> bool:
    """``value`` as a boolean."""
    if not isinstance(value, bool):
        fail(path, "must be true or false")
    return value


def required_missing(path: str, reason: str = "") -> NoReturn:
    """Refuse a missing required member."""
    fail(path, f"is required{reason}")
