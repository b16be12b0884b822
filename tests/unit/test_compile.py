"""compile_definition: definitions that validate compile and run."""

from __future__ import annotations

from stepline import StateMachine


def test_item_batcher_in_a_jsonata_map_compiles_and_runs() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "ItemBatcher": {"MaxItemsPerBatch": 2},
                "End": True,
            }
        },
    }
    result = StateMachine(definition).run([1, 2, 3])
    assert result.output == [{"Items": [1, 2]}, {"Items": [3]}]


def test_jsonata_and_variables_compile_and_run() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $x + $states.input.y %}", "End": True},
        },
    }
    assert StateMachine(definition).run({"y": 2}).output == 3
