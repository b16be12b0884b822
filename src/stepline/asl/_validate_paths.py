"""Validation of JSONPath paths, intrinsic calls and payload templates, variables included.

In a JSONPath state a path may start from a workflow variable instead of the state's data:
``"total.$": "$cart.total"``, ``"InputPath": "$order"``, ``States.Format('{}', $id)``. AWS
accepts a variable wherever a path reads (templates, intrinsic arguments, ``InputPath``,
``OutputPath``, ``ItemsPath``, the ``…Path`` fields, Choice ``Variable``) and refuses one where
a path writes: ``ResultPath`` (the States Language says it "MUST NOT reference a variable").

Every variable a path reads is noted on the :class:`Context` for the reference checks of
``_validate_variables``. A variable reference is ``$`` followed by a name in the form the path
compiler reads (``[A-Za-z_][A-Za-z0-9_]*``); ``$$`` is the context object and ``$.``/``$[`` the
state's data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._diagnostics import pointer
from stepline.asl._errors import DefinitionError
from stepline.asl._intrinsics import compile_intrinsic, is_intrinsic
from stepline.asl._paths import compile_path, compile_reference_path
from stepline.asl._validate_common import (
    NO_DOLLAR,
    SCHEMA_VALIDATION_FAILED,
    Context,
    describe,
    looks_dynamic,
)

__all__ = [
    "check_dynamic_value",
    "check_path_or_intrinsic",
    "check_reference_path",
    "check_template",
    "intrinsic_variables",
    "path_variable",
]

_VARIABLE_ROOT: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def path_variable(text: str) -> str | None:
    """The variable a path starts from (``$cart.total`` → ``cart``), or ``None``."""
    match = _VARIABLE_ROOT.match(text)
    return match.group(1) if match else None


def intrinsic_variables(text: str) -> list[str]:
    """The variables an intrinsic call's path arguments start from, in order.

    A lexical scan: quoted arguments (``'…'`` with ``\\'`` escapes) are skipped, ``$$`` is the
    context object, and any other ``$`` followed by a name starts a variable reference.
    """
    found: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "'":
            index += 1
            while index < length and text[index] != "'":
                index += 2 if text[index] == "\\" else 1
            index += 1
        elif char == "$":
            if text.startswith("$$", index):
                index += 2
                continue
            name = path_variable(text[index:])
            if name is not None:
                found.append(name)
                index += len(name)
            index += 1
        else:
            index += 1
    return found


def check_reference_path(
    ctx: Context,
    value: Any,
    location: str,
    name: str,
    *,
    nullable: bool = False,
    context_allowed: bool = True,
    variables_allowed: bool = True,
) -> None:
    """Check a reference path field (``InputPath``, ``ItemsPath``, ``SecondsPath``, …).

    Args:
        ctx: Where findings go.
        value: The field's value.
        location: The field's JSON Pointer.
        name: The field's name, for messages.
        nullable: Whether ``null`` is allowed (InputPath, OutputPath, ResultPath).
        context_allowed: Whether a ``$$`` path (the context object) is allowed.
        variables_allowed: Whether the path may start from a workflow variable (``$name``).
    """
    if value is None and nullable:
        return
    if not isinstance(value, str):
        alternative = " or null" if nullable else ""
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a reference path string such as '$' or '$.order'{alternative}, "
            f"got {describe(value)}.",
            location,
        )
        return
    variable = path_variable(value)
    if variable is not None and not variables_allowed:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} cannot reference a workflow variable ('${variable}'): it says where the "
            "result goes in the state's data. Write a path such as '$.result', and assign "
            "variables with 'Assign'.",
            location,
        )
        return
    try:
        compile_reference_path(value)
    except DefinitionError as exc:
        ctx.error(exc.code, f"{name}: {exc.message}", location)
        return
    if variable is not None:
        ctx.reads(variable, location)
    if not context_allowed and value.startswith("$$"):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} cannot point into the context object ('$$'), which is read-only; write "
            "a path into the state's data such as '$.result'.",
            location,
        )


def check_path_or_intrinsic(ctx: Context, value: Any, location: str, name: str) -> None:
    """Check a field that holds a reference path or an intrinsic call (Fail ``ErrorPath``)."""
    if not isinstance(value, str):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a string holding a reference path such as '$.error' or an "
            f"intrinsic function call such as \"States.Format('E{{}}', $.code)\", "
            f"got {describe(value)}.",
            location,
        )
        return
    try:
        if is_intrinsic(value):
            compile_intrinsic(value)
            variables = intrinsic_variables(value)
        else:
            compile_reference_path(value)
            variable = path_variable(value)
            variables = [variable] if variable is not None else []
    except DefinitionError as exc:
        ctx.error(exc.code, f"{name}: {exc.message}", location)
        return
    for variable in variables:
        ctx.reads(variable, location)


def check_dynamic_value(ctx: Context, value: Any, location: str, key: str) -> None:
    """Check the value of a ``"key.$"`` template entry: a JSONPath or an intrinsic call."""
    if not isinstance(value, str):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"The value for the field '{key}' must be a string holding a JSONPath or an "
            f"intrinsic function call, got {describe(value)}; remove '.$' from the key to "
            "use the value as written.",
            location,
        )
        return
    try:
        if is_intrinsic(value):
            compile_intrinsic(value)
            variables = intrinsic_variables(value)
        else:
            compile_path(value)
            variable = path_variable(value)
            variables = [variable] if variable is not None else []
    except DefinitionError as exc:
        ctx.error(
            exc.code,
            f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic "
            f"function call: {exc.message}",
            location,
        )
        return
    for variable in variables:
        ctx.reads(variable, location)


def check_template(ctx: Context, template: Any, location: str, name: str) -> None:
    """Check a payload template (``Parameters``, ``ResultSelector``, ``ItemSelector``, …).

    Walks the whole value: every ``"key.$"`` must hold a valid path or intrinsic call, and a
    plain key whose string value looks like a path gets a ``NO_DOLLAR`` warning. The walk is
    iterative so that a deeply nested template cannot exhaust the interpreter's stack.
    """
    if not isinstance(template, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{name} must be a JSON object (a payload template), got {describe(template)}.",
            location,
        )
        return
    stack: list[tuple[Any, str]] = [(template, location)]
    # A Python caller can pass a value that contains itself; JSON cannot. Visit each
    # container once so that such a value ends the walk instead of looping forever.
    seen: set[int] = set()
    while stack:
        value, here = stack.pop()
        if isinstance(value, Mapping | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        children: list[tuple[Any, str]] = []
        if isinstance(value, Mapping):
            for key, item in value.items():
                child = here + pointer(str(key))
                if isinstance(key, str) and key.endswith(".$"):
                    check_dynamic_value(ctx, item, child, key)
                    continue
                if isinstance(item, str) and looks_dynamic(item):
                    ctx.warning(
                        NO_DOLLAR,
                        f"The value of '{key}' looks like a JSONPath or an intrinsic call, but "
                        "the key does not end in '.$', so it is passed on as the literal "
                        f"string {describe(item)}; rename the key to '{key}.$' to evaluate it.",
                        child,
                    )
                children.append((item, child))
        elif isinstance(value, list):
            children = [(item, here + pointer(index)) for index, item in enumerate(value)]
        # Reversed, so that findings come out in the order the author wrote the fields.
        stack.extend(reversed(children))
