"""The JSONata seam: every behaviour checked on both engines behind it.

Each test takes the ``engine`` fixture, so it runs once on jsonata2py (the default engine) and
once on jsonatapy (the second engine, skipped only when that package is not installed).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import re
from collections.abc import Iterator
from typing import Any

import pytest
from _jsonata_engines import ENGINE_PARAMS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.asl import _jsonata as jsonata_module
from stepline.asl._errors import QUERY_EVALUATION_ERROR, DefinitionError, StatesError
from stepline.asl._jsonata import (
    INVALID_JSONATA_EXPRESSION,
    UNDEFINED,
    CompiledExpression,
    compile_jsonata,
    jsonata_engine_name,
    select_jsonata_engine,
)
from stepline.asl._jsonata_functions import java_random_double
from stepline.asl._jsonata_scan import scan

INPUT: dict[str, Any] = {
    "orderId": "o-1",
    "customer": {"name": "Ada", "tags": ["vip", "eu"]},
    "items": [
        {"sku": "a", "price": 5, "qty": 2},
        {"sku": "b", "price": 50, "qty": 1},
        {"sku": "c", "price": 12.5, "qty": 4},
    ],
    "nothing": None,
}
BINDINGS: dict[str, Any] = {
    "states": {"input": INPUT, "context": {"Execution": {"Name": "run-1"}}},
    "limit": 10,
    "greeting": "hello",
}


@pytest.fixture(params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    assert select_jsonata_engine(name) == name
    yield name
    select_jsonata_engine()


def run(expression: str, bindings: dict[str, Any] | None = None) -> Any:
    return compile_jsonata(expression).evaluate(BINDINGS if bindings is None else bindings)


def failure(expression: str, field: str | None = "Output/v") -> str:
    compiled = compile_jsonata(expression)
    with pytest.raises(StatesError) as caught:
        compiled.evaluate(BINDINGS, field)
    assert type(caught.value) is StatesError
    assert caught.value.error == QUERY_EVALUATION_ERROR
    return caught.value.cause


# --- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("42", 42),
        ("-1.5", -1.5),
        ("'single'", "single"),
        ('"double"', "double"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 'two', [3]]", [1, "two", [3]]),
        ('{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}),
        ("[]", []),
        ("{}", {}),
    ],
)
def test_literals(engine: str, expression: str, expected: Any) -> None:
    result = run(expression)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$states.input.orderId", "o-1"),
        ("$states.input.customer.name", "Ada"),
        ("$states.input.customer.tags[1]", "eu"),
        ("$states.input.items[0].sku", "a"),
        ("$states.input.items[-1].sku", "c"),
        ("$states.context.Execution.Name", "run-1"),
        ("$states.input.nothing", None),
        ("$limit", 10),
        ("$greeting & ', ' & $states.input.customer.name", "hello, Ada"),
        ("$states.input", INPUT),
    ],
)
def test_paths_into_bindings(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 % 3", 1),
        ("10 / 4", 2.5),
        ("$limit - 11", -1),
        ("$sum($states.input.items.(price * qty))", 110),
        ("$max($states.input.items.price)", 50),
        ("$count($states.input.items)", 3),
        ("$round(2.675, 2)", 2.68),
        ("$limit > 5 and $limit < 20", True),
        ("$limit = 10 ? 'ten' : 'other'", "ten"),
    ],
)
def test_arithmetic_and_logic(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$uppercase($states.input.customer.name)", "ADA"),
        ("$substring('stepline', 4)", "line"),
        ("$join($states.input.customer.tags, '+')", "vip+eu"),
        ("$split('a,b,c', ',')", ["a", "b", "c"]),
        ("$contains($greeting, 'ell')", True),
        ("$length('héllo')", 5),
        ("$string(12.5)", "12.5"),
        ("$trim('  x  ')", "x"),
        ("$replace('a-b-c', '-', '/')", "a/b/c"),
        ("$match('ab12', /[0-9]+/).match", "12"),
    ],
)
def test_string_functions(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$states.input.items.sku", ["a", "b", "c"]),
        ("$states.input.items[price > 10].sku", ["b", "c"]),
        ("$states.input.items[price > 20].sku", "b"),  # a singleton sequence is the value
        ("$map($states.input.items, function($v) { $v.qty * 2 })", [4, 2, 8]),
        ("$filter([1, 2, 3, 4], function($v) { $v % 2 = 0 })", [2, 4]),
        ("$reduce([1, 2, 3], function($a, $b) { $a + $b })", 6),
        ("$states.input.items^(>price).sku", ["b", "c", "a"]),
        (
            "$states.input.items[qty > 1].{'sku': sku, 'total': price * qty}",
            [{"sku": "a", "total": 10}, {"sku": "c", "total": 50}],
        ),
        ("$states.input.items{sku: price}", {"a": 5, "b": 50, "c": 12.5}),
        ("($x := 3; $y := $x * 2; [$x, $y])", [3, 6]),
    ],
)
def test_array_mapping_and_filtering(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


def test_bindings_are_read_not_changed(engine: str) -> None:
    bindings = copy.deepcopy(BINDINGS)
    before = copy.deepcopy(bindings)
    run("$states.input.items^(>price)", bindings)
    run("$merge([$states.input.customer, {'name': 'Bob'}])", bindings)
    assert bindings == before


def test_bindings_may_be_any_mapping(engine: str) -> None:
    from types import MappingProxyType

    assert run("$a + 1", MappingProxyType({"a": 1})) == 2  # type: ignore[arg-type]


def test_engine_is_reported(engine: str) -> None:
    assert jsonata_engine_name() == engine
    assert compile_jsonata("1").engine == engine


# --- undefined -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "$states.input.missing",
        "$states.input.items[price > 1000]",
        "$unassigned",
        "$",  # there is no input document, as in Step Functions
        "$$",
        "orderId",  # a bare name reads the (absent) input document
        "$states.input.missing.deeper",
    ],
)
def test_undefined_results(engine: str, expression: str) -> None:
    assert run(expression) is UNDEFINED


def test_undefined_is_not_null(engine: str) -> None:
    assert run("$states.input.nothing") is None
    assert run("$states.input.missing") is UNDEFINED
    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"


def test_undefined_error_has_aws_wording(engine: str) -> None:
    compiled = compile_jsonata(" $states.input.missing ")
    error = compiled.undefined_error("Output/v")
    assert error.error == QUERY_EVALUATION_ERROR
    assert error.cause == (
        "The JSONata expression '$states.input.missing' specified for the field 'Output/v' "
        "returned nothing (undefined)."
    )
    assert compiled.undefined_error().cause == (
        "The JSONata expression '$states.input.missing' returned nothing (undefined)."
    )


def test_non_finite_numbers_become_null(engine: str) -> None:
    assert run("1/0") is None
    assert run("-1/0") is None


# --- evaluation errors ---------------------------------------------------------------------------


def test_evaluation_error_cause_names_expression_and_field(engine: str) -> None:
    cause = failure("'a' + 1", field="Arguments/total")
    assert cause.startswith(
        "The JSONata expression ''a' + 1' specified for the field 'Arguments/total' threw an "
        "error during evaluation. T2001: "
    )
    assert "left side of the + operator must evaluate to a number" in cause


def test_evaluation_error_without_field(engine: str) -> None:
    cause = failure("'a' + 1", field=None)
    assert cause.startswith("The JSONata expression ''a' + 1' threw an error during evaluation. ")


@pytest.mark.parametrize(
    ("expression", "code"),
    [
        ("$abs('x')", "T0410"),
        ("$sum(['a', 'b'])", "T0412"),
        ("$states.input.customer.name - 1", "T2001"),
        ("$notAFunction(1)", "T1006"),
        ("$string(1/0)", "D3001"),
        ("$error('custom stop')", "D3137"),
    ],
)
def test_evaluation_errors_carry_the_jsonata_code(engine: str, expression: str, code: str) -> None:
    cause = failure(expression)
    assert f"threw an error during evaluation. {code}: " in cause


def test_calling_a_non_function_says_so_as_aws_does(engine: str) -> None:
    assert failure("$notAFunction(1)").endswith("T1006: Attempted to invoke a non-function")


def test_error_function_message_reaches_the_cause(engine: str) -> None:
    assert "custom stop" in failure("$error('custom stop')")


def test_deep_recursion_is_an_evaluation_error(engine: str) -> None:
    cause = failure("($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))")
    assert "threw an error during evaluation" in cause


def test_endless_recursion_is_an_evaluation_error(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonata_module, "JSONATAPY_TIMEOUT_MS", 300)
    cause = failure("($f := function($n) { $n < 0 ? 0 : $f($n + 1) }; $f(0))")
    assert "threw an error during evaluation" in cause


# --- syntax errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "fragment", "position"),
    [
        ("1 +", "end of expression", 3),
        ("$states.input.items[0", "", None),
        ("'unterminated", "", None),
        ('{"a": }', "", None),
        ("/* open comment", "", None),
        ("", "end of expression", 0),
        ("1 2", "", None),
        ("$random(", "end of expression", 8),  # positions refer to the text as written
    ],
)
def test_syntax_errors_are_definition_errors(
    engine: str, expression: str, fragment: str, position: int | None
) -> None:
    with pytest.raises(DefinitionError) as caught:
        compile_jsonata(expression)
    error = caught.value
    assert error.code == INVALID_JSONATA_EXPRESSION
    assert error.message
    assert fragment.lower() in error.message.lower()
    assert not re.match(r"^[A-Z]\d{4}", error.message)  # AWS shows no JSONata code here
    reported = getattr(error, "position", None)
    if reported is not None and position is not None:
        assert reported == position
        assert f"(position {position})" in error.message
    if engine == "jsonata2py" and position is not None:
        assert reported == position  # the default engine always gives one


def test_compile_refuses_non_strings(engine: str) -> None:
    with pytest.raises(TypeError):
        compile_jsonata(42)  # type: ignore[arg-type]


# --- the functions Step Functions adds -----------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)", [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ("$partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
        ("$partition([1, 2], 5)", [[1, 2]]),
        ("$partition([], 2)", []),
        ("$partition([1, 2, 3], 2.9)", [[1, 2], [3]]),  # integers are rounded down
        ("$partition($states.input.items.sku, $limit - 8)", [["a", "b"], ["c"]]),
        ("$partition('solo', 2)", [["solo"]]),
    ],
)
def test_partition(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("$partition([1], 0)", "chunk size of $partition must be at least 1"),
        ("$partition([1], -2)", "at least 1"),
        ("$partition([1], 'two')", "chunk size of $partition must be a number"),
        ("$partition([1])", "$partition takes 2 arguments but got 1"),
        ("$partition([1], 1, 2)", "takes 2 arguments but got 3"),
    ],
)
def test_partition_argument_checks(engine: str, expression: str, fragment: str) -> None:
    cause = failure(expression)
    assert fragment in cause
    assert "threw an error during evaluation: " in cause  # no JSONata code: AWS's own function


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
        ("$range(0, 6, 2)", [0, 2, 4, 6]),
        ("$range(0, 5, 2)", [0, 2, 4]),
        ("$range(5, 1, -2)", [5, 3, 1]),
        ("$range(1, 1, 1)", [1]),
        ("$range(0, 10, -1)", []),
        ("$range(0.9, 3.5, 1.7)", [0, 1, 2, 3]),
        ("$range(-3, -1, 1)", [-3, -2, -1]),
    ],
)
def test_range(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("$range(0, 10, 0)", "step of $range must not be 0"),
        ("$range(0, 10)", "$range takes 3 arguments but got 2"),
        ("$range('0', 10, 1)", "start of $range must be a number"),
        ("$range(0, true, 1)", "end of $range must be a number"),
        ("$range(0, 100000000, 1)", "more than the limit"),
    ],
)
def test_range_argument_checks(engine: str, expression: str, fragment: str) -> None:
    assert fragment in failure(expression)


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256"), ("SHA-384", "sha384"),
     ("SHA-512", "sha512")],
)  # fmt: skip
def test_hash(engine: str, algorithm: str, name: str) -> None:
    expected = hashlib.new(name, b"input").hexdigest()
    assert run(f"$hash('input', '{algorithm}')") == expected


def test_hash_known_value(engine: str) -> None:
    # The value AWS returns for this call.
    assert run("$hash('input', 'SHA-1')") == "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"
    assert run("$hash($states.input.orderId, 'MD5')") == hashlib.md5(b"o-1").hexdigest()


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("$hash('x', 'sha-256')", 'does not support the algorithm "sha-256"'),
        ("$hash('x', 'SHA-224')", "use one of 'MD5', 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'"),
        ("$hash('x', 5)", "does not support the algorithm the number 5"),
        ("$hash(42, 'MD5')", "must be a string, but it is the number 42"),
        ("$hash('x')", "$hash takes 2 arguments but got 1"),
    ],
)
def test_hash_argument_checks(engine: str, expression: str, fragment: str) -> None:
    assert fragment in failure(expression)


def test_random_seeded_matches_aws(engine: str) -> None:
    assert run("$random(42)") == 0.7275636800328681  # observed on AWS for seed 42
    assert run("$random($limit)") == run("$random(10)") == java_random_double(10)
    assert run("$random(42.9)") == run("$random(42)")  # rounded down


def test_random_unseeded_is_in_range_and_varies(engine: str) -> None:
    compiled = compile_jsonata("$random()")
    values = {compiled.evaluate(BINDINGS) for _ in range(20)}
    assert all(0 <= value < 1 for value in values)
    assert len(values) > 1


def test_random_argument_checks(engine: str) -> None:
    assert "seed of $random must be a number" in failure("$random('x')")
    assert "$random takes 0 to 1 arguments but got 2" in failure("$random(1, 2)")


def test_java_random_reference_values() -> None:
    # java.util.Random(seed).nextDouble(), a documented JDK sequence.
    assert java_random_double(42) == 0.7275636800328681
    assert java_random_double(0) == 0.730967787376657
    assert 0 <= java_random_double(-7) < 1


def test_uuid(engine: str) -> None:
    first, second = run("[$uuid(), $uuid()]")
    pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    assert re.match(pattern, first)
    assert first != second
    assert "$uuid takes no arguments but got 1" in failure("$uuid(1)")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$parse('{\"a\": [1, 2.5, null, true]}')", {"a": [1, 2.5, None, True]}),
        ("$parse('\"text\"')", "text"),
        ("$parse('[]')", []),
        ("$parse(' 7 ')", 7),
        ('$parse(\'{"a": {"b": 2}}\').a.b', 2),
    ],
)
def test_parse(engine: str, expression: str, expected: Any) -> None:
    assert run(expression) == expected


def test_parse_keeps_long_integers_exact(engine: str) -> None:
    if engine == "jsonatapy":
        pytest.skip("jsonatapy carries every number as a double")
    assert run("$parse('9223372036854775807')") == 2**63 - 1
    wide = run("$parse('123456789012345678901234567890')")
    assert type(wide) is float  # wider than a Java long: a double, as on AWS


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("$parse('{nope}')", "$parse got a string that is not valid JSON"),
        ("$parse('NaN')", "not valid JSON"),
        ("$parse('')", "not valid JSON"),
        ("$parse(12)", "$parse takes a string that holds JSON, but got the number 12"),
        ("$parse()", "$parse takes 1 argument but got 0"),
    ],
)
def test_parse_argument_checks(engine: str, expression: str, fragment: str) -> None:
    assert fragment in failure(expression)


@pytest.mark.parametrize(
    "expression",
    ["$partition($states.input.missing, 2)", "$hash($states.input.missing, 'MD5')",
     "$parse($states.input.missing)"],
)  # fmt: skip
def test_functions_of_undefined_return_nothing(engine: str, expression: str) -> None:
    result = run(expression)
    if engine == "jsonatapy":
        assert result is None  # jsonatapy cannot return undefined from a host function
    else:
        assert result is UNDEFINED


def test_added_functions_can_be_passed_as_values(engine: str) -> None:
    assert run("$map(['a', 'b'], function($v) { $hash($v, 'MD5') })") == [
        hashlib.md5(b"a").hexdigest(),
        hashlib.md5(b"b").hexdigest(),
    ]


# --- what Step Functions takes away --------------------------------------------------------------


def test_eval_is_not_available(engine: str) -> None:
    # AWS accepts the definition and fails the state (observed: T1006 at run time).
    compiled = compile_jsonata("$eval('1 + 1')")
    with pytest.raises(StatesError) as caught:
        compiled.evaluate(BINDINGS, "Output/r")
    assert caught.value.cause == (
        "The JSONata expression '$eval('1 + 1')' specified for the field 'Output/r' threw an "
        "error during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_eval_inside_a_string_is_just_text(engine: str) -> None:
    assert run("'$eval(1) and $random(2)'") == "$eval(1) and $random(2)"
    assert run('"/* $eval */"') == "/* $eval */"


def test_a_local_binding_named_like_a_replaced_function_still_works(engine: str) -> None:
    assert run("($random := function() { 4 }; $random())") == 4
    assert run("(function($eval) { $eval * 2 })(21)") == 42


# --- free variables ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "variables"),
    [
        ("$states.input.a + $myVar", {"states", "myVar"}),
        ("$sum($items) + $count($other)", {"items", "other"}),
        ("$partition($xs, 2) ~> $map(function($v) { $v[0] })", {"xs"}),
        ("($x := 1; $x + $y)", {"y"}),
        ("function($a, $b) { $a + $b + $c }", {"c"}),
        ("λ($a) { $a }", set()),
        ("'$inString' & \"$inDouble\" & $real", {"real"}),
        ("`$field name`.x & $real", {"real"}),
        ("/* $inComment */ $real", {"real"}),
        ("$match($s, /a$b/)", {"s"}),  # `$b` is part of the regular expression
        ("$a / $b / 2", {"a", "b"}),  # division, not regular expressions
        ("$ + $$ + 1", set()),
        ("$eval('x') & $random()", set()),
        ("$états", {"états"}),
        ("$a.b.$c", {"a", "c"}),
        (r'"say \"$not\"" & $yes', {"yes"}),
    ],
)
def test_free_variables(engine: str, expression: str, variables: set[str]) -> None:
    assert compile_jsonata(expression).free_variables == variables


@pytest.mark.parametrize(
    ("expression", "fields"),
    [
        ("$states.input.a", {"input"}),
        ("$states.result.Payload & $states.errorOutput.Cause", {"result", "errorOutput"}),
        ("$states . context . Execution", {"context"}),
        ("$states.`input`.a", {"input"}),
        ("$states", {"*"}),
        ("$keys($states)", {"*"}),
        ("$states[0]", {"*"}),
        ("'$states.result'", set()),
    ],
)
def test_states_fields(engine: str, expression: str, fields: set[str]) -> None:
    assert compile_jsonata(expression).states_fields == fields


def test_original_position_maps_back_through_renames() -> None:
    found = scan("$random() + $eval(")
    assert found.renamed == "$__stepline_random() + $__stepline_eval("
    assert found.original_position(0) == 0
    assert found.original_position(5) == 1  # inside the renamed token: its start
    assert found.original_position(len("$__stepline_random() + ")) == len("$random() + ")
    assert found.original_position(len(found.renamed)) == len("$random() + $eval(")
    assert scan("1 + 2").renamed == "1 + 2"


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [0, -1, 2**31, 2**53, -(2**53), 0.1, 1.5e-10, 1.7976931348623157e308, -2.5],
)
def test_numbers_round_trip(engine: str, value: Any) -> None:
    result = run("$states.input.n", {"states": {"input": {"n": value}}})
    assert result == value
    assert isinstance(result, int | float) and not isinstance(result, bool)


def test_wide_integers(engine: str) -> None:
    wide = 123456789012345678901234567890
    bindings = {"states": {"input": {"id": wide, "ids": [wide, 1]}}}
    assert run("$states.input.id", bindings) == wide  # the fast path passes it through
    on_engine = compile_jsonata("$states.input.id").evaluate_on_engine(bindings)
    if engine == "jsonata2py":
        assert on_engine == wide  # passed through untouched
    else:
        assert on_engine == float(wide)  # jsonatapy only holds 64-bit numbers
    assert run("$states.input.ids[1] + 1", bindings) == 2
    assert run("$states.input.id > 1", bindings) is True


def test_integral_arithmetic_gives_integers(engine: str) -> None:
    assert run("2.5 * 2") == 5
    assert run("$count([1, 2]) * 1.0") == 2
    assert run("0.1 + 0.2") == pytest.approx(0.3)


# --- engine selection ----------------------------------------------------------------------------


def test_unknown_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeError, match="'nope', which is not a JSONata engine"):
        select_jsonata_engine("nope")
    monkeypatch.setenv("STEPLINE_JSONATA_ENGINE", "quickjs")
    with pytest.raises(RuntimeError, match="STEPLINE_JSONATA_ENGINE is 'quickjs'"):
        select_jsonata_engine()
    monkeypatch.delenv("STEPLINE_JSONATA_ENGINE")
    assert select_jsonata_engine() == "jsonata2py"  # the default


@pytest.mark.parametrize("name", [param.values[0] for param in ENGINE_PARAMS])
def test_engine_chosen_by_environment(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed")
    monkeypatch.setenv("STEPLINE_JSONATA_ENGINE", name.upper())
    try:
        assert select_jsonata_engine() == name
        assert jsonata_engine_name() == name
    finally:
        monkeypatch.delenv("STEPLINE_JSONATA_ENGINE")
        select_jsonata_engine()


def test_compiled_expressions_keep_their_engine() -> None:
    if importlib.util.find_spec("jsonatapy") is None:
        pytest.skip("jsonatapy is not installed")
    select_jsonata_engine("jsonatapy")
    try:
        compiled = compile_jsonata("$a + 1")
    finally:
        select_jsonata_engine("jsonata2py")
    assert compiled.engine == "jsonatapy"
    assert compiled.evaluate({"a": 1}) == 2
    assert repr(compiled) == "CompiledExpression('$a + 1', engine='jsonatapy')"


# --- property: compilation never fails any other way ---------------------------------------------

TOKENS = [
    "$", "$$", "$states", ".input", ".", "x", "$x", ":=", ";", "(", ")", "[", "]", "{", "}",
    ",", ":", "?", "'s'", '"d"', "`b`", "1", "2.5", "+", "-", "*", "/", "%", "&", "=", "!=",
    "<", ">", "and", "or", "in", "~>", "..", "^(", "#", "@", "|", "function", "λ", "/* c */",
    "/a$/", "$sum(", "$eval(", "$random(", "$partition(", "$range(", "$hash(", "$parse(",
    "$uuid(", "true", "null", " ", "\\", "'", '"', "`", "/*", "\ud800", "💥",
]  # fmt: skip
EXPRESSIONS = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
)
PROPERTY = settings(
    max_examples=120,
    deadline=1000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(expression=EXPRESSIONS)
def test_arbitrary_text_compiles_or_is_a_definition_error(engine: str, expression: str) -> None:
    try:
        compiled = compile_jsonata(expression)
    except DefinitionError as error:
        assert error.code == INVALID_JSONATA_EXPRESSION
        assert error.message
        return
    assert isinstance(compiled, CompiledExpression)
    assert isinstance(compiled.free_variables, frozenset)
    try:
        compiled.evaluate({"states": {"input": {"x": 1}}, "x": [1, 2]}, "Output")
    except StatesError as error:
        assert error.error == QUERY_EVALUATION_ERROR
        assert error.cause.startswith("The JSONata expression ")
