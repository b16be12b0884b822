"""compile_definition: what validates but cannot run yet fails up front, clearly."""

from __future__ import annotations

import pytest

from stepline import InvalidDefinition, StateMachine


def test_item_batcher_in_a_jsonata_map_is_refused_until_supported() -> None:
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
    with pytest.raises(InvalidDefinition) as raised:
        StateMachine(definition)
    assert [(d.code, d.location) for d in raised.value.diagnostics] == [
        ("UNSUPPORTED_FEATURE", "/States/M/ItemBatcher")
    ]


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
