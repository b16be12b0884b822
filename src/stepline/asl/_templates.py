"""Payload templates: ``Parameters``, ``ResultSelector``, ``ItemSelector`` (JSONPath mode).

A template is a JSON value whose object keys ending in ``.$`` are dynamic: the value is a path
(``$.order.id``, ``$$.Execution.Id``) or an intrinsic call (``States.Format(...)``), and the key
loses its ``.$`` suffix in the result. Everything else is copied as written.

Templates are compiled once into a tree of closures. Static sub-trees are shared between
evaluations, which is safe because stepline never mutates a JSON value after it is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepline.asl._errors import RUNTIME, DefinitionError, StatesError
from stepline.asl._intrinsics import compile_intrinsic, is_intrinsic
from stepline.asl._json import dumps_text
from stepline.asl._paths import MISSING, compile_path

__all__ = ["Evaluator", "compile_template", "template_uses_context"]

Evaluator = Callable[[Any, Any], Any]
"""A compiled expression: ``evaluate(input, context) -> JSON value``."""


def compile_template(template: Any, field: str = "Parameters") -> Evaluator:
    """Compile a payload template into ``evaluate(input, context) -> value``.

    Args:
        template: The template as written in the definition.
        field: The field it came from, used in runtime error messages.

    Returns:
        The evaluator. Evaluating it raises :class:`StatesError` (``States.Runtime`` when a path
        selects nothing, ``States.IntrinsicFailure`` from intrinsics), never anything else.

    Raises:
        DefinitionError: A ``.$`` value is not a string, a path or an intrinsic call.
    """
    if isinstance(template, dict):
        return _compile_object(template, field)
    if isinstance(template, list):
        items = [compile_template(item, field) for item in template]
        if all(_constant_of(item) is not None for item in items):
            return _constant(template)
        return lambda data, context: [item(data, context) for item in items]
    return _constant(template)


class _Constant:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _constant(value: Any) -> Evaluator:
    def evaluate(data: Any, context: Any) -> Any:
        return value

    evaluate.constant = _Constant(value)  # type: ignore[attr-defined]
    return evaluate


def _constant_of(evaluator: Evaluator) -> _Constant | None:
    return getattr(evaluator, "constant", None)


def _compile_object(template: dict[str, Any], field: str) -> Evaluator:
    # Entries keep the author's key order; JSON objects are unordered, but people read output.
    entries: list[tuple[str, Evaluator | None, Any]] = []
    for key, value in template.items():
        if key.endswith(".$"):
            entries.append((key[:-2], compile_dynamic_value(value, key, field), None))
            continue
        compiled = compile_template(value, field)
        constant = _constant_of(compiled)
        if constant is not None:
            entries.append((key, None, constant.value))
        else:
            entries.append((key, compiled, None))
    if all(fn is None for _, fn, _ in entries):
        return _constant({key: value for key, _, value in entries})
    frozen = tuple(entries)

    def evaluate_object(data: Any, context: Any) -> Any:
        return {key: (value if fn is None else fn(data, context)) for key, fn, value in frozen}

    return evaluate_object


def compile_dynamic_value(value: Any, key: str, field: str) -> Evaluator:
    """Compile the value of one ``"key.$"`` entry: a path or an intrinsic call."""
    if not isinstance(value, str):
        raise DefinitionError(
            f"The value of '{key}' must be a string holding a JSONPath or an intrinsic "
            f"function call, got {type(value).__name__}. Remove '.$' from the key to use a "
            "literal value.",
            "INVALID_JSON_PATH",
        )
    if is_intrinsic(value):
        return compile_intrinsic(value)
    path = compile_path(value)
    path_evaluate = path.evaluate
    text = path.text
    is_context = path.is_context
    variable = path.variable

    def missing(data: Any, context: Any) -> StatesError:
        if variable is not None:
            variables = getattr(context, "variables", None) or {}
            where = f"the variable '${variable}'"
            if variable in variables:
                where += f" '{dumps_text(variables[variable])}'"
            return StatesError(
                RUNTIME,
                f"The JSONPath '{text}' specified for the field '{key}' could not be found "
                f"in {where}",
            )
        source = "context object" if is_context else "input"
        shown = context if is_context else data
        return StatesError(
            RUNTIME,
            f"The JSONPath '{text}' specified for the field '{key}' could not be found "
            f"in the {source} '{dumps_text(shown)}'",
        )

    keys = path.keys
    if (
        keys is not None
        and not is_context
        and variable is None
        and len(keys) == 1
        and type(keys[0]) is str
    ):
        # `"x.$": "$.field"` is by far the most common template entry: one dict lookup.
        member = keys[0]

        def evaluate_member(data: Any, context: Any) -> Any:
            if type(data) is dict:
                result = data.get(member, MISSING)
                if result is not MISSING:
                    return result
            raise missing(data, context)

        return evaluate_member

    def evaluate_path(data: Any, context: Any) -> Any:
        result = path_evaluate(data, context)
        if result is MISSING:
            raise missing(data, context)
        return result

    return evaluate_path


def template_uses_context(template: Any) -> bool:
    """Whether any ``.$`` value of the template reads the context object (``$$``)."""
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str) and "$$" in value:
                return True
            if template_uses_context(value):
                return True
        return False
    if isinstance(template, list):
        return any(template_uses_context(item) for item in template)
    return False
