"""Turn a definition (dict or JSON text) into a :class:`CompiledDefinition`, once.

Validation runs first and reports every problem at once; compilation then assumes a valid
definition and turns every path, template, intrinsic and Choice rule into a callable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from stepline.asl._choice import compile_choice_rule
from stepline.asl._diagnostics import InvalidDefinition, pointer
from stepline.asl._intrinsics import compile_intrinsic, is_intrinsic
from stepline.asl._model import (
    Catcher,
    ChoiceBranch,
    ChoiceState,
    CompiledDefinition,
    Evaluator,
    FailState,
    ItemBatcher,
    MapState,
    ParallelState,
    PassState,
    Retrier,
    State,
    StateGraph,
    SucceedState,
    TaskState,
    WaitState,
)
from stepline.asl._paths import CompiledPath, Key, compile_path, compile_reference_path
from stepline.asl._templates import compile_template, template_uses_context
from stepline.asl._timestamps import parse_timestamp
from stepline.asl._validate import validate_definition

__all__ = ["compile_definition", "load_definition"]


def load_definition(definition: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    """Accept a definition as a mapping or as JSON text.

    Raises:
        InvalidDefinition: The text is not JSON, or does not hold a JSON object.
    """
    if isinstance(definition, str | bytes):
        try:
            parsed = json.loads(definition)
        except json.JSONDecodeError as exc:
            raise InvalidDefinition.single(
                "INVALID_JSON_DESCRIPTION",
                f"The definition is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}.",
            ) from None
        definition = parsed
    if not isinstance(definition, Mapping):
        raise InvalidDefinition.single(
            "SCHEMA_VALIDATION_FAILED",
            f"The definition must be a JSON object, got {type(definition).__name__}.",
        )
    return definition


def compile_definition(definition: Mapping[str, Any] | str | bytes) -> CompiledDefinition:
    """Validate and compile a definition.

    Args:
        definition: The definition as a mapping or as JSON text.

    Returns:
        The compiled definition.

    Raises:
        InvalidDefinition: With every diagnostic of severity ``ERROR`` found.
    """
    # Text goes to the validator as text, so that duplicate keys (which json.loads would
    # silently collapse) are reported.
    diagnostics = validate_definition(definition)
    if any(d.severity == "ERROR" for d in diagnostics):
        raise InvalidDefinition(diagnostics)
    loaded = load_definition(definition)
    graph = _compile_graph(loaded, loaded.get("QueryLanguage", "JSONPath"))
    return CompiledDefinition(
        graph=graph,
        definition=loaded,
        timeout_seconds=loaded.get("TimeoutSeconds"),
        comment=loaded.get("Comment"),
        query_language=loaded.get("QueryLanguage", "JSONPath"),
        state_count=_count_states(graph),
    )


def _count_states(graph: StateGraph) -> int:
    total = 0
    for state in graph.states.values():
        total += 1
        if isinstance(state, ParallelState):
            total += sum(_count_states(branch) for branch in state.branches)
        elif isinstance(state, MapState):
            total += _count_states(state.processor)
    return total


def _compile_graph(scope: Mapping[str, Any], language: str) -> StateGraph:
    """Compile a scope; ``language`` is the machine's QueryLanguage, which every state inherits
    (a Parallel branch or Map processor too) unless it sets its own."""
    states = {name: _compile_state(name, body, language) for name, body in scope["States"].items()}
    return StateGraph(start_at=scope["StartAt"], states=states)


def _optional_ref(body: Mapping[str, Any], field: str) -> CompiledPath | None:
    text = body.get(field)
    return compile_reference_path(text) if isinstance(text, str) else None


def _io_path(body: Mapping[str, Any], field: str) -> tuple[CompiledPath | None, bool]:
    """Return (path, is_null) for InputPath/OutputPath; ``$`` compiles to ``None`` (identity)."""
    if field not in body:
        return None, False
    text = body[field]
    if text is None:
        return None, True
    path = compile_reference_path(text)
    return (None if not path.keys and not path.is_context else path), False


def _result_path(body: Mapping[str, Any], field: str = "ResultPath") -> tuple[Key, ...] | None:
    if field not in body:
        return ()
    text = body[field]
    if text is None:
        return None
    keys = compile_reference_path(text).keys
    return keys if keys is not None else ()


def _retriers(body: Mapping[str, Any]) -> tuple[Retrier, ...]:
    return tuple(
        Retrier(
            error_equals=tuple(retrier["ErrorEquals"]),
            interval_seconds=float(retrier.get("IntervalSeconds", 1)),
            max_attempts=int(retrier.get("MaxAttempts", 3)),
            backoff_rate=float(retrier.get("BackoffRate", 2.0)),
            max_delay_seconds=(
                float(retrier["MaxDelaySeconds"]) if "MaxDelaySeconds" in retrier else None
            ),
            jitter_strategy=retrier.get("JitterStrategy", "NONE"),
        )
        for retrier in body.get("Retry", ())
    )


def _catchers(body: Mapping[str, Any]) -> tuple[Catcher, ...]:
    return tuple(
        Catcher(
            error_equals=tuple(catcher["ErrorEquals"]),
            next=catcher["Next"],
            result_path=_result_path(catcher),
            assign=_assign(catcher),
        )
        for catcher in body.get("Catch", ())
    )


def _assign(body: Mapping[str, Any]) -> Evaluator | None:
    """``Assign`` in a JSONPath state: a payload template whose keys are variable names."""
    return compile_template(body["Assign"], "Assign") if "Assign" in body else None


def _template(body: Mapping[str, Any], field: str) -> Evaluator | None:
    return compile_template(body[field], field) if field in body else None


# `$name` at the start of a string ("x.$": "$order.id") or inside an intrinsic call
# (States.Format('{}', $order)); a literal that merely looks like one errs towards building `$$`.
_VARIABLE_REFERENCE = re.compile(r"(?<![\w$])\$[A-Za-z_]")


def _reads_context(body: Mapping[str, Any]) -> bool:
    """Whether the state reads ``$$`` or a variable (the engine builds ``$$`` only for those).

    Variables travel with the context object, so a state that reads one needs it too; the
    check errs on the side of building it (a literal string that looks like ``$name`` counts).
    """
    if "Assign" in body or _VARIABLE_REFERENCE.search(json.dumps(body)):
        return True
    for field, value in body.items():
        if field in ("Parameters", "ResultSelector", "ItemSelector") and template_uses_context(
            value
        ):
            return True
        if field.endswith("Path") and isinstance(value, str) and value.startswith("$$"):
            return True
        if field in ("Choices", "ItemBatcher") and "$$" in json.dumps(value):
            return True  # rules, BatchInput and the …PerBatchPath fields may read $$
    return False


def _path_or_intrinsic(text: str) -> Evaluator:
    if is_intrinsic(text):
        return compile_intrinsic(text)
    return compile_path(text).evaluate


# Fields that make a state's output differ from its input, or have side effects (Assign).
_IO_FIELDS = (
    "InputPath",
    "Parameters",
    "Result",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Assign",
)


def _compile_state(name: str, body: Mapping[str, Any], language: str) -> State:
    """Compile one state; ``language`` is the machine's (inherited) QueryLanguage."""
    if body.get("QueryLanguage", language) == "JSONata":
        from stepline.asl._compile_jsonata import compile_jsonata_state

        return compile_jsonata_state(name, body, language)
    state_type = body["Type"]
    input_path, input_null = _io_path(body, "InputPath")
    output_path, output_null = _io_path(body, "OutputPath")
    common: dict[str, Any] = {
        "name": name,
        "type": state_type,
        "next": body.get("Next"),
        "end": bool(body.get("End", False)),
        "comment": body.get("Comment"),
        "input_path": input_path,
        "input_path_null": input_null,
        "output_path": output_path,
        "output_path_null": output_null,
        "result_path": _result_path(body),
        "uses_context": _reads_context(body),
        "assign": _assign(body),
        "passthrough": not any(field in body for field in _IO_FIELDS),
        "handler": state_type,
    }
    if state_type == "Pass":
        return PassState(
            **common,
            parameters=_template(body, "Parameters"),
            result=body.get("Result"),
            has_result="Result" in body,
        )
    if state_type == "Task":
        return TaskState(
            **common,
            parameters=_template(body, "Parameters"),
            result_selector=_template(body, "ResultSelector"),
            retry=_retriers(body),
            catch=_catchers(body),
            resource=body["Resource"],
            timeout_seconds=body.get("TimeoutSeconds"),
            timeout_seconds_path=_optional_ref(body, "TimeoutSecondsPath"),
            heartbeat_seconds=body.get("HeartbeatSeconds"),
            heartbeat_seconds_path=_optional_ref(body, "HeartbeatSecondsPath"),
            credentials=body.get("Credentials"),
        )
    if state_type == "Choice":
        return ChoiceState(
            **common,
            choices=tuple(
                ChoiceBranch(
                    matches=compile_choice_rule(
                        rule, location=pointer("States", name, "Choices", index)
                    ),
                    next=rule["Next"],
                    assign=_assign(rule),
                )
                for index, rule in enumerate(body["Choices"])
            ),
            default=body.get("Default"),
        )
    if state_type == "Wait":
        timestamp = body.get("Timestamp")
        return WaitState(
            **common,
            seconds=body.get("Seconds"),
            timestamp=parse_timestamp(timestamp) if isinstance(timestamp, str) else None,
            seconds_path=_optional_ref(body, "SecondsPath"),
            timestamp_path=_optional_ref(body, "TimestampPath"),
        )
    if state_type == "Succeed":
        return SucceedState(**common)
    if state_type == "Fail":
        error_path = body.get("ErrorPath")
        cause_path = body.get("CausePath")
        return FailState(
            **common,
            error=body.get("Error"),
            cause=body.get("Cause"),
            error_path=_path_or_intrinsic(error_path) if error_path else None,
            cause_path=_path_or_intrinsic(cause_path) if cause_path else None,
            error_path_text=error_path,
            cause_path_text=cause_path,
        )
    if state_type == "Parallel":
        return ParallelState(
            **common,
            parameters=_template(body, "Parameters"),
            result_selector=_template(body, "ResultSelector"),
            retry=_retriers(body),
            catch=_catchers(body),
            branches=tuple(_compile_graph(branch, language) for branch in body["Branches"]),
        )
    if state_type == "Map":
        return _compile_map(body, common, language)
    raise AssertionError(f"validated definition has unknown state type {state_type!r}")


def _compile_map(body: Mapping[str, Any], common: dict[str, Any], language: str) -> MapState:
    processor = body.get("ItemProcessor") or body["Iterator"]
    config = processor.get("ProcessorConfig", {}) if "ItemProcessor" in body else {}
    selector_field = "ItemSelector" if "ItemSelector" in body else "Parameters"
    percentage = body.get("ToleratedFailurePercentage")
    return MapState(
        **common,
        result_selector=_template(body, "ResultSelector"),
        retry=_retriers(body),
        catch=_catchers(body),
        processor=_compile_graph(processor, language),
        items_path=_optional_ref(body, "ItemsPath"),
        item_selector=_template(body, selector_field),
        max_concurrency=int(body.get("MaxConcurrency", 0)),
        max_concurrency_path=_optional_ref(body, "MaxConcurrencyPath"),
        tolerated_failure_count=body.get("ToleratedFailureCount"),
        tolerated_failure_count_path=_optional_ref(body, "ToleratedFailureCountPath"),
        tolerated_failure_percentage=float(percentage) if percentage is not None else None,
        tolerated_failure_percentage_path=_optional_ref(body, "ToleratedFailurePercentagePath"),
        mode=config.get("Mode", "INLINE"),
        label=body.get("Label"),
        batcher=_item_batcher(body["ItemBatcher"]) if "ItemBatcher" in body else None,
    )


def _item_batcher(body: Mapping[str, Any]) -> ItemBatcher:
    return ItemBatcher(
        max_items=body.get("MaxItemsPerBatch"),
        max_items_path=_optional_ref(body, "MaxItemsPerBatchPath"),
        max_bytes=body.get("MaxInputBytesPerBatch"),
        max_bytes_path=_optional_ref(body, "MaxInputBytesPerBatchPath"),
        batch_input=_template(body, "BatchInput"),
    )
