"""Validation of a Choice state's rules, in both query languages.

* JSONPath rules (``Variable`` plus a comparison, ``And``/``Or``/``Not``) are checked by
  :func:`~stepline.asl._choice_validate.validate_choice_rule`; this module adds what depends
  on the query language and on variables: the JSONata-only ``Output`` is refused with AWS's
  message, ``Assign`` is checked like a state's, and the variables ``Variable`` and the
  ``…Path`` operands read are noted.
* A JSONata rule is ``Condition`` (``true``, ``false`` or an expression), ``Next``, and
  optionally ``Assign``, ``Output`` and ``Comment``. ``Variable``, the comparison operators and
  ``And``/``Or``/``Not`` are JSONPath's.

Neither a rule's ``Output`` nor its ``Assign`` can read ``$states.result`` (a Choice has no
result) or ``$states.errorOutput``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._choice import BOOLEAN_OPERATORS, COMPARISON_OPERATORS
from stepline.asl._choice_validate import validate_choice_rule
from stepline.asl._diagnostics import pointer
from stepline.asl._validate_common import (
    JSONATA,
    JSONPATH,
    SCHEMA_VALIDATION_FAILED,
    Context,
    Language,
    check_array,
    check_object,
    check_required,
    check_string,
    language_mismatch,
)
from stepline.asl._validate_jsonata import Where, check_boolean_or_expression, check_jsonata_value
from stepline.asl._validate_paths import path_variable
from stepline.asl._validate_variables import check_assign

__all__ = ["validate_choices"]

_JSONPATH_RULE_FIELDS: Final = (
    COMPARISON_OPERATORS | frozenset(BOOLEAN_OPERATORS) | {"Variable", "Comment", "Next", "Assign"}
)
_JSONATA_RULE_FIELDS: Final = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})
_RULE_WHERE: Final = Where("a Choice rule")


def validate_choices(ctx: Context, value: Any, location: str, language: Language) -> None:
    """Check a Choice state's ``Choices`` array and every rule in it.

    Args:
        ctx: Where findings go.
        value: The ``Choices`` value.
        location: Its JSON Pointer, e.g. ``/States/Route/Choices``.
        language: The Choice state's query language.
    """
    rules = check_array(ctx, value, location, "Choices", non_empty=True)
    if rules is None:
        return
    for index, rule in enumerate(rules):
        here = location + pointer(index)
        if check_object(ctx, rule, here, f"Choices[{index}]") is None:
            continue
        if language == JSONATA:
            _jsonata_rule(ctx, rule, here)
        else:
            _jsonpath_rule(ctx, rule, here)


def _jsonpath_rule(ctx: Context, rule: Mapping[Any, Any], location: str) -> None:
    checked = {key: item for key, item in rule.items() if key != "Output"}
    ctx.diagnostics.extend(validate_choice_rule(checked, location, top_level=True))
    if "Output" in rule:
        ctx.error(
            SCHEMA_VALIDATION_FAILED, language_mismatch(JSONPATH, "Output"), location + "/Output"
        )
    if isinstance(rule.get("Assign"), Mapping):
        check_assign(ctx, rule["Assign"], location + "/Assign", JSONPATH, _RULE_WHERE)
    _note_path_variables(ctx, rule, location)


def _note_path_variables(ctx: Context, rule: Any, location: str) -> None:
    """Note the variables a JSONPath rule's ``Variable`` and ``…Path`` operands read."""
    stack: list[tuple[Any, str]] = [(rule, location)]
    while stack:
        node, here = stack.pop()
        if not isinstance(node, Mapping):
            continue
        for key, item in node.items():
            where = here + pointer(str(key))
            if key in ("And", "Or") and isinstance(item, list):
                stack.extend((child, where + pointer(i)) for i, child in enumerate(item))
            elif key == "Not":
                stack.append((item, where))
            elif (key == "Variable" or str(key).endswith("Path")) and isinstance(item, str):
                variable = path_variable(item)
                if variable is not None:
                    ctx.reads(variable, where)


def _jsonata_rule(ctx: Context, rule: Mapping[Any, Any], location: str) -> None:
    for key, item in rule.items():
        here = location + pointer(str(key))
        if key == "Condition":
            check_boolean_or_expression(ctx, item, here, "Condition")
        elif key == "Next":
            check_string(ctx, item, here, "Next", non_empty=True)
        elif key == "Comment":
            check_string(ctx, item, here, "Comment")
        elif key == "Output":
            check_jsonata_value(ctx, item, here, Where("a Choice rule's Output"))
        elif key == "Assign":
            check_assign(ctx, item, here, JSONATA, Where("a Choice rule's Assign"))
        elif key in _JSONPATH_RULE_FIELDS:
            instead = "'Condition' holding a JSONata expression"
            ctx.error(SCHEMA_VALIDATION_FAILED, language_mismatch(JSONATA, key, instead), here)
        else:
            close = difflib.get_close_matches(str(key), sorted(_JSONATA_RULE_FIELDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"'{key}' is not a field of a JSONata Choice rule.{hint} A rule holds "
                "'Condition' and 'Next', and optionally 'Assign', 'Output' and 'Comment'.",
                here,
            )
    check_required(ctx, rule, location, ("Condition", "Next"), "the Choice rule")
