"""Shared pieces of definition validation: codes, the collector, and checks on single values.

The validator is split by concern (top level and graph in ``_validate``, state types in
``_validate_states``, Map in ``_validate_map``, Retry/Catch/timeouts in ``_validate_recovery``,
paths and payload templates in ``_validate_paths``, JSONata in ``_validate_jsonata``, workflow
variables in ``_validate_variables``); everything they have in common lives here. Each check
appends diagnostics to a :class:`Context` and never raises, so one pass reports every problem
in a definition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Final, Literal

from stepline.asl._diagnostics import Diagnostic, Severity, pointer
from stepline.asl._intrinsics import is_intrinsic

if TYPE_CHECKING:
    from stepline.asl._jsonata import CompiledExpression, JsonataSyntaxError

__all__ = [
    "DUPLICATE_LABEL_NAME",
    "DUPLICATE_STATE_NAME",
    "INVALID_JSONATA_EXPRESSION",
    "INVALID_JSON_DESCRIPTION",
    "INVALID_LABEL_NAME",
    "INVALID_RESOURCE",
    "INVALID_STATE_NAME",
    "JSONATA",
    "JSONPATH",
    "MAX_SECONDS",
    "MISSING_DESCRIPTION",
    "MISSING_END_STATE",
    "MISSING_TRANSITION_TARGET",
    "NO_DOLLAR",
    "NO_PATH",
    "PASS_RESULT_IS_STATIC",
    "SCHEMA_VALIDATION_FAILED",
    "SHADOWED_VARIABLE",
    "TOO_DEEPLY_NESTED",
    "UNDEFINED_VARIABLE",
    "UNSUPPORTED_FEATURE",
    "UNSUPPORTED_JSONATA_EXPRESSION",
    "Context",
    "Language",
    "ScopeKind",
    "StateSummary",
    "Transition",
    "VariableScope",
    "as_integer",
    "check_array",
    "check_boolean",
    "check_enum",
    "check_exclusive",
    "check_fields",
    "check_integer",
    "check_number",
    "check_object",
    "check_required",
    "check_string",
    "describe",
    "language_mismatch",
    "looks_dynamic",
    "quote_list",
]

# Codes AWS's ValidateStateMachineDefinition documents (botocore's service model lists them).
SCHEMA_VALIDATION_FAILED: Final = "SCHEMA_VALIDATION_FAILED"
INVALID_JSON_DESCRIPTION: Final = "INVALID_JSON_DESCRIPTION"
MISSING_DESCRIPTION: Final = "MISSING_DESCRIPTION"
INVALID_RESOURCE: Final = "INVALID_RESOURCE"
MISSING_END_STATE: Final = "MISSING_END_STATE"
DUPLICATE_STATE_NAME: Final = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME: Final = "INVALID_STATE_NAME"
DUPLICATE_LABEL_NAME: Final = "DUPLICATE_LABEL_NAME"
INVALID_LABEL_NAME: Final = "INVALID_LABEL_NAME"
MISSING_TRANSITION_TARGET: Final = "MISSING_TRANSITION_TARGET"
TOO_DEEPLY_NESTED: Final = "TOO_DEEPLY_NESTED"
NO_DOLLAR: Final = "NO_DOLLAR"
NO_PATH: Final = "NO_PATH"
PASS_RESULT_IS_STATIC: Final = "PASS_RESULT_IS_STATIC"
# Codes AWS uses for JSONata expressions (observed in InvalidDefinition messages): one that does
# not parse, and one that parses but reads what a Step Functions expression cannot ($$, a bare
# top-level field name, $states.errorOutput outside a Catch).
INVALID_JSONATA_EXPRESSION: Final = "INVALID_JSONATA_EXPRESSION"
UNSUPPORTED_JSONATA_EXPRESSION: Final = "UNSUPPORTED_JSONATA_EXPRESSION"
# stepline's own: a field AWS accepts but this version of stepline cannot run (S3, …).
UNSUPPORTED_FEATURE: Final = "UNSUPPORTED_FEATURE"
# A warning: stepline accepts something AWS may refuse (a stepline extension of ASL).
STEPLINE_EXTENSION: Final = "STEPLINE_EXTENSION"
# stepline's own warning: a variable read where no state could have assigned it (AWS accepts
# the definition and fails the state when it runs; see _validate_variables).
UNDEFINED_VARIABLE: Final = "UNDEFINED_VARIABLE"
# stepline's own warning: a Parallel branch or Map iteration assigns a variable of an enclosing
# scope, which the States Language forbids (whether AWS refuses it is not known).
SHADOWED_VARIABLE: Final = "SHADOWED_VARIABLE"

# AWS's ceiling for second counts and attempt counts (Task timeouts, Wait, Retry).
MAX_SECONDS: Final = 99_999_999

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
Language = Literal["JSONPath", "JSONata"]
"""A state's query language, as resolved (see ``_validate._state_language``)."""

ScopeKind = Literal["machine", "branch", "processor", "iterator"]
"""Which kind of ``StartAt``/``States`` object is being validated; each allows other fields."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A field that names a state to go to, and where that field is."""

    target: str
    location: str


@dataclass(slots=True)
class StateSummary:
    """What the graph check needs to know about one state.

    Attributes:
        transitions: Every ``Next``/``Default``/Choice ``Next``/Catch ``Next`` the state has.
        terminal: True when the state can end its scope (``End: true``, Succeed, Fail), or
            when its type is unknown, so that one typo does not also report a missing end.
    """

    transitions: list[Transition] = field(default_factory=list)
    terminal: bool = False


@dataclass(slots=True)
class VariableScope:
    """The workflow variables of one ``StartAt``/``States`` object, for the reference checks.

    Attributes:
        location: The JSON Pointer of the object (``""`` for the state machine).
        parent: The enclosing scope (a Parallel branch's or Map processor's), if any.
        assigned: Each variable an ``Assign`` of a state here names, with every place it does.
        references: Each ``(variable, location)`` a state here reads.
    """

    location: str
    parent: VariableScope | None = None
    assigned: dict[str, list[str]] = field(default_factory=dict)
    references: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Context:
    """Everything collected during one validation run.

    Attributes:
        max_state_name_length: The longest state name allowed (AWS: 80).
        validate_scope: Validates a nested ``StartAt``/``States`` object (a Parallel branch, a
            Map processor); injected by ``_validate`` so that state validation can recurse
            without the modules importing each other.
        diagnostics: Every finding, in the order found.
        state_names: Each state name seen so far and where it was first defined; AWS requires
            names to be unique across the whole definition, nested scopes included.
        labels: Each Map ``Label`` seen so far and where.
        missing_targets: Transitions whose target is absent from their own scope; reported at
            the end, once every name in the definition is known, so that the message can say
            when the target exists in another scope.
        depth: How many scopes deep the validation currently is.
        machine_language: The top-level ``QueryLanguage``: the default of every state, nested
            ones included (a Map's or Parallel's own ``QueryLanguage`` does not reach inside).
        scope: The variable scope of the states being validated now.
        scopes: Every variable scope, outermost first.
        expressions: Each JSONata expression text compiled so far, or its syntax error.
    """

    max_state_name_length: int
    validate_scope: Callable[[Context, Any, str, ScopeKind], None]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    state_names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    missing_targets: list[Transition] = field(default_factory=list)
    depth: int = 0
    machine_language: Language = "JSONPath"
    scope: VariableScope = field(default_factory=lambda: VariableScope(""))
    scopes: list[VariableScope] = field(default_factory=list)
    expressions: dict[str, CompiledExpression | JsonataSyntaxError] = field(default_factory=dict)

    def add(self, code: str, message: str, location: str, severity: Severity = "ERROR") -> None:
        """Record one finding."""
        self.diagnostics.append(Diagnostic(code, message, location, severity))

    def error(self, code: str, message: str, location: str) -> None:
        """Record a finding that makes the definition invalid."""
        self.add(code, message, location, "ERROR")

    def warning(self, code: str, message: str, location: str) -> None:
        """Record a finding that does not make the definition invalid."""
        self.add(code, message, location, "WARNING")

    def assigns(self, variable: str, location: str) -> None:
        """Note that a state of the current scope assigns ``variable`` (at ``location``)."""
        self.scope.assigned.setdefault(variable, []).append(location)

    def reads(self, variable: str, location: str) -> None:
        """Note that a state of the current scope reads ``variable`` (at ``location``)."""
        self.scope.references.append((variable, location))


# --- describing values in messages --------------------------------------------------------


def describe(value: Any) -> str:
    """Show a value the way its author wrote it, short enough for a one-line message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a Python {type(value).__name__}"


def quote_list(names: Iterable[object]) -> str:
    """``A, B, C`` quoted: ``'A', 'B', 'C'``."""
    return ", ".join(f"'{name}'" for name in names)


def looks_dynamic(text: str) -> bool:
    """Whether a literal string looks like it was meant to be a path or an intrinsic call."""
    if text in ("$", "$$") or text.startswith(("$.", "$[", "$$.")):
        return True
    return is_intrinsic(text)


# --- single-value checks --------------------------------------------------------------------


def as_integer(value: Any) -> int | None:
    """The value as an integer, or ``None`` if it is not one.

    Booleans are not integers in JSON even though they are in Python. A float with no
    fractional part (``10.0``) counts, because JSON does not tell ``10`` from ``10.0``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def check_string(
    ctx: Context, value: Any, location: str, name: str, *, non_empty: bool = False
) -> bool:
    """Check that ``value`` is a string (and not empty, if asked). Returns whether it passed."""
    if not isinstance(value, str):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a string, got {describe(value)}.",
            location,
        )
        return False
    if non_empty and not value:
        ctx.error(SCHEMA_VALIDATION_FAILED, f"{name} must not be an empty string.", location)
        return False
    return True


def check_boolean(ctx: Context, value: Any, location: str, name: str) -> bool:
    """Check that ``value`` is ``true`` or ``false``."""
    if not isinstance(value, bool):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be true or false, got {describe(value)}.",
            location,
        )
        return False
    return True


def check_integer(
    ctx: Context,
    value: Any,
    location: str,
    name: str,
    *,
    minimum: int,
    maximum: int = MAX_SECONDS,
) -> int | None:
    """Check that ``value`` is an integer in ``[minimum, maximum]``; return it if so."""
    number = as_integer(value)
    if number is None or not minimum <= number <= maximum:
        if minimum == 1:
            kind = "a positive integer"
        elif minimum == 0:
            kind = "a non-negative integer"
        else:
            kind = f"an integer ≥ {minimum}"
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be {kind} no greater than {maximum}, got {describe(value)}.",
            location,
        )
        return None
    return number


def check_number(
    ctx: Context,
    value: Any,
    location: str,
    name: str,
    *,
    minimum: float,
    maximum: float | None = None,
) -> float | None:
    """Check that ``value`` is a finite number in ``[minimum, maximum]``; return it if so."""
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
        and (maximum is None or value <= maximum)
    )
    if not ok:
        bound = f"≥ {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a number {bound}, got {describe(value)}.",
            location,
        )
        return None
    return float(value)


def check_enum(
    ctx: Context, value: Any, location: str, name: str, choices: Collection[str]
) -> bool:
    """Check that ``value`` is one of ``choices`` (case-sensitive, as AWS)."""
    if not isinstance(value, str) or value not in choices:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be one of {quote_list(choices)}, got {describe(value)}.",
            location,
        )
        return False
    return True


def check_object(ctx: Context, value: Any, location: str, name: str) -> Mapping[Any, Any] | None:
    """Check that ``value`` is a JSON object; return it if so."""
    if not isinstance(value, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a JSON object, got {describe(value)}.",
            location,
        )
        return None
    return value


def check_array(
    ctx: Context, value: Any, location: str, name: str, *, non_empty: bool = False
) -> list[Any] | None:
    """Check that ``value`` is a JSON array (with at least one element, if asked)."""
    if not isinstance(value, list):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a JSON array, got {describe(value)}.",
            location,
        )
        return None
    if non_empty and not value:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must contain at least one element.",
            location,
        )
        return None
    return value


# --- fields of an object ---------------------------------------------------------------------


def check_fields(
    ctx: Context,
    body: Mapping[Any, Any],
    location: str,
    allowed: Collection[str],
    what: str,
    *,
    hints: Mapping[str, str] | None = None,
    language: Language | None = None,
    other_language: Collection[str] = (),
) -> None:
    """Report every field of ``body`` that ``allowed`` does not contain.

    Args:
        ctx: Where findings go.
        body: The object.
        location: Its JSON Pointer; each finding points at the offending field itself.
        allowed: The field names allowed here.
        what: What the object is, for messages (``a Pass state``, ``a retrier``).
        hints: Extra advice for particular fields (``Next`` on a Choice state, …).
        language: The query language the object follows, when it matters.
        other_language: Fields the object would allow in the other query language; they get
            AWS's "only supported for the '…' QueryLanguage" message.
    """
    for name in body:
        if isinstance(name, str) and name in allowed:
            continue
        field_location = location + pointer(name if isinstance(name, str) else str(name))
        if not isinstance(name, str):
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"Field names must be strings, got {describe(name)} in {what}.",
                field_location,
            )
            continue
        if language is not None and name in other_language:
            ctx.error(SCHEMA_VALIDATION_FAILED, language_mismatch(language, name), field_location)
            continue
        advice = (hints or {}).get(name)
        if advice is None:
            close = get_close_matches(name, list(allowed), n=1, cutoff=0.75)
            advice = (
                f"did you mean '{close[0]}'?"
                if close
                else f"the fields allowed are {quote_list(sorted(allowed))}."
            )
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"Field '{name}' is not supported in {what}; {advice}",
            field_location,
        )


def language_mismatch(language: Language, name: str, instead: str | None = None) -> str:
    """AWS's message for a field of the other query language, with what to write instead."""
    other = JSONATA if language == JSONPATH else JSONPATH
    instead = instead or _EQUIVALENTS.get(name)
    if language == JSONPATH:
        advice = 'set "QueryLanguage": "JSONata" on the state (or the state machine) to use it' + (
            f", or write it with {instead}" if instead else ""
        )
    else:
        advice = f"in a JSONata state write {instead}" if instead else "remove it"
    return (
        f"The QueryLanguage is set to '{language}', but field '{name}' is only supported for "
        f"the '{other}' QueryLanguage; {advice}."
    )


_EQUIVALENTS: Final = {
    # JSONata fields, in JSONPath terms.
    "Arguments": "Parameters",
    "Output": "InputPath, ResultSelector, ResultPath and OutputPath",
    "Items": "ItemsPath",
    "Condition": "'Variable' and a comparison operator",
    # JSONPath fields, in JSONata terms.
    "Parameters": "'Arguments' (or 'ItemSelector' in a Map)",
    "InputPath": "'Arguments' or 'Output' reading $states.input",
    "OutputPath": "'Output'",
    "ResultSelector": "'Output' reading $states.result",
    "ResultPath": "'Output', combining $states.input with $states.result (or with "
    "$states.errorOutput in a Catch)",
    "Result": "'Output'",
    "ItemsPath": "'Items'",
    "Variable": "'Condition' holding a JSONata expression",
    "RoleArn.$": "'RoleArn' holding a JSONata expression",
    **{
        f"{field}Path": f"'{field}' holding a JSONata expression"
        for field in (
            "Seconds",
            "Timestamp",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Error",
            "Cause",
            "MaxItemsPerBatch",
            "MaxInputBytesPerBatch",
        )
    },
}


def check_required(
    ctx: Context, body: Mapping[Any, Any], location: str, required: Iterable[str], what: str
) -> None:
    """Report, in one finding as AWS does, the required fields ``body`` lacks."""
    missing = [name for name in required if name not in body]
    if missing:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"These fields are required: [{', '.join(missing)}]; add "
            f"{'it' if len(missing) == 1 else 'them'} to {what}.",
            location,
        )


def check_exclusive(
    ctx: Context,
    body: Mapping[Any, Any],
    location: str,
    names: tuple[str, ...],
    what: str,
    *,
    exactly_one: bool = False,
) -> None:
    """Report when more than one of ``names`` is present (or none, with ``exactly_one``)."""
    present = [name for name in names if name in body]
    if len(present) > 1:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{what} can have only one of {quote_list(names)}, but has "
            f"{quote_list(present)}; keep one.",
            location + pointer(present[1]),
        )
    elif exactly_one and not present:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{what} must have exactly one of {quote_list(names)}; add one.",
            location,
        )
