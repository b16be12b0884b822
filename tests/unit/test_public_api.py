"""The public API is explicit: each package's ``__all__`` is curated and importable."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "stepline": {
        "Diagnostic",
        "ExecutionResult",
        "HistoryEvent",
        "InvalidDefinition",
        "InvalidExecutionInput",
        "StateMachine",
        "StatesError",
        "SystemClock",
        "TaskContext",
        "TaskRegistry",
        "VirtualClock",
        "validate_definition",
    },
    "stepline.asl": {
        "CompiledDefinition",
        "DefinitionError",
        "Diagnostic",
        "InvalidDefinition",
        "StatesError",
        "compile_definition",
        "load_definition",
        "validate_definition",
    },
    "stepline.engine": {
        "DEFAULT_MAX_PAYLOAD_BYTES",
        "Clock",
        "Execution",
        "ExecutionIdentity",
        "HeartbeatSink",
        "HistoryEvent",
        "Status",
        "SystemClock",
        "TaskEffect",
        "TaskInvoker",
        "TimerEffect",
        "VirtualClock",
        "drive",
        "error_matches",
    },
    "stepline.tasks": {"TaskContext", "TaskHandler", "TaskRegistry"},
    "stepline.cli": {"main"},
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_is_exactly_the_curated_list(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is in __all__ but missing"


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_no_other_public_names_leak(module_name: str) -> None:
    module = importlib.import_module(module_name)
    leaked = {
        name
        for name in vars(module)
        if not name.startswith("_")
        and name not in module.__all__
        and not isinstance(getattr(module, name), type(importlib))  # submodules
        and name != "annotations"
    }
    assert leaked == set()
