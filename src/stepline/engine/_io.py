"""Input and output processing: InputPath, ResultSelector, ResultPath, OutputPath.

Order, as AWS applies it: ``InputPath`` → ``Parameters`` → (the state's work) →
``ResultSelector`` → ``ResultPath`` (merging the result into the *raw* state input) →
``OutputPath``. Parameters is applied by the caller, since what it feeds differs per state type.
"""

from __future__ import annotations

from typing import Any

from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import dumps_text
from stepline.asl._model import State
from stepline.asl._paths import MISSING, CompiledPath, set_at_path

__all__ = ["apply_input_path", "apply_output_path", "apply_result", "place_result", "select"]


def _no_match(path: CompiledPath, field: str, data: Any) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path.text}' : the {field} selected nothing in "
        f"'{dumps_text(data)[:1000]}'. Check the path, or make sure the state input "
        "contains the field.",
    )


def select(path: CompiledPath, field: str, data: Any, context: Any) -> Any:
    """Evaluate a reference path that must select something (else ``States.Runtime``)."""
    value = path.evaluate(data, context)
    if value is MISSING:
        raise _no_match(path, field, context if path.is_context else data)
    return value


def apply_input_path(state: State, raw_input: Any, context: Any) -> Any:
    """The state's effective input after ``InputPath``."""
    path = state.input_path
    if path is None:
        return {} if state.input_path_null else raw_input
    return select(path, "InputPath", raw_input, context)


def apply_result(state: State, raw_input: Any, result: Any, context: Any) -> Any:
    """The state's output from its result: ``ResultSelector``, ``ResultPath``, ``OutputPath``."""
    if state.result_selector is not None:
        result = state.result_selector(result, context)
    return place_result(state, raw_input, result, context)


def place_result(state: State, raw_input: Any, result: Any, context: Any) -> Any:
    """The state's output from its (selected) result: ``ResultPath``, then ``OutputPath``."""
    keys = state.result_path
    if keys is None:
        output = raw_input
    elif not keys:
        output = result
    else:
        output = set_at_path(raw_input, keys, result)
    return apply_output_path(state, output, context)


def apply_output_path(state: State, output: Any, context: Any) -> Any:
    """The state's output after ``OutputPath``."""
    path = state.output_path
    if path is None:
        return {} if state.output_path_null else output
    return select(path, "OutputPath", output, context)
