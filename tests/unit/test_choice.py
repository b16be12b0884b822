"""Tests for JSONPath Choice rules: evaluation semantics and validation diagnostics."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.asl._choice import COMPARISON_OPERATORS, compile_choice_rule
from stepline.asl._choice_validate import validate_choice_rule
from stepline.asl._diagnostics import Diagnostic
from stepline.asl._errors import DefinitionError, StatesError

LOC = "/States/Route/Choices/0"
AWS_MISSING = "Invalid path '{}': The choice state's condition path references an invalid value."


def match(rule: dict[str, Any], data: Any, context: Any = None) -> bool:
    """Validate (must be clean), compile and evaluate a rule."""
    assert validate_choice_rule(rule, LOC, top_level=False) == []
    result = compile_choice_rule(rule)(data, context)
    assert type(result) is bool
    return result


def runtime_error(rule: dict[str, Any], data: Any, context: Any = None, **kw: str) -> StatesError:
    assert validate_choice_rule(rule, LOC, top_level=False) == []
    matcher = compile_choice_rule(rule, **kw)
    with pytest.raises(StatesError) as info:
        matcher(data, context)
    assert info.value.error == "States.Runtime"
    return info.value


def problems(rule: Any, top_level: bool = True) -> list[tuple[str, str]]:
    """(location, code) of every diagnostic, in order."""
    found = validate_choice_rule(rule, LOC, top_level)
    for diagnostic in found:
        assert isinstance(diagnostic, Diagnostic)
        assert diagnostic.severity == "ERROR"
        assert diagnostic.message
    return [(d.location, d.code) for d in found]


def messages(rule: Any, top_level: bool = True) -> list[str]:
    return [d.message for d in validate_choice_rule(rule, LOC, top_level)]


# --- string operators -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "literal", "expected"),
    [
        ("StringEquals", "done", "done", True),
        ("StringEquals", "Done", "done", False),
        ("StringEquals", "", "", True),
        ("StringEquals", "e\u0301", "\u00e9", False),  # no Unicode normalisation
        ("StringLessThan", "apple", "banana", True),
        ("StringLessThan", "banana", "banana", False),
        ("StringLessThan", "B", "a", True),  # uppercase sorts first: no case folding
        ("StringLessThan", "ab", "abc", True),
        ("StringGreaterThan", "banana", "apple", True),
        ("StringGreaterThan", "apple", "apple", False),
        ("StringLessThanEquals", "apple", "apple", True),
        ("StringLessThanEquals", "apples", "apple", False),
        ("StringGreaterThanEquals", "apple", "apple", True),
        ("StringGreaterThanEquals", "appl", "apple", False),
        # Java compareTo order (UTF-16 code units): a supplementary character sorts below
        # U+E000..U+FFFF, although its code point is higher.
        ("StringLessThan", "\U0001f600", "\uffff", True),
        ("StringGreaterThan", "\uffff", "\U0001f600", True),
        ("StringLessThan", "\U0001f600", "\ue000", True),
        ("StringLessThan", "\u00e9", "\U0001f600", True),  # below U+D800: code-point order
        ("StringLessThanEquals", "x\U0001f600", "x\uffff", True),
        ("StringGreaterThanEquals", "x\U0001f600", "x\uffff", False),
    ],
)
def test_string_operators(op: str, value: str, literal: str, expected: bool) -> None:
    assert match({"Variable": "$.v", op: literal}, {"v": value}) is expected


@pytest.mark.parametrize(
    "op",
    [
        "StringEquals",
        "StringLessThan",
        "StringGreaterThan",
        "StringLessThanEquals",
        "StringGreaterThanEquals",
        "StringMatches",
    ],
)
@pytest.mark.parametrize("value", [None, 1, 1.5, True, False, ["a"], {"a": "a"}])
def test_string_operators_on_non_strings_are_false(op: str, value: Any) -> None:
    assert match({"Variable": "$.v", op: "a"}, {"v": value}) is False
    assert match({"Variable": "$.v", op: "*"}, {"v": value}) is False


def test_string_operators_see_a_timestamp_as_a_string() -> None:
    rule = {"Variable": "$.at", "StringEquals": "2016-03-14T01:59:00Z"}
    assert match(rule, {"at": "2016-03-14T01:59:00Z"}) is True
    assert match(rule, {"at": "2016-03-14T03:59:00+02:00"}) is False


# --- StringMatches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024.txt", True),
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-2024.txt.bak", False),
        ("log-*.txt", "xlog-1.txt", False),
        ("log-*.txt", "log-", False),
        ("*", "", True),
        ("*", "anything at all", True),
        ("**", "", True),
        ("", "", True),
        ("", "a", False),
        ("foo*.log", "foo23.log", True),
        ("*.log", "zebra.log", True),
        ("foo*.*", "foobar.zebra", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("a*a", "a", False),  # head and tail may not overlap
        ("a*a", "aa", True),
        ("ab*ba", "aba", False),
        ("*x*", "line1\nx\nline3", True),  # '*' crosses newlines
        ("a?c", "abc", False),  # '?' is not a wildcard
        ("a?c", "a?c", True),
        ("[ab]", "a", False),  # nor are brackets
        ("[ab]", "[ab]", True),
        ("a.c", "abc", False),  # nor is '.'
        # Escapes, written here as Python source: "\\*" is the two characters \ and *.
        ("\\*", "*", True),
        ("\\*", "a", False),
        ("\\*", "\\*", False),
        ("a\\\\b", "a\\b", True),
        ("a\\\\*", "a\\whatever", True),  # escaped backslash, then a real wildcard
        ("a\\\\\\*", "a\\*", True),  # escaped backslash, then an escaped star
        ("a\\\\\\*", "a\\xyz", False),
        ("*\\**", "x*y", True),
        ("*\\**", "xy", False),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert match({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is expected


def test_string_matches_does_not_backtrack_exponentially() -> None:
    rule = {"Variable": "$.v", "StringMatches": "a*a*a*a*a*a*a*a*a*a*b"}
    matcher = compile_choice_rule(rule)
    started = time.perf_counter()
    assert matcher({"v": "a" * 20_000}, None) is False
    # Generous bound: a backtracking regex takes minutes here.
    assert time.perf_counter() - started < 2.0


def _reference_match(pattern: str, value: str) -> bool:
    """An independent implementation: translate to a regular expression."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "*":
            parts.append(".*")
            index += 1
        else:
            parts.append(re.escape(char))
            index += 1
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


_PATTERN_ATOMS = st.sampled_from(["a", "b", "*", "\\*", "\\\\", "\n"])


@given(
    st.lists(_PATTERN_ATOMS, max_size=8).map("".join),
    st.text(alphabet="ab*\\\n", max_size=12),
)
def test_string_matches_agrees_with_a_regex_reference(pattern: str, value: str) -> None:
    rule = {"Variable": "$", "StringMatches": pattern}
    assert compile_choice_rule(rule)(value, None) is _reference_match(pattern, value)


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


_ORDER_CHARS = st.sampled_from(["a", "z", "\u00e9", "\ud7ff", "\ue000", "\uffff", "\U00010000"])


@given(
    st.lists(_ORDER_CHARS, max_size=4).map("".join), st.lists(_ORDER_CHARS, max_size=4).map("".join)
)
def test_string_order_is_utf16_code_unit_order(left: str, right: str) -> None:
    units_left, units_right = _utf16_units(left), _utf16_units(right)
    for op, expected in [
        ("StringLessThan", units_left < units_right),
        ("StringGreaterThan", units_left > units_right),
        ("StringLessThanEquals", units_left <= units_right),
        ("StringGreaterThanEquals", units_left >= units_right),
        ("StringEquals", left == right),
    ]:
        assert compile_choice_rule({"Variable": "$", op: right})(left, None) is expected
        path_rule = {"Variable": "$.l", op + "Path": "$.r"}
        assert compile_choice_rule(path_rule)({"l": left, "r": right}, None) is expected


# --- numeric operators --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "literal", "expected"),
    [
        ("NumericEquals", 1, 1, True),
        ("NumericEquals", 1.0, 1, True),
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", -0.0, 0, True),
        ("NumericEquals", 1.5, 1, False),
        ("NumericEquals", 2**53 + 1, 2**53, False),  # exact: no rounding through doubles
        ("NumericEquals", 10**30, 10**30, True),
        ("NumericLessThan", 1, 2, True),
        ("NumericLessThan", 2, 2, False),
        ("NumericLessThan", -1.5, -1, True),
        ("NumericLessThan", 2**53, 2**53 + 1, True),
        ("NumericGreaterThan", 3, 2.5, True),
        ("NumericGreaterThan", 2.5, 2.5, False),
        ("NumericLessThanEquals", 2, 2.0, True),
        ("NumericLessThanEquals", 2.000001, 2, False),
        ("NumericGreaterThanEquals", 2.0, 2, True),
        ("NumericGreaterThanEquals", 1.999999, 2, False),
        ("NumericGreaterThan", 1e308, 1e307, True),
    ],
)
def test_numeric_operators(op: str, value: float, literal: float, expected: bool) -> None:
    assert match({"Variable": "$.v", op: literal}, {"v": value}) is expected


@pytest.mark.parametrize(
    "op",
    [
        "NumericEquals",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEquals",
        "NumericGreaterThanEquals",
    ],
)
@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (True, 1),  # booleans are not numbers
        (False, 0),
        (True, 0),
        (False, 1),
        ("1", 1),
        ("0", 0),
        (None, 0),
        ([1], 1),
        ({"v": 1}, 1),
    ],
)
def test_numeric_operators_on_non_numbers_are_false(op: str, value: Any, literal: int) -> None:
    assert match({"Variable": "$.v", op: literal}, {"v": value}) is False


def test_nan_compares_false() -> None:
    for op in ("NumericEquals", "NumericLessThan", "NumericGreaterThanEquals"):
        assert match({"Variable": "$.v", op: 1}, {"v": float("nan")}) is False


# --- boolean operators --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value", "expected"),
    [
        (True, True, True),
        (True, False, False),
        (False, False, True),
        (False, True, False),
        (True, 1, False),  # numbers are not booleans
        (False, 0, False),
        (True, 1.0, False),
        (True, "true", False),
        (False, None, False),
        (False, "", False),
        (False, [], False),
    ],
)
def test_boolean_equals(literal: bool, value: Any, expected: bool) -> None:
    assert match({"Variable": "$.v", "BooleanEquals": literal}, {"v": value}) is expected


# --- timestamp operators ------------------------------------------------------------------------

T0 = "2012-10-09T19:00:55Z"
T1 = "2012-10-09T19:00:56Z"


@pytest.mark.parametrize(
    ("op", "value", "literal", "expected"),
    [
        ("TimestampEquals", T0, T0, True),
        ("TimestampEquals", T0, T1, False),
        ("TimestampEquals", "2012-10-09T21:00:55+02:00", T0, True),  # same instant
        ("TimestampEquals", "2012-10-09T19:00:55.000Z", T0, True),
        ("TimestampEquals", "2012-10-09T19:00:55.000000001Z", T0, False),
        ("TimestampLessThan", T0, T1, True),
        ("TimestampLessThan", T1, T0, False),
        ("TimestampLessThan", T0, T0, False),
        ("TimestampLessThan", "2012-10-09T19:00:55.999Z", T1, True),
        ("TimestampLessThan", "2012-10-09T20:00:55+01:00", T1, True),  # 19:00:55Z
        ("TimestampGreaterThan", T1, T0, True),
        ("TimestampGreaterThan", T0, T0, False),
        ("TimestampGreaterThan", "2012-10-09T19:00:55.5-00:30", T1, True),  # 19:30:55.5Z
        ("TimestampLessThanEquals", T0, T0, True),
        ("TimestampLessThanEquals", T1, T0, False),
        ("TimestampGreaterThanEquals", T0, T0, True),
        ("TimestampGreaterThanEquals", T0, T1, False),
        ("TimestampGreaterThanEquals", "2012-10-09T19:00:55.000000001Z", T0, True),
    ],
)
def test_timestamp_operators(op: str, value: str, literal: str, expected: bool) -> None:
    assert match({"Variable": "$.v", op: literal}, {"v": value}) is expected


@pytest.mark.parametrize(
    "op",
    [
        "TimestampEquals",
        "TimestampLessThan",
        "TimestampGreaterThan",
        "TimestampLessThanEquals",
        "TimestampGreaterThanEquals",
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        1.1,
        "",
        " ",
        "2023-02-24 12:15:56.832957",
        "2012-10-09t19:00:55z",
        "2012-10-09T19:00:55",
        "2023-02-24",
        [],
        [T0],
        {},
        {"A": 0},
        False,
        True,
    ],
)
def test_timestamp_operators_on_non_timestamps_are_false(op: str, value: Any) -> None:
    # Whatever the relation, a value that is not a timestamp never matches.
    assert match({"Variable": "$.v", op: T0}, {"v": value}) is False
    assert match({"Variable": "$.v", op: "1900-01-01T00:00:00Z"}, {"v": value}) is False
    assert match({"Variable": "$.v", op: "9999-01-01T00:00:00Z"}, {"v": value}) is False


# --- type tests ---------------------------------------------------------------------------------

SAMPLES: list[tuple[str, Any]] = [
    ("null", None),
    ("int", 0),
    ("float", 1.5),
    ("empty string", ""),
    ("string", "hello"),
    ("timestamp", "2016-03-14T01:59:00Z"),
    ("true", True),
    ("false", False),
    ("array", []),
    ("object", {}),
]
TYPE_OF: dict[str, set[str]] = {
    "IsNull": {"null"},
    "IsNumeric": {"int", "float"},
    "IsString": {"empty string", "string", "timestamp"},
    "IsBoolean": {"true", "false"},
    "IsTimestamp": {"timestamp"},
    "IsPresent": {name for name, _ in SAMPLES},
}


@pytest.mark.parametrize("op", sorted(TYPE_OF))
@pytest.mark.parametrize(("kind", "value"), SAMPLES)
def test_type_tests(op: str, kind: str, value: Any) -> None:
    expected = kind in TYPE_OF[op]
    assert match({"Variable": "$.v", op: True}, {"v": value}) is expected
    assert match({"Variable": "$.v", op: False}, {"v": value}) is (not expected)


def test_is_present_on_a_missing_field() -> None:
    assert match({"Variable": "$.gone", "IsPresent": True}, {"v": 1}) is False
    assert match({"Variable": "$.gone", "IsPresent": False}, {"v": 1}) is True
    assert match({"Variable": "$.v.deeper", "IsPresent": True}, {"v": "text"}) is False
    assert match({"Variable": "$.list[5]", "IsPresent": False}, {"list": [1]}) is True
    assert match({"Variable": "$.list[0]", "IsPresent": True}, {"list": [None]}) is True


# --- paths: context object, whole input, indices ------------------------------------------------


def test_variable_can_read_the_context_object() -> None:
    context = {"Execution": {"Name": "run-1"}, "Map": {"Item": {"Index": 3}}}
    assert match({"Variable": "$$.Execution.Name", "StringEquals": "run-1"}, {}, context)
    assert match(
        {"Variable": "$.limit", "NumericGreaterThanPath": "$$.Map.Item.Index"},
        {"limit": 4},
        context,
    )
    error = runtime_error({"Variable": "$$.Execution.Missing", "IsNull": True}, {}, context)
    assert error.cause == AWS_MISSING.format("$$.Execution.Missing")


def test_variable_can_be_the_whole_input() -> None:
    assert match({"Variable": "$", "StringEquals": "No messages"}, "No messages") is True
    assert match({"Variable": "$", "IsNull": True}, None) is True
    assert match({"Variable": "$", "NumericEquals": 3}, 3) is True


def test_variable_with_indices_and_quoted_members() -> None:
    data = {"items": [{"name": "a"}, {"name": "b"}], "first name": "Ada"}
    assert match({"Variable": "$.items[1].name", "StringEquals": "b"}, data) is True
    assert match({"Variable": "$.items[-1].name", "StringEquals": "b"}, data) is True
    assert match({"Variable": "$['first name']", "StringEquals": "Ada"}, data) is True


# --- …Path operators ----------------------------------------------------------------------------

PATH_CASES: list[tuple[str, Any, Any, bool]] = [
    ("StringEqualsPath", "a", "a", True),
    ("StringEqualsPath", "a", "b", False),
    ("StringLessThanPath", "a", "b", True),
    ("StringLessThanPath", "b", "a", False),
    ("StringGreaterThanPath", "b", "a", True),
    ("StringGreaterThanPath", "a", "a", False),
    ("StringLessThanEqualsPath", "a", "a", True),
    ("StringLessThanEqualsPath", "b", "a", False),
    ("StringGreaterThanEqualsPath", "a", "a", True),
    ("StringGreaterThanEqualsPath", "a", "b", False),
    ("NumericEqualsPath", 1, 1.0, True),
    ("NumericEqualsPath", 1, 2, False),
    ("NumericLessThanPath", 1, 2, True),
    ("NumericLessThanPath", 2, 2, False),
    ("NumericGreaterThanPath", 3, 2, True),
    ("NumericGreaterThanPath", 2, 2.0, False),
    ("NumericLessThanEqualsPath", 2, 2.0, True),
    ("NumericLessThanEqualsPath", 3, 2, False),
    ("NumericGreaterThanEqualsPath", 2.0, 2, True),
    ("NumericGreaterThanEqualsPath", 1, 2, False),
    ("BooleanEqualsPath", True, True, True),
    ("BooleanEqualsPath", False, False, True),
    ("BooleanEqualsPath", True, False, False),
    ("TimestampEqualsPath", T0, "2012-10-09T20:00:55+01:00", True),
    ("TimestampEqualsPath", T0, T1, False),
    ("TimestampLessThanPath", T0, T1, True),
    ("TimestampLessThanPath", T1, T0, False),
    ("TimestampGreaterThanPath", T1, T0, True),
    ("TimestampGreaterThanPath", T0, T0, False),
    ("TimestampLessThanEqualsPath", T0, T0, True),
    ("TimestampLessThanEqualsPath", T1, T0, False),
    ("TimestampGreaterThanEqualsPath", T0, T0, True),
    ("TimestampGreaterThanEqualsPath", T0, T1, False),
]


@pytest.mark.parametrize(("op", "left", "right", "expected"), PATH_CASES)
def test_path_operators(op: str, left: Any, right: Any, expected: bool) -> None:
    assert match({"Variable": "$.l", op: "$.r"}, {"l": left, "r": right}) is expected


def test_every_path_operator_is_covered() -> None:
    covered = {op for op, *_ in PATH_CASES}
    assert covered == {op for op in COMPARISON_OPERATORS if op.endswith("Path")}
    assert len(covered) == 16


# (operator, a value of the right type, a value of the wrong type)
PATH_TYPES: list[tuple[str, Any, Any]] = [
    ("String", "a", 1),
    ("Numeric", 1, "1"),
    ("Boolean", True, 1),
    ("Timestamp", T0, "2012-10-09"),
]
RELATIONS = ["Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"]


def _path_ops() -> list[tuple[str, Any, Any]]:
    cases = []
    for family, good, bad in PATH_TYPES:
        for relation in RELATIONS:
            if family == "Boolean" and relation != "Equals":
                continue
            cases.append((f"{family}{relation}Path", good, bad))
    return cases


@pytest.mark.parametrize(("op", "good", "bad"), _path_ops())
def test_path_operator_with_a_wrongly_typed_variable_is_false(op: str, good: Any, bad: Any) -> None:
    assert match({"Variable": "$.l", op: "$.r"}, {"l": bad, "r": good}) is False


@pytest.mark.parametrize(("op", "good", "bad"), _path_ops())
def test_path_operator_with_a_wrongly_typed_operand(op: str, good: Any, bad: Any) -> None:
    rule = {"Variable": "$.l", op: "$.r"}
    for left in (good, bad):
        data = {"l": left, "r": bad}
        if "Equals" in op and not any(r in op for r in ("LessThanEquals", "GreaterThanEquals")):
            # …EqualsPath: a type mismatch is simply no match.
            assert match(rule, data) is False
        else:
            # Ordering …Path operators fail on an operand of the wrong type (observed on AWS).
            error = runtime_error(rule, data)
            assert error.cause.startswith("Invalid value provided at path '$.r': ")
            assert op in error.cause


@pytest.mark.parametrize(("op", "good", "_bad"), _path_ops())
def test_path_operator_with_a_missing_operand_raises(op: str, good: Any, _bad: Any) -> None:
    error = runtime_error({"Variable": "$.l", op: "$.r"}, {"l": good})
    assert error.cause == AWS_MISSING.format("$.r")


@pytest.mark.parametrize(("op", "good", "_bad"), _path_ops())
def test_path_operator_checks_the_variable_first(op: str, good: Any, _bad: Any) -> None:
    error = runtime_error({"Variable": "$.l", op: "$.r"}, {})
    assert error.cause == AWS_MISSING.format("$.l")


def test_missing_operand_raises_even_when_the_variable_has_the_wrong_type() -> None:
    error = runtime_error({"Variable": "$.l", "NumericEqualsPath": "$.r"}, {"l": "text"})
    assert error.cause == AWS_MISSING.format("$.r")


def test_path_operand_may_be_null_only_as_a_mismatch() -> None:
    assert match({"Variable": "$.l", "StringEqualsPath": "$.r"}, {"l": "a", "r": None}) is False
    runtime_error({"Variable": "$.l", "StringLessThanPath": "$.r"}, {"l": "a", "r": None})


# --- missing Variable ---------------------------------------------------------------------------

OPERAND_FOR: dict[str, Any] = {
    "String": "a",
    "Numeric": 1,
    "Boolean": True,
    "Timestamp": T0,
}


def _operand(op: str) -> Any:
    if op.endswith("Path"):
        return "$.other"
    if op.startswith("Is"):
        return True
    if op == "StringMatches":
        return "*"
    for family, value in OPERAND_FOR.items():
        if op.startswith(family):
            return value
    raise AssertionError(op)


@pytest.mark.parametrize("op", sorted(COMPARISON_OPERATORS - {"IsPresent"}))
def test_missing_variable_raises_states_runtime(op: str) -> None:
    rule = {"Variable": "$.gone", op: _operand(op)}
    error = runtime_error(rule, {"other": 1})
    assert error.cause == AWS_MISSING.format("$.gone")


@pytest.mark.parametrize("op", ["IsNull", "IsString", "IsNumeric", "IsBoolean", "IsTimestamp"])
def test_missing_variable_raises_for_type_tests_with_false_too(op: str) -> None:
    error = runtime_error({"Variable": "$.gone", op: False}, {})
    assert error.cause == AWS_MISSING.format("$.gone")


def test_missing_variable_through_a_non_container() -> None:
    for data in ({"a": 5}, {"a": "text"}, {"a": [1, 2]}, [], None, "scalar"):
        runtime_error({"Variable": "$.a.b", "StringEquals": "x"}, data)
    runtime_error({"Variable": "$.a[2]", "NumericEquals": 1}, {"a": [1, 2]})


def test_error_cause_names_the_rule_when_a_location_is_given() -> None:
    where = "/States/Route/Choices/2/And/1"
    error = runtime_error({"Variable": "$.amount", "NumericGreaterThan": 10}, {}, location=where)
    assert error.cause.startswith(AWS_MISSING.format("$.amount") + " (Variable of the Choice")
    assert where in error.cause
    assert "IsPresent" in error.cause
    operand_error = runtime_error(
        {"Variable": "$.a", "NumericEqualsPath": "$.limit"}, {"a": 1}, location=where
    )
    assert operand_error.cause.startswith(AWS_MISSING.format("$.limit"))
    assert "NumericEqualsPath of the Choice rule at " + where in operand_error.cause
    typed_error = runtime_error(
        {"Variable": "$.a", "NumericLessThanPath": "$.limit"},
        {"a": 1, "limit": "9"},
        location=where,
    )
    assert "the string '9'" in typed_error.cause
    assert where in typed_error.cause


def test_nested_locations_reach_the_leaf() -> None:
    rule = {
        "Not": {"Or": [{"Variable": "$.a", "IsNull": True}, {"Variable": "$.b", "IsNull": True}]}
    }
    matcher = compile_choice_rule(rule, location=LOC)
    with pytest.raises(StatesError) as info:
        matcher({"a": 1}, None)
    assert f"{LOC}/Not/Or/1" in info.value.cause


# --- And / Or / Not -----------------------------------------------------------------------------

POSITIVE = {"Variable": "$.n", "NumericGreaterThan": 0}
SMALL = {"Variable": "$.n", "NumericLessThan": 10}
MISSING_RULE = {"Variable": "$.gone", "StringEquals": "x"}


@pytest.mark.parametrize(
    ("n", "expected"), [(-1, False), (0, False), (1, True), (9, True), (10, False)]
)
def test_and(n: int, expected: bool) -> None:
    assert match({"And": [POSITIVE, SMALL]}, {"n": n}) is expected


@pytest.mark.parametrize(("n", "expected"), [(-1, True), (0, True), (1, True), (10, True)])
def test_or(n: int, expected: bool) -> None:
    assert match({"Or": [POSITIVE, SMALL]}, {"n": n}) is expected


def test_or_of_outside_conditions() -> None:
    rule = {
        "Or": [
            {"Variable": "$.n", "NumericLessThan": 0},
            {"Variable": "$.n", "NumericGreaterThan": 9},
        ]
    }
    assert [match(rule, {"n": n}) for n in (-1, 0, 9, 10)] == [True, False, False, True]


def test_not() -> None:
    assert match({"Not": POSITIVE}, {"n": 0}) is True
    assert match({"Not": POSITIVE}, {"n": 1}) is False
    assert match({"Not": {"Not": POSITIVE}}, {"n": 1}) is True


def test_single_element_and_or() -> None:
    assert match({"And": [POSITIVE]}, {"n": 1}) is True
    assert match({"Or": [POSITIVE]}, {"n": 0}) is False


def test_long_and_or() -> None:
    rules = [{"Variable": f"$.v{i}", "BooleanEquals": True} for i in range(5)]
    all_true = {f"v{i}": True for i in range(5)}
    one_false = {**all_true, "v3": False}
    assert match({"And": rules}, all_true) is True
    assert match({"And": rules}, one_false) is False
    none_true = {f"v{i}": False for i in range(5)}
    assert match({"Or": rules}, none_true) is False
    assert match({"Or": rules}, {**none_true, "v4": True}) is True


def test_and_or_short_circuit_before_a_rule_that_would_raise() -> None:
    assert match({"Or": [POSITIVE, MISSING_RULE]}, {"n": 1}) is True
    assert match({"And": [POSITIVE, MISSING_RULE]}, {"n": 0}) is False
    assert match({"Or": [POSITIVE, SMALL, MISSING_RULE]}, {"n": 1}) is True
    assert match({"And": [POSITIVE, SMALL, MISSING_RULE]}, {"n": 20}) is False
    runtime_error({"And": [POSITIVE, MISSING_RULE]}, {"n": 1})
    runtime_error({"Or": [POSITIVE, MISSING_RULE]}, {"n": 0})
    runtime_error({"Not": MISSING_RULE}, {"n": 0})


def test_is_present_guard_pattern() -> None:
    rule = {
        "And": [
            {"Variable": "$.limit", "IsPresent": True},
            {"Variable": "$.limit", "NumericGreaterThan": 5},
        ]
    }
    assert match(rule, {}) is False
    assert match(rule, {"limit": 6}) is True
    assert match(rule, {"limit": "6"}) is False


def test_deep_nesting() -> None:
    rule: dict[str, Any] = POSITIVE
    for depth in range(50):
        rule = {"Not": rule} if depth % 2 else {"And": [rule, {"Variable": "$", "IsPresent": True}]}
    # 25 Nots: an odd count inverts.
    assert match(rule, {"n": 1}) is False
    assert match(rule, {"n": 0}) is True


def test_top_level_fields_are_ignored_by_compilation() -> None:
    rule = {
        "Variable": "$.n",
        "NumericEquals": 1,
        "Next": "Done",
        "Comment": "c",
        "Assign": {"x": 1},
    }
    assert validate_choice_rule(rule, LOC, top_level=True) == []
    assert compile_choice_rule(rule)({"n": 1}, None) is True


def test_compiled_rule_is_reusable_and_does_not_mutate_input() -> None:
    matcher = compile_choice_rule({"Variable": "$.tags[0]", "StringMatches": "prod-*"})
    data = {"tags": ["prod-eu"]}
    snapshot = {"tags": ["prod-eu"]}
    assert [matcher(data, None) for _ in range(3)] == [True, True, True]
    assert data == snapshot
    assert matcher({"tags": ["dev"]}, None) is False


@pytest.mark.parametrize(
    "rule",
    [
        [],
        "rule",
        {},
        {"Comment": "no operator"},
        {"Variable": "$.a"},
        {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1},
        {"StringEquals": "x"},
        {"And": []},
        {"And": {"Variable": "$.a", "IsNull": True}},
        {"Variable": "$.a", "TimestampEquals": "yesterday"},
    ],
)
def test_compiling_an_invalid_rule_raises_definition_error(rule: Any) -> None:
    assert validate_choice_rule(rule, LOC, top_level=False) != []
    with pytest.raises(DefinitionError):
        compile_choice_rule(rule)


# --- validation ---------------------------------------------------------------------------------

VALID_RULES: list[dict[str, Any]] = [
    {"Variable": "$.a", "StringEquals": "x", "Next": "N"},
    {"Variable": "$.a", "StringMatches": "log-*.txt", "Next": "N"},
    {"Variable": "$.a", "StringMatches": "\\*", "Next": "N"},
    {"Variable": "$.a", "StringMatches": "\\\\", "Next": "N"},
    {"Variable": "$.a", "NumericLessThan": 1.5, "Next": "N"},
    {"Variable": "$.a", "NumericEquals": -3, "Next": "N"},
    {"Variable": "$.a", "BooleanEquals": False, "Next": "N"},
    {"Variable": "$.a", "TimestampGreaterThan": "2016-03-14T01:59:00.25+02:00", "Next": "N"},
    {"Variable": "$.a", "IsPresent": False, "Next": "N"},
    {"Variable": "$.a", "IsTimestamp": True, "Next": "N", "Comment": "why"},
    {"Variable": "$.a", "NumericEqualsPath": "$.b", "Next": "N"},
    {"Variable": "$$.Execution.Input.a", "StringEqualsPath": "$$.Execution.Name", "Next": "N"},
    {"Variable": "$", "IsString": True, "Next": "N"},
    {"Variable": "$['odd key'][0]", "IsNull": True, "Next": "N"},
    {"And": [{"Variable": "$.a", "IsNull": False, "Comment": "nested"}], "Next": "N"},
    {
        "Or": [{"Variable": "$.a", "IsNull": False}, {"Not": {"Variable": "$.b", "IsNull": True}}],
        "Next": "N",
    },
    {"Not": {"Variable": "$.a", "IsNull": True}, "Next": "N", "Assign": {"seen": True}},
]


@pytest.mark.parametrize("rule", VALID_RULES)
def test_valid_rules(rule: dict[str, Any]) -> None:
    assert validate_choice_rule(rule, LOC, top_level=True) == []
    nested = {key: value for key, value in rule.items() if key not in ("Next", "Assign")}
    assert validate_choice_rule(nested, LOC, top_level=False) == []


def test_rule_must_be_an_object() -> None:
    assert problems(["not", "a", "rule"]) == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    assert problems("StringEquals") == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    assert problems(None, top_level=False) == [(LOC, "SCHEMA_VALIDATION_FAILED")]


def test_top_level_rule_needs_next() -> None:
    rule = {"Variable": "$.a", "StringEquals": "x"}
    assert problems(rule) == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    assert "'Next'" in messages(rule)[0]
    assert problems(rule, top_level=False) == []


def test_next_must_be_a_state_name() -> None:
    assert problems({"Variable": "$.a", "IsNull": True, "Next": 3}) == [
        (f"{LOC}/Next", "SCHEMA_VALIDATION_FAILED")
    ]
    assert problems({"Variable": "$.a", "IsNull": True, "Next": ""}) == [
        (f"{LOC}/Next", "SCHEMA_VALIDATION_FAILED")
    ]


def test_nested_rules_must_not_have_next() -> None:
    rule = {
        "And": [
            {"Variable": "$.a", "IsNull": True},
            {"Variable": "$.b", "IsNull": True, "Next": "Elsewhere"},
        ],
        "Next": "N",
    }
    assert problems(rule) == [(f"{LOC}/And/1/Next", "SCHEMA_VALIDATION_FAILED")]
    assert "top-level" in messages(rule)[0]
    not_rule = {"Not": {"Variable": "$.a", "IsNull": True, "Next": "X"}, "Next": "N"}
    assert problems(not_rule) == [(f"{LOC}/Not/Next", "SCHEMA_VALIDATION_FAILED")]
    assert problems({"Variable": "$.a", "IsNull": True, "Next": "X"}, top_level=False) == [
        (f"{LOC}/Next", "SCHEMA_VALIDATION_FAILED")
    ]


def test_assign_only_on_top_level_and_must_be_an_object() -> None:
    assert problems({"Variable": "$.a", "IsNull": True, "Next": "N", "Assign": []}) == [
        (f"{LOC}/Assign", "SCHEMA_VALIDATION_FAILED")
    ]
    assert problems({"Variable": "$.a", "IsNull": True, "Assign": {}}, top_level=False) == [
        (f"{LOC}/Assign", "SCHEMA_VALIDATION_FAILED")
    ]


def test_rule_without_operator() -> None:
    assert problems({"Next": "N"}) == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    assert problems({"Variable": "$.a", "Next": "N"}) == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    assert "no comparison operator" in messages({"Variable": "$.a", "Next": "N"})[0]


def test_rule_with_two_operators() -> None:
    rule = {"Variable": "$.a", "StringEquals": "x", "IsNull": True, "Next": "N"}
    assert problems(rule) == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    message = messages(rule)[0]
    assert "'StringEquals'" in message and "'IsNull'" in message and "And" in message
    mixed = {"Variable": "$.a", "StringEquals": 1, "Not": [], "Next": "N"}
    assert problems(mixed) == [
        (LOC, "SCHEMA_VALIDATION_FAILED"),
        (f"{LOC}/StringEquals", "SCHEMA_VALIDATION_FAILED"),
        (f"{LOC}/Not", "SCHEMA_VALIDATION_FAILED"),
    ]


def test_comparison_needs_variable() -> None:
    assert problems({"StringEquals": "x", "Next": "N"}) == [(LOC, "SCHEMA_VALIDATION_FAILED")]
    assert "'Variable'" in messages({"StringEquals": "x", "Next": "N"})[0]


@pytest.mark.parametrize(
    ("variable", "code"),
    [
        (3, "SCHEMA_VALIDATION_FAILED"),
        (None, "SCHEMA_VALIDATION_FAILED"),
        (["$.a"], "SCHEMA_VALIDATION_FAILED"),
        ("a", "INVALID_JSON_PATH"),
        ("", "INVALID_JSON_PATH"),
        ("$.a[*]", "INVALID_JSON_PATH"),
        ("$..a", "INVALID_JSON_PATH"),
        ("$.a[?(@.b)]", "INVALID_JSON_PATH"),
    ],
)
def test_variable_must_be_a_reference_path(variable: Any, code: str) -> None:
    rule = {"Variable": variable, "IsNull": True, "Next": "N"}
    assert problems(rule) == [(f"{LOC}/Variable", code)]
    assert "Variable" in messages(rule)[0]


def test_variable_on_a_boolean_rule() -> None:
    rule = {"Variable": "$.a", "Not": {"Variable": "$.a", "IsNull": True}, "Next": "N"}
    assert problems(rule) == [(f"{LOC}/Variable", "SCHEMA_VALIDATION_FAILED")]


@pytest.mark.parametrize(
    ("op", "bad"),
    [
        ("StringEquals", 1),
        ("StringLessThan", None),
        ("StringGreaterThanEquals", True),
        ("StringMatches", ["*"]),
        ("NumericEquals", "1"),
        ("NumericLessThan", True),
        ("NumericGreaterThanEquals", None),
        ("BooleanEquals", "true"),
        ("BooleanEquals", 1),
        ("TimestampEquals", "2016-03-14 01:59:00Z"),
        ("TimestampLessThan", "2016-03-14T01:59:00z"),
        ("TimestampGreaterThan", 1457920740),
        ("TimestampLessThanEquals", "2016-02-30T00:00:00Z"),
        ("IsNull", "true"),
        ("IsPresent", 1),
        ("IsTimestamp", None),
        ("StringEqualsPath", "a"),
        ("NumericLessThanPath", 3),
        ("BooleanEqualsPath", "$.a[*]"),
        ("TimestampEqualsPath", ""),
    ],
)
def test_operand_type_errors(op: str, bad: Any) -> None:
    rule = {"Variable": "$.a", op: bad, "Next": "N"}
    found = problems(rule)
    assert len(found) == 1
    location, _code = found[0]
    assert location == f"{LOC}/{op}"
    assert op in messages(rule)[0]


def test_operand_messages_say_what_to_write() -> None:
    [numeric] = messages({"Variable": "$.a", "NumericEquals": "1", "Next": "N"})
    assert "number" in numeric and "StringEquals" in numeric
    [string] = messages({"Variable": "$.a", "StringLessThan": 1, "Next": "N"})
    assert "NumericLessThan" in string
    [stamp] = messages({"Variable": "$.a", "TimestampEquals": "today", "Next": "N"})
    assert "2016-03-14T01:59:00Z" in stamp and "uppercase" in stamp
    [is_op] = messages({"Variable": "$.a", "IsString": "yes", "Next": "N"})
    assert '"IsString": true' in is_op


@pytest.mark.parametrize("pattern", ["\\", "abc\\", "a\\b", "\\n", "\\?"])
def test_string_matches_bad_escapes(pattern: str) -> None:
    rule = {"Variable": "$.a", "StringMatches": pattern, "Next": "N"}
    assert problems(rule) == [(f"{LOC}/StringMatches", "SCHEMA_VALIDATION_FAILED")]
    assert "escape" in messages(rule)[0] or "backslash" in messages(rule)[0]


def test_and_or_shapes() -> None:
    for op in ("And", "Or"):
        assert problems({op: {"Variable": "$.a", "IsNull": True}, "Next": "N"}) == [
            (f"{LOC}/{op}", "SCHEMA_VALIDATION_FAILED")
        ]
        assert problems({op: [], "Next": "N"}) == [(f"{LOC}/{op}", "SCHEMA_VALIDATION_FAILED")]
        assert problems({op: [{"Variable": "$.a", "IsNull": True}, 7], "Next": "N"}) == [
            (f"{LOC}/{op}/1", "SCHEMA_VALIDATION_FAILED")
        ]


def test_not_takes_one_rule() -> None:
    rule = {"Not": [{"Variable": "$.a", "IsNull": True}], "Next": "N"}
    assert problems(rule) == [(f"{LOC}/Not", "SCHEMA_VALIDATION_FAILED")]
    assert "single" in messages(rule)[0]
    assert problems({"Not": "x", "Next": "N"}) == [(f"{LOC}/Not", "SCHEMA_VALIDATION_FAILED")]
    assert problems({"Not": {}, "Next": "N"}) == [(f"{LOC}/Not", "SCHEMA_VALIDATION_FAILED")]


def test_nested_diagnostics_have_exact_locations() -> None:
    rule = {
        "Or": [
            {"Variable": "$.a", "IsNull": True},
            {
                "And": [
                    {"Variable": "$.b", "NumericEquals": "2"},
                    {"Not": {"Variable": "bad", "IsNull": True}},
                ]
            },
        ],
        "Next": "N",
    }
    assert problems(rule) == [
        (f"{LOC}/Or/1/And/0/NumericEquals", "SCHEMA_VALIDATION_FAILED"),
        (f"{LOC}/Or/1/And/1/Not/Variable", "INVALID_JSON_PATH"),
    ]


def test_condition_is_a_jsonata_field() -> None:
    rule = {"Condition": "{% $states.input.n > 1 %}", "Next": "N"}
    assert problems(rule) == [(f"{LOC}/Condition", "SCHEMA_VALIDATION_FAILED")]
    message = messages(rule)[0]
    assert "JSONata" in message and "JSONPath" in message and "QueryLanguage" in message
    both = {"Condition": "{% true %}", "Variable": "$.a", "IsNull": True, "Next": "N"}
    assert problems(both) == [(f"{LOC}/Condition", "SCHEMA_VALIDATION_FAILED")]


def test_unknown_fields() -> None:
    rule = {"Variable": "$.a", "StringEqual": "x", "Next": "N"}
    assert problems(rule) == [
        (f"{LOC}/StringEqual", "SCHEMA_VALIDATION_FAILED"),
        (LOC, "SCHEMA_VALIDATION_FAILED"),  # and so no operator
    ]
    assert "Did you mean 'StringEquals'?" in messages(rule)[0]
    odd = {"Variable": "$.a", "IsNull": True, "Next": "N", "a/b~c": 1}
    assert problems(odd) == [(f"{LOC}/a~1b~0c", "SCHEMA_VALIDATION_FAILED")]
    assert "Did you mean" not in messages(odd)[0]
    assert problems({"Variable": "$.a", "IsNull": True, "Next": "N", "End": True}) == [
        (f"{LOC}/End", "SCHEMA_VALIDATION_FAILED")
    ]


def test_comment_must_be_a_string() -> None:
    assert problems({"Variable": "$.a", "IsNull": True, "Next": "N", "Comment": 5}) == [
        (f"{LOC}/Comment", "SCHEMA_VALIDATION_FAILED")
    ]


def test_non_string_keys_do_not_crash() -> None:
    rule = {"Variable": "$.a", "IsNull": True, "Next": "N", 7: "x"}
    assert problems(rule) == [(f"{LOC}/7", "SCHEMA_VALIDATION_FAILED")]


# --- properties ---------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from([T0, T1, "2012-10-09T19:00:55.5+01:00", "*", "\\*", "\\"])
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["a", "b", "c", "list", "x"]) | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
GOOD_PATHS = st.sampled_from(
    ["$", "$.a", "$.b", "$.a.b", "$.list[0]", "$.list[-1]", "$['a']", "$$", "$$.x", "$.c"]
)
PATHS = GOOD_PATHS | st.text(max_size=6)
OPERATOR_NAMES = st.sampled_from(sorted(COMPARISON_OPERATORS))
TIMESTAMPS = st.sampled_from([T0, T1, "2012-10-09T20:00:55.5+01:00", "1999-01-01T00:00:00Z"])


def good_operands(op: str) -> st.SearchStrategy[Any]:
    """Operands of the right type for ``op`` (what a definition author would write)."""
    if op.endswith("Path"):
        return GOOD_PATHS
    if op.startswith("Is") or op == "BooleanEquals":
        return st.booleans()
    if op == "StringMatches":
        return st.lists(_PATTERN_ATOMS, max_size=5).map("".join)
    if op.startswith("String"):
        return st.text(max_size=6) | TIMESTAMPS
    if op.startswith("Numeric"):
        return st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)
    return TIMESTAMPS


@st.composite
def leaf_rules(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(OPERATOR_NAMES)
    # Mostly well-formed leaves, so that the evaluation property sees many valid rules; the
    # rest are arbitrary values, which the validation property must survive.
    operand = draw(good_operands(op)) if draw(st.integers(0, 4)) else draw(JSON)
    rule: dict[str, Any] = {op: operand}
    if draw(st.integers(0, 9)):
        rule["Variable"] = draw(GOOD_PATHS) if draw(st.integers(0, 4)) else draw(PATHS)
    if not draw(st.integers(0, 9)):
        rule.update(draw(st.dictionaries(st.text(max_size=10), JSON, max_size=2)))
    return rule


INPUTS = st.dictionaries(st.sampled_from(["a", "b", "c", "list"]), JSON, max_size=4) | JSON


RULES = st.recursive(
    leaf_rules(),
    lambda children: (
        st.builds(lambda rules: {"And": rules}, st.lists(children, max_size=3))
        | st.builds(lambda rules: {"Or": rules}, st.lists(children, max_size=3))
        | st.builds(lambda rule: {"Not": rule}, children)
        | st.builds(
            lambda rule, extra: {**rule, **extra},
            children,
            st.dictionaries(st.text(max_size=8), JSON, max_size=2),
        )
    ),
    max_leaves=6,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(JSON | RULES, st.booleans())
def test_validation_never_raises(rule: Any, top_level: bool) -> None:
    found = validate_choice_rule(rule, LOC, top_level)
    assert isinstance(found, list)
    for diagnostic in found:
        assert isinstance(diagnostic, Diagnostic)
        assert diagnostic.location.startswith(LOC)
        assert diagnostic.severity == "ERROR"
        assert diagnostic.message


@settings(
    max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(RULES, INPUTS, INPUTS)
def test_valid_rules_evaluate_to_bool_or_states_error(rule: Any, data: Any, context: Any) -> None:
    if validate_choice_rule(rule, LOC, top_level=False):
        return
    matcher = compile_choice_rule(rule, location=LOC)
    try:
        result = matcher(data, context)
    except StatesError as error:
        assert error.error == "States.Runtime"
        assert error.cause.startswith(("Invalid path '", "Invalid value provided at path '"))
    else:
        assert type(result) is bool
