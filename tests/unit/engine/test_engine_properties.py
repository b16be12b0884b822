"""Property test: any small valid definition runs to SUCCEEDED or FAILED with a sound history.

Definitions are generated as a *spine* of Pass/Wait/Choice states (each reachable from the one
before it) plus *leaves* (Succeed, Fail, Pass-with-End) reached from Choice rules, with random
InputPath/Parameters/Result/ResultPath/OutputPath, including paths that select nothing and
ResultPaths that cannot be applied. Whatever happens, the engine must end the execution — never
raise — and the history must be well formed and agree with the result.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from _engine_kit import chain_ok, machine, res
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from stepline import ExecutionResult, StatesError

PATHS = ["$", "$.a", "$.b", "$.b.c", "$.missing", "$.list[0]"]
RESULT_PATHS = ["$", "$.r", "$.b.new", "$.a.deep", None]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(alphabet="abc", max_size=3)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)
inputs = st.one_of(
    st.fixed_dictionaries(
        {
            "a": json_values,
            "b": st.fixed_dictionaries({"c": json_values}),
            "list": st.lists(json_values, max_size=2),
        },
        optional={"e": st.sampled_from(["Err.One", "Err.Two"])},
    ),
    json_values,
)

template_values = st.one_of(
    json_scalars.map(lambda v: ("static", v)),
    st.sampled_from(PATHS).map(lambda p: ("path", p)),
    st.sampled_from(
        [
            "$$.State.Name",
            "$$.Execution.Name",
            "States.Format('v={}', $.a)",
            "States.Array($.a, 1)",
            "States.StringToJson('[1]')",
            "States.JsonToString($)",
        ]
    ).map(lambda p: ("path", p)),
)


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index in range(draw(st.integers(0, 3))):
        kind, value = draw(template_values)
        if kind == "path":
            out[f"k{index}.$"] = value
        else:
            out[f"k{index}"] = value
    return out


@st.composite
def io_fields(draw: st.DrawFn, *, result_fields: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["InputPath"] = draw(st.sampled_from([*PATHS, None]))
    if draw(st.booleans()):
        fields["OutputPath"] = draw(st.sampled_from([*PATHS, None]))
    if result_fields:
        if draw(st.booleans()):
            fields["Parameters"] = draw(templates())
        if draw(st.booleans()):
            fields["Result"] = draw(json_values)
        if draw(st.booleans()):
            fields["ResultPath"] = draw(st.sampled_from(RESULT_PATHS))
    return fields


CONDITIONS = [
    {"Variable": "$.a", "NumericEquals": 1},
    {"Variable": "$.a", "IsPresent": True},
    {"Variable": "$.a", "StringEquals": "a"},
    {"Variable": "$.b.c", "IsNull": True},
    {"Variable": "$.missing", "IsPresent": False},
    {"Not": {"Variable": "$.a", "IsString": True}},
    {"And": [{"Variable": "$.a", "IsPresent": True}, {"Variable": "$.a", "IsBoolean": True}]},
    {"Variable": "$$.Execution.Name", "StringMatches": "prop*"},
]


@st.composite
def definitions(draw: st.DrawFn, *, with_tasks: bool = False) -> dict[str, Any]:
    spine_length = draw(st.integers(1, 5))
    leaves: dict[str, Any] = {}
    for index in range(draw(st.integers(1 if with_tasks else 0, 3))):
        kind = draw(st.sampled_from(["Succeed", "Fail", "FailPath", "PassEnd"]))
        name = f"L{index}"
        if kind == "Succeed":
            leaves[name] = {"Type": "Succeed", **draw(io_fields(result_fields=False))}
        elif kind == "Fail":
            leaves[name] = {"Type": "Fail", "Error": "Leaf.Failed", "Cause": name}
        elif kind == "FailPath":
            leaves[name] = {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$$.State.Name"}
        else:
            leaves[name] = {"Type": "Pass", "End": True, **draw(io_fields(result_fields=True))}
    leaf_names = sorted(leaves)

    states: dict[str, Any] = {}
    for index in range(spine_length):
        name = f"S{index}"
        following = f"S{index + 1}" if index + 1 < spine_length else None
        kinds = ["Pass", "Wait"] + (["Choice"] if leaf_names or following else [])
        if with_tasks:
            kinds += ["Task", "Task", "Parallel"]
        kind = draw(st.sampled_from(kinds))
        if kind in ("Task", "Parallel"):
            state = _work_state(draw, kind, index, leaf_names)
        elif kind == "Choice":
            targets = ([following] if following else []) + leaf_names
            rules = [
                {**draw(st.sampled_from(CONDITIONS)), "Next": draw(st.sampled_from(targets))}
                for _ in range(draw(st.integers(1, 3)))
            ]
            state: dict[str, Any] = {"Type": "Choice", "Choices": rules}
            if draw(st.booleans()):
                state["Default"] = draw(st.sampled_from(targets))
            if following and following not in [r["Next"] for r in rules] + [state.get("Default")]:
                state["Default"] = following  # keep the spine reachable
            state.update(draw(io_fields(result_fields=False)))
        elif kind == "Wait":
            state = {"Type": "Wait", "Seconds": draw(st.integers(0, 3))}
            state.update(draw(io_fields(result_fields=False)))
        else:
            state = {"Type": "Pass", **draw(io_fields(result_fields=True))}
        if kind != "Choice":
            if following:
                state["Next"] = following
            else:
                state["End"] = True
        states[name] = state

    referenced = {
        target
        for state in states.values()
        for target in [
            *(rule["Next"] for rule in state.get("Choices", [])),
            *(catcher["Next"] for catcher in state.get("Catch", [])),
            state.get("Default"),
        ]
    }
    for name in leaf_names:
        if name in referenced:
            states[name] = leaves[name]
    return {"StartAt": "S0", "States": states}


def _work_state(draw: st.DrawFn, kind: str, index: int, leaf_names: list[str]) -> dict[str, Any]:
    """A Task (served by ``_handler``) or a Parallel of one Pass, with random Retry/Catch."""
    if kind == "Task":
        state: dict[str, Any] = {"Type": "Task", "Resource": res("work")}
        if draw(st.booleans()):
            state["ResultSelector"] = draw(templates())
    else:
        state = {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": f"B{index}", "States": {f"B{index}": {"Type": "Pass", "End": True}}}
            ],
        }
    state.update(draw(io_fields(result_fields=False)))
    if draw(st.booleans()):
        state["Parameters"] = draw(templates())
    if draw(st.booleans()):
        state["ResultPath"] = draw(st.sampled_from(RESULT_PATHS))
    if draw(st.booleans()):
        state["Retry"] = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": draw(st.integers(0, 2))}]
    if leaf_names and draw(st.integers(0, 3)):
        state["Catch"] = [
            {
                "ErrorEquals": [draw(st.sampled_from(["States.ALL", "States.TaskFailed", "Boom"]))],
                "ResultPath": draw(st.sampled_from(["$.a.deep", "$.a.deep", *RESULT_PATHS])),
                "Next": draw(st.sampled_from(leaf_names)),
            }
        ]
    return state


def _handler(parameters: Any) -> Any:
    """Fails on some inputs, returns a result twice the size of its parameters on others."""
    if isinstance(parameters, dict) and isinstance(parameters.get("a"), int | str):
        raise StatesError("Boom", json.dumps(parameters)[:50])
    return {"echo": parameters, "again": parameters}


def _check(result: ExecutionResult, execution_input: Any, given_input: Any) -> None:
    assert execution_input == given_input  # the caller's input is untouched
    assert result.status in ("SUCCEEDED", "FAILED"), result
    chain_ok(result)
    last = result.history[-1]
    entered = [e for e in result.history if e.type.endswith("StateEntered")]
    assert result.transitions == len(entered)
    for event in result.history:
        for key in ("input", "output"):
            if event.details and key in event.details:
                json.loads(event.details[key])  # always valid JSON text
    if result.status == "SUCCEEDED":
        assert last.type == "ExecutionSucceeded"
        assert json.loads(last.details["output"]) == result.output
        assert result.error is None
    else:
        assert last.type == "ExecutionFailed"
        assert result.output is None
        assert last.details.get("error") == result.error
        assert last.details.get("cause") == result.cause
        if result.error is not None:
            assert isinstance(result.error, str)
            assert result.error
    history_events = result.history_events()
    assert [e["id"] for e in history_events] == list(range(1, len(history_events) + 1))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(definition=definitions(), execution_input=inputs)
def test_random_definitions_end_cleanly(definition: dict[str, Any], execution_input: Any) -> None:
    sm = machine(definition)  # the generator only makes valid definitions
    given_input = copy.deepcopy(execution_input)
    result = sm.run(execution_input, name="prop-run")
    _check(result, execution_input, given_input)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    # No shrinking: the explicit examples below are already minimal, and shrinking a fresh
    # failure can take a minute.
    phases=[Phase.explicit, Phase.generate],
)
@given(
    definition=definitions(with_tasks=True),
    execution_input=inputs,
    limit=st.sampled_from([120, 400, 256 * 1024]),
)
@example(  # a catcher's ResultPath that cannot be applied to the state input
    definition={
        "StartAt": "S0",
        "States": {
            "S0": {
                "Type": "Task",
                "Resource": res("work"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.a.deep", "Next": "L0"}],
                "End": True,
            },
            "L0": {"Type": "Succeed"},
        },
    },
    execution_input={"a": 1},
    limit=256 * 1024,
)
@example(  # a Parallel whose input after Parameters is over the payload quota
    definition={
        "StartAt": "S0",
        "States": {
            "S0": {
                "Type": "Parallel",
                "Parameters": {"k0.$": "$", "k1.$": "$"},
                "Branches": [{"StartAt": "B0", "States": {"B0": {"Type": "Pass", "End": True}}}],
                "End": True,
            }
        },
    },
    execution_input={"a": "x" * 50},
    limit=120,
)
def test_random_definitions_with_tasks_catch_and_payload_limits_end_cleanly(
    definition: dict[str, Any], execution_input: Any, limit: int
) -> None:
    """Adds Task and Parallel states with Retry/Catch (any ResultPath) and small payload quotas:
    a failing ResultPath or an oversized payload must still end the run, never raise."""
    sm = machine(definition, {"work": _handler}, max_payload_bytes=limit)
    given_input = copy.deepcopy(execution_input)
    try:
        result = sm.run(execution_input, name="prop-run")
    except ValueError:
        # Only an execution input over the quota may be refused before the run starts.
        assert len(json.dumps(execution_input, separators=(",", ":")).encode()) > limit
        return
    _check(result, execution_input, given_input)
