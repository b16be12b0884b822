"""Validation of JSONata expressions (``"{% … %}"``) in the fields that accept them.

In a JSONata state, a string value that starts with ``{%`` and ends with ``%}`` is an
expression: the text between the delimiters, with no trimming of the string itself (``" {% 1
%}"`` is a plain string). Every such string in a JSONata-capable field is compiled once here,
and a field's value may be one expression (``"Output": "{% $states.input %}"``) or contain them
at any depth (``"Arguments": {"body": {"id": "{% $id %}"}}``). Each expression is checked for:

* syntax: ``INVALID_JSONATA_EXPRESSION`` with the parser's message, at the string's location;
* what it reads, by AWS's rules: ``$$``, ``$`` and bare field names at the top level have no
  input document to read (``UNSUPPORTED_JSONATA_EXPRESSION``, see ``_validate_jsonata_refs``);
  ``$states.errorOutput`` exists only in a Catch's ``Output`` and ``Assign`` (an error, as on
  AWS); ``$states.result`` only in the top-level ``Output`` and ``Assign`` of a Task, Map or
  Parallel (a warning: the States Language forbids it elsewhere, but whether AWS refuses the
  definition is not known; where it is absent the expression can only return nothing);
* the workflow variables it reads, noted for the reference checks of ``_validate_variables``.

A string that starts with ``{%`` but does not end with ``%}`` is refused: it was meant to be an
expression. Typed fields (``TimeoutSeconds``, ``Items``, Choice ``Condition``, …) accept their
static type or an expression, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from stepline.asl._diagnostics import pointer
from stepline.asl._jsonata import CompiledExpression, JsonataSyntaxError, compile_jsonata
from stepline.asl._validate_common import (
    INVALID_JSONATA_EXPRESSION,
    MAX_SECONDS,
    SCHEMA_VALIDATION_FAILED,
    UNSUPPORTED_FEATURE,
    UNSUPPORTED_JSONATA_EXPRESSION,
    Context,
    as_integer,
    describe,
)
from stepline.asl._validate_jsonata_refs import top_level_references

__all__ = [
    "EXPRESSION_HINT",
    "Where",
    "check_boolean_or_expression",
    "check_expression",
    "check_integer_or_expression",
    "check_jsonata_value",
    "check_number_or_expression",
    "check_string_or_expression",
    "is_expression",
]

EXPRESSION_HINT: Final = 'a JSONata expression such as "{% $states.input.n %}"'


@dataclass(frozen=True, slots=True)
class Where:
    """Where an expression sits, and which members of ``$states`` exist there.

    Attributes:
        field: The field, for messages (``Output``, ``Arguments``, ``Catch Output``).
        result: ``$states.result`` exists (a Task's, Map's or Parallel's top-level ``Output``
            and ``Assign``).
        error_output: ``$states.errorOutput`` exists (a Catch's ``Output`` and ``Assign``).
    """

    field: str
    result: bool = False
    error_output: bool = False


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a JSONata string: ``{%``, the expression, ``%}``."""
    return isinstance(value, str) and len(value) >= 4 and value[:2] == "{%" and value[-2:] == "%}"


def _opens_expression(value: str) -> bool:
    return value.startswith("{%") and not is_expression(value)


def check_expression(ctx: Context, value: str, location: str, where: Where) -> None:
    """Check one JSONata string (``value`` includes its ``{% %}`` delimiters)."""
    text = value[2:-2]
    compiled = _compile(ctx, text, location)
    if compiled is None:
        return
    shown = describe(text.strip())
    for name in top_level_references(text):
        if name == "$$":
            message = (
                "Reference to '$$' is not supported. A JSONata expression in Step Functions "
                "has no input document: read the state input as $states.input and the context "
                "object as $states.context."
            )
        elif name == "$":
            message = (
                "Reference to '$' at the top level is not supported. A JSONata expression in "
                "Step Functions has no input document: read the state input as $states.input."
            )
        else:
            message = (
                f"Reference to '{name}' at the top level is not supported. A JSONata "
                "expression in Step Functions has no input document: read the state input as "
                f"$states.input.{name}, or a variable as ${name}."
            )
        ctx.error(UNSUPPORTED_JSONATA_EXPRESSION, f"{message} (in {shown})", location)
    fields = compiled.states_fields
    if "errorOutput" in fields and not where.error_output:
        ctx.error(
            UNSUPPORTED_JSONATA_EXPRESSION,
            f"Reference to '$states.errorOutput' is not supported in {where.field} (in "
            f"{shown}): the error output exists only in a Catch's Output and Assign.",
            location,
        )
    if "result" in fields and not where.result:
        ctx.warning(
            UNSUPPORTED_JSONATA_EXPRESSION,
            f"$states.result is not available in {where.field} (in {shown}): only a Task's, "
            "Map's or Parallel's own Output and Assign see the result, so here the "
            "expression reads nothing. Read $states.input, or a variable assigned earlier.",
            location,
        )
    for name in sorted(compiled.free_variables - {"states"}):
        ctx.reads(name, location)


def _compile(ctx: Context, text: str, location: str) -> CompiledExpression | None:
    """Compile (once per text per validation) and report a syntax error at ``location``."""
    known = ctx.expressions.get(text)
    if known is None:
        try:
            known = compile_jsonata(text)
        except JsonataSyntaxError as exc:
            known = exc
        except RuntimeError as exc:  # the configured engine is missing: say so, keep going
            ctx.error(
                UNSUPPORTED_FEATURE, f"JSONata expressions cannot be checked: {exc}", location
            )
            return None
        ctx.expressions[text] = known
    if isinstance(known, JsonataSyntaxError):
        ctx.error(
            INVALID_JSONATA_EXPRESSION,
            f"{known.message}: the JSONata expression {describe(text.strip())} does not parse; "
            "fix its syntax.",
            location,
        )
        return None
    return known


def check_jsonata_value(ctx: Context, value: Any, location: str, where: Where) -> None:
    """Check a field that takes any JSON value with expressions at any depth.

    ``Arguments``, ``Output``, ``ItemSelector``, ``BatchInput`` and the values of ``Assign``.
    The walk is iterative, so that a deeply nested value cannot exhaust the stack.
    """
    stack: list[tuple[Any, str]] = [(value, location)]
    seen: set[int] = set()  # a Python value may contain itself; visit each container once
    while stack:
        item, here = stack.pop()
        if isinstance(item, str):
            if is_expression(item):
                check_expression(ctx, item, here, where)
            elif _opens_expression(item):
                ctx.error(
                    SCHEMA_VALIDATION_FAILED,
                    f"JSONata string must start with {{% and end with %}}: {describe(item)} "
                    "starts an expression but does not close it; end it with '%}'.",
                    here,
                )
            continue
        if isinstance(item, Mapping | list):
            if id(item) in seen:
                continue
            seen.add(id(item))
        if isinstance(item, Mapping):
            children = [(child, here + pointer(str(key))) for key, child in item.items()]
        elif isinstance(item, list):
            children = [(child, here + pointer(index)) for index, child in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))  # findings in the order the author wrote them


def _expression_or(
    ctx: Context, value: Any, location: str, where: Where, *, name: str, kind: str
) -> bool:
    """Handle a string in a typed field: check it if it is an expression, else report it.

    Returns True when ``value`` was a string (and so has been dealt with).
    """
    if not isinstance(value, str):
        return False
    if is_expression(value):
        check_expression(ctx, value, location, where)
    else:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be {kind} or {EXPRESSION_HINT}, got {describe(value)}.",
            location,
        )
    return True


def check_integer_or_expression(
    ctx: Context,
    value: Any,
    location: str,
    name: str,
    *,
    minimum: int,
    maximum: int = MAX_SECONDS,
    where: Where | None = None,
) -> None:
    """An integer in ``[minimum, maximum]``, or an expression (``TimeoutSeconds``, …)."""
    kind = "a positive integer" if minimum == 1 else "a non-negative integer"
    if _expression_or(ctx, value, location, where or Where(name), name=name, kind=kind):
        return
    number = as_integer(value)
    if number is None or not minimum <= number <= maximum:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be {kind} no greater than {maximum} or {EXPRESSION_HINT}, "
            f"got {describe(value)}.",
            location,
        )


def check_number_or_expression(
    ctx: Context, value: Any, location: str, name: str, *, minimum: float, maximum: float
) -> None:
    """A number in ``[minimum, maximum]``, or an expression (``ToleratedFailurePercentage``)."""
    kind = f"a number between {minimum:g} and {maximum:g}"
    if _expression_or(ctx, value, location, Where(name), name=name, kind=kind):
        return
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and minimum <= value <= maximum  # NaN compares false
    )
    if not ok:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be {kind} or {EXPRESSION_HINT}, got {describe(value)}.",
            location,
        )


def check_string_or_expression(
    ctx: Context, value: Any, location: str, name: str, *, non_empty: bool = False
) -> None:
    """A string, which is an expression when it is written as one (Fail ``Error``/``Cause``)."""
    if not isinstance(value, str) or (non_empty and not value):
        required = "a non-empty string" if non_empty else "a string"
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be {required} (it may be {EXPRESSION_HINT}), got {describe(value)}.",
            location,
        )
        return
    check_jsonata_value(ctx, value, location, Where(name))


def check_boolean_or_expression(ctx: Context, value: Any, location: str, name: str) -> None:
    """``true``, ``false`` or an expression (a Choice rule's ``Condition``)."""
    if isinstance(value, bool):
        return
    if not _expression_or(ctx, value, location, Where(name), name=name, kind="true, false"):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be true, false or {EXPRESSION_HINT}, got {describe(value)}.",
            location,
        )
