"""``ItemBatcher`` in a JSONPath Distributed Map: how items are grouped into child inputs.

AWS reference: developer guide "ItemBatcher (Map)": each child receives
``{"Items": [...]}`` (plus ``"BatchInput"`` when set), a batch holds at most
``MaxItemsPerBatch`` items and at most ``MaxInputBytesPerBatch`` bytes, the ``…Path`` forms
read the limits from the state input, and ``ItemSelector`` shapes each item before batching.
The JSONata counterparts are in ``test_engine_jsonata_item_batcher.py``.
"""

from __future__ import annotations

import json
from typing import Any

from _engine_kit import Recorder, events, failed, inner, run, single, succeeded, task

DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def batched_map(batcher: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Distributed Map whose children echo their input."""
    processor = {**inner({"Type": "Pass"}), "ProcessorConfig": DISTRIBUTED}
    return single({"Type": "Map", "ItemProcessor": processor, "ItemBatcher": batcher, **fields})


def test_max_items_per_batch_groups_items_in_order() -> None:
    result = run(batched_map({"MaxItemsPerBatch": 2}), [1, 2, 3, 4, 5])
    assert succeeded(result) == [{"Items": [1, 2]}, {"Items": [3, 4]}, {"Items": [5]}]


def test_map_state_started_counts_batches_not_items() -> None:
    result = run(batched_map({"MaxItemsPerBatch": 2}), [1, 2, 3])
    assert events(result, "MapStateStarted")[0].details == {"length": 2}
    assert len(events(result, "MapIterationStarted")) == 2


def test_batch_larger_than_the_items_is_one_batch() -> None:
    assert succeeded(run(batched_map({"MaxItemsPerBatch": 10}), ["a", "b"])) == [
        {"Items": ["a", "b"]}
    ]


def test_no_items_means_no_batches() -> None:
    result = run(batched_map({"MaxItemsPerBatch": 2}), [])
    assert succeeded(result) == []
    assert events(result, "MapStateStarted")[0].details == {"length": 0}


def test_max_input_bytes_per_batch_closes_a_batch_before_it_overflows() -> None:
    items = ["x" * 8] * 5  # each item is 10 bytes of JSON, 11 with its comma
    # '["xxxxxxxx","xxxxxxxx"]' is 23 bytes; a third item would make 34.
    result = run(batched_map({"MaxInputBytesPerBatch": 30}), items)
    assert [len(batch["Items"]) for batch in succeeded(result)] == [2, 2, 1]


def test_an_item_over_the_byte_limit_still_gets_a_batch_of_its_own() -> None:
    result = run(batched_map({"MaxInputBytesPerBatch": 5}), ["long string", "x"])
    assert succeeded(result) == [{"Items": ["long string"]}, {"Items": ["x"]}]


def test_both_limits_whichever_comes_first() -> None:
    items = list(range(10))
    result = run(batched_map({"MaxItemsPerBatch": 3, "MaxInputBytesPerBatch": 6}), items)
    # '[0,1]' is 5 bytes, '[0,1,2]' would be 7: the byte limit closes batches at two items.
    assert [batch["Items"] for batch in succeeded(result)] == [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
        [8, 9],
    ]


def test_batch_input_is_added_to_every_batch_with_paths_resolved() -> None:
    definition = batched_map(
        {
            "MaxItemsPerBatch": 2,
            "BatchInput": {"tag": "t", "run.$": "$$.Execution.Name", "k.$": "$.k"},
        },
        ItemsPath="$.xs",
    )
    result = run(definition, {"k": 7, "xs": [1, 2, 3]}, name="exec-1")
    batch_input = {"tag": "t", "run": "exec-1", "k": 7}
    assert succeeded(result) == [
        {"BatchInput": batch_input, "Items": [1, 2]},
        {"BatchInput": batch_input, "Items": [3]},
    ]


def test_item_selector_shapes_each_item_before_batching() -> None:
    definition = batched_map(
        {"MaxItemsPerBatch": 2},
        ItemSelector={"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
        ItemsPath="$.xs",
    )
    assert succeeded(run(definition, {"k": 0, "xs": ["a", "b", "c"]})) == [
        {"Items": [{"i": 0, "v": "a", "k": 0}, {"i": 1, "v": "b", "k": 0}]},
        {"Items": [{"i": 2, "v": "c", "k": 0}]},
    ]


def test_limits_read_from_the_input_with_path_fields() -> None:
    definition = batched_map({"MaxItemsPerBatchPath": "$.n"}, ItemsPath="$.xs")
    assert succeeded(run(definition, {"n": 3, "xs": [1, 2, 3, 4]})) == [
        {"Items": [1, 2, 3]},
        {"Items": [4]},
    ]


def test_a_path_limit_that_is_not_a_number_fails_the_state() -> None:
    definition = batched_map({"MaxItemsPerBatchPath": "$.n"}, ItemsPath="$.xs")
    failed(run(definition, {"n": "two", "xs": [1]}), "States.Runtime", "MaxItemsPerBatchPath")


def test_each_child_receives_its_batch_as_input() -> None:
    recorder = Recorder(result="done")
    processor = {**inner(task()), "ProcessorConfig": DISTRIBUTED}
    definition = single(
        {"Type": "Map", "ItemProcessor": processor, "ItemBatcher": {"MaxItemsPerBatch": 2}}
    )
    assert succeeded(run(definition, [1, 2, 3], {"work": recorder})) == ["done", "done"]
    assert sorted(recorder.calls, key=json.dumps) == [{"Items": [1, 2]}, {"Items": [3]}]
