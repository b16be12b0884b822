"""Parallel and Map states against AWS semantics.

AWS references: developer guide "Parallel workflow state" (output is an array of branch outputs
in branch order; if any branch fails the whole state fails and the other branches are stopped),
"Map state in Inline mode" (ItemsPath, ItemSelector with ``$$.Map.Item.Index``/``Value``,
MaxConcurrency, the legacy ``Iterator`` + ``Parameters``), "Tolerated failure threshold for
Distributed Map state" (``If you specify both values, the workflow fails when it exceeds either
value``; ``States.ExceedToleratedFailureThreshold``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _engine_kit import (
    ConcurrencyProbe,
    Recorder,
    chain,
    events,
    failed,
    inner,
    run,
    single,
    subsequence,
    succeeded,
    task,
    types,
)

from stepline import StatesError


def branch(state: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return inner(state) if name is None else single(state, name=name)


def map_state(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"Type": "Map", "ItemProcessor": processor, **fields}


def distributed(processor: dict[str, Any]) -> dict[str, Any]:
    return {
        **processor,
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    }


# -------------------------------------------------------------------------------- Parallel


def test_parallel_results_are_in_branch_order() -> None:
    async def slow(p: Any) -> Any:
        await asyncio.sleep(0.05)
        return "slow"

    async def fast(p: Any) -> Any:
        return "fast"

    state = {
        "Type": "Parallel",
        "Branches": [
            branch(task("slow")),
            branch(task("fast")),
            branch({"Type": "Pass", "Result": "pass"}),
        ],
    }
    result = run(single(state), {"x": 1}, {"slow": slow, "fast": fast})
    assert succeeded(result) == ["slow", "fast", "pass"]


def test_parallel_branches_all_get_the_effective_input() -> None:
    rec = Recorder(fn=lambda p: p)
    state = {
        "Type": "Parallel",
        "InputPath": "$.in",
        "Parameters": {"v.$": "$.v", "ctx.$": "$$.State.Name"},
        "Branches": [branch(task()), branch({"Type": "Pass"})],
        "ResultSelector": {"first.$": "$[0]", "second.$": "$[1].v"},
        "ResultPath": "$.out",
    }
    result = run(single(state, name="Fan"), {"in": {"v": 3}, "keep": True}, {"work": rec})
    assert succeeded(result) == {
        "in": {"v": 3},
        "keep": True,
        "out": {"first": {"v": 3, "ctx": "Fan"}, "second": 3},
    }


def test_parallel_branch_failure_fails_state_with_branch_error() -> None:
    state = {
        "Type": "Parallel",
        "Branches": [
            branch({"Type": "Pass"}),
            branch({"Type": "Fail", "Error": "BranchBroke", "Cause": "branch 2"}),
        ],
    }
    result = run(single(state), {})
    failed(result, "BranchBroke")
    assert result.cause == "branch 2"
    assert "ParallelStateFailed" in types(result)
    assert "ParallelStateExited" not in types(result)


def test_parallel_failure_aborts_other_branches() -> None:
    finished: list[str] = []
    cancelled: list[str] = []

    async def slow(p: Any) -> Any:
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise
        finished.append("slow")
        return "late"

    async def bad(p: Any) -> Any:
        await asyncio.sleep(0.01)
        raise StatesError("Bad", "fails first")

    after = Recorder("never")
    state = {
        "Type": "Parallel",
        "Branches": [
            chain(("Slow", task("slow")), ("After", task("after"))),
            branch(task("bad")),
        ],
    }
    result = run(single(state), {}, {"slow": slow, "bad": bad, "after": after})
    failed(result, "Bad", "fails first")
    assert finished == []
    assert cancelled == ["slow"]
    assert after.calls == []
    assert len(events(result, "TaskSucceeded")) == 0


def test_parallel_catch_receives_branch_error() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [branch(task("bad"))],
                "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Handled"}],
                "Next": "Never",
            },
            "Never": {"Type": "Pass", "End": True},
            "Handled": {"Type": "Pass", "End": True},
        },
    }

    def bad(_: Any) -> Any:
        raise StatesError("Boom", "exploded")

    result = run(definition, {"a": 1}, {"bad": bad})
    assert succeeded(result) == {"a": 1, "error": {"Error": "Boom", "Cause": "exploded"}}
    assert subsequence(
        [
            "ParallelStateEntered",
            "ParallelStateStarted",
            "ParallelStateFailed",
            "ParallelStateExited",
        ],
        types(result),
    )


def test_parallel_history() -> None:
    state = {
        "Type": "Parallel",
        "Branches": [branch({"Type": "Pass"}, "A"), branch({"Type": "Pass"}, "B")],
    }
    result = run(single(state, name="P"), {})
    seq = types(result)
    assert seq[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert sorted(seq[3:7]) == ["PassStateEntered"] * 2 + ["PassStateExited"] * 2
    assert seq[7:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    by_id = {e.id: e for e in result.history}
    started = events(result, "ParallelStateStarted")[0]
    for entered in events(result, "PassStateEntered"):
        assert entered.previous_event_id == started.id
    exited = events(result, "ParallelStateExited")[0]
    assert by_id[exited.previous_event_id].type == "ParallelStateSucceeded"


def test_nested_parallel() -> None:
    inner = {
        "Type": "Parallel",
        "Branches": [branch({"Type": "Pass", "Result": i}) for i in range(3)],
    }
    outer = {
        "Type": "Parallel",
        "Branches": [branch(inner, "In"), branch({"Type": "Pass", "Result": "x"})],
    }
    assert succeeded(run(single(outer), {})) == [[0, 1, 2], "x"]


# ------------------------------------------------------------------------------------- Map


def test_map_items_path_and_item_processing() -> None:
    state = map_state(
        inner(task()),
        ItemsPath="$.numbers",
        ResultPath="$.doubled",
    )
    result = run(single(state), {"numbers": [1, 2, 3]}, {"work": lambda n: n * 2})
    assert succeeded(result) == {"numbers": [1, 2, 3], "doubled": [2, 4, 6]}


def test_map_without_items_path_iterates_the_effective_input() -> None:
    state = map_state(inner({"Type": "Pass"}), InputPath="$.list")
    assert succeeded(run(single(state), {"list": ["a", "b"]})) == ["a", "b"]


def test_map_item_selector_with_context_item() -> None:
    state = map_state(
        inner({"Type": "Pass"}),
        ItemsPath="$.items",
        ItemSelector={
            "index.$": "$$.Map.Item.Index",
            "value.$": "$$.Map.Item.Value",
            "shared.$": "$.shared",
            "const": "c",
        },
    )
    result = run(single(state), {"items": [{"id": "a"}, {"id": "b"}], "shared": 9})
    assert succeeded(result) == [
        {"index": 0, "value": {"id": "a"}, "shared": 9, "const": "c"},
        {"index": 1, "value": {"id": "b"}, "shared": 9, "const": "c"},
    ]


def test_map_item_selector_reads_value_fields() -> None:
    state = map_state(
        inner({"Type": "Pass"}),
        ItemSelector={"id.$": "$$.Map.Item.Value.id", "exec.$": "$$.Execution.Name"},
    )
    result = run(single(state), [{"id": 1}, {"id": 2}], name="e1")
    assert succeeded(result) == [{"id": 1, "exec": "e1"}, {"id": 2, "exec": "e1"}]


def test_map_legacy_iterator_with_parameters() -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.xs",
        "Parameters": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
        "Iterator": inner({"Type": "Pass"}),
    }
    assert succeeded(run(single(state), {"xs": [5, 6]})) == [{"i": 0, "v": 5}, {"i": 1, "v": 6}]


def test_map_empty_array() -> None:
    rec = Recorder("x")
    state = map_state(inner(task()), ItemsPath="$.xs", ResultPath="$.out")
    result = run(single(state), {"xs": []}, {"work": rec})
    assert succeeded(result) == {"xs": [], "out": []}
    assert rec.calls == []
    started = events(result, "MapStateStarted")[0]
    assert started.details == {"length": 0}
    assert "MapIterationStarted" not in types(result)


@pytest.mark.parametrize("not_array", [{"a": 1}, "abc", 3, None])
def test_map_items_path_not_an_array_is_runtime_error(not_array: Any) -> None:
    state = map_state(inner({"Type": "Pass"}), ItemsPath="$.xs")
    failed(run(single(state), {"xs": not_array}), "States.Runtime", "$.xs")


def test_map_items_path_missing_is_runtime_error() -> None:
    state = map_state(inner({"Type": "Pass"}), ItemsPath="$.xs")
    failed(run(single(state), {}), "States.Runtime", "$.xs")


@pytest.mark.parametrize(("limit", "expected_peak"), [(1, 1), (2, 2), (3, 3), (0, 8)])
def test_map_max_concurrency_limits_running_tasks(limit: int, expected_peak: int) -> None:
    probe = ConcurrencyProbe(delay=0.01)
    state = map_state(inner(task("probe")), MaxConcurrency=limit)
    result = run(single(state), list(range(8)), {"probe": probe})
    assert succeeded(result) == list(range(8))
    assert probe.peak == expected_peak
    assert sorted(probe.seen) == list(range(8))


def test_map_max_concurrency_path() -> None:
    probe = ConcurrencyProbe(delay=0.01)
    state = map_state(inner(task("probe")), ItemsPath="$.xs", MaxConcurrencyPath="$.limit")
    result = run(single(state), {"xs": list(range(6)), "limit": 2}, {"probe": probe})
    assert succeeded(result) == list(range(6))
    assert probe.peak == 2


def test_map_max_concurrency_path_bad_value_is_runtime_error() -> None:
    state = map_state(inner({"Type": "Pass"}), ItemsPath="$.xs", MaxConcurrencyPath="$.limit")
    failed(run(single(state), {"xs": [1], "limit": "two"}), "States.Runtime")


def test_map_result_selector_and_output_path() -> None:
    state = map_state(
        inner({"Type": "Pass"}),
        ItemsPath="$.xs",
        ResultSelector={"n.$": "States.ArrayLength($)", "first.$": "$[0]"},
        ResultPath="$.summary",
        OutputPath="$.summary",
    )
    assert succeeded(run(single(state), {"xs": ["a", "b", "c"]})) == {"n": 3, "first": "a"}


def test_map_iteration_failure_fails_map_with_its_error() -> None:
    def maybe(item: Any) -> Any:
        if item == 2:
            raise StatesError("ItemBad", f"item {item}")
        return item

    state = map_state(inner(task()), MaxConcurrency=1)
    result = run(single(state), [1, 2, 3], {"work": maybe})
    failed(result, "ItemBad", "item 2")
    assert "MapIterationFailed" in types(result)
    assert "MapStateFailed" in types(result)
    # MaxConcurrency 1: item 3 was never started after item 2 failed.
    assert [e.details["index"] for e in events(result, "MapIterationStarted")] == [0, 1]


def test_map_catch_on_map_state() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": map_state(
                inner({"Type": "Fail", "Error": "Nope", "Cause": "no"}),
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
                End=True,
            ),
            "Fallback": {"Type": "Pass", "End": True},
        },
    }
    assert succeeded(run(definition, [1])) == {"Error": "Nope", "Cause": "no"}


def test_nested_map_in_map() -> None:
    row_map = map_state(
        inner({"Type": "Pass"}),
        ItemsPath="$.row",
        ItemSelector={"r.$": "$.r", "c.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
    )
    outer = map_state(
        single(row_map, name="Inner"),
        ItemSelector={"r.$": "$$.Map.Item.Index", "row.$": "$$.Map.Item.Value"},
    )
    result = run(single(outer, name="Outer"), [["a", "b"], ["c"]])
    assert succeeded(result) == [
        [{"r": 0, "c": 0, "v": "a"}, {"r": 0, "c": 1, "v": "b"}],
        [{"r": 1, "c": 0, "v": "c"}],
    ]
    names = {e.details["name"] for e in events(result, "MapIterationStarted")}
    assert names == {"Outer", "Inner"}


def test_map_history_events() -> None:
    state = map_state(single({"Type": "Pass"}, name="Item"))
    result = run(single(state, name="M"), ["x", "y"])
    succeeded(result)
    seq = types(result)
    assert seq[:3] == ["ExecutionStarted", "MapStateEntered", "MapStateStarted"]
    assert seq[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    assert events(result, "MapStateStarted")[0].details == {"length": 2}
    assert sorted(e.details["index"] for e in events(result, "MapIterationStarted")) == [0, 1]
    assert sorted(e.details["index"] for e in events(result, "MapIterationSucceeded")) == [0, 1]
    for event in events(result, "MapIterationStarted") + events(result, "MapIterationSucceeded"):
        assert event.details["name"] == "M"
    # Each iteration's own events form a chain from its MapIterationStarted.
    by_id = {e.id: e for e in result.history}
    for done in events(result, "MapIterationSucceeded"):
        chain_types = []
        cursor = by_id[done.previous_event_id]
        while cursor.type != "MapIterationStarted":
            chain_types.append(cursor.type)
            cursor = by_id[cursor.previous_event_id]
        assert cursor.details["index"] == done.details["index"]
        assert chain_types == ["PassStateExited", "PassStateEntered"]
    assert by_id[events(result, "MapStateExited")[0].previous_event_id].type == "MapStateSucceeded"


# ------------------------------------------------------------- tolerated failure thresholds


def _flaky(fail_on: set[int]) -> Any:
    def handler(item: Any) -> Any:
        if item in fail_on:
            raise StatesError("ItemFailed", f"item {item}")
        return item

    return handler


def _tolerant_map(**fields: Any) -> dict[str, Any]:
    return single(map_state(distributed(inner(task())), **fields), name="M")


def test_tolerated_failure_count_allows_that_many() -> None:
    result = run(_tolerant_map(ToleratedFailureCount=2), [1, 2, 3, 4], {"work": _flaky({2, 3})})
    out = succeeded(result)
    assert out[0] == 1
    assert out[3] == 4


def test_tolerated_failure_count_exceeded() -> None:
    result = run(_tolerant_map(ToleratedFailureCount=1), [1, 2, 3, 4], {"work": _flaky({2, 3})})
    failed(result, "States.ExceedToleratedFailureThreshold")


def test_tolerated_failure_count_zero() -> None:
    result = run(_tolerant_map(ToleratedFailureCount=0), [1, 2], {"work": _flaky({2})})
    failed(result, "States.ExceedToleratedFailureThreshold")


def test_tolerated_failure_percentage_allows_up_to_it() -> None:
    # 1 of 4 failed = 25%: not more than 25%.
    result = run(_tolerant_map(ToleratedFailurePercentage=25), [1, 2, 3, 4], {"work": _flaky({4})})
    assert succeeded(result)[:3] == [1, 2, 3]


def test_tolerated_failure_percentage_exceeded() -> None:
    result = run(_tolerant_map(ToleratedFailurePercentage=24), [1, 2, 3, 4], {"work": _flaky({4})})
    failed(result, "States.ExceedToleratedFailureThreshold")


def test_tolerated_failure_count_path() -> None:
    definition = _tolerant_map(ItemsPath="$.xs", ToleratedFailureCountPath="$.tolerate")
    ok = run(definition, {"xs": [1, 2, 3], "tolerate": 1}, {"work": _flaky({1})})
    succeeded(ok)
    bad = run(definition, {"xs": [1, 2, 3], "tolerate": 0}, {"work": _flaky({1})})
    failed(bad, "States.ExceedToleratedFailureThreshold")


def test_tolerated_failure_percentage_path() -> None:
    definition = _tolerant_map(ItemsPath="$.xs", ToleratedFailurePercentagePath="$.pct")
    ok = run(definition, {"xs": [1, 2], "pct": 50}, {"work": _flaky({1})})
    succeeded(ok)
    bad = run(definition, {"xs": [1, 2], "pct": 49}, {"work": _flaky({1})})
    failed(bad, "States.ExceedToleratedFailureThreshold")


def test_tolerated_failure_percentage_path_bad_value_is_runtime_error() -> None:
    definition = _tolerant_map(ItemsPath="$.xs", ToleratedFailurePercentagePath="$.pct")
    failed(run(definition, {"xs": [1], "pct": 101}, {"work": _flaky(set())}), "States.Runtime")


def test_tolerated_thresholds_both_given_fail_when_either_is_exceeded() -> None:
    """AWS: "If you specify both values, the workflow fails when it exceeds either value."

    2 of 4 items fail: within the count (2) but above the percentage (25%).
    """
    definition = _tolerant_map(ToleratedFailureCount=2, ToleratedFailurePercentage=25)
    result = run(definition, [1, 2, 3, 4], {"work": _flaky({1, 2})})
    failed(result, "States.ExceedToleratedFailureThreshold")


def test_tolerated_thresholds_both_given_count_exceeded() -> None:
    definition = _tolerant_map(ToleratedFailureCount=1, ToleratedFailurePercentage=100)
    result = run(definition, [1, 2, 3, 4], {"work": _flaky({1, 2})})
    failed(result, "States.ExceedToleratedFailureThreshold")


def test_exceeded_threshold_is_catchable() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": map_state(
                distributed(inner(task())),
                ToleratedFailureCount=0,
                Catch=[
                    {
                        "ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
                        "ResultPath": "$.err",
                        "Next": "Done",
                    }
                ],
                ItemsPath="$.xs",
                End=True,
            ),
            "Done": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {"xs": [1]}, {"work": _flaky({1})})
    out = succeeded(result)
    assert out["err"]["Error"] == "States.ExceedToleratedFailureThreshold"


def test_map_failure_aborts_running_iterations() -> None:
    finished: list[Any] = []

    async def work(item: Any) -> Any:
        if item == "bad":
            raise StatesError("ItemBad", "bad item")
        await asyncio.sleep(0.2)
        finished.append(item)
        return item

    state = map_state(inner(task()))
    result = run(single(state, name="M"), ["slow", "bad"], {"work": work})
    failed(result, "ItemBad", "bad item")
    assert finished == []
    assert "TaskSucceeded" not in types(result)
    assert [e.details for e in events(result, "MapIterationAborted")] == [{"name": "M", "index": 0}]


def test_map_iterations_wait_concurrently_in_virtual_time() -> None:
    state = map_state(inner({"Type": "Wait", "SecondsPath": "$"}))
    result = run(single(state), [30, 10, 20])
    assert succeeded(result) == [30, 10, 20]
    assert result.stop_date is not None
    assert result.stop_date.timestamp() - result.start_date.timestamp() == 30


def test_map_max_concurrency_one_runs_waits_in_sequence() -> None:
    state = map_state(inner({"Type": "Wait", "SecondsPath": "$"}), MaxConcurrency=1)
    result = run(single(state), [30, 10, 20])
    assert succeeded(result) == [30, 10, 20]
    assert result.stop_date is not None
    assert result.stop_date.timestamp() - result.start_date.timestamp() == 60


def test_parallel_failure_cancels_a_waiting_branch() -> None:
    state = {
        "Type": "Parallel",
        "Branches": [
            chain(("Long", {"Type": "Wait", "Seconds": 100}), ("AfterLong", {"Type": "Pass"})),
            branch({"Type": "Fail", "Error": "Now"}),
        ],
    }
    result = run(single(state), {})
    failed(result, "Now")
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == result.start_date.timestamp()
    assert "WaitStateExited" not in types(result)
