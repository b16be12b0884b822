"""stepline: run Amazon States Language workflows anywhere Python runs.

Quick start::

    from stepline import StateMachine

    machine = StateMachine({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}})
    result = machine.run({"name": "Ada"})
    assert result.status == "SUCCEEDED"
"""

from __future__ import annotations

from stepline._execution_logging import ExecutionLogging
from stepline._statemachine import ExecutionResult, InvalidExecutionInput, StateMachine
from stepline.asl import Diagnostic, InvalidDefinition, StatesError, validate_definition
from stepline.engine import HistoryEvent, SystemClock, TaskTokenError, TaskTokens, VirtualClock
from stepline.tasks import TaskContext, TaskRegistry

__all__ = [
    "Diagnostic",
    "ExecutionLogging",
    "ExecutionResult",
    "HistoryEvent",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "StateMachine",
    "StatesError",
    "SystemClock",
    "TaskContext",
    "TaskRegistry",
    "TaskTokenError",
    "TaskTokens",
    "VirtualClock",
    "validate_definition",
]

__version__ = "0.1.0"
