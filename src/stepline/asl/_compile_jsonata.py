"""Compile states whose query language is JSONata.

A JSONata state has no InputPath/Parameters/ResultSelector/ResultPath/OutputPath: its data flow
is ``Arguments`` (what a Task, Parallel or Map works on), ``Output`` (what it passes on) and
``Assign`` (variables), every one a JSON value with ``{% … %}`` expressions. Scalar fields
(``Seconds``, ``TimeoutSeconds``, ``MaxConcurrency``, ``Error``…) may be a literal or an
expression: literals go to the model's typed fields, expressions to ``State.expressions``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._jsonata_values import JsonataValue, compile_jsonata_value, is_expression
from stepline.asl._model import (
    Catcher,
    ChoiceBranch,
    ChoiceState,
    FailState,
    ItemBatcher,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from stepline.asl._timestamps import parse_timestamp

__all__ = ["compile_jsonata_state"]

# Scalar fields that may hold one expression instead of a literal.
_SCALAR_FIELDS: Final = (
    "Seconds",
    "Timestamp",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "Error",
    "Cause",
    "Items",
)


# `$states.context`, or `$states` used whole: the engine then builds the context object for the
# state (most JSONata states read only `$states.input`/`result`, and building it is costly).
_READS_CONTEXT: Final = re.compile(r"\$states(?!\s*\.\s*(?:input|result|errorOutput)\b)")


def compile_assign(assign: Mapping[str, Any] | None, where: str = "Assign") -> JsonataValue | None:
    """``Assign`` in JSONata: each variable's value must evaluate to something.

    Args:
        assign: The ``Assign`` object, if any.
        where: Its field name in causes (``Assign``, ``Choices[0]/Assign``, ``Catch[1]/Assign``).
    """
    if assign is None:
        return None
    values = tuple(
        (name, compile_jsonata_value(value, f"{where}/{name}")) for name, value in assign.items()
    )

    def evaluate(bindings: Mapping[str, Any]) -> dict[str, Any]:
        return {name: value(bindings) for name, value in values}

    return evaluate


def _static(body: Mapping[str, Any], field: str) -> Any:
    value = body.get(field)
    return None if is_expression(value) else value


def _item_batcher(
    body: Mapping[str, Any] | None, expressions: dict[str, JsonataValue]
) -> ItemBatcher | None:
    """``ItemBatcher`` in JSONata: literal limits go to the model, expressions and
    ``BatchInput`` (a JSON value with expressions, evaluated once per Map state) to
    ``expressions`` under ``ItemBatcher/<field>``."""
    if body is None:
        return None
    limits: dict[str, int | None] = {}
    for field, attribute in (
        ("MaxItemsPerBatch", "max_items"),
        ("MaxInputBytesPerBatch", "max_bytes"),
    ):
        value = body.get(field)
        if is_expression(value):
            expressions[f"ItemBatcher/{field}"] = compile_jsonata_value(
                value, f"ItemBatcher/{field}"
            )
            value = None
        limits[attribute] = int(value) if value is not None else None
    if "BatchInput" in body:
        expressions["ItemBatcher/BatchInput"] = compile_jsonata_value(
            body["BatchInput"], "ItemBatcher/BatchInput"
        )
    return ItemBatcher(max_items=limits["max_items"], max_bytes=limits["max_bytes"])


def compile_jsonata_state(name: str, body: Mapping[str, Any], machine_language: str) -> State:
    """Compile one JSONata state (``machine_language`` is passed on to nested scopes)."""
    from stepline.asl._compile import _compile_graph, _retriers

    state_type = body["Type"]
    expressions = {
        field: compile_jsonata_value(body[field], field)
        for field in _SCALAR_FIELDS
        if field in body and (is_expression(body[field]) or field == "Items")
    }
    if "ItemSelector" in body:
        expressions["ItemSelector"] = compile_jsonata_value(body["ItemSelector"], "ItemSelector")
    batcher = _item_batcher(body.get("ItemBatcher"), expressions)
    has_output = "Output" in body
    common: dict[str, Any] = {
        "name": name,
        "type": state_type,
        "next": body.get("Next"),
        "end": bool(body.get("End", False)),
        "comment": body.get("Comment"),
        "jsonata": True,
        "handler": state_type + "/JSONata",
        "uses_context": state_type == "Task" or bool(_READS_CONTEXT.search(json.dumps(body))),
        "assign": compile_assign(body.get("Assign")),
        "arguments": (
            compile_jsonata_value(body["Arguments"], "Arguments") if "Arguments" in body else None
        ),
        "output": compile_jsonata_value(body["Output"], "Output") if has_output else None,
        "expressions": expressions,
        "passthrough": not (has_output or "Assign" in body),
    }
    recovery: dict[str, Any] = {
        "retry": _retriers(body),
        "catch": tuple(
            Catcher(
                error_equals=tuple(catcher["ErrorEquals"]),
                next=catcher["Next"],
                assign=compile_assign(catcher.get("Assign"), f"Catch[{index}]/Assign"),
                output=(
                    compile_jsonata_value(catcher["Output"], f"Catch[{index}]/Output")
                    if "Output" in catcher
                    else None
                ),
            )
            for index, catcher in enumerate(body.get("Catch", ()))
        ),
    }
    if state_type == "Pass":
        return PassState(**common)
    if state_type == "Succeed":
        return SucceedState(**common)
    if state_type == "Fail":
        return FailState(**common, error=_static(body, "Error"), cause=_static(body, "Cause"))
    if state_type == "Wait":
        timestamp = _static(body, "Timestamp")
        return WaitState(
            **common,
            seconds=_static(body, "Seconds"),
            timestamp=parse_timestamp(timestamp) if isinstance(timestamp, str) else None,
        )
    if state_type == "Choice":
        return ChoiceState(
            **common,
            choices=tuple(
                ChoiceBranch(
                    matches=None,
                    next=rule["Next"],
                    assign=compile_assign(rule.get("Assign"), f"Choices[{index}]/Assign"),
                    condition=compile_jsonata_value(
                        rule["Condition"], f"Choices[{index}]/Condition"
                    ),
                    output=(
                        compile_jsonata_value(rule["Output"], f"Choices[{index}]/Output")
                        if "Output" in rule
                        else None
                    ),
                )
                for index, rule in enumerate(body["Choices"])
            ),
            default=body.get("Default"),
        )
    if state_type == "Task":
        return TaskState(
            **common,
            **recovery,
            resource=body["Resource"],
            timeout_seconds=_static(body, "TimeoutSeconds"),
            heartbeat_seconds=_static(body, "HeartbeatSeconds"),
            credentials=body.get("Credentials"),
        )
    if state_type == "Parallel":
        return ParallelState(
            **common,
            **recovery,
            branches=tuple(_compile_graph(branch, machine_language) for branch in body["Branches"]),
        )
    if state_type == "Map":
        processor = body["ItemProcessor"]
        percentage = _static(body, "ToleratedFailurePercentage")
        return MapState(
            **common,
            **recovery,
            processor=_compile_graph(processor, machine_language),
            max_concurrency=int(_static(body, "MaxConcurrency") or 0),
            tolerated_failure_count=_static(body, "ToleratedFailureCount"),
            tolerated_failure_percentage=float(percentage) if percentage is not None else None,
            mode=processor.get("ProcessorConfig", {}).get("Mode", "INLINE"),
            label=body.get("Label"),
            batcher=batcher,
        )
    raise AssertionError(f"validated definition has unknown state type {state_type!r}")
