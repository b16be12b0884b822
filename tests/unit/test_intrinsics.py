"""Unit tests for the ASL intrinsic functions (JSONPath mode).

Covers the call syntax (literals, escapes, paths, nesting), every ``States.*`` function with its
happy paths and every argument check, the exact error names and causes at run time, the
definition errors at compile time, and two property tests: arbitrary text either compiles or
raises DefinitionError, and compiled calls over arbitrary JSON either return JSON or raise
StatesError.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.asl._errors import INTRINSIC_FAILURE, RUNTIME, DefinitionError, StatesError
from stepline.asl._intrinsics import compile_intrinsic, is_intrinsic

FUNCTIONS = [
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
]


def run(text: str, data: Any = None, context: Any = None) -> Any:
    return compile_intrinsic(text)(data, context)


def fails(text: str, data: Any = None, context: Any = None) -> StatesError:
    evaluate = compile_intrinsic(text)
    with pytest.raises(StatesError) as info:
        evaluate(data, context)
    return info.value


def invalid(text: str) -> str:
    with pytest.raises(DefinitionError) as info:
        compile_intrinsic(text)
    assert info.value.code == "INVALID_INTRINSIC"
    return info.value.message


def cause(text: str, detail: str) -> str:
    return f"The function '{text}' had the following error: {detail}"


# --- recognising and parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('x')", True),
        ("States.UUID()", True),
        ("States.Array ($.a)", True),
        ("States.Anything(", True),
        ("$.a", False),
        ("$$.Execution.Id", False),
        ("States.", False),
        ("States.(", False),
        (" States.Array()", False),
        ("states.Array()", False),
        ("States.Array", False),
        ("", False),
    ],
)
def test_is_intrinsic(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected


def test_is_intrinsic_rejects_non_strings() -> None:
    assert is_intrinsic(None) is False  # type: ignore[arg-type]
    assert is_intrinsic(["States.Array()"]) is False  # type: ignore[arg-type]


def test_literals_of_every_kind() -> None:
    assert run("States.Array('a', 1, -2, 2.5, -0.25, 1e3, true, false, null)") == [
        "a",
        1,
        -2,
        2.5,
        -0.25,
        1000.0,
        True,
        False,
        None,
    ]


def test_empty_argument_list_and_whitespace_everywhere() -> None:
    assert run("States.Array()") == []
    assert run("  States.Array (  1 ,\t'x' ,\n$.a  )  ", {"a": 3}) == [1, "x", 3]


def test_big_integer_literal_stays_exact() -> None:
    assert run("States.Array(123456789012345678901234567890)") == [123456789012345678901234567890]


def test_string_escapes() -> None:
    assert run(r"States.Array('It\'s', 'a\\b', '\{x\}', '')") == ["It's", "a\\b", "{x}", ""]


def test_string_may_hold_commas_parens_and_dollars() -> None:
    assert run("States.Array('a, b)', '$.x', 'States.UUID()')") == ["a, b)", "$.x", "States.UUID()"]


@pytest.mark.parametrize(
    ("path", "data", "context", "expected"),
    [
        ("$", {"a": 1}, None, {"a": 1}),
        ("$.a.b", {"a": {"b": 2}}, None, 2),
        ("$.a[1]", {"a": [5, 6]}, None, 6),
        ("$.a[-1]", {"a": [5, 6]}, None, 6),
        ("$['x,y']", {"x,y": 7}, None, 7),
        ("$['a)b']", {"a)b": 8}, None, 8),
        ("$.a[?(@.k == 1)].v", {"a": [{"k": 1, "v": "x"}, {"k": 2, "v": "y"}]}, None, ["x"]),
        ("$.a[*]", {"a": [1, 2]}, None, [1, 2]),
        ("$.a.length()", {"a": [1, 2, 3]}, None, 3),
        ("$$.Execution.Id", {}, {"Execution": {"Id": "arn:x"}}, "arn:x"),
        ("$$", {}, {"k": 1}, {"k": 1}),
    ],
)
def test_path_arguments(path: str, data: Any, context: Any, expected: Any) -> None:
    assert run(f"States.Array({path}, 0)", data, context) == [expected, 0]


def test_nested_calls() -> None:
    text = "States.Format('{} items', States.ArrayLength($.a))"
    assert run(text, {"a": [1, 2, 3]}) == "3 items"


def test_aws_nine_nested_call_example() -> None:
    split = "States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2)"
    text = f"States.Format('{{}}.{{}}.{{}}', States.ArrayGetItem({split}, '.'), 0), "
    text += f"States.ArrayGetItem({split}, '.'), 1), States.ArrayGetItem({split}, '.'), 2))"
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.2.3"
    assert run(text, {"ImageRecipe": {"Arn": arn}}) == "1.2.3"


def test_nesting_limit_is_ten_levels() -> None:
    expected: list[Any] = []
    for _ in range(9):
        expected = [expected]
    assert run("States.Array(" * 10 + ")" * 10) == expected
    message = invalid("States.Array(" * 11 + ")" * 11)
    assert "nested more than 10 deep" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Array('abc", "a string literal is not closed"),
        ("States.Array(1,)", "an argument is missing"),
        ("States.Array(,1)", "an argument is missing"),
        ("States.Array(1 2)", "expected ',' or ')' after an argument of States.Array, found '2'"),
        ("States.Array(1", "the argument list of States.Array is not closed"),
        ("States.Array(x)", "unexpected 'x' where an argument should start"),
        ("States.Array(True)", "unexpected 'T' where an argument should start"),
        ("States.Array(nullx)", "unexpected 'n' where an argument should start"),
        ("States.Array({})", "unexpected '{' where an argument should start"),
        ("States.Array(-)", "expected a number after '-'"),
        ("States.Array(1e999)", "the number 1e999 is too large"),
        (r"States.Array('a\nb')", "a backslash that does not escape ', {, } or \\"),
        ("States.Array('a\\')", "a string literal is not closed"),
        ("States.Array('a\\", "a backslash that does not escape"),
        ("States.Array() x", "unexpected text after the closing ')'"),
        ("States.Array", "expected '(' after 'States.Array'"),
        ("States.(1)", "the function name after 'States.' is missing"),
        ("$.a", "expected an intrinsic function name such as 'States.Format'"),
        ("", "expected an intrinsic function name"),
        ("States.Array($.a b)", "the path '$.a b' is not valid"),
        ("States.Array($.a[)", "is not valid"),
        ("States.Array($['\\", "is not valid"),
    ],
)
def test_syntax_errors(text: str, fragment: str) -> None:
    message = invalid(text)
    assert fragment in message
    assert re.search(r"at character \d+", message)


def test_syntax_error_names_the_position() -> None:
    message = invalid("States.Array(1, @)")
    assert message.startswith("The intrinsic function call 'States.Array(1, @)' is invalid at ")
    assert "character 17: unexpected '@'" in message


def test_unknown_function() -> None:
    message = invalid("States.Nope(1)")
    assert "States.Nope is not an intrinsic function (names are case-sensitive)." in message
    assert "States.Format, States.StringToJson" in message


def test_unknown_function_suggests_the_right_case() -> None:
    assert "Did you mean States.MathAdd?" in invalid("States.mathAdd(1, 2)")


def test_unknown_nested_function() -> None:
    assert "States.Length is not an intrinsic function" in invalid(
        "States.Format('{}', States.Length($))"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.MathAdd($.a)", "States.MathAdd takes exactly 2 arguments, but 1 was given."),
        ("States.MathAdd(1, 2, 3)", "States.MathAdd takes exactly 2 arguments, but 3 were given."),
        ("States.UUID(1)", "States.UUID takes no arguments, but 1 was given."),
        ("States.Format()", "States.Format takes at least 1 argument, but 0 were given."),
        ("States.MathRandom(1)", "States.MathRandom takes 2 or 3 arguments, but 1 was given."),
        ("States.ArrayLength()", "States.ArrayLength takes exactly 1 argument, but 0 were given."),
        (
            "States.JsonMerge($.a, $.b)",
            "States.JsonMerge takes exactly 3 arguments, but 2 were given.",
        ),
        (
            "States.ArrayRange(1, 2)",
            "States.ArrayRange takes exactly 3 arguments, but 2 were given.",
        ),
    ],
)
def test_argument_counts(text: str, expected: str) -> None:
    message = invalid(text)
    assert expected in message
    assert "Usage: " in message


def test_compile_once_and_reuse() -> None:
    evaluate = compile_intrinsic("States.MathAdd($.i, 1)")
    assert [evaluate({"i": n}, None) for n in range(3)] == [1, 2, 3]


# --- path arguments that select nothing ------------------------------------------------------


def test_missing_path_is_states_runtime_with_aws_wording() -> None:
    text = "States.Format('{}', $.nope)"
    error = fails(text, {"other": 1})
    assert error.error == RUNTIME
    assert error.cause == cause(
        text,
        "The JsonPath argument for the field '$.nope' could not be found in the input "
        "'{\"other\":1}'",
    )


def test_missing_path_in_nested_call_names_the_whole_expression() -> None:
    text = "States.Format('{}', States.ArrayLength($.items))"
    error = fails(text, {})
    assert error.error == RUNTIME
    assert error.cause == cause(
        text,
        "The JsonPath argument for the field '$.items' could not be found in the input '{}'",
    )


def test_missing_context_path() -> None:
    text = "States.Format('{}', $$.Map.Item.Index)"
    error = fails(text, {}, {"Execution": {}})
    assert error.error == RUNTIME
    assert error.cause == cause(
        text,
        "The JsonPath argument for the field '$$.Map.Item.Index' could not be found in the "
        "context object '{\"Execution\":{}}'",
    )


def test_missing_template_path() -> None:
    error = fails("States.Format($.nope, 1)", {"other": 1})
    assert error.error == RUNTIME
    assert "'$.nope' could not be found" in error.cause


def test_null_is_a_value_not_a_missing_path() -> None:
    assert run("States.Array($.a)", {"a": None}) == [None]


# --- States.Format --------------------------------------------------------------------------


def test_format_aws_examples() -> None:
    data = {"name": "Arnav", "template": "Hello, my name is {}."}
    assert run("States.Format('Hello, my name is {}.', $.name)", data) == "Hello, my name is Arnav."
    assert run("States.Format($.template, $.name)", data) == "Hello, my name is Arnav."


def test_format_without_placeholders() -> None:
    assert run("States.Format('plain')") == "plain"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        (" ", " "),
        ("HelloWorld", "HelloWorld"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (1, "1"),
        (1.1, "1.1"),
        (1.0, "1.0"),
        (100.0, "100.0"),
        (-2.5, "-2.5"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.0, "1234567.0"),
        (12345678.0, "1.2345678E7"),
        (1.5e10, "1.5E10"),
        (-1e-5, "-1.0E-5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (10**30, "1000000000000000000000000000000"),
        ('{"Arg1": 1, "Arg2": []}', '{"Arg1": 1, "Arg2": []}'),
        ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),
        ({"Id": "arn:x", "Name": "n"}, "{Id=arn:x, Name=n}"),
        ([1, "a", None, [True], {"k": {"j": 1.5}}], "[1, a, null, [true], {k={j=1.5}}]"),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_format_renders_values_like_aws(value: Any, expected: str) -> None:
    assert run("States.Format('<{}>', $.v)", {"v": value}) == f"<{expected}>"


def test_format_escaped_braces_are_not_placeholders() -> None:
    assert run(r"States.Format('\{\} {} \{x\}', 1)") == "{} 1 {x}"
    assert run(r"States.Format('{\}')") == "{}"
    assert run(r"States.Format('\\{}', 1)") == "\\1"


def test_format_with_literal_values_is_folded() -> None:
    assert run("States.Format('{}-{}-{}', 'a', 2, null)") == "a-2-null"


def test_format_placeholder_count_must_match_literal_template() -> None:
    assert (
        "States.Format got 1 value for a template with 2 '{}' placeholders; pass one value "
        "per '{}'" in invalid("States.Format('{} {}', $.a)")
    )
    assert "got 1 value for a template with 0 '{}' placeholders" in invalid(
        r"States.Format('\{\}', $.a)"
    )


def test_format_template_must_be_a_string() -> None:
    message = invalid("States.Format(1, $.a)")
    assert (
        "the 1st argument of States.Format must be a string template, but it is a number (1)"
        in (message)
    )


def test_format_template_from_input() -> None:
    data = {"t": r"{} and \{literal\} {}", "a": 1, "b": "x"}
    assert run("States.Format($.t, $.a, $.b)", data) == "1 and {literal} x"
    assert run("States.Format($.t)", {"t": r"C:\dir { } }"}) == r"C:\dir { } }"


def test_format_template_from_input_count_mismatch() -> None:
    text = "States.Format($.t, $.a)"
    error = fails(text, {"t": "{} {}", "a": 1})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        "States.Format got 1 value for a template with 2 '{}' placeholders; pass one value per "
        "'{}' (write \\{ and \\} for literal braces)",
    )


def test_format_template_from_input_must_be_a_string() -> None:
    text = "States.Format($.t, $.a)"
    error = fails(text, {"t": ["{}"], "a": 1})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        'The 1st argument of States.Format must be a string template, but it is an array (["{}"])',
    )


# --- States.StringToJson / States.JsonToString ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        (" ", None),
        ("null", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        ("123456789012345678901234567890", 123456789012345678901234567890),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    assert run("States.StringToJson($.s)", {"s": text}) == expected


def test_string_to_json_aws_example() -> None:
    data = {"escapedJsonString": '{"foo": "bar"}'}
    assert run("States.StringToJson($.escapedJsonString)", data) == {"foo": "bar"}


@pytest.mark.parametrize(
    "text", ["{", "[1,]", "nope", "1 2", "NaN", "Infinity", "1e999", "{'a': 1}"]
)
def test_string_to_json_rejects_invalid_json(text: str) -> None:
    call = "States.StringToJson($.s)"
    error = fails(call, {"s": text})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause.startswith(
        cause(call, "States.StringToJson got a string that is not valid JSON (")
    )
    assert error.cause.endswith("pass a string that holds one JSON value, e.g. '{\"a\": 1}'")


def test_string_to_json_needs_a_string() -> None:
    text = "States.StringToJson($.s)"
    error = fails(text, {"s": {"a": 1}})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        'The 1st argument of States.StringToJson must be a string, but it is an object ({"a":1}). '
        "Usage: States.StringToJson(string)",
    )
    assert "must be a string, but it is a number (1)" in invalid("States.StringToJson(1)")


def test_string_to_json_literal_is_checked_at_compile_time() -> None:
    assert run("States.StringToJson('[1, 2]')") == [1, 2]
    assert "not valid JSON" in invalid("States.StringToJson('{')")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (0, "0"),
        (1, "1"),
        (1.1, "1.1"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ({"foo": "bar"}, '{"foo":"bar"}'),
        (2**70, "1180591620717411303424"),
    ],
)
def test_json_to_string(value: Any, expected: str) -> None:
    assert run("States.JsonToString($.v)", {"v": value}) == expected


def test_json_to_string_of_a_literal() -> None:
    assert run("States.JsonToString('a')") == '"a"'


# --- arrays -----------------------------------------------------------------------------------


def test_array_aws_example() -> None:
    assert run("States.Array($.Id)", {"Id": 123456}) == [123456]


def test_array_returns_a_fresh_list_each_time() -> None:
    evaluate = compile_intrinsic("States.Array($.a)")
    first = evaluate({"a": 1}, None)
    assert first == [1]
    assert evaluate({"a": 1}, None) is not first


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ([1, 2, 3], 1, [[1], [2], [3]]),
        ([1, 2, 3], 3, [[1, 2, 3]]),
        ([1, 2, 3], 5, [[1, 2, 3]]),
        ([], 2, []),
        ([1, 2, 3, 4], 1.5, [[1, 2], [3, 4]]),
        ([1, 2, 3, 4], 2.4, [[1, 2], [3, 4]]),
    ],
)
def test_array_partition(items: list[Any], size: Any, expected: list[Any]) -> None:
    assert run("States.ArrayPartition($.a, $.n)", {"a": items, "n": size}) == expected


def test_array_partition_literal_chunk() -> None:
    assert run("States.ArrayPartition($.inputArray,4)", {"inputArray": [1, 2, 3, 4, 5]}) == [
        [1, 2, 3, 4],
        [5],
    ]


@pytest.mark.parametrize(("size", "rounded"), [(0, 0), (-1, -1), (0.4, 0), (-0.5, 0)])
def test_array_partition_needs_a_positive_chunk(size: Any, rounded: int) -> None:
    text = "States.ArrayPartition($.a, $.n)"
    error = fails(text, {"a": [1], "n": size})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        f"The 2nd argument of States.ArrayPartition is the chunk size and must be 1 or more, but "
        f"it is {rounded}. Usage: States.ArrayPartition(array, chunkSize)",
    )


def test_array_partition_argument_types() -> None:
    text = "States.ArrayPartition($.a, $.n)"
    error = fails(text, {"a": "abc", "n": 1})
    assert error.cause == cause(
        text,
        'The 1st argument of States.ArrayPartition must be an array, but it is a string ("abc"). '
        "Usage: States.ArrayPartition(array, chunkSize)",
    )
    error = fails(text, {"a": [], "n": "2"})
    assert (
        'The 2nd argument of States.ArrayPartition must be a number, but it is a string ("2")'
        in (error.cause)
    )
    assert "is the chunk size and must be 1 or more, but it is 0" in invalid(
        "States.ArrayPartition($.a, 0)"
    )
    assert "is the chunk size and must be 1 or more, but it is -1" in invalid(
        "States.ArrayPartition($.a, -1.2)"
    )
    assert "must be an array, but it is a string" in invalid("States.ArrayPartition('x', 1)")


@pytest.mark.parametrize(
    ("items", "value", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5, True),
        ([], None, False),
        ([], [], False),
        ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"1": 2, "2": []}], [], False),
        ([{"1": 2, "2": []}], {"2": [], "1": 2}, True),
        ([True, False], True, True),
        ([True, False], False, True),
        ([1], True, False),
        ([True], 1, False),
        ([0], False, False),
        ([1.0], 1, True),
        (["1"], 1, False),
        ([None], None, True),
        ([{"a": [1, {"b": 2}]}], {"a": [1, {"b": 2.0}]}, True),
        ([{"a": 1}], {"a": 1, "b": 2}, False),
    ],
)
def test_array_contains(items: list[Any], value: Any, expected: bool) -> None:
    assert run("States.ArrayContains($.a, $.v)", {"a": items, "v": value}) is expected


def test_array_contains_aws_example_and_literals() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}
    assert run("States.ArrayContains($.inputArray, $.lookingFor)", data) is True
    assert run("States.ArrayContains($.a, 'x')", {"a": ["x"]}) is True
    assert run("States.ArrayContains($.a, null)", {"a": [1]}) is False


def test_array_contains_needs_an_array() -> None:
    text = "States.ArrayContains($.a, 1)"
    error = fails(text, {"a": {"k": 1}})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        'The 1st argument of States.ArrayContains must be an array, but it is an object ({"k":1}). '
        "Usage: States.ArrayContains(array, value)",
    )
    assert "must be an array, but it is null" in invalid("States.ArrayContains(null, 1)")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("1, 9, 2", [1, 3, 5, 7, 9]),
        ("0, 9, 3", [0, 3, 6, 9]),
        ("0, 10, 3", [0, 3, 6, 9]),
        ("1, 9, 9", [1]),
        ("5, 5, 1", [5]),
        ("9, 1, -3", [9, 6, 3]),
        ("-2, 2, 2", [-2, 0, 2]),
        ("1, 5, -1", []),
        ("5, 1, 1", []),
        ("1.5, 3.4, 0.6", [2, 3]),
        ("1, 1000, 1", list(range(1, 1001))),
    ],
)
def test_array_range(args: str, expected: list[int]) -> None:
    assert run(f"States.ArrayRange({args})") == expected


def test_array_range_from_paths() -> None:
    assert run("States.ArrayRange($.a, $.b, $.c)", {"a": 0, "b": 4, "c": 2}) == [0, 2, 4]


def test_array_range_limit_and_step_checked_at_compile_time() -> None:
    assert (
        "States.ArrayRange(1, 1001, 1) would make 1,001 items, more than the AWS limit of 1,000"
        in invalid("States.ArrayRange(1, 1001, 1)")
    )
    assert "the 3rd argument of States.ArrayRange is the step and must not be 0" in invalid(
        "States.ArrayRange(1, 5, 0)"
    )
    assert "is the step and must not be 0" in invalid("States.ArrayRange($.a, $.b, 0.4)")
    assert "the 1st argument of States.ArrayRange must be a number" in invalid(
        "States.ArrayRange('1', 5, 1)"
    )


def test_array_range_limit_at_run_time() -> None:
    text = "States.ArrayRange($.a, $.b, $.c)"
    error = fails(text, {"a": 0, "b": 5000, "c": 1})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        "States.ArrayRange(0, 5000, 1) would make 5,001 items, more than the AWS limit of 1,000; "
        "use a larger step or a shorter range",
    )
    error = fails(text, {"a": 0, "b": 5, "c": 0})
    assert error.cause == cause(
        text,
        "The 3rd argument of States.ArrayRange is the step and must not be 0; pass e.g. 1 or -1. "
        "Usage: States.ArrayRange(first, last, step)",
    )
    error = fails(text, {"a": 0, "b": True, "c": 1})
    assert "The 2nd argument of States.ArrayRange must be a number, but it is a boolean (true)" in (
        error.cause
    )


def test_array_get_item() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}
    assert run("States.ArrayGetItem($.inputArray, $.index)", data) == 6
    assert run("States.ArrayGetItem($.inputArray, 0)", data) == 1
    assert run("States.ArrayGetItem($.inputArray, 8)", data) == 9
    assert (
        run("States.ArrayGetItem($.inputArray, $.i)", {"inputArray": ["a", "b"], "i": 1.0}) == "b"
    )
    assert run("States.ArrayGetItem($.a, 0)", {"a": [{"k": [1]}]}) == {"k": [1]}


@pytest.mark.parametrize(
    ("items", "index", "detail"),
    [
        (
            [1, 2, 3],
            3,
            "States.ArrayGetItem got index 3, which is out of range for an array of 3 items; "
            "use an index from 0 to 2",
        ),
        (
            [1, 2, 3],
            -1,
            "States.ArrayGetItem got index -1, which is out of range for an array of 3 items; "
            "use an index from 0 to 2",
        ),
        ([], 0, "States.ArrayGetItem got index 0, but the array is empty"),
        (
            [1],
            1.5,
            "The 2nd argument of States.ArrayGetItem must be a whole number, but it is 1.5. "
            "Usage: States.ArrayGetItem(array, index)",
        ),
        (
            [1],
            "0",
            'The 2nd argument of States.ArrayGetItem must be a number, but it is a string ("0"). '
            "Usage: States.ArrayGetItem(array, index)",
        ),
    ],
)
def test_array_get_item_errors(items: list[Any], index: Any, detail: str) -> None:
    text = "States.ArrayGetItem($.a, $.i)"
    error = fails(text, {"a": items, "i": index})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(text, detail)


def test_array_get_item_literal_index_checks() -> None:
    assert "must be a whole number, but it is 0.5" in invalid("States.ArrayGetItem($.a, 0.5)")
    assert "must be an array" in invalid("States.ArrayGetItem('abc', 0)")
    text = "States.ArrayGetItem($.a, 10)"
    assert fails(text, {"a": [1]}).cause == cause(
        text,
        "States.ArrayGetItem got index 10, which is out of range for an array of 1 items; use "
        "an index from 0 to 0",
    )


@pytest.mark.parametrize(
    ("items", "expected"), [([1, 2, 3, 4, 5, 6, 7, 8, 9], 9), ([], 0), ([[]], 1)]
)
def test_array_length(items: list[Any], expected: int) -> None:
    assert run("States.ArrayLength($.inputArray)", {"inputArray": items}) == expected


def test_array_length_needs_an_array() -> None:
    text = "States.ArrayLength($.a)"
    error = fails(text, {"a": "abc"})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        'The 1st argument of States.ArrayLength must be an array, but it is a string ("abc"). '
        "Usage: States.ArrayLength(array)",
    )
    assert "must be an array, but it is a string" in invalid("States.ArrayLength('abc')")


def test_array_unique() -> None:
    assert run("States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}) == [1, 2, 3, 4]
    mixed = [
        None,
        None,
        True,
        True,
        False,
        False,
        1,
        1,
        1.1,
        0,
        "HelloWorld",
        "HelloWorld",
        [],
        [],
        [None],
        [None],
        {"a": 1, "b": 2},
        {"b": 2, "a": 1},
        {"a": 1, "b": 1},
        1.0,
        "1",
    ]
    assert run("States.ArrayUnique($.a)", {"a": mixed}) == [
        None,
        True,
        False,
        1,
        1.1,
        0,
        "HelloWorld",
        [],
        [None],
        {"a": 1, "b": 2},
        {"a": 1, "b": 1},
        "1",
    ]


def test_array_unique_needs_an_array() -> None:
    text = "States.ArrayUnique($.a)"
    assert fails(text, {"a": 3}).cause == cause(
        text,
        "The 1st argument of States.ArrayUnique must be an array, but it is a number (3). "
        "Usage: States.ArrayUnique(array)",
    )


# --- encoding, hashing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "encoded"),
    [("", ""), ("Data to encode", "RGF0YSB0byBlbmNvZGU="), ("ü€😀", "w7zigqzwn5iA"), ("a", "YQ==")],
)
def test_base64_round_trip(plain: str, encoded: str) -> None:
    assert run("States.Base64Encode($.s)", {"s": plain}) == encoded
    assert run("States.Base64Decode($.s)", {"s": encoded}) == plain


def test_base64_literals_are_folded() -> None:
    assert run("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"


def test_base64_decode_is_lenient_like_mime() -> None:
    assert run("States.Base64Decode($.s)", {"s": "RGF0YSB0\r\nbyBlbmNvZGU="}) == "Data to encode"
    assert run("States.Base64Decode($.s)", {"s": "YQ"}) == "a"
    assert run("States.Base64Decode($.s)", {"s": "/w=="}) == "\ufffd"


@pytest.mark.parametrize("value", ["@@@@", "YQ=a", "Y", "w7z!", "é"])
def test_base64_decode_rejects_invalid_input(value: str) -> None:
    text = "States.Base64Decode($.s)"
    error = fails(text, {"s": value})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        "States.Base64Decode got a string that is not valid Base64; it may only hold A-Z, a-z, "
        "0-9, '+', '/' and trailing '=' padding",
    )


@pytest.mark.parametrize("call", ["States.Base64Encode($.s)", "States.Base64Decode($.s)"])
def test_base64_input_limit(call: str) -> None:
    assert run(call, {"s": "QUFB" * 2500}) is not None  # exactly 10,000 characters
    error = fails(call, {"s": "A" * 10_001})
    name = call.split("(", maxsplit=1)[0]
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        call,
        f"The 1st argument of {name} must be a string of at most 10,000 characters (the AWS "
        f"limit), but it has 10,001. Usage: {name}("
        + ("string)" if "Encode" in name else "base64String)"),
    )


def test_base64_needs_a_string() -> None:
    assert (
        "must be a string, but it is a number (1)"
        in fails("States.Base64Encode($.s)", {"s": 1}).cause
    )
    assert "must be a string, but it is a number (1)" in invalid("States.Base64Encode(1)")
    assert "is not valid Base64" in invalid("States.Base64Decode('@')")


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ],
)
def test_hash(algorithm: str, name: str) -> None:
    expected = hashlib.new(name, b"input data").hexdigest()
    assert run(
        "States.Hash($.Data, $.Algorithm)", {"Data": "input data", "Algorithm": algorithm}
    ) == (expected)
    assert run(f"States.Hash('input data', '{algorithm}')") == expected


def test_hash_aws_example() -> None:
    # AWS's page prints this digest with one digit missing; this is the real SHA-1.
    assert run("States.Hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7"


def test_hash_utf8() -> None:
    assert (
        run("States.Hash($.d, 'SHA-256')", {"d": "é"}) == hashlib.sha256("é".encode()).hexdigest()
    )


@pytest.mark.parametrize("algorithm", ["sha-256", "SHA256", "SHA-224", "", "md5"])
def test_hash_rejects_unknown_algorithms(algorithm: str) -> None:
    text = "States.Hash($.d, $.a)"
    error = fails(text, {"d": "x", "a": algorithm})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        "The 2nd argument of States.Hash must name a hash algorithm, one of MD5, SHA-1, SHA-256, "
        f'SHA-384, SHA-512 (case-sensitive), but it is a string ("{algorithm}"). '
        "Usage: States.Hash(string, 'SHA-256')",
    )
    assert "must name a hash algorithm" in invalid(f"States.Hash($.d, '{algorithm}')")


def test_hash_input_limit_and_type() -> None:
    text = "States.Hash($.d, 'MD5')"
    assert len(run(text, {"d": "x" * 10_000})) == 32
    error = fails(text, {"d": "x" * 10_001})
    assert "must be a string of at most 10,000 characters (the AWS limit), but it has 10,001" in (
        error.cause
    )
    assert (
        "The 1st argument of States.Hash must be a string, but it is an object"
        in fails(text, {"d": {"a": 1}}).cause
    )


# --- JSON merge -----------------------------------------------------------------------------


def test_json_merge_aws_example() -> None:
    data = {
        "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
        "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
    }
    assert run("States.JsonMerge($.json1, $.json2, false)", data) == {
        "a": {"a3": 1, "a4": 2},
        "b": 2,
        "c": 3,
    }


def test_json_merge_does_not_touch_its_inputs() -> None:
    data = {"x": {"a": 1, "d": 3}, "y": {"d": 4}}
    before = copy.deepcopy(data)
    assert run("States.JsonMerge($.x, $.y, false)", data) == {"a": 1, "d": 4}
    assert data == before


def test_json_merge_deep_is_refused() -> None:
    message = invalid("States.JsonMerge($.a, $.b, true)")
    assert (
        "the 3rd argument of States.JsonMerge must be false: Step Functions only merges "
        "shallowly (deep merging is not supported), so write false" in message
    )
    text = "States.JsonMerge($.a, $.b, $.deep)"
    error = fails(text, {"a": {}, "b": {}, "deep": True})
    assert error.error == INTRINSIC_FAILURE
    assert "must be false: Step Functions only merges shallowly" in error.cause


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            {"a": [], "b": {}, "deep": False},
            "The 1st argument of States.JsonMerge must be a JSON object, but it is an array ([])",
        ),
        (
            {"a": {}, "b": "x", "deep": False},
            'The 2nd argument of States.JsonMerge must be a JSON object, but it is a string ("x")',
        ),
        (
            {"a": {}, "b": {}, "deep": 0},
            "The 3rd argument of States.JsonMerge must be the boolean false, but it is a number "
            "(0)",
        ),
    ],
)
def test_json_merge_argument_types(data: dict[str, Any], fragment: str) -> None:
    error = fails("States.JsonMerge($.a, $.b, $.deep)", data)
    assert error.error == INTRINSIC_FAILURE
    assert fragment in error.cause


def test_json_merge_literal_checks() -> None:
    assert "must be a JSON object, but it is a string" in invalid(
        "States.JsonMerge('a', $.b, false)"
    )
    assert "must be the boolean false, but it is null" in invalid(
        "States.JsonMerge($.a, $.b, null)"
    )


# --- math -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (111, -1, 110),
        (-9, 3, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, 0, 1),
        (1.49, -1.49, 0),
        (1.5, 0, 2),
        (-1.5, 0, -1),
        (0.5, 0, 1),
        (2.5, 0, 3),
        (-0.5, 0.5, 1),
        (-0.5, 0, 0),
        (-2.5, 0, -2),
        (-3.5, 0, -3),
        (2147483647, 0, 2147483647),
        (-2147483648, 0, -2147483648),
        (2147483647, 2147483647, 4294967294),
    ],
)
def test_math_add_rounds_like_java(a: Any, b: Any, expected: int) -> None:
    assert run("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == expected
    assert run(f"States.MathAdd({a}, {b})") == expected


@pytest.mark.parametrize(
    "text",
    [
        "States.MathAdd($.i, 1)",
        "States.MathAdd(1, $.i)",
        "States.MathAdd($.i, $.one)",
        "States.MathAdd($.x.i, 1)",
        "States.MathAdd($$.i, 1)",
    ],
)
def test_math_add_fast_paths_agree(text: str) -> None:
    data = {"i": 41, "one": 1, "x": {"i": 41}}
    context = {"i": 41}
    assert run(text, data, context) == 42
    assert run(text, {"i": 1.5, "one": 0.5, "x": {"i": 1.5}}, {"i": 1.5}) == 3


def test_math_add_fast_path_falls_back_for_every_odd_input() -> None:
    text = "States.MathAdd($.i, 1)"
    assert run(text, {"i": 2.5}) == 4
    for data, fragment in [
        ({"i": True}, "must be a number, but it is a boolean (true)"),
        ({"i": "5"}, 'must be a number, but it is a string ("5")'),
        ({"i": None}, "must be a number, but it is null"),
        ({"i": 2**31}, "must be between -2147483648 and 2147483647, but it is 2147483648"),
    ]:
        error = fails(text, data)
        assert error.error == INTRINSIC_FAILURE
        assert error.cause == cause(
            text,
            f"The 1st argument of States.MathAdd {fragment}. Usage: States.MathAdd(value, step)",
        )
    assert fails(text, [1]).error == RUNTIME
    assert fails(text, {"j": 1}).error == RUNTIME


def test_math_add_literal_checks() -> None:
    assert 'the 2nd argument of States.MathAdd must be a number, but it is a string ("one")' in (
        invalid("States.MathAdd($.i, 'one')")
    )
    assert "must be between -2147483648 and 2147483647, but it is 3000000000" in invalid(
        "States.MathAdd($.i, 3000000000)"
    )
    assert "must be between -2147483648 and 2147483647, but it is -2147483649" in invalid(
        "States.MathAdd(-2147483648.6, 1)"
    )


def test_math_add_nested() -> None:
    assert run("States.MathAdd(States.ArrayLength($.a), -1)", {"a": [1, 2, 3]}) == 2


def test_math_random_range() -> None:
    for _ in range(200):
        value = run("States.MathRandom($.start, $.end)", {"start": 1, "end": 5})
        assert type(value) is int
        assert 1 <= value < 5
    assert run("States.MathRandom(7, 8)") == 7
    values = {run("States.MathRandom(12.5, 14.5)") for _ in range(200)}
    assert values <= {13, 14}


def test_math_random_with_seed_is_repeatable() -> None:
    first = [run("States.MathRandom(0, 1000000, $.seed)", {"seed": seed}) for seed in range(5)]
    second = [run("States.MathRandom(0, 1000000, $.seed)", {"seed": seed}) for seed in range(5)]
    assert first == second
    assert len(set(first)) > 1
    assert run("States.MathRandom(0, 999, 3)") == run("States.MathRandom(0, 999, 3)")


def test_math_random_errors() -> None:
    assert (
        "States.MathRandom needs a start lower than its end, but got start 5 and end 5; the end "
        "is exclusive" in invalid("States.MathRandom(5, 5)")
    )
    assert "must be a number, but it is a string" in invalid("States.MathRandom('a', 5)")
    assert "must be a number, but it is a boolean" in invalid("States.MathRandom(1, 5, true)")
    text = "States.MathRandom($.a, $.b)"
    error = fails(text, {"a": 9, "b": 3})
    assert error.error == INTRINSIC_FAILURE
    assert error.cause == cause(
        text,
        "States.MathRandom needs a start lower than its end, but got start 9 and end 3; the end "
        "is exclusive",
    )
    assert (
        "The 3rd argument of States.MathRandom must be a number"
        in fails("States.MathRandom(1, 5, $.s)", {"s": "x"}).cause
    )


# --- strings, UUID ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("a,,b,", ",", ["a", "b"]),
        (",a;;b;", ",;", ["a", "b"]),
        ("abc", "", ["abc"]),
        ("", "", []),
        ("", ",", []),
        (",,,", ",", []),
        ("a b", " ", ["a", "b"]),
        ("a::b", "::", ["a", "b"]),
        (
            "arn:aws:states:us-east-1:123:execution:sm:run",
            ":",
            ["arn", "aws", "states", "us-east-1", "123", "execution", "sm", "run"],
        ),
    ],
)
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == expected


def test_string_split_literals_and_region_from_execution_arn() -> None:
    assert run("States.StringSplit('a-b', '-')") == ["a", "b"]
    context = {"Execution": {"Id": "arn:aws:states:eu-west-1:123456789012:execution:m:e"}}
    region = "States.ArrayGetItem(States.StringSplit($$.Execution.Id, ':'), 3)"
    assert run(region, {}, context) == "eu-west-1"


def test_string_split_argument_types() -> None:
    text = "States.StringSplit($.s, $.d)"
    assert fails(text, {"s": 1, "d": ","}).cause == cause(
        text,
        "The 1st argument of States.StringSplit must be a string, but it is a number (1). "
        "Usage: States.StringSplit(string, delimiters)",
    )
    assert (
        "The 2nd argument of States.StringSplit must be a string, but it is an array"
        in fails(text, {"s": "a", "d": [","]}).cause
    )
    assert "must be a string, but it is null" in invalid("States.StringSplit($.s, null)")


def test_uuid_is_a_fresh_v4_each_time() -> None:
    evaluate = compile_intrinsic("States.UUID()")
    values = {evaluate(None, None) for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
        )


def test_uuid_in_format() -> None:
    value = run("States.Format('id-{}', States.UUID())")
    assert value.startswith("id-")
    assert len(value) == 39


# --- the contract: nothing but StatesError at run time -------------------------------------------


def test_non_json_input_still_raises_states_error() -> None:
    class Odd:
        pass

    error = fails("States.ArrayUnique($.a)", {"a": [Odd()]})
    assert error.error == INTRINSIC_FAILURE
    assert "which is not a JSON value" in error.cause
    assert run("States.Format('{}', $.a)", {"a": float("nan")}) == "NaN"


def test_deeply_nested_input_becomes_intrinsic_failure() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    error = fails("States.ArrayUnique($.a)", {"a": [deep]})
    assert error.error == INTRINSIC_FAILURE
    assert "States.ArrayUnique could not be evaluated (RecursionError" in error.cause


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=-5, max_value=12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(
            ["", ",", ".:", "{}", "{} {}", "SHA-256", "MD5", "e30=", "QQ", "[1,2]", '{"a":1}']
        ),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(["a", "b", "c", "k"]), children, max_size=4),
        ),
        max_leaves=12,
    )


RUNTIME_CALLS = [
    "States.Format('{} and {}', $.a, $.b)",
    "States.Format($.a, $.b)",
    "States.Format($.a)",
    "States.StringToJson($.a)",
    "States.JsonToString($.a)",
    "States.Array($.a, $.b)",
    "States.ArrayPartition($.a, $.b)",
    "States.ArrayContains($.a, $.b)",
    "States.ArrayRange($.a, $.b, $.c)",
    "States.ArrayGetItem($.a, $.b)",
    "States.ArrayLength($.a)",
    "States.ArrayUnique($.a)",
    "States.Base64Encode($.a)",
    "States.Base64Decode($.a)",
    "States.Hash($.a, $.b)",
    "States.JsonMerge($.a, $.b, $.c)",
    "States.MathRandom($.a, $.b)",
    "States.MathRandom($.a, $.b, $.c)",
    "States.MathAdd($.a, $.b)",
    "States.MathAdd($.a, 1)",
    "States.MathAdd($.a.k, -1)",
    "States.StringSplit($.a, $.b)",
    "States.UUID()",
    "States.Format('{}', States.ArrayLength($.a))",
    "States.ArrayGetItem(States.StringSplit($.a, $.b), 0)",
    "States.JsonToString(States.JsonMerge($.a, $.b, false))",
    "States.Array($.a[0], $['b'], $.c.k, $..k, $.a[*])",
    "States.Format('{}', $$.x)",
]


def _is_json(value: Any) -> bool:
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_is_json(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _is_json(item) for key, item in value.items())
    return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    call=st.sampled_from(RUNTIME_CALLS),
    data=st.one_of(
        st.fixed_dictionaries({"a": _json_values(), "b": _json_values(), "c": _json_values()}),
        _json_values(),
    ),
    context=st.one_of(st.none(), _json_values()),
)
def test_property_runtime_returns_json_or_states_error(call: str, data: Any, context: Any) -> None:
    before = copy.deepcopy(data)
    evaluate = compile_intrinsic(call)
    try:
        result = evaluate(data, context)
    except StatesError as error:
        assert error.error in (INTRINSIC_FAILURE, RUNTIME)
        assert error.cause.startswith(f"The function '{call}' had the following error: ")
    else:
        assert _is_json(result)
    assert data == before  # never mutates its input


_FRAGMENTS = [
    "$", "$.a", "$.a[0]", "$$.x", "$['a,b']", "$.a[?(@.b == 1)]", "$.a.length()", "'s'", "'{}'",
    "'\\{'", "'\\'", "'\\x'", "'", "1", "-2.5", "1e3", "-", "true", "null", "nul", ",", "(", ")",
    " ", "\\", "{", "}", "[", "]", "States.", "States.Array(", "States.MathAdd(", "States.Nope(",
    "States.Format(", "'{} {}'", "0", "1.5", "$..a", "@", "\"", "\u00e9",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda name, parts: name + "(" + "".join(parts),
            st.sampled_from([*FUNCTIONS, "States.Nope", "States.mathAdd"]),
            st.lists(st.sampled_from(_FRAGMENTS), max_size=14),
        ),
        st.builds("".join, st.lists(st.sampled_from(_FRAGMENTS), max_size=14)),
    )
)
def test_property_any_text_compiles_or_raises_definition_error(text: str) -> None:
    try:
        evaluate = compile_intrinsic(text)
    except DefinitionError as error:
        assert error.code == "INVALID_INTRINSIC"
        assert error.message
    else:
        assert callable(evaluate)


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=30))
def test_property_string_literals_round_trip(value: str) -> None:
    escaped = (
        value.replace("\\", "\\\\").replace("'", "\\'").replace("{", "\\{").replace("}", "\\}")
    )
    assert run(f"States.Array('{escaped}')") == [value]
    assert run(f"States.Format('{escaped}')") == value


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=200))
def test_property_base64_matches_the_standard_library(value: str) -> None:
    encoded = run("States.Base64Encode($.s)", {"s": value})
    assert encoded == base64.b64encode(value.encode("utf-8", "replace")).decode()
    if all(not 0xD800 <= ord(char) <= 0xDFFF for char in value):  # lone surrogates become '?'
        assert run("States.Base64Decode($.s)", {"s": encoded}) == value
