"""compile_definition: what validates but cannot run yet fails up front, clearly."""

from __future__ import annotations

import pytest

from stepline import InvalidDefinition, StateMachine


def test_jsonata_definitions_are_refused_until_the_engine_runs_them() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": "{% $states.input %}", "End": True}},
    }
    with pytest.raises(InvalidDefinition) as raised:
        StateMachine(definition)
    codes = {d.code for d in raised.value.diagnostics}
    assert codes == {"UNSUPPORTED_FEATURE"}
    assert any("QueryLanguage" in d.location for d in raised.value.diagnostics)


def test_assign_is_refused_until_the_engine_runs_variables() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Assign": {"x": 1}, "End": True}},
    }
    with pytest.raises(InvalidDefinition) as raised:
        StateMachine(definition)
    assert [(d.code, d.location) for d in raised.value.diagnostics] == [
        ("UNSUPPORTED_FEATURE", "/States/A/Assign")
    ]
