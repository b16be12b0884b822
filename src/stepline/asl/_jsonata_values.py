"""JSONata-mode field values: JSON with ``{% … %}`` expressions anywhere in its strings.

In a JSONata state, ``Arguments``, ``Output``, ``Assign``, ``ItemSelector`` and the scalar fields
(``Seconds``, ``TimeoutSeconds``, ``Items``…) are JSON values in which any string written as
``{% expression %}`` is evaluated. A value is compiled once into ``evaluate(bindings)``, where
the bindings are ``$states`` and the workflow variables.

An expression that returns nothing — a whole field, or one nested in an object or array — is
``States.QueryEvaluationError`` ("returned nothing (undefined)") naming the member, as AWS
reports it (``Output/result``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._jsonata import UNDEFINED, CompiledExpression, compile_jsonata

__all__ = [
    "JsonataValue",
    "compile_jsonata_value",
    "expression_text",
    "is_expression",
]

JsonataValue = Callable[[Mapping[str, Any]], Any]
"""A compiled JSONata-mode value: ``evaluate(bindings) -> JSON value``."""

_OPEN: Final = "{%"
_CLOSE: Final = "%}"


def is_expression(value: Any) -> bool:
    """Whether a JSON value is a ``{% … %}`` expression string."""
    return (
        isinstance(value, str)
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
        and len(value) >= 4
    )


def expression_text(value: str) -> str:
    """The expression inside ``{% … %}``."""
    return value[len(_OPEN) : -len(_CLOSE)]


def compile_jsonata_value(value: Any, field: str) -> JsonataValue:
    """Compile a field's value; the whole field may not evaluate to nothing.

    Args:
        value: The value as written in the definition.
        field: The field's name, for error causes (``Arguments``, ``Output``…).

    Raises:
        DefinitionError: An expression does not parse (the validator reports it first).
    """
    if is_expression(value):
        expression: CompiledExpression = compile_jsonata(expression_text(value))

        def evaluate_whole(bindings: Mapping[str, Any]) -> Any:
            result = expression.evaluate(bindings, field)
            if result is UNDEFINED:
                raise expression.undefined_error(field)
            return result

        evaluate_whole.expression_text = expression.text.strip()  # type: ignore[attr-defined]
        return evaluate_whole
    return _compile_nested(value, field)


def _compile_nested(value: Any, field: str) -> JsonataValue:
    """Compile a value in which every nested expression must return something (AWS fails the
    state naming the member, e.g. ``Output/result``)."""
    if is_expression(value):
        return compile_jsonata_value(value, field)
    if isinstance(value, dict):
        members = [(key, _compile_nested(item, f"{field}/{key}")) for key, item in value.items()]
        if all(_is_constant(evaluate) for _, evaluate in members):
            return _constant(value)
        frozen = tuple(members)

        def evaluate_object(bindings: Mapping[str, Any]) -> Any:
            return {key: evaluate(bindings) for key, evaluate in frozen}

        return evaluate_object
    if isinstance(value, list):
        elements = [_compile_nested(item, f"{field}/{index}") for index, item in enumerate(value)]
        if all(_is_constant(evaluate) for evaluate in elements):
            return _constant(value)
        frozen_elements = tuple(elements)

        def evaluate_array(bindings: Mapping[str, Any]) -> Any:
            return [evaluate(bindings) for evaluate in frozen_elements]

        return evaluate_array
    return _constant(value)


def _constant(value: Any) -> JsonataValue:
    def evaluate(bindings: Mapping[str, Any]) -> Any:
        return value

    evaluate.is_constant = True  # type: ignore[attr-defined]
    return evaluate


def _is_constant(evaluate: JsonataValue) -> bool:
    return getattr(evaluate, "is_constant", False)
