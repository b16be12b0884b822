"""JSONata fast paths agree with the engines: property tests on random expressions and inputs.

A fast path (``stepline.asl._jsonata_fast``) may either hand over to the engine (``Fallback``)
or return a value; when it returns one, the engine must return the same value (same JSON
types: ``true`` is not ``1``) and must not fail. Every test runs on both engines.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from _jsonata_engines import ENGINE_PARAMS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.asl._errors import StatesError
from stepline.asl._jsonata import (
    UNDEFINED,
    CompiledExpression,
    compile_jsonata,
    select_jsonata_engine,
)
from stepline.asl._jsonata_fast import Fallback, compile_fast_path


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    assert select_jsonata_engine(name) == name
    yield name
    select_jsonata_engine()


# --- comparing results -----------------------------------------------------------------------


def same_json(fast: Any, engine_value: Any, *, exact_numbers: bool) -> bool:
    """Equal as JSON values; numbers compare as doubles unless ``exact_numbers``.

    jsonatapy passes every number through a double: a whole float such as ``1.0`` comes back
    as ``1`` and an integer past 2**53 is rounded. jsonata2py (and the fast paths, and the
    JSONPath engine) pass values through unchanged.
    """
    if type(fast) is bool or type(engine_value) is bool:
        return type(fast) is type(engine_value) and fast == engine_value
    if isinstance(fast, int | float) and isinstance(engine_value, int | float):
        if exact_numbers:
            return type(fast) is type(engine_value) and fast == engine_value
        return float(fast) == float(engine_value)
    if isinstance(fast, dict) and isinstance(engine_value, dict):
        return fast.keys() == engine_value.keys() and all(
            same_json(fast[key], engine_value[key], exact_numbers=exact_numbers) for key in fast
        )
    if isinstance(fast, list) and isinstance(engine_value, list):
        return len(fast) == len(engine_value) and all(
            same_json(a, b, exact_numbers=exact_numbers)
            for a, b in zip(fast, engine_value, strict=True)
        )
    return type(fast) is type(engine_value) and fast == engine_value


_COMPILED: dict[tuple[str, str], CompiledExpression] = {}


def check_agreement(engine: str, expression: str, bindings: dict[str, Any]) -> bool:
    """Assert the fast path of ``expression`` agrees with ``engine``; whether it had a value."""
    fast = compile_fast_path(expression)
    if fast is None:
        return False
    try:
        fast_value = fast(bindings)
    except Fallback:
        return False
    compiled = _COMPILED.get((engine, expression))
    if compiled is None:
        compiled = _COMPILED[engine, expression] = compile_jsonata(expression)
    try:
        engine_value = compiled.evaluate_on_engine(bindings)
    except StatesError as exc:
        pytest.fail(f"{expression!r}: the fast path gave {fast_value!r}, {engine} failed: {exc}")
    assert engine_value is not UNDEFINED, (expression, fast_value)
    assert same_json(fast_value, engine_value, exact_numbers=engine == "jsonata2py"), (
        expression,
        bindings,
        fast_value,
        engine_value,
    )
    return True


# --- random expressions and inputs -----------------------------------------------------------

KEYS = ["a", "b", "c"]

numbers = st.one_of(
    st.integers(-100, 100),
    st.integers(2**53 - 3, 2**53 + 3),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1e300]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(alphabet="ab é😀\uffff", max_size=3))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    ),
    max_leaves=8,
)

paths = st.builds(
    lambda variable, fields: variable + "".join("." + field for field in fields),
    st.sampled_from(["$states.input", "$v", "$w", "$missing", "$states.result"]),
    st.lists(st.sampled_from([*KEYS, "`a`", "and"]), max_size=3),
)
literals = st.one_of(
    st.integers(0, 2**54).map(str),
    st.sampled_from(["'x'", '"y"', "''", "true", "false", "null", "1.5", "'é😀'"]),
)
OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "&", "and"]


def compound(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", children, st.sampled_from(OPERATORS), children),
        st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(KEYS), children), max_size=3).map(
            lambda members: "{" + ", ".join(f"'{k}': {v}" for k, v in members) + "}"
        ),
        children.map(lambda inner: f"$merge({inner})"),
        children.map(lambda inner: f"$count({inner})"),
        children.map(lambda inner: f"({inner})"),
    )


expressions = st.recursive(st.one_of(paths, literals), compound, max_leaves=6)


# Mostly inside the subset, so that most examples take the fast path to the end.
subset_paths = st.builds(
    lambda variable, fields: variable + "".join("." + field for field in fields),
    st.sampled_from(["$states.input", "$v"]),
    st.lists(st.sampled_from(KEYS), max_size=2),
)
subset_operands = st.recursive(
    st.one_of(subset_paths, subset_paths, st.sampled_from(["1", "'a'", "true", "null", "0"])),
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(
            st.tuples(st.sampled_from(KEYS), children), max_size=3, unique_by=lambda m: m[0]
        ).map(lambda members: "{" + ", ".join(f"'{k}': {v}" for k, v in members) + "}"),
        children.map(lambda inner: f"$merge({inner})"),
    ),
    max_leaves=5,
)
subset_expressions = st.one_of(
    subset_operands,
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        subset_operands,
        st.sampled_from(OPERATORS[:10]),
        subset_operands,
    ),
)


@st.composite
def dense_bindings(draw: st.DrawFn) -> dict[str, Any]:
    """Objects with every key, numbers and strings mostly: paths resolve, operators apply."""
    leaves = st.one_of(st.integers(-5, 5), st.floats(-10, 10, allow_nan=False), st.text("ab"))
    values = st.recursive(
        leaves,
        lambda children: st.one_of(
            st.fixed_dictionaries({key: children for key in KEYS}),
            st.lists(children, max_size=2),
        ),
        max_leaves=10,
    )
    shape = st.fixed_dictionaries({key: values for key in KEYS})
    return {"states": {"input": draw(shape)}, "v": draw(shape)}


@st.composite
def bindings(draw: st.DrawFn) -> dict[str, Any]:
    # Objects most of the time: that is where the fast paths have something to do.
    objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3)
    value: dict[str, Any] = {
        "states": {"input": draw(st.one_of(objects, json_values))},
        "v": draw(st.one_of(objects, json_values)),
    }
    if draw(st.booleans()):
        value["w"] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        value["merge"] = 1  # a workflow variable shadowing $merge
    return value


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expression=expressions, values=bindings())
def test_fast_paths_agree_with_the_engine(engine: str, expression: str, values: Any) -> None:
    check_agreement(engine, expression, values)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expression=subset_expressions, values=dense_bindings())
def test_subset_expressions_agree_with_the_engine(
    engine: str, expression: str, values: Any
) -> None:
    check_agreement(engine, expression, values)


SHAPES = [
    "$states.input",
    "$states.input.a",
    "$states.input.a.b",
    "$v.a",
    "$merge([$states.input, {'a': 1}])",
    "$merge([$states.input, {'c': {'x': $states.input.a, 'y': 'z'}}])",
    "{'a': $states.input.a, 'b': [$v.a, 2]}",
    "$states.input.a < 100",
    "$states.input.a + 1",
    "$states.input.a = 'x'",
]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shape=st.sampled_from(SHAPES),
    values=bindings(),
)
def test_common_shapes_agree_with_the_engine(engine: str, shape: str, values: Any) -> None:
    check_agreement(engine, shape, values)


# --- which expressions get a fast path, and what it does -------------------------------------


@pytest.mark.parametrize("expression", SHAPES)
def test_the_common_shapes_have_a_fast_path(expression: str) -> None:
    assert compile_fast_path(expression) is not None


@pytest.mark.parametrize(
    "expression",
    [
        "$states",  # the context object is built lazily
        "$states.input.a[0]",
        "$states.input.a.b.c[$ > 1]",
        "$count($states.input)",
        "$states.input.a + 1 * 2",  # a chain: precedence is the engine's
        "$states.input /* comment */",
        "$states.input.a & 'x'",
        "1.5",
        "1e3",
        "-1",
        "'a\\'b'",
        "{'a': 1, 'a': 2}",
        "$",
        "$$",
        "$states.input.and",
        "$merge",
        "[1, 2][0]",
        "{'a': 1}.a",
        "(1)",
    ],
)
def test_other_expressions_have_no_fast_path(expression: str) -> None:
    assert compile_fast_path(expression) is None


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("$states.input.a", {"a": [1]}, [1]),
        ("[$states.input.a, 3]", {"a": [1, [2]]}, [1, [2], 3]),
        ("[[1], $states.input.a]", {"a": [[2]]}, [[1], [2]]),
        ("{'k': $states.input.a}", {"a": []}, {"k": []}),
        ("$merge([$states.input, {'a': 1}])", {"a": 0, "b": 2}, {"a": 1, "b": 2}),
        ("$states.input.a + 1", {"a": 1.0}, 2),
        ("$states.input.a / 4", {"a": 2}, 0.5),
        ("$states.input.a = 1", {"a": True}, False),
        ("$states.input.a != null", {"a": None}, False),
    ],
)
def test_fast_path_values(
    engine: str, expression: str, values: dict[str, Any], expected: Any
) -> None:
    bindings = {"states": {"input": values}}
    compiled = compile_jsonata(expression)
    assert compiled.fast
    assert compiled.evaluate(bindings) == expected
    assert check_agreement(engine, expression, bindings)


@pytest.mark.parametrize(
    ("expression", "values"),
    [
        ("$states.input.a", {}),  # undefined
        ("$states.input.a.b", {"a": [{"b": 1}]}),  # a step over an array
        ("$states.input.a < 1", {"a": "x"}),  # mixed types: the engine's error
        ("$states.input.a + 1", {"a": 2**60}),  # not exact as a double
        ("$states.input.a / 0", {"a": 1}),
        ("$merge([$states.input, 1])", {}),
    ],
)
def test_fast_path_falls_back(engine: str, expression: str, values: dict[str, Any]) -> None:
    fast = compile_fast_path(expression)
    assert fast is not None
    with pytest.raises(Fallback):
        fast({"states": {"input": values}})


def test_errors_still_come_from_the_engine(engine: str) -> None:
    compiled = compile_jsonata("$states.input.a < 1")
    with pytest.raises(StatesError) as caught:
        compiled.evaluate({"states": {"input": {"a": "x"}}}, "Output")
    assert "T2009" in caught.value.cause or "T2010" in caught.value.cause


def test_a_workflow_variable_named_merge_leaves_merge_to_the_engine(engine: str) -> None:
    fast = compile_fast_path("$merge([{'a': 1}])")
    assert fast is not None
    assert fast({"states": {}}) == {"a": 1}
    with pytest.raises(Fallback):
        fast({"states": {}, "merge": 1})


def test_no_fast_path_result_is_a_non_finite_number() -> None:
    fast = compile_fast_path("$states.input.a * $states.input.a")
    assert fast is not None
    with pytest.raises(Fallback):
        fast({"states": {"input": {"a": 1e300}}})
    assert math.isfinite(fast({"states": {"input": {"a": 1e100}}}))


def test_each_fallback_is_a_fresh_exception() -> None:
    """A shared exception instance would collect a traceback (and the frames, bindings
    included) on every raise."""
    fast = compile_fast_path("$states.input.a")
    assert fast is not None
    raised = []
    for _ in range(3):
        with pytest.raises(Fallback) as caught:
            fast({"states": {"input": {}}})
        raised.append(caught.value)
    assert len({id(exc) for exc in raised}) == 3


def test_long_integer_literals_are_left_to_the_engine() -> None:
    # jsonata2py reads 16-digit literals as doubles; the fast path must not disagree.
    assert check_agreement("jsonata2py", "999999999999999", {"states": {"input": {}}})
    assert compile_fast_path("1000000000000000") is None
