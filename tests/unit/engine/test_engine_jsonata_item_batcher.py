"""``ItemBatcher`` in a JSONata Distributed Map.

AWS reference: developer guide "ItemBatcher (Map)" and "Transforming data with JSONata": in
JSONata, ``MaxItemsPerBatch`` and ``MaxInputBytesPerBatch`` are an integer or a ``{% %}``
expression (the ``…Path`` forms are JSONPath's), and ``BatchInput`` is a JSON value with
expressions at any depth. Grouping is the JSONPath Map's (``test_engine_item_batcher.py``);
these tests check what JSONata adds: expressions, ``$states``, variables and their errors.
"""

from __future__ import annotations

from typing import Any

import pytest
from _engine_kit import chain, events, failed, inner, run, single, succeeded

pytestmark = pytest.mark.usefixtures("jsonata_engine")  # each test runs on both engines

QEE = "States.QueryEvaluationError"
DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def batched_map(batcher: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A JSONata Distributed Map whose children echo their input."""
    processor = {**inner({"Type": "Pass"}), "ProcessorConfig": DISTRIBUTED}
    state = {"Type": "Map", "ItemProcessor": processor, "ItemBatcher": batcher, **fields}
    return {"QueryLanguage": "JSONata", **single(state)}


def test_literal_max_items_per_batch() -> None:
    result = run(batched_map({"MaxItemsPerBatch": 2}), [1, 2, 3, 4, 5])
    assert succeeded(result) == [{"Items": [1, 2]}, {"Items": [3, 4]}, {"Items": [5]}]
    assert events(result, "MapStateStarted")[0].details == {"length": 3}


def test_max_items_per_batch_expression_reads_the_input() -> None:
    definition = batched_map(
        {"MaxItemsPerBatch": "{% $states.input.size %}"}, Items="{% $states.input.xs %}"
    )
    assert succeeded(run(definition, {"size": 3, "xs": [1, 2, 3, 4]})) == [
        {"Items": [1, 2, 3]},
        {"Items": [4]},
    ]


def test_max_input_bytes_per_batch_expression() -> None:
    definition = batched_map({"MaxInputBytesPerBatch": "{% 3 + 3 %}"}, Items=list(range(10)))
    # '[0,1]' is 5 bytes, '[0,1,2]' would be 7.
    assert [batch["Items"] for batch in succeeded(run(definition, {}))] == [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
        [8, 9],
    ]


def test_an_integral_float_limit_is_an_integer() -> None:
    definition = batched_map({"MaxItemsPerBatch": "{% 4 / 2 %}"}, Items=[1, 2, 3])
    assert succeeded(run(definition, {})) == [{"Items": [1, 2]}, {"Items": [3]}]


@pytest.mark.parametrize(
    ("batcher", "field", "shown"),
    [
        ({"MaxItemsPerBatch": "{% 0 %}"}, "ItemBatcher/MaxItemsPerBatch", "0"),
        ({"MaxItemsPerBatch": "{% 'two' %}"}, "ItemBatcher/MaxItemsPerBatch", "'two'"),
        ({"MaxItemsPerBatch": "{% 1.5 %}"}, "ItemBatcher/MaxItemsPerBatch", "1.5"),
        (
            {"MaxInputBytesPerBatch": "{% 262145 %}"},
            "ItemBatcher/MaxInputBytesPerBatch",
            "262145",
        ),
    ],
)
def test_a_limit_expression_out_of_range_fails_the_state(
    batcher: dict[str, Any], field: str, shown: str
) -> None:
    cause = failed(run(batched_map(batcher, Items=[1]), {}), QEE)
    assert f"The value of the field '{field}' of the state 'S' must be an integer" in cause
    assert cause.endswith(f"got {shown}.")


def test_a_limit_expression_returning_nothing_fails_the_state() -> None:
    result = run(batched_map({"MaxItemsPerBatch": "{% $states.input.missing %}"}, Items=[1]), {})
    failed(result, QEE, "'ItemBatcher/MaxItemsPerBatch' returned nothing (undefined)")


def test_batch_input_expressions_see_states_and_variables() -> None:
    processor = {**inner({"Type": "Pass"}), "ProcessorConfig": DISTRIBUTED}
    definition = {
        "QueryLanguage": "JSONata",
        **chain(
            ("Set", {"Type": "Pass", "Assign": {"owner": "ada"}}),
            (
                "M",
                {
                    "Type": "Map",
                    "Items": "{% $states.input.xs %}",
                    "ItemProcessor": processor,
                    "ItemBatcher": {
                        "MaxItemsPerBatch": 2,
                        "BatchInput": {
                            "owner": "{% $owner %}",
                            "run": "{% $states.context.Execution.Name %}",
                            "k": "{% $states.input.k %}",
                            "fixed": [1, "{% 1 + 1 %}"],
                        },
                    },
                },
            ),
        ),
    }
    result = run(definition, {"k": 7, "xs": ["a", "b", "c"]}, name="exec-1")
    batch_input = {"owner": "ada", "run": "exec-1", "k": 7, "fixed": [1, 2]}
    assert succeeded(result) == [
        {"BatchInput": batch_input, "Items": ["a", "b"]},
        {"BatchInput": batch_input, "Items": ["c"]},
    ]


def test_batch_input_as_one_expression() -> None:
    definition = batched_map(
        {"MaxItemsPerBatch": 5, "BatchInput": "{% {'n': $count($states.input)} %}"}
    )
    assert succeeded(run(definition, [1, 2])) == [{"BatchInput": {"n": 2}, "Items": [1, 2]}]


def test_a_batch_input_member_returning_nothing_fails_naming_it() -> None:
    definition = batched_map(
        {"MaxItemsPerBatch": 5, "BatchInput": {"x": "{% $states.input.nope %}"}}, Items=[1]
    )
    failed(
        run(definition, {}),
        QEE,
        "specified for the field 'ItemBatcher/BatchInput/x' returned nothing (undefined)",
    )


def test_item_selector_shapes_each_item_before_batching() -> None:
    definition = batched_map(
        {"MaxItemsPerBatch": 2},
        Items="{% $states.input.xs %}",
        ItemSelector={
            "i": "{% $states.context.Map.Item.Index %}",
            "v": "{% $states.context.Map.Item.Value %}",
            "k": "{% $states.input.k %}",
        },
    )
    assert succeeded(run(definition, {"k": 0, "xs": ["a", "b", "c"]})) == [
        {"Items": [{"i": 0, "v": "a", "k": 0}, {"i": 1, "v": "b", "k": 0}]},
        {"Items": [{"i": 2, "v": "c", "k": 0}]},
    ]


def test_no_items_means_no_batches() -> None:
    result = run(batched_map({"MaxItemsPerBatch": "{% 2 %}"}, Items=[]), {})
    assert succeeded(result) == []


def test_output_and_result_of_a_batched_map() -> None:
    definition = batched_map(
        {"MaxItemsPerBatch": 2},
        Items=[1, 2, 3],
        Output="{% $count($states.result) %}",
    )
    assert succeeded(run(definition, {})) == 2
