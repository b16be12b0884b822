"""Property test: restoring from a snapshot changes nothing, for random definitions and outcomes.

Definitions are generated in both query languages from Pass (with Assign), Choice, Wait, Task
(Retry with and without jitter, Catch, TimeoutSeconds), Parallel and Map (MaxConcurrency,
tolerated failures, ItemSelector, ItemBatcher) states, nested two deep, sometimes with an
execution TimeoutSeconds. Task outcomes are random but fixed by the seed. Each definition runs
three times: uninterrupted; snapshotted, JSON round-tripped and restored after every step; and
restored once at a random step. The histories (ids, previousEventIds, timestamps, types,
details) and the results must be identical.
"""

from __future__ import annotations

from typing import Any

from _engine_snapshot_kit import Driver, compiled, res
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.asl import InvalidDefinition

Draw = st.DrawFn


class _Scope:
    """Builds one StartAt/States scope as a chain with optional side targets."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.extra: dict[str, Any] = {}

    def sink(self, kind: str) -> str:
        """A terminal state other states can jump to (added when first asked for)."""
        name = f"{self.prefix}{kind}"
        if name not in self.extra:
            self.extra[name] = (
                {"Type": "Succeed"}
                if kind == "Done"
                else {"Type": "Fail", "Error": "Gave.Up", "Cause": "a Catch led here"}
            )
        return name


def _retry(draw: Draw) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {
        "ErrorEquals": [draw(st.sampled_from(["Boom", "States.ALL", "States.Timeout"]))],
        "MaxAttempts": draw(st.integers(0, 2)),
        "IntervalSeconds": draw(st.integers(1, 3)),
        "BackoffRate": draw(st.sampled_from([1.0, 1.5, 2.0])),
    }
    if draw(st.booleans()):
        rule["JitterStrategy"] = "FULL"
    return [rule]


def _catch(draw: Draw, scope: _Scope, following: str | None, jsonata: bool) -> list[Any]:
    target = following if following and draw(st.booleans()) else scope.sink("Done")
    catcher: dict[str, Any] = {"ErrorEquals": ["States.ALL"], "Next": target}
    if jsonata:
        catcher["Output"] = "{% $merge([$states.input, {'err': $states.errorOutput}]) %}"
        if draw(st.booleans()):
            catcher["Assign"] = {"caught": "{% $states.errorOutput.Error %}"}
    else:
        catcher["ResultPath"] = "$.err"
        if draw(st.booleans()):
            catcher["Assign"] = {"caught.$": "$.Error"}
    return [catcher]


@st.composite
def _scope(draw: Draw, prefix: str, depth: int, jsonata: bool) -> dict[str, Any]:
    scope = _Scope(prefix)
    length = draw(st.integers(1, 4 if depth == 0 else 3))
    kinds = ["Pass", "Task", "Task", "Wait", "Choice"]
    if depth < 2:
        kinds += ["Parallel", "Map", "Map"]
    states: dict[str, Any] = {}
    for index in range(length):
        name = f"{prefix}{index}"
        following = f"{prefix}{index + 1}" if index + 1 < length else None
        kind = draw(st.sampled_from(kinds))
        state = _state(draw, kind, name, scope, following, depth, jsonata)
        if kind != "Choice":
            if following:
                state["Next"] = following
            else:
                state["End"] = True
        states[name] = state
    states.update(scope.extra)
    return {"StartAt": f"{prefix}0", "States": states}


def _state(
    draw: Draw,
    kind: str,
    name: str,
    scope: _Scope,
    following: str | None,
    depth: int,
    jsonata: bool,
) -> dict[str, Any]:
    merge = "{% $merge([$states.input, {'r': $states.result}]) %}"
    if kind == "Pass":
        state: dict[str, Any] = {"Type": "Pass"}
        if jsonata:
            state["Output"] = "{% $merge([$states.input, {'p': $states.input.n}]) %}"
            if draw(st.booleans()):
                state["Assign"] = {"count": "{% $states.input.n %}"}
        else:
            state["Parameters"] = {"n.$": "$.n", "items.$": "$.items", "seen": name}
            if draw(st.booleans()):
                state["Assign"] = {"count.$": "$.n"}
        return state
    if kind == "Task":
        state = {"Type": "Task", "Resource": res("work")}
        if jsonata:
            state["Arguments"] = {"in": "{% $states.input.n %}", "at": name}
            state["Output"] = merge
        else:
            state["Parameters"] = {"in.$": "$.n", "at": name, "entered.$": "$$.State.EnteredTime"}
            state["ResultPath"] = "$.r"
        if draw(st.booleans()):
            state["TimeoutSeconds"] = draw(st.integers(1, 30))
        if draw(st.booleans()):
            state["Retry"] = _retry(draw)
        if draw(st.booleans()):
            state["Catch"] = _catch(draw, scope, following, jsonata)
        return state
    if kind == "Wait":
        return {"Type": "Wait", "Seconds": draw(st.integers(0, 5))}
    if kind == "Choice":
        target = following or scope.sink("Done")
        other_kind = draw(st.sampled_from(["next", "Failed", "Done"]))
        other = target if other_kind == "next" else scope.sink(other_kind)
        limit = draw(st.integers(0, 4))
        if jsonata:
            rule: dict[str, Any] = {"Condition": f"{{% $states.input.n < {limit} %}}"}
        else:
            rule = {
                "And": [
                    {"Variable": "$.n", "IsNumeric": True},
                    {"Variable": "$.n", "NumericLessThan": limit},
                ]
            }
        rule["Next"] = other
        return {"Type": "Choice", "Choices": [rule], "Default": target}
    if kind == "Parallel":
        branches = [
            draw(_scope(f"{name}b{branch}x", depth + 1, jsonata))
            for branch in range(draw(st.integers(1, 3)))
        ]
        state = {"Type": "Parallel", "Branches": branches}
        if jsonata:
            state["Output"] = merge
        else:
            state["ResultPath"] = "$.r"
        if draw(st.booleans()):
            state["Catch"] = _catch(draw, scope, following, jsonata)
        return state
    return _map_state(draw, name, scope, following, depth, jsonata)


def _map_state(
    draw: Draw, name: str, scope: _Scope, following: str | None, depth: int, jsonata: bool
) -> dict[str, Any]:
    batched = draw(st.integers(0, 4)) == 0
    processor = draw(_scope(f"{name}i", depth + 1, jsonata))
    processor["ProcessorConfig"] = {"Mode": "INLINE"}
    state: dict[str, Any] = {"Type": "Map", "ItemProcessor": processor}
    if jsonata:
        state["Items"] = "{% $states.input.items %}"
        state["Output"] = "{% $merge([$states.input, {'r': $count($states.result)}]) %}"
        if draw(st.booleans()):
            state["ItemSelector"] = {
                "n": "{% $states.context.Map.Item.Index %}",
                "items": "{% $states.context.Map.Item.Value.items %}",
            }
    else:
        state["ItemsPath"] = "$.items"
        state["ResultPath"] = "$.r"
        if draw(st.booleans()):
            state["ItemSelector"] = {
                "n.$": "$$.Map.Item.Index",
                "items.$": "$$.Map.Item.Value.items",
                "outer.$": "$.n",
            }
    if batched:
        # Batches have no "n": the states inside see a different shape and may fail — fine.
        state["ItemBatcher"] = {"MaxItemsPerBatch": draw(st.integers(1, 2))}
        state["ItemProcessor"]["ProcessorConfig"] = {
            "Mode": "DISTRIBUTED",
            "ExecutionType": "STANDARD",
        }
    if draw(st.booleans()):
        state["MaxConcurrency"] = draw(st.integers(1, 3))
    tolerance = draw(st.integers(0, 2))
    if tolerance == 1:
        state["ToleratedFailureCount"] = draw(st.integers(0, 2))
    elif tolerance == 2:
        state["ToleratedFailurePercentage"] = draw(st.sampled_from([0, 40, 100]))
    if draw(st.booleans()):
        state["Catch"] = _catch(draw, scope, following, jsonata)
    return state


@st.composite
def definitions(draw: Draw) -> dict[str, Any]:
    jsonata = draw(st.booleans())
    definition = draw(_scope("S", 0, jsonata))
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    if draw(st.integers(0, 3)) == 0:
        definition["TimeoutSeconds"] = draw(st.integers(1, 12))
    return definition


def _items(depth: int, width: int) -> list[Any]:
    return [
        {"n": index, **({"items": _items(depth - 1, width)} if depth else {"items": []})}
        for index in range(width)
    ]


inputs = st.builds(
    lambda n, width: {"n": n, "items": _items(2, width)},
    st.integers(0, 4),
    st.integers(0, 3),
)


def _runs(definition: dict[str, Any], execution_input: Any, seed: int, cut: int) -> None:
    try:
        machine = compiled(definition)
    except InvalidDefinition as exc:  # the generator's mistake, not the engine's
        raise AssertionError(f"generated an invalid definition: {exc}") from None
    plain = Driver(machine, execution_input, seed).run()
    every = Driver(machine, execution_input, seed, restore_when=lambda step: True).run()
    once = Driver(machine, execution_input, seed, restore_when=lambda step: step == cut).run()
    assert every.history == plain.history
    assert every.summary() == plain.summary()
    assert once.history == plain.history
    assert once.summary() == plain.summary()
    assert every.snapshots >= 1


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    definition=definitions(),
    execution_input=inputs,
    seed=st.integers(0, 10_000),
    cut=st.integers(0, 40),
)
def test_restoring_after_any_step_changes_nothing(
    definition: dict[str, Any], execution_input: Any, seed: int, cut: int
) -> None:
    _runs(definition, execution_input, seed, cut)
