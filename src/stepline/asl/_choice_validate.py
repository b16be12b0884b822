"""Validation of Choice rules in JSONPath mode: every problem with a rule, as diagnostics.

:func:`validate_choice_rule` checks one rule and, recursively, the rules nested in its ``And``,
``Or`` and ``Not``: the shape (an object with exactly one operator, ``Variable`` where a
comparison needs it, ``Next`` and ``Assign`` only at the top level), the type of each operand,
the syntax of every reference path and ``StringMatches`` pattern, and misspelt field names. It
never raises. A rule it accepts can be compiled by
:func:`~stepline.asl._choice.compile_choice_rule` without a
:class:`~stepline.asl._errors.DefinitionError`.

The operator tables are shared with compilation and live in :mod:`stepline.asl._choice`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._choice import (
    BOOLEAN_OPERATORS,
    COMPARISON_OPERATORS,
    LITERAL_OPERATORS,
    PATH_OPERATORS,
    TYPE_TESTS,
    describe,
)
from stepline.asl._diagnostics import Diagnostic, pointer
from stepline.asl._errors import DefinitionError
from stepline.asl._paths import compile_reference_path
from stepline.asl._timestamps import timestamp_nanos

__all__ = ["validate_choice_rule"]

_SCHEMA: Final = "SCHEMA_VALIDATION_FAILED"
_ALL_OPERATORS: Final = COMPARISON_OPERATORS | frozenset(BOOLEAN_OPERATORS)
_KNOWN_FIELDS: Final = sorted(_ALL_OPERATORS | {"Variable", "Comment", "Next", "Assign"})


def _pattern_problem(pattern: str) -> str | None:
    """Why a ``StringMatches`` pattern is malformed, or ``None`` if it is fine.

    The grammar is the one :func:`stepline.asl._choice._pattern_segments` splits: ``\\*`` and
    ``\\\\`` are the only escapes.
    """
    index = 0
    length = len(pattern)
    while index < length:
        if pattern[index] == "\\":
            if index + 1 == length:
                return "it ends with a lone backslash"
            if pattern[index + 1] not in "*\\":
                return f"'\\{pattern[index + 1]}' at position {index} is not an escape"
            index += 2
        else:
            index += 1
    return None


def _check_path(value: Any, field: str, location: str, out: list[Diagnostic]) -> None:
    where = location + pointer(field)
    if not isinstance(value, str):
        out.append(
            Diagnostic(
                _SCHEMA,
                f"'{field}' must be a reference path string such as \"$.order.total\", "
                f"got {describe(value)}.",
                where,
            )
        )
        return
    try:
        compile_reference_path(value)
    except DefinitionError as exc:
        out.append(Diagnostic(exc.code, f"'{field}': {exc.message}", where))


def _check_operand(op: str, value: Any, location: str, out: list[Diagnostic]) -> None:
    where = location + pointer(op)
    if op in PATH_OPERATORS:
        _check_path(value, op, location, out)
        return
    if op in TYPE_TESTS:
        if type(value) is not bool:
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"'{op}' must be true or false, got {describe(value)}. "
                    f'Write "{op}": true (or false to test the opposite).',
                    where,
                )
            )
        return
    if op == "StringMatches":
        if type(value) is not str:
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"'StringMatches' must be a string pattern such as \"log-*.txt\", "
                    f"got {describe(value)}.",
                    where,
                )
            )
            return
        problem = _pattern_problem(value)
        if problem is not None:
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"The 'StringMatches' pattern is malformed: {problem}. Only '*' is a "
                    "wildcard; in the pattern, '\\*' is a literal asterisk and '\\\\' a literal "
                    'backslash (in JSON source: "\\\\*" and "\\\\\\\\").',
                    where,
                )
            )
        return
    family, _relation = LITERAL_OPERATORS[op]
    if family == "String":
        if type(value) is not str:
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"'{op}' must be a string, got {describe(value)}. Quote the value, or use "
                    f"'{op.replace('String', 'Numeric', 1)}' or 'BooleanEquals' to compare "
                    "numbers or booleans.",
                    where,
                )
            )
    elif family == "Numeric":
        if type(value) not in (int, float):
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"'{op}' must be a number, got {describe(value)}. Write a JSON number "
                    f"such as 42 or 0.5 (unquoted), or use "
                    f"'{op.replace('Numeric', 'String', 1)}' to compare strings.",
                    where,
                )
            )
    elif family == "Boolean":
        if type(value) is not bool:
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"'BooleanEquals' must be true or false, got {describe(value)}. Write an "
                    "unquoted JSON boolean.",
                    where,
                )
            )
    elif timestamp_nanos(value) is None:
        out.append(
            Diagnostic(
                _SCHEMA,
                f"'{op}' must be a timestamp string such as \"2016-03-14T01:59:00Z\" or "
                "\"2016-03-14T03:59:00.5+02:00\" (RFC 3339 with an uppercase 'T' and, without "
                f"an offset, an uppercase 'Z'), got {describe(value)}.",
                where,
            )
        )


def _unknown_field(key: str, location: str, out: list[Diagnostic]) -> None:
    close = difflib.get_close_matches(key, _KNOWN_FIELDS, n=1, cutoff=0.75)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    out.append(
        Diagnostic(
            _SCHEMA,
            f"'{key}' is not a field of a Choice rule.{hint} A rule holds 'Variable' and one "
            "comparison operator (such as 'StringEquals' or 'NumericLessThanPath'), or one of "
            "'And', 'Or', 'Not'; plus 'Next' at the top level and an optional 'Comment'.",
            location + pointer(key),
        )
    )


def _validate(rule: Any, location: str, top_level: bool, out: list[Diagnostic]) -> None:
    if not isinstance(rule, Mapping):
        out.append(
            Diagnostic(
                _SCHEMA,
                f"A Choice rule must be a JSON object, got {describe(rule)}. Write e.g. "
                '{"Variable": "$.status", "StringEquals": "done", "Next": "Finish"}.',
                location,
            )
        )
        return

    # Keys are strings in JSON; str() only guards Python callers from a crash.
    rule = {key if isinstance(key, str) else str(key): value for key, value in rule.items()}
    operators = [key for key in rule if key in _ALL_OPERATORS]
    comparisons = [key for key in operators if key in COMPARISON_OPERATORS]
    has_condition = "Condition" in rule

    for key, value in rule.items():
        if key in _ALL_OPERATORS or key == "Variable":
            continue
        if key == "Comment":
            if not isinstance(value, str):
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        f"'Comment' must be a string, got {describe(value)}.",
                        location + pointer(key),
                    )
                )
        elif key == "Next":
            if not top_level:
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        "'Next' is only allowed on a rule directly inside 'Choices'; a rule "
                        "nested in 'And', 'Or' or 'Not' only decides true or false. Remove "
                        "this 'Next' and keep the one on the enclosing top-level rule.",
                        location + pointer(key),
                    )
                )
            elif not isinstance(value, str) or not value:
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        f"'Next' must be the name of a state, got {describe(value)}.",
                        location + pointer(key),
                    )
                )
        elif key == "Assign":
            if not top_level:
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        "'Assign' is only allowed on a rule directly inside 'Choices'; move it "
                        "to the enclosing top-level rule.",
                        location + pointer(key),
                    )
                )
            elif not isinstance(value, Mapping):
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        f"'Assign' must be an object of variable names to values, got "
                        f"{describe(value)}.",
                        location + pointer(key),
                    )
                )
        elif key == "Condition":
            out.append(
                Diagnostic(
                    _SCHEMA,
                    "'Condition' is a JSONata field, but this state uses JSONPath. Either "
                    'write the rule as "Variable" plus a comparison operator (e.g. '
                    '"Variable": "$.total", "NumericGreaterThan": 100), or set '
                    '"QueryLanguage": "JSONata" on the state (or the state machine).',
                    location + pointer(key),
                )
            )
        else:
            _unknown_field(key, location, out)

    if top_level and "Next" not in rule:
        out.append(
            Diagnostic(
                _SCHEMA,
                "This Choice rule has no 'Next'. Every rule directly inside 'Choices' needs "
                '"Next": "<state name>", the state to go to when the rule matches.',
                location,
            )
        )

    if not operators:
        if not has_condition:
            lead = (
                "This Choice rule has 'Variable' but no comparison operator"
                if "Variable" in rule
                else "This Choice rule has no operator"
            )
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f'{lead}. Add exactly one: a comparison such as "StringEquals": "done", '
                    '"NumericGreaterThanPath": "$.limit" or "IsPresent": true (with "Variable"), '
                    "or one of 'And', 'Or', 'Not'.",
                    location,
                )
            )
        return

    if len(operators) > 1:
        listed = ", ".join(f"'{name}'" for name in operators)
        out.append(
            Diagnostic(
                _SCHEMA,
                f"This Choice rule has {len(operators)} operators ({listed}); a rule holds "
                "exactly one. Split it into separate rules, or combine them with "
                '"And": [{...}, {...}].',
                location,
            )
        )

    for name in operators:
        value = rule[name]
        where = location + pointer(name)
        if name == "Not":
            if isinstance(value, list):
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        "'Not' takes a single Choice rule (an object), not an array. To negate "
                        'several rules, wrap them: "Not": {"And": [...]} or "Not": {"Or": [...]}.',
                        where,
                    )
                )
            else:
                _validate(value, where, False, out)
        elif name in ("And", "Or"):
            if not isinstance(value, list):
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        f"'{name}' must be an array of Choice rules, got {describe(value)}. "
                        f'Write "{name}": [{{...}}, {{...}}].',
                        where,
                    )
                )
            elif not value:
                out.append(
                    Diagnostic(
                        _SCHEMA,
                        f"'{name}' must hold at least one Choice rule; it is empty. Add the "
                        f"rules to combine, or remove the '{name}'.",
                        where,
                    )
                )
            else:
                for index, item in enumerate(value):
                    _validate(item, where + pointer(index), False, out)
        else:
            _check_operand(name, value, location, out)

    if comparisons:
        if "Variable" not in rule:
            out.append(
                Diagnostic(
                    _SCHEMA,
                    f"This Choice rule uses '{comparisons[0]}' but has no 'Variable'. Add "
                    '"Variable": "$.field", the path of the value to test.',
                    location,
                )
            )
        else:
            _check_path(rule["Variable"], "Variable", location, out)
    elif "Variable" in rule:
        out.append(
            Diagnostic(
                _SCHEMA,
                f"'Variable' has no effect on an '{operators[0]}' rule, which tests its nested "
                "rules. Move 'Variable' into each nested rule that compares a value.",
                location + pointer("Variable"),
            )
        )


def validate_choice_rule(rule: Any, location: str, top_level: bool) -> list[Diagnostic]:
    """Check one Choice rule (JSONPath mode) and, recursively, the rules nested in it.

    Never raises for any JSON value: every problem becomes a :class:`Diagnostic` of severity
    ``ERROR`` and code ``SCHEMA_VALIDATION_FAILED`` (or the path compiler's code for a malformed
    path), located at the offending field, e.g. ``/States/Route/Choices/0/And/1/Variable``.

    Args:
        rule: The rule as loaded from the definition.
        location: JSON Pointer of the rule, e.g. ``/States/Route/Choices/0``.
        top_level: True for a rule directly inside ``Choices`` (it must have ``Next``); False
            for rules nested in ``And``/``Or``/``Not`` (they must not).

    Returns:
        The diagnostics, in field order; empty when the rule is valid.
    """
    out: list[Diagnostic] = []
    _validate(rule, location, top_level, out)
    return out
