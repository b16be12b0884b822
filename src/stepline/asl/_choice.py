"""Choice rules in JSONPath mode: the operator catalogue, and compilation into fast matchers.

A Choice rule is either a *boolean expression* (``And``, ``Or``, ``Not`` over nested rules) or a
*data test*: a ``Variable`` path plus exactly one comparison operator. This module holds the
operator tables and :func:`compile_choice_rule`, which turns a valid rule into a
``matches(input, context) -> bool`` closure in which the paths, the literal operand and the
comparison are all bound once, so that evaluation does no parsing and no operator dispatch.
:func:`~stepline.asl._choice_validate.validate_choice_rule` (in
:mod:`stepline.asl._choice_validate`, which imports the tables from here) reports every problem
with a rule as diagnostics before it is compiled.

Runtime semantics (AWS Step Functions, as documented and as observed; decisions are marked):

* The ``Variable`` selects nothing: ``States.Runtime`` with AWS's cause
  ``Invalid path '<path>': The choice state's condition path references an invalid value.`` for
  every operator except ``IsPresent`` (the ASL specification singles it out as not throwing).
* A ``…Path`` operand selects nothing: the same error, naming the operand's path.
* The ``Variable``'s value has the wrong type for the operator (``NumericEquals`` on a string,
  ``StringEquals`` on a number, a ``Timestamp…`` operator on a string that is not a timestamp):
  the rule is simply false, as the specification says.
* A ``…Path`` operand of the wrong type: false for the ``…EqualsPath`` operators; for the
  ordering ones (``…LessThanPath`` and friends) ``States.Runtime`` (``Invalid value provided at
  path '<path>'``). *Decision* from one published observation of AWS; the specification would
  make it false.
* Booleans are not numbers (``true`` is not ``NumericEquals 1``); ``1`` equals ``1.0``; numbers
  compare exactly (Python semantics), so integers beyond 2**53 are never conflated.
* Strings are ordered the way AWS documents it (Java's ``String.compareTo``): by UTF-16 code
  unit. That equals code-point order except between a supplementary character (U+10000 and up)
  and U+E000..U+FFFF; equality is unaffected.
* ``StringMatches``: ``*`` matches any run of characters (including none, including newlines),
  ``\\*`` is a literal asterisk, ``\\\\`` a literal backslash; nothing else is special.
  *Decision*: any other backslash is a definition error (the specification makes an "open
  escape" a runtime error; the pattern is a literal, so stepline reports it before running).
* ``And``/``Or`` stop at the first rule that decides the result, so a later rule that would
  raise is not evaluated.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._errors import RUNTIME, DefinitionError, StatesError
from stepline.asl._paths import MISSING, CompiledPath, compile_reference_path
from stepline.asl._timestamps import timestamp_nanos

__all__ = [
    "BOOLEAN_OPERATORS",
    "COMPARISON_OPERATORS",
    "LITERAL_OPERATORS",
    "PATH_OPERATORS",
    "TYPE_TESTS",
    "compile_choice_rule",
    "describe",
]

Matcher = Callable[[Any, Any], bool]
_Test = Callable[[Any], bool]
_Relation = Callable[[Any, Any], bool]

# --- the operator catalogue --------------------------------------------------------------------

_RELATIONS: Final = {
    "Equals": "eq",
    "LessThan": "lt",
    "GreaterThan": "gt",
    "LessThanEquals": "le",
    "GreaterThanEquals": "ge",
}

#: ``name -> (family, relation)`` for operators whose operand is a literal.
LITERAL_OPERATORS: Final[dict[str, tuple[str, str]]] = {
    **{
        f"{family}{rel}": (family, code)
        for family in ("String", "Numeric", "Timestamp")
        for rel, code in _RELATIONS.items()
    },
    "BooleanEquals": ("Boolean", "eq"),
}
#: ``name -> (family, relation)`` for operators whose operand is a reference path.
PATH_OPERATORS: Final[dict[str, tuple[str, str]]] = {
    f"{name}Path": spec for name, spec in LITERAL_OPERATORS.items()
}
#: The type-test operators; their operand is ``true`` or ``false``.
TYPE_TESTS: Final = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
#: The operators that combine nested rules instead of testing a value.
BOOLEAN_OPERATORS: Final = ("And", "Or", "Not")

#: Every comparison operator of a data-test rule.
COMPARISON_OPERATORS: Final[frozenset[str]] = frozenset(
    [*LITERAL_OPERATORS, *PATH_OPERATORS, "StringMatches", *TYPE_TESTS]
)

_FAMILY_NOUN: Final = {
    "String": "a string",
    "Numeric": "a number",
    "Boolean": "a boolean",
    "Timestamp": "a timestamp",
}

# --- string order and wildcard matching -------------------------------------------------------


def _utf16(text: str) -> bytes:
    # Big-endian UTF-16 bytes sort exactly like UTF-16 code units; surrogatepass keeps lone
    # surrogates (legal in JSON strings) from raising.
    return text.encode("utf-16-be", "surrogatepass")


def _str_lt(left: str, right: str) -> bool:
    # If either side is ASCII the two orders agree, which skips the encoding almost always.
    if left.isascii() or right.isascii():
        return left < right
    return _utf16(left) < _utf16(right)


def _str_le(left: str, right: str) -> bool:
    if left.isascii() or right.isascii():
        return left <= right
    return _utf16(left) <= _utf16(right)


def _str_gt(left: str, right: str) -> bool:
    return _str_lt(right, left)


def _str_ge(left: str, right: str) -> bool:
    return _str_le(right, left)


_STRING_RELATIONS: Final[dict[str, _Relation]] = {
    "eq": operator.eq,
    "lt": _str_lt,
    "gt": _str_gt,
    "le": _str_le,
    "ge": _str_ge,
}
_ORDER_RELATIONS: Final[dict[str, _Relation]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "gt": operator.gt,
    "le": operator.le,
    "ge": operator.ge,
}


def _pattern_segments(pattern: str) -> list[str]:
    """Split a pattern at its unescaped ``*`` into literal segments, escapes resolved."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            current.append(pattern[index + 1])
            index += 2
            continue
        if char == "*":
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    return segments


def _compile_pattern(pattern: str) -> _Test:
    """A ``str -> bool`` matcher for a ``StringMatches`` pattern.

    Greedy leftmost matching of the literal segments is exact for ``*``-only wildcards and runs
    in linear time, where a translated regular expression can backtrack exponentially on
    patterns such as ``a*a*a*a*b``.
    """
    segments = _pattern_segments(pattern)
    if len(segments) == 1:
        literal = segments[0]
        return lambda text: text == literal
    head = segments[0]
    tail = segments[-1]
    middle = tuple(segment for segment in segments[1:-1] if segment)
    fixed = len(head) + len(tail)

    def match(text: str) -> bool:
        if len(text) < fixed or not text.startswith(head) or not text.endswith(tail):
            return False
        position = len(head)
        end = len(text) - len(tail)
        for segment in middle:
            found = text.find(segment, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True

    return match


# --- runtime errors ----------------------------------------------------------------------------


def _where(field: str, location: str) -> str:
    return f" ({field} of the Choice rule at {location})" if location else ""


def _missing_error(path: str, field: str, location: str) -> StatesError:
    cause = f"Invalid path '{path}': The choice state's condition path references an invalid value."
    if location:
        cause += (
            f" ({field} of the Choice rule at {location}; if the value may be absent, test it "
            'first with "IsPresent": true inside an "And".)'
        )
    return StatesError(RUNTIME, cause)


def _invalid_value_error(path: str, op: str, family: str, value: Any, location: str) -> StatesError:
    cause = (
        f"Invalid value provided at path '{path}': {op} compares against {_FAMILY_NOUN[family]}, "
        f"but the path selects {describe(value)}."
    )
    return StatesError(RUNTIME, cause + _where(op, location))


def describe(value: Any) -> str:
    """Name a JSON value for a message: ``null``, ``the number 3``, ``the string 'a'``, ….

    Args:
        value: Any JSON value, or :data:`~stepline.asl._paths.MISSING` ("nothing").

    Returns:
        A short phrase; strings longer than 40 characters are cut to 37 plus ``...``.
    """
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


# --- compilation -------------------------------------------------------------------------------


def _type_test(family: str) -> Callable[[Any], Any]:
    """``value -> comparable`` for a family, or :data:`MISSING` when the value does not fit."""
    if family == "String":
        return lambda value: value if type(value) is str else MISSING
    if family == "Numeric":
        return lambda value: value if type(value) is int or type(value) is float else MISSING
    if family == "Boolean":
        return lambda value: value if type(value) is bool else MISSING

    def timestamp(value: Any) -> Any:
        nanos = timestamp_nanos(value)
        return MISSING if nanos is None else nanos

    return timestamp


def _literal_test(family: str, relation: str, literal: Any) -> _Test:
    """The ``value -> bool`` test of an ordering (or timestamp) operator, literal pre-bound.

    String/Numeric/Boolean equality has its own leaf (:func:`_equals_leaf`).
    """
    if family == "String":
        compare = _STRING_RELATIONS[relation]
        return lambda value: type(value) is str and compare(value, literal)
    if family == "Numeric":
        compare = _ORDER_RELATIONS[relation]
        return lambda value: (
            (type(value) is int or type(value) is float) and compare(value, literal)
        )
    bound = timestamp_nanos(literal)
    if bound is None:
        raise DefinitionError(f"{literal!r} is not a timestamp.")
    compare = _ORDER_RELATIONS[relation]

    def test(value: Any) -> bool:
        nanos = timestamp_nanos(value)
        return nanos is not None and compare(nanos, bound)

    return test


def _is_test(name: str, expected: bool) -> _Test:
    if name == "IsNull":
        return lambda value: (value is None) is expected
    if name == "IsString":
        return lambda value: (type(value) is str) is expected
    if name == "IsBoolean":
        return lambda value: (type(value) is bool) is expected
    if name == "IsNumeric":
        return lambda value: (type(value) is int or type(value) is float) is expected
    return lambda value: (timestamp_nanos(value) is not None) is expected


def _leaf(variable: CompiledPath, test: _Test, location: str) -> Matcher:
    evaluate = variable.evaluate
    text = variable.text

    def matches(data: Any, context: Any) -> bool:
        value = evaluate(data, context)
        if value is MISSING:
            raise _missing_error(text, "Variable", location)
        return test(value)

    return matches


def _equals_leaf(variable: CompiledPath, family: str, literal: Any, location: str) -> Matcher:
    """``StringEquals``/``NumericEquals``/``BooleanEquals``: the common case, one call deep."""
    evaluate = variable.evaluate
    text = variable.text
    if family == "Boolean":
        # JSON booleans are the True/False singletons; identity also rejects 1 and 0.
        def matches_boolean(data: Any, context: Any) -> bool:
            value = evaluate(data, context)
            if value is literal:
                return True
            if value is MISSING:
                raise _missing_error(text, "Variable", location)
            return False

        return matches_boolean
    # A string literal can only equal a string, and a number only a number or a boolean
    # (True == 1 in Python), so only the numeric case needs a type check, and only on a hit.
    exclude_bool = family == "Numeric"

    def matches(data: Any, context: Any) -> bool:
        value = evaluate(data, context)
        if value == literal:
            return not exclude_bool or type(value) is not bool
        if value is MISSING:
            raise _missing_error(text, "Variable", location)
        return False

    return matches


def _path_leaf(variable: CompiledPath, op: str, operand: CompiledPath, location: str) -> Matcher:
    family, relation = PATH_OPERATORS[op]
    evaluate = variable.evaluate
    evaluate_operand = operand.evaluate
    text = variable.text
    operand_text = operand.text
    accept = _type_test(family)
    compare = (_STRING_RELATIONS if family == "String" else _ORDER_RELATIONS)[relation]
    # AWS was observed to fail, not to answer false, when an ordering operand has the wrong type.
    strict = relation != "eq"

    def matches(data: Any, context: Any) -> bool:
        value = evaluate(data, context)
        if value is MISSING:
            raise _missing_error(text, "Variable", location)
        other = evaluate_operand(data, context)
        if other is MISSING:
            raise _missing_error(operand_text, op, location)
        right = accept(other)
        if right is MISSING:
            if strict:
                raise _invalid_value_error(operand_text, op, family, other, location)
            return False
        left = accept(value)
        if left is MISSING:
            return False
        return bool(compare(left, right))

    return matches


def _is_present_leaf(variable: CompiledPath, expected: bool) -> Matcher:
    evaluate = variable.evaluate

    def matches(data: Any, context: Any) -> bool:
        return (evaluate(data, context) is not MISSING) is expected

    return matches


def _combine_and(rules: tuple[Matcher, ...]) -> Matcher:
    if len(rules) == 1:
        return rules[0]
    if len(rules) == 2:
        first, second = rules
        return lambda data, context: first(data, context) and second(data, context)

    def matches(data: Any, context: Any) -> bool:
        # A plain loop: all() over a generator costs a frame per call on this hot path.
        for rule in rules:  # noqa: SIM110
            if not rule(data, context):
                return False
        return True

    return matches


def _combine_or(rules: tuple[Matcher, ...]) -> Matcher:
    if len(rules) == 1:
        return rules[0]
    if len(rules) == 2:
        first, second = rules
        return lambda data, context: first(data, context) or second(data, context)

    def matches(data: Any, context: Any) -> bool:
        for rule in rules:  # noqa: SIM110
            if rule(data, context):
                return True
        return False

    return matches


def _compile(rule: Any, location: str) -> Matcher:
    if not isinstance(rule, Mapping):
        raise DefinitionError("A Choice rule must be a JSON object.")
    for name in BOOLEAN_OPERATORS:
        if name in rule:
            value = rule[name]
            if name == "Not":
                inner = _compile(value, location + "/Not")
                return lambda data, context: not inner(data, context)
            if not isinstance(value, list) or not value:
                raise DefinitionError(f"'{name}' must be a non-empty array of Choice rules.")
            rules = tuple(
                _compile(item, f"{location}/{name}/{index}") for index, item in enumerate(value)
            )
            return _combine_and(rules) if name == "And" else _combine_or(rules)
    operators = [key for key in rule if key in COMPARISON_OPERATORS]
    if len(operators) != 1:
        raise DefinitionError("A Choice rule must hold exactly one comparison operator.")
    op = operators[0]
    operand = rule[op]
    variable_text = rule.get("Variable")
    if not isinstance(variable_text, str):
        raise DefinitionError("A comparison Choice rule needs a 'Variable' path.")
    variable = compile_reference_path(variable_text)
    if op == "IsPresent":
        return _is_present_leaf(variable, operand is True)
    if op in TYPE_TESTS:
        return _leaf(variable, _is_test(op, operand is True), location)
    if op == "StringMatches":
        pattern = _compile_pattern(operand)
        return _leaf(variable, lambda value: type(value) is str and pattern(value), location)
    if op in PATH_OPERATORS:
        return _path_leaf(variable, op, compile_reference_path(operand), location)
    family, relation = LITERAL_OPERATORS[op]
    if relation == "eq" and family != "Timestamp":
        return _equals_leaf(variable, family, operand, location)
    return _leaf(variable, _literal_test(family, relation, operand), location)


def compile_choice_rule(rule: Mapping[str, Any], *, location: str = "") -> Matcher:
    """Compile a valid Choice rule into ``matches(input, context) -> bool``.

    Everything is decided here, once: paths are compiled, the literal operand (a timestamp
    already converted to nanoseconds, a wildcard pattern already split) and the comparison are
    bound into one closure per leaf, and ``And``/``Or``/``Not`` become closures over their
    children. Fields other than the operator and ``Variable`` (``Next``, ``Comment``,
    ``Assign``) are the caller's concern and are ignored here.

    Args:
        rule: A rule that :func:`~stepline.asl._choice_validate.validate_choice_rule`
            accepted.
        location: The rule's JSON Pointer (e.g. ``/States/Route/Choices/0``). When given, runtime
            error causes name the rule and field after AWS's own sentence; when empty, causes
            are exactly AWS's text.

    Returns:
        A matcher. It raises :class:`StatesError` (``States.Runtime``) when a path it needs
        selects nothing (or, for ordering ``…Path`` operators, selects a value of the wrong
        type); otherwise it returns a bool.

    Raises:
        DefinitionError: The rule is malformed (it was not validated first).
    """
    return _compile(rule, location)
