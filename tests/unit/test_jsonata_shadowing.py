"""A binding named like a JSONata function shadows the function, on both engines.

JSONata (jsonata-js, which AWS's JSONata mode follows) looks ``$name`` up in the evaluation's
bindings before its function library, so with a workflow variable ``count`` bound, ``$count``
is that value and ``$count(x)`` is "T1006: Attempted to invoke a non-function". A lambda
parameter or a block-local ``:=`` of the same name still hides the outer value inside its
scope, and with no such binding the name is the function. jsonata2py resolves function names
when it compiles, so the seam (``stepline.asl._jsonata``) compiles a renamed version; these
tests check the observable rule on both engines, the scanner's renaming, and that fast paths
and the engine agree. Expected values were checked against jsonata-js 2.x.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from _jsonata_engines import ENGINE_PARAMS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stepline.asl._errors import QUERY_EVALUATION_ERROR, StatesError
from stepline.asl._jsonata import compile_jsonata, select_jsonata_engine
from stepline.asl._jsonata_scan import BUILTIN_FUNCTIONS, SHADOW_PREFIX, scan, shadow_alias


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    assert select_jsonata_engine(name) == name
    yield name
    select_jsonata_engine()


def is_json(value: Any) -> bool:
    if isinstance(value, dict):
        return all(is_json(item) for item in value.values())
    if isinstance(value, list):
        return all(is_json(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


def outcome(expression: str, bindings: dict[str, Any], *, drawn: bool = False) -> tuple[str, Any]:
    """``("value", v)`` or ``("error", cause)``; asserts the fast path and the engine agree.

    A function value nested in the result (``[$count]`` with ``count`` unbound) is not JSON,
    and what the engines return for it is outside this module's subject: a ``drawn`` (property
    test) example with one is rejected.
    """
    compiled = compile_jsonata(expression)
    results = []
    for evaluate in (compiled.evaluate, compiled.evaluate_on_engine):
        try:
            result = evaluate(bindings)
            if drawn:
                assume(is_json(result))
            results.append(("value", result))
        except StatesError as exc:
            assert exc.error == QUERY_EVALUATION_ERROR
            assert SHADOW_PREFIX not in (exc.cause or ""), exc.cause  # the alias never shows
            results.append(("error", exc.cause))
    assert results[0] == results[1], (expression, bindings, results)
    return results[0]


def value(expression: str, bindings: dict[str, Any]) -> Any:
    kind, result = outcome(expression, bindings)
    assert kind == "value", result
    return result


def error(expression: str, bindings: dict[str, Any]) -> str:
    kind, result = outcome(expression, bindings)
    assert kind == "error", result
    return str(result)


NOT_A_FUNCTION = "T1006: Attempted to invoke a non-function"


# --------------------------------------------------------------------- the variable's value


@pytest.mark.parametrize(
    ("expression", "bindings", "expected"),
    [
        ("$count + 1", {"count": 5}, 6),
        ("$count", {"count": 5}, 5),
        ("$count", {"count": None}, None),
        ("$sum * 2", {"sum": 21}, 42),
        ("$string & '!'", {"string": "hi"}, "hi!"),
        ("$keys", {"keys": ["a", "b"]}, ["a", "b"]),
        ("$keys[1]", {"keys": ["a", "b"]}, "b"),
        ("$count.a", {"count": {"a": 1}}, 1),
        ("$sum.a.b", {"sum": {"a": {"b": [1, 2]}}}, [1, 2]),
        ("$count > 3 and $sum < 3", {"count": 5, "sum": 2}, True),
        ("{'n': $count, 'k': $keys}", {"count": 5, "keys": 1}, {"n": 5, "k": 1}),
        ("[$count, $sum]", {"count": 5, "sum": 2}, [5, 2]),
        ("$map([1, 2], function($v) { $v + $count })", {"count": 10}, [11, 12]),
        # A variable and a function of other names side by side.
        ("$sum($keys)", {"keys": [1, 2, 3]}, 6),
        ("$count($sum)", {"sum": [1, 2, 3]}, 3),
        ("$string($count) & $sum", {"count": 1, "sum": 2}, "12"),
        # The functions Step Functions adds, and $eval/$random which the seam renames.
        ("$partition", {"partition": 3}, 3),
        ("$range + $hash", {"range": 1, "hash": 2}, 3),
        ("$uuid & $parse", {"uuid": "u", "parse": "p"}, "up"),
        ("$random", {"random": 0.5}, 0.5),
        ("$eval", {"eval": "e"}, "e"),
    ],
)
def test_a_bound_name_is_the_variable(
    engine: str, expression: str, bindings: dict[str, Any], expected: Any
) -> None:
    assert value(expression, {"states": {"input": {}}, **bindings}) == expected


def test_merge_of_a_shadowed_value_and_a_member_path(engine: str) -> None:
    bindings = {"states": {"input": {"a": 1}}, "count": {"n": 2}}
    assert value("$merge([$states.input, {'n': $count.n}])", bindings) == {"a": 1, "n": 2}


# --------------------------------------------------------------------- calling it


@pytest.mark.parametrize(
    ("expression", "bindings"),
    [
        ("$count([1, 2])", {"count": 5}),
        ("$count(1)", {"count": None}),
        ("$string(1)", {"string": "s"}),
        ("$keys({'a': 1})", {"keys": ["a"]}),
        ("$sum([1])", {"sum": {"a": 1}}),
        ("$merge([{'a': 1}])", {"merge": 1}),
        ("$partition([1, 2, 3], 2)", {"partition": 3}),
        ("$random(42)", {"random": 0.5}),
        ("$eval('1')", {"eval": "e"}),
        ("$map([1], function($v) { $count($v) })", {"count": 10}),
    ],
)
def test_calling_a_bound_name_fails_as_calling_a_non_function(
    engine: str, expression: str, bindings: dict[str, Any]
) -> None:
    cause = error(expression, bindings)
    assert cause == (
        f"The JSONata expression '{expression}' threw an error during evaluation. {NOT_A_FUNCTION}"
    )


def test_the_error_names_the_field_and_the_expression_as_written(engine: str) -> None:
    compiled = compile_jsonata(" $count([1]) ")
    with pytest.raises(StatesError) as caught:
        compiled.evaluate({"count": 5}, "Output/n")
    assert caught.value.cause == (
        "The JSONata expression '$count([1])' specified for the field 'Output/n' threw an "
        f"error during evaluation. {NOT_A_FUNCTION}"
    )


def test_applying_a_bound_name_with_the_chain_operator_fails(engine: str) -> None:
    cause = error("[1, 2] ~> $count", {"count": 5})
    assert cause.endswith(
        "T2006: The right side of the function application operator ~> must be a function"
    )


# --------------------------------------------------------------------- not bound: the function


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$count([1, 2])", 2),
        ("$sum([1, 2])", 3),
        ("$string(1)", "1"),
        ("$keys({'a': 1})", "a"),
        ("$merge([{'a': 1}, {'b': 2}])", {"a": 1, "b": 2}),
        ("$partition([1, 2, 3], 2)", [[1, 2], [3]]),
        ("$random(42)", 0.7275636800328681),
        ("[1, 2] ~> $count", 2),
    ],
)
def test_an_unbound_name_is_the_function(engine: str, expression: str, expected: Any) -> None:
    assert value(expression, {"states": {"input": {}}, "other": 1}) == expected


def test_eval_stays_unavailable_when_unbound(engine: str) -> None:
    assert error("$eval('1')", {}).endswith(NOT_A_FUNCTION)


def test_shadowing_follows_the_bindings_of_each_evaluation(engine: str) -> None:
    """One compiled expression: the function until a variable of its name exists."""
    compiled = compile_jsonata("$count")
    assert compiled.evaluate({"count": 7}) == 7
    compiled = compile_jsonata("$count([1, 2, 3])")
    assert compiled.evaluate({}) == 3
    with pytest.raises(StatesError):
        compiled.evaluate({"count": 7})
    assert compiled.evaluate({"other": 7}) == 3  # and back


# --------------------------------------------------------------------- local bindings win


@pytest.mark.parametrize("bindings", [{}, {"count": 5}], ids=["unbound", "bound"])
def test_a_lambda_parameter_hides_the_outer_name(engine: str, bindings: dict[str, Any]) -> None:
    assert value("function($count) { $count * 2 }(7)", bindings) == 14
    assert value("$map([1, 2], function($count) { $count + 1 })", bindings) == [2, 3]


@pytest.mark.parametrize("bindings", [{}, {"count": 5}], ids=["unbound", "bound"])
def test_a_block_assignment_hides_the_outer_name_inside_the_block(
    engine: str, bindings: dict[str, Any]
) -> None:
    assert value("($count := 3; $count + 1)", bindings) == 4
    assert value("$count := 3", bindings) == 3
    assert value("($count := function($a) { $a * 10 }; $count(2))", bindings) == 20


def test_outside_the_block_the_name_is_the_variable_or_the_function(engine: str) -> None:
    expression = "($count := 3; $count) + $count"
    assert value(expression, {"count": 5}) == 8
    assert value("($count := 3; $count) + $count([1])", {}) == 4


def test_a_parameter_of_another_name_sees_the_variable(engine: str) -> None:
    expression = "($add := function($x) { $x + $count }; $add(1))"
    assert value(expression, {"count": 41}) == 42


# --------------------------------------------------------------------- the scanner


def test_the_scan_lists_the_function_names_an_expression_mentions() -> None:
    found = scan("$count($x) + $sum(function($keys) { $keys }) & '$string' /* $merge */")
    assert found.function_names == {"count", "sum", "keys"}
    assert scan("$x.count + `$sum`").function_names == frozenset()


def test_only_tokens_of_the_shadowed_names_are_renamed() -> None:
    text = "$count + $sum($count.a) & \"$count\" & `$count` /* $count */ & $match('a', /$count/)"
    found = scan(text, frozenset({"count"}))
    alias = shadow_alias("count")
    assert found.renamed == (
        f"${alias} + $sum(${alias}.a) & \"$count\" & `$count` /* $count */ & $match('a', /$count/)"
    )
    # A parser position after a rename maps back to the text as written.
    assert found.original_position(found.renamed.index("+")) == text.index("+")
    inside_second_alias = found.renamed.index(alias, 5) + 3
    assert found.original_position(inside_second_alias) == text.index("count.a")


def test_a_shadowed_random_or_eval_gets_the_alias_not_the_function() -> None:
    found = scan("$random(1) + $eval", frozenset({"random"}))
    assert found.renamed == f"${shadow_alias('random')}(1) + $__stepline_eval"


def test_no_workflow_variable_can_have_an_alias_name() -> None:
    from stepline.asl._validate_variables import variable_name_problem

    for name in BUILTIN_FUNCTIONS:
        assert variable_name_problem(shadow_alias(name)) is not None


def test_expressions_without_function_names_are_not_guarded(engine: str) -> None:
    """No cost for expressions that cannot be shadowed: the engine runner is called directly."""
    compiled = compile_jsonata("$x.a + 1 > $y")
    assert compiled._engine_run.__name__ == "run"  # the engine adapter's own closure
    guarded = compile_jsonata("$count($x)")
    assert guarded._engine_run.__name__ == "run_one"


# --------------------------------------------------------------------- property: a renamed variable

# The oracle: when bound, a function name behaves exactly like any other variable, so the
# expression with `$count` spelled `$kount` (and the binding renamed too) gives the same result.
SHADOWABLE = ["count", "sum", "string", "keys", "merge", "partition", "random", "eval"]
_PLAIN = {name: "v" + name for name in SHADOWABLE}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-100, 100),
    st.sampled_from(["a", "b", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2),
    ),
    max_leaves=6,
)


@st.composite
def operands(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(SHADOWABLE))
    shape = draw(st.integers(0, 7))
    if shape == 0:
        return f"${name}"
    if shape == 1:
        return f"${name}.a"
    if shape == 2:
        return f"${name}[0]"
    if shape == 3:
        return f"${name}(1)"
    if shape == 4:
        return f"$count(${name})"  # `count` may itself be bound
    if shape == 5:
        return f"function(${name}) {{ ${name} }}(2)"
    if shape == 6:
        return f"(${name} := 4; ${name})"
    return draw(st.sampled_from(["1", "'s'", "$states.input.a", "[1, 2]"]))


@st.composite
def shadow_expressions(draw: st.DrawFn) -> str:
    left = draw(operands())
    joiner = draw(st.sampled_from([None, " + ", " = ", " & ", ", "]))
    if joiner is None:
        return left
    right = draw(operands())
    if joiner == ", ":
        return f"[{left}, {right}]"
    return f"{left}{joiner}{right}"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    expression=shadow_expressions(),
    bound=st.dictionaries(st.sampled_from(SHADOWABLE), json_values, min_size=1, max_size=3),
    state_input=json_values,
)
def test_a_bound_function_name_behaves_as_any_other_variable(
    engine: str, expression: str, bound: dict[str, Any], state_input: Any
) -> None:
    bindings = {"states": {"input": state_input}, **bound}
    kind, result = outcome(expression, bindings, drawn=True)
    # The respelled expression reads every name as a variable: only names in `bound` are
    # comparable that way, so leave the unbound ones as functions in both.
    names = "|".join(bound)
    respelled = re.sub(r"\$(" + names + r")\b", lambda m: "$" + _PLAIN[m.group(1)], expression)
    plain_bindings = {"states": bindings["states"], **{_PLAIN[k]: v for k, v in bound.items()}}
    plain_kind, plain_result = outcome(respelled, plain_bindings, drawn=True)
    assert kind == plain_kind, (expression, bindings, result, plain_result)
    if kind == "value":
        assert result == plain_result
    else:
        assert result.replace(expression, "<e>") == plain_result.replace(respelled, "<e>")
