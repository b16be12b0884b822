"""Property test: random small JSONata definitions run to SUCCEEDED or FAILED, never raise.

Definitions are chains of Pass states (and sometimes a Wait, and a final Choice) whose
``Output`` and ``Assign`` hold random expressions from a small grammar: reads of ``$states``,
of variables assigned by an earlier state, arithmetic that may fail on the wrong type,
functions (AWS's among them), and expressions that return nothing. Whatever happens the
execution must end with a well-formed history, and when it succeeds, a last state that reads
every variable assigned so far must see exactly the values the history recorded as assigned.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from _engine_kit import chain_ok, machine
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stepline import ExecutionResult

pytestmark = pytest.mark.usefixtures("jsonata_engine")  # each test runs on both engines

VARIABLES = ["v0", "v1", "v2", "v3"]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(alphabet="ab", max_size=2)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    ),
    max_leaves=5,
)

ATOMS = [
    "$states.input",
    "$states.input.a",
    "$states.input.b",
    "$states.input.missing",
    "$states.context.State.Name",
    "$states.context.Execution.Input.a",
    "1",
    "'s'",
    "true",
    "null",
    "[]",
    "$partition([1, 2, 3], 2)",
    "$range(1, 3, 1)",
    "$random(1)",
    "$number('z')",
]


@functools.cache
def expressions(known: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Expressions that may read the ``known`` variables (strategies are cached per set)."""
    atoms = st.sampled_from(ATOMS + [f"${name}" for name in known])
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            inner.map(lambda x: f"({x} + 1)"),
            inner.map(lambda x: f"$string({x})"),
            inner.map(lambda x: f"$count({x})"),
            inner.map(lambda x: f"$exists({x})"),
            inner.map(lambda x: f"$hash($string({x}), 'MD5')"),
            inner.map(lambda x: f"$parse($string({x}))"),
            st.tuples(inner, inner).map(lambda xy: f"[{xy[0]}, {xy[1]}]"),
            inner.map(lambda x: f"{{'k': {x}}}"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        ),
        max_leaves=4,
    )


@functools.cache
def field_values(known: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """A JSONata-mode field value: a whole expression, or JSON with expressions inside."""
    wrapped = expressions(known).map(lambda text: f"{{% {text} %}}")
    return st.one_of(
        wrapped,
        json_scalars,
        st.dictionaries(st.sampled_from(["x", "y"]), st.one_of(wrapped, json_scalars), max_size=2),
        st.lists(st.one_of(wrapped, json_scalars), max_size=2),
    )


@st.composite
def definitions(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A chain of states, and the variables any of them may have assigned."""
    states: dict[str, Any] = {}
    known: list[str] = []
    length = draw(st.integers(1, 4))
    for index in range(length):
        name = f"S{index}"
        kind = draw(st.sampled_from(["Pass", "Pass", "Pass", "Wait"]))
        state: dict[str, Any] = (
            {"Type": "Pass"}
            if kind == "Pass"
            else {"Type": "Wait", "Seconds": draw(st.integers(0, 2))}
        )
        if draw(st.booleans()):
            state["Output"] = draw(field_values(tuple(known)))
        if draw(st.booleans()):
            names = draw(st.lists(st.sampled_from(VARIABLES), min_size=1, max_size=2, unique=True))
            state["Assign"] = {variable: draw(field_values(tuple(known))) for variable in names}
        states[name] = state
        # Variables become readable from the next state on (a state never sees its own Assign).
        known = sorted({*known, *state.get("Assign", {})})
    read_all = {
        "Type": "Pass",
        "Output": {variable: f"{{% ${variable} %}}" for variable in known},
        "End": True,
    }
    if draw(st.booleans()):
        condition = draw(expressions(tuple(known)))
        default = draw(st.sampled_from(["ReadAll", "Stop"]))
        states["Decide"] = {
            "Type": "Choice",
            "Choices": [{"Condition": f"{{% {condition} %}}", "Next": "ReadAll"}],
            "Default": default,
        }
        if default == "Stop":
            states["Stop"] = {
                "Type": "Fail",
                "Error": "Chain.Stopped",
                "Cause": "{% 'at ' & $states.context.State.Name %}",
            }
    states["ReadAll"] = read_all
    names = list(states)
    for position, name in enumerate(names):
        state = states[name]
        if state["Type"] in ("Pass", "Wait") and "End" not in state:
            state["Next"] = names[position + 1]
    return {"QueryLanguage": "JSONata", "StartAt": names[0], "States": states}, known


def last_assigned(result: ExecutionResult) -> dict[str, Any]:
    """Each variable's last value as the history recorded it (JSON text decoded)."""
    values: dict[str, Any] = {}
    for event in result.history_events():
        details = event.get("stateExitedEventDetails") or {}
        for name, text in details.get("assignedVariables", {}).items():
            values[name] = json.loads(text)
    return values


def check(definition: dict[str, Any], known: list[str], execution_input: Any) -> None:
    result = machine(definition).run(execution_input)
    assert result.status in ("SUCCEEDED", "FAILED"), result
    chain_ok(result)
    last = result.history[-1]
    if result.status == "SUCCEEDED":
        assert last.type == "ExecutionSucceeded"
        assert json.loads(last.details["output"]) == result.output
        assert result.output == {name: value for name, value in last_assigned(result).items()}
        assert set(result.output) == set(known)
    else:
        assert last.type == "ExecutionFailed"
        assert result.error in ("States.QueryEvaluationError", "Chain.Stopped"), result
        assert result.cause


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(definitions(), json_values)
@example(
    (
        {
            "QueryLanguage": "JSONata",
            "StartAt": "S0",
            "States": {
                "S0": {
                    "Type": "Pass",
                    "Assign": {"v0": "{% $states.input.a %}"},
                    "Next": "ReadAll",
                },
                "ReadAll": {"Type": "Pass", "Output": {"v0": "{% $v0 %}"}, "End": True},
            },
        },
        ["v0"],
    ),
    {"a": [1, {"b": None}]},
)
def test_random_jsonata_chains_end_succeeded_or_failed(
    generated: tuple[dict[str, Any], list[str]], execution_input: Any
) -> None:
    definition, known = generated
    check(definition, known, execution_input)
