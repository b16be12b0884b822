"""The lexical walk that finds what a JSONata expression reads from the absent input document.

AWS refuses these references at definition time (``UNSUPPORTED_JSONATA_EXPRESSION``); the cases
follow the States Language's "JSONata Restrictions" and what was measured against AWS: only a
path's first step, and not predicates, sort terms, groupings or later steps, reads the top level;
a lambda body reads it too.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepline.asl._jsonata import JsonataSyntaxError, compile_jsonata
from stepline.asl._validate_jsonata_refs import top_level_references


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("phone", ["phone"]),
        ("a.b.c", ["a"]),
        ("a[b > 1].c", ["a"]),
        ("total > 3 and other", ["total", "other"]),
        ("-1 * x", ["x"]),
        ("$count(items)", ["items"]),
        ("$x ~> $map(function($v) { name })", ["name"]),
        ("$map($states.input.a, function($x) { b })", ["b"]),
        ("$x ? a : b", ["a", "b"]),
        ("($a := 1; $a + c)", ["c"]),
        ("{'k': v}", ["v"]),
        ("{k: 1}", ["k"]),
        ("[a, b]", ["a", "b"]),
        ("`field name`.x", ["field name"]),
        ("$", ["$"]),
        ("$.a", ["$"]),
        ("$$", ["$$"]),
        ("$$.Execution", ["$$"]),
        ("a & a", ["a"]),  # each name once
        ("$x[0] + y", ["y"]),
        ("$x and in", ["in"]),
    ],
)
def test_what_reads_the_top_level(expression: str, names: list[str]) -> None:
    compile_jsonata(expression)  # the walk is only asked about expressions that parse
    assert top_level_references(expression) == names


@pytest.mark.parametrize(
    "expression",
    [
        "$states.input.phone",
        "$states.input.items[price > 3].name",
        "$states.input.items[$ > 3]",
        "$states.input.items^(>price, name)",
        "$states.input.items{category: $sum(price)}",
        "$states.input.items.{'n': name}",
        "$states.input.a.(b + c)",
        "$states.input.a.$uppercase(name)",
        "$map($states.input.a, function($v)<o:s>{ $v.name })",
        "$x ~> |a|{'b': c}|",
        "$x.and.or",
        "true or false and null",
        "\"a string\" & 'another'",
        "/regex/i",
        "$sum($states.input.*.a) / 2",
        "$states.input.**.a",
        "[1..5][$ > 2]",
        "$f(?, 1)",
        "$states.input@$i#$n.x",
        "/* a comment with name */ $x",
        "$x // 2",
    ],
)
def test_what_does_not(expression: str) -> None:
    try:
        compile_jsonata(expression)
    except JsonataSyntaxError:
        pytest.skip("not an expression this engine parses")
    assert top_level_references(expression) == []


@pytest.mark.parametrize("expression", ["(a", "a]", "[a)", "$x.(", "{a: (1]}"])
def test_a_walk_that_loses_its_footing_reports_nothing(expression: str) -> None:
    assert top_level_references(expression) == []


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab$.[]{}()|,;:?'\"`/*-+<>=&^%@#~ λ\\\n")), max_size=40)
)
def test_the_walk_never_raises(text: str) -> None:
    assert isinstance(top_level_references(text), list)
