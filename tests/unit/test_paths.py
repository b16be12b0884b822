"""Reference paths, query paths and the ResultPath setter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepline.asl._errors import RESULT_PATH_MATCH_FAILURE, DefinitionError, StatesError
from stepline.asl._paths import MISSING, compile_path, compile_reference_path, set_at_path

DATA = {
    "order": {"id": "o-1", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}]},
    "first name": "Ada",
    "n": None,
}
CONTEXT = {"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Index": 3}}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", DATA),
        ("$.order.id", "o-1"),
        ("$.order.items[1].sku", "b"),
        ("$.order.items[-1].qty", 5),
        ("$['first name']", "Ada"),
        ('$["order"]["id"]', "o-1"),
        ("$.n", None),
        ("$.missing", MISSING),
        ("$.order.items[7]", MISSING),
        ("$.order.id.deeper", MISSING),
    ],
)
def test_reference_paths_select_one_node(text: str, expected: object) -> None:
    assert compile_reference_path(text).evaluate(DATA, CONTEXT) == expected


def test_missing_is_falsy_and_distinct_from_null() -> None:
    assert not MISSING
    assert MISSING is not None
    assert repr(MISSING) == "MISSING"


def test_context_paths_read_the_context_object() -> None:
    path = compile_reference_path("$$.Execution.Id")
    assert path.is_context
    assert path.evaluate(DATA, CONTEXT) == "arn:exec"
    assert compile_reference_path("$$").evaluate(DATA, CONTEXT) is CONTEXT


@pytest.mark.parametrize("text", ["$.a[*]", "$..sku", "$.a[0:2]", "$.a[?(@.x)]", "$.a.*"])
def test_reference_paths_refuse_query_syntax(text: str) -> None:
    with pytest.raises(DefinitionError, match="not a valid reference path"):
        compile_reference_path(text)


@pytest.mark.parametrize("text", ["order.id", "", "@.x", "x$"])
def test_paths_must_start_at_a_root(text: str) -> None:
    with pytest.raises(DefinitionError, match="must start with"):
        compile_path(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.order.items[*].sku", ["a", "b"]),
        ("$..sku", ["a", "b"]),
        ("$.order.items[0:1].qty", [2]),
        ("$.order.items[?(@.qty > 3)].sku", ["b"]),
        ("$.order.items[?(@.qty > 30)].sku", []),
        ("$.order.items.length()", 2),
        ("$.order.id", "o-1"),
    ],
)
def test_query_paths(text: str, expected: object) -> None:
    assert compile_path(text).evaluate(DATA, CONTEXT) == expected


def test_indefinite_paths_return_lists_even_for_one_match() -> None:
    path = compile_path("$.order.items[?(@.sku == 'a')].qty")
    assert not path.definite
    assert path.evaluate(DATA, CONTEXT) == [2]


def test_compiled_paths_are_cached() -> None:
    assert compile_path("$.order.id") is compile_path("$.order.id")


def test_set_at_path_copies_only_along_the_path() -> None:
    original = {"keep": {"deep": 1}, "a": {"b": 1}}
    updated = set_at_path(original, ("a", "c"), 2)
    assert updated == {"keep": {"deep": 1}, "a": {"b": 1, "c": 2}}
    assert original == {"keep": {"deep": 1}, "a": {"b": 1}}
    assert updated["keep"] is original["keep"]


def test_set_at_path_creates_missing_objects_and_replaces_root() -> None:
    assert set_at_path({}, ("x", "y"), 1) == {"x": {"y": 1}}
    assert set_at_path({"x": 1}, (), 5) == 5
    assert set_at_path([1, 2], (1,), "b") == [1, "b"]


@pytest.mark.parametrize(
    ("data", "keys"),
    [("text", ("a",)), ({"a": 5}, ("a", "b")), ([1], (3,)), ({"a": []}, ("a", "b"))],
)
def test_set_at_path_through_a_non_object_fails_like_aws(data: object, keys: tuple) -> None:
    with pytest.raises(StatesError) as raised:
        set_at_path(data, keys, 1)
    assert raised.value.error == RESULT_PATH_MATCH_FAILURE


@given(st.text(max_size=40))
def test_any_text_compiles_or_raises_definition_error(text: str) -> None:
    for compile_fn in (compile_path, compile_reference_path):
        try:
            path = compile_fn(text)
        except DefinitionError as error:
            assert error.message
        else:
            path.evaluate(DATA, CONTEXT)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    json_values, st.sampled_from(["$.a", "$.a[0]", "$..a", "$[*]", "$.a[?(@.b)]", "$.a.length()"])
)
def test_evaluation_never_raises(data: object, text: str) -> None:
    compile_path(text).evaluate(data, None)
