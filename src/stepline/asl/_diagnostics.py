"""Validation diagnostics: what is wrong in a definition, where, and how bad.

The shape follows ``ValidateStateMachineDefinitionDiagnostic`` in botocore's Step Functions model
(``severity``, ``code``, ``message``, ``location``), so the service can return these unchanged.
Locations are JSON Pointers into the definition, e.g. ``/States/Charge/Retry/0/BackoffRate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Diagnostic", "InvalidDefinition", "pointer"]

Severity = Literal["ERROR", "WARNING"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a definition.

    Attributes:
        code: A stable machine-readable code, e.g. ``SCHEMA_VALIDATION_FAILED``.
        message: What is wrong and what to do about it, for the definition's author.
        location: JSON Pointer to the offending field, e.g. ``/States/Charge/Retry/0``.
        severity: ``ERROR`` makes the definition invalid; ``WARNING`` does not.
    """

    code: str
    message: str
    location: str
    severity: Severity = "ERROR"

    def __str__(self) -> str:
        return f"{self.severity} {self.location or '/'}: {self.message} [{self.code}]"


def pointer(*parts: str | int) -> str:
    """Build a JSON Pointer from path parts, escaping ``~`` and ``/`` as RFC 6901 requires."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class InvalidDefinition(ValueError):
    """A definition failed validation; :attr:`diagnostics` lists every problem found.

    Args:
        diagnostics: All diagnostics of severity ``ERROR`` (and any warnings) found.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "ERROR"]
        lines = "\n".join(f"  {d}" for d in errors)
        count = len(errors)
        super().__init__(
            f"The state machine definition is invalid ({count} problem"
            f"{'s' if count != 1 else ''}):\n{lines}"
        )

    @classmethod
    def single(cls, code: str, message: str, location: str = "") -> InvalidDefinition:
        """Build the error for one diagnostic."""
        return cls([Diagnostic(code, message, location)])

    def errors(self) -> Iterable[Diagnostic]:
        """The diagnostics that make the definition invalid."""
        return (d for d in self.diagnostics if d.severity == "ERROR")
