"""Input and output processing, checked against AWS Step Functions' documented semantics.

AWS reference: "Processing input and output in Step Functions" (developer guide):
InputPath → Parameters → task → ResultSelector → ResultPath (merged into the *raw* state
input) → OutputPath; ``InputPath``/``OutputPath`` ``null`` give ``{}``; ``ResultPath: null``
discards the result; a ResultPath that cannot be applied is ``States.ResultPathMatchFailure``.
"""

from __future__ import annotations

import copy

import pytest
from _engine_kit import (
    Recorder,
    chain,
    detail,
    events,
    failed,
    machine,
    run,
    single,
    succeeded,
    task,
)

# ------------------------------------------------------------------------------- InputPath


def test_input_path_selects_the_effective_input() -> None:
    out = succeeded(run(single({"Type": "Pass", "InputPath": "$.a"}), {"a": {"b": 1}, "c": 2}))
    assert out == {"b": 1}


def test_input_path_null_gives_empty_object() -> None:
    out = succeeded(run(single({"Type": "Pass", "InputPath": None}), {"a": 1}))
    assert out == {}


def test_input_path_null_task_receives_empty_object() -> None:
    rec = Recorder({"r": 1})
    result = run(single(task(InputPath=None, ResultPath="$.out")), {"a": 1}, {"work": rec})
    assert rec.calls == [{}]
    # ResultPath merges into the raw input, which InputPath does not change.
    assert succeeded(result) == {"a": 1, "out": {"r": 1}}


def test_input_path_selecting_nothing_is_runtime_error() -> None:
    result = run(single({"Type": "Pass", "InputPath": "$.missing"}), {"a": 1})
    failed(result, "States.Runtime", "$.missing")


def test_input_path_array_index() -> None:
    out = succeeded(run(single({"Type": "Pass", "InputPath": "$.items[1]"}), {"items": [1, 2]}))
    assert out == 2


# ------------------------------------------------------------------------------ Parameters


def test_parameters_static_paths_context_and_intrinsics() -> None:
    state = {
        "Type": "Pass",
        "Parameters": {
            "static": "text",
            "nested": {"list": [1, {"k": "v"}], "picked.$": "$.user.name"},
            "whole.$": "$",
            "stateName.$": "$$.State.Name",
            "greeting.$": "States.Format('Hello, {}!', $.user.name)",
            "count.$": "States.ArrayLength($.items)",
        },
    }
    data = {"user": {"name": "Ada"}, "items": [1, 2, 3]}
    out = succeeded(run(single(state, name="Greet"), data))
    assert out == {
        "static": "text",
        "nested": {"list": [1, {"k": "v"}], "picked": "Ada"},
        "whole": data,
        "stateName": "Greet",
        "greeting": "Hello, Ada!",
        "count": 3,
    }


def test_parameters_apply_after_input_path() -> None:
    state = {"Type": "Pass", "InputPath": "$.inner", "Parameters": {"v.$": "$.value"}}
    out = succeeded(run(single(state), {"inner": {"value": 7}, "value": "outer"}))
    assert out == {"v": 7}


def test_parameters_can_read_execution_input_through_context() -> None:
    state = {"Type": "Pass", "InputPath": "$.a", "Parameters": {"orig.$": "$$.Execution.Input"}}
    out = succeeded(run(single(state), {"a": 1, "b": 2}))
    assert out == {"orig": {"a": 1, "b": 2}}


def test_parameters_missing_path_is_runtime_error() -> None:
    rec = Recorder(1)
    result = run(
        single(task(Parameters={"x.$": "$.nope"}, Retry=[{"ErrorEquals": ["States.ALL"]}])),
        {"a": 1},
        {"work": rec},
    )
    failed(result, "States.Runtime", "$.nope")
    assert rec.calls == []  # never scheduled


def test_task_receives_parameters_not_raw_input() -> None:
    rec = Recorder("ok")
    result = run(
        single(task(Parameters={"id.$": "$.order.id", "fixed": True})),
        {"order": {"id": 9}},
        {"work": rec},
    )
    assert rec.calls == [{"id": 9, "fixed": True}]
    assert succeeded(result) == "ok"


# -------------------------------------------------------------------------- Result on Pass


def test_pass_result_replaces_output_by_default() -> None:
    out = succeeded(run(single({"Type": "Pass", "Result": {"r": 1}}), {"a": 1}))
    assert out == {"r": 1}


def test_pass_result_with_result_path_merges() -> None:
    state = {"Type": "Pass", "Result": [1, 2], "ResultPath": "$.res"}
    assert succeeded(run(single(state), {"a": 1})) == {"a": 1, "res": [1, 2]}


def test_pass_result_wins_over_parameters() -> None:
    state = {"Type": "Pass", "Parameters": {"p": 1}, "Result": "R"}
    assert succeeded(run(single(state), {"a": 1})) == "R"


def test_pass_without_fields_passes_input_through() -> None:
    assert succeeded(run(single({"Type": "Pass"}), [1, "two", None])) == [1, "two", None]


def test_pass_parameters_output_merged_by_result_path() -> None:
    state = {"Type": "Pass", "Parameters": {"copy.$": "$.a"}, "ResultPath": "$.p"}
    assert succeeded(run(single(state), {"a": 1})) == {"a": 1, "p": {"copy": 1}}


def test_pass_parameters_with_input_path_null() -> None:
    state = {"Type": "Pass", "InputPath": None, "Parameters": {"all.$": "$"}}
    assert succeeded(run(single(state), {"a": 1})) == {"all": {}}


def test_pass_result_null_is_a_result() -> None:
    state = {"Type": "Pass", "Result": None, "ResultPath": "$.r"}
    assert succeeded(run(single(state), {"a": 1})) == {"a": 1, "r": None}


# ---------------------------------------------------------------------------- ResultSelector


def test_result_selector_reshapes_task_result() -> None:
    rec = Recorder({"Payload": {"value": 5, "noise": "x"}, "items": [1, 2], "StatusCode": 200})
    state = task(
        ResultSelector={
            "value.$": "$.Payload.value",
            "n.$": "States.ArrayLength($.items)",
            "state.$": "$$.State.Name",
            "const": 1,
        },
        ResultPath="$.res",
    )
    result = run(single(state, name="Call"), {"in": 1}, {"work": rec})
    assert succeeded(result) == {"in": 1, "res": {"value": 5, "n": 2, "state": "Call", "const": 1}}


def test_result_selector_missing_path_is_runtime_error() -> None:
    result = run(single(task(ResultSelector={"v.$": "$.absent"})), {}, {"work": Recorder({"x": 1})})
    failed(result, "States.Runtime", "$.absent")


# -------------------------------------------------------------------------------- ResultPath


def test_result_path_dollar_replaces_input() -> None:
    result = run(single(task(ResultPath="$")), {"a": 1}, {"work": Recorder({"r": 2})})
    assert succeeded(result) == {"r": 2}


def test_result_path_nested_creates_objects() -> None:
    result = run(single(task(ResultPath="$.a.b.c")), {"x": 1}, {"work": Recorder(5)})
    assert succeeded(result) == {"x": 1, "a": {"b": {"c": 5}}}


def test_result_path_nested_merges_into_existing_object() -> None:
    data = {"a": {"keep": 1, "b": "old"}, "z": 0}
    result = run(single(task(ResultPath="$.a.b")), data, {"work": Recorder({"new": True})})
    assert succeeded(result) == {"a": {"keep": 1, "b": {"new": True}}, "z": 0}


def test_result_path_null_discards_result() -> None:
    rec = Recorder({"big": "result"})
    result = run(single(task(ResultPath=None)), {"a": 1}, {"work": rec})
    assert succeeded(result) == {"a": 1}
    assert rec.calls == [{"a": 1}]


def test_result_path_merges_into_raw_input_not_effective_input() -> None:
    state = task(InputPath="$.sub", Parameters={"p.$": "$.v"}, ResultPath="$.res")
    rec = Recorder("R")
    result = run(single(state), {"sub": {"v": 1}, "other": 2}, {"work": rec})
    assert rec.calls == [{"p": 1}]
    assert succeeded(result) == {"sub": {"v": 1}, "other": 2, "res": "R"}


@pytest.mark.parametrize("raw", ["a string", [1, 2], 42, None, True])
def test_result_path_into_non_object_input_fails(raw: object) -> None:
    state = {"Type": "Pass", "Result": 1, "ResultPath": "$.x"}
    failed(machine(single(state)).run(raw), "States.ResultPathMatchFailure")


def test_result_path_through_non_object_member_fails() -> None:
    state = {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b"}
    failed(run(single(state), {"a": "scalar"}), "States.ResultPathMatchFailure")


def test_result_path_match_failure_can_be_caught() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": task(
                ResultPath="$.a.b",
                Catch=[{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Caught"}],
                End=True,
            ),
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {"a": 1}, {"work": Recorder("r")})
    out = succeeded(result)
    assert out["Error"] == "States.ResultPathMatchFailure"


def test_caller_input_object_is_never_mutated() -> None:
    data = {"a": {"b": {"c": 1}}, "list": [{"x": 1}]}
    snapshot = copy.deepcopy(data)
    definition = chain(
        ("P1", {"Type": "Pass", "Result": 2, "ResultPath": "$.a.b.d"}),
        ("P2", {"Type": "Pass", "Result": 3, "ResultPath": "$.a.new"}),
        ("T", task(ResultPath="$.list")),
    )
    result = run(definition, data, {"work": Recorder("replaced")})
    assert succeeded(result) == {"a": {"b": {"c": 1, "d": 2}, "new": 3}, "list": "replaced"}
    assert data == snapshot


def test_task_result_is_a_snapshot_like_its_history_event() -> None:
    """AWS passes results as JSON text: the output is what TaskSucceeded recorded, even if the
    handler later changes the object it returned."""
    kept: dict[str, object] = {"v": 1}

    def handler(_: object) -> dict[str, object]:
        return kept

    definition = chain(("T", task(ResultPath="$.r")), ("P", {"Type": "Pass"}))
    result = run(definition, {}, {"work": handler})
    kept["v"] = 999
    recorded = detail(events(result, "TaskSucceeded")[0], "output")
    assert recorded == {"v": 1}
    assert succeeded(result) == {"r": recorded}


# -------------------------------------------------------------------------------- OutputPath


def test_output_path_selects_part_of_output() -> None:
    state = task(ResultPath="$.res", OutputPath="$.res.keep")
    result = run(single(state), {"a": 1}, {"work": Recorder({"keep": [1], "drop": 2})})
    assert succeeded(result) == [1]


def test_output_path_null_gives_empty_object() -> None:
    state = {"Type": "Pass", "OutputPath": None}
    assert succeeded(run(single(state), {"a": 1})) == {}


def test_output_path_selecting_nothing_is_runtime_error() -> None:
    failed(run(single({"Type": "Pass", "OutputPath": "$.nope"}), {"a": 1}), "States.Runtime")


def test_full_order_of_application() -> None:
    rec = Recorder({"raw": {"value": 10}, "junk": 1})
    state = task(
        InputPath="$.req",
        Parameters={"n.$": "$.n", "exec.$": "$$.Execution.Name"},
        ResultSelector={"v.$": "$.raw.value"},
        ResultPath="$.req.result",
        OutputPath="$.req",
    )
    result = run(single(state), {"req": {"n": 3}, "other": True}, {"work": rec}, name="exec-1")
    assert rec.calls == [{"n": 3, "exec": "exec-1"}]
    assert succeeded(result) == {"n": 3, "result": {"v": 10}}


def test_pass_state_output_flows_to_next_state_input() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a"}),
        ("B", {"Type": "Pass", "Parameters": {"got.$": "$.a.x"}}),
    )
    result = run(definition, {"seed": 0})
    assert succeeded(result) == {"got": 1}


def test_runtime_error_cause_names_the_state_and_its_entered_event() -> None:
    definition = chain(
        ("First", {"Type": "Pass"}), ("Look", {"Type": "Pass", "InputPath": "$.nope"})
    )
    result = run(definition, {"a": 1})
    cause = failed(result, "States.Runtime", "$.nope")
    # AWS: "An error occurred while executing the state 'Look' (entered at the event id #4). …"
    assert "'Look'" in cause
    assert "#4" in cause
