"""Validation of workflow variables: ``Assign`` fields, variable names, and where they are read.

Rules (the States Language's "State Machine Variables" section, and AWS's behaviour):

* ``Assign`` is allowed on every state but Succeed and Fail, on top-level Choice rules and on
  Catchers, in both query languages. Its value is a JSON object; each top-level key names a
  variable. In a JSONPath state it is a payload template (``"total.$": "$.cart.total"`` assigns
  ``total``); in a JSONata state its values may hold expressions at any depth.
* A variable name has at most 80 characters; its first is a Unicode ``ID_Start`` character and
  the others ``ID_Continue`` characters (Unicode Standard Annex #31). ``states`` is reserved.
* Scope: each ``StartAt``/``States`` object (the machine, a Parallel branch, a Map processor) is
  a scope, and a variable belongs to the scope whose states assign it (a Map's or Parallel's
  own ``Assign`` belongs to the scope the Map or Parallel is in). States of an inner scope may
  read the variables of the scopes around them but must not assign one: "the names of
  outer-scoped and inner-scoped variables MUST be unique". Whether AWS refuses such a
  definition is not known, so it is a **warning** (``SHADOWED_VARIABLE``); stepline runs it
  with the inner assignment shadowing the outer variable inside the branch or iteration only.
  Nothing assigned inside a branch or an iteration is visible after it, or to another branch.

The reference check, run once every state has been seen: a variable read in a scope must be
assigned by some state of that scope or of a scope around it (in any order: which states run
before which is the execution's business, so the check never reports a variable that some path
could have assigned, and a loop may read what a later state of it assigns). A variable no such
state assigns is reported at every place it is read, as a **warning** with code
``UNDEFINED_VARIABLE``: AWS accepts such a definition (``CreateStateMachine`` succeeds; the
state fails when it runs, a JSONata expression with "returned nothing (undefined)"), and a
diagnostic of severity ``ERROR`` would refuse what AWS runs. :data:`UNDEFINED_SEVERITY` and
:data:`SHADOWED_SEVERITY` are the one place to change either decision.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._diagnostics import Severity, pointer
from stepline.asl._validate_common import (
    JSONATA,
    SCHEMA_VALIDATION_FAILED,
    SHADOWED_VARIABLE,
    UNDEFINED_VARIABLE,
    Context,
    Language,
    VariableScope,
    describe,
)
from stepline.asl._validate_jsonata import Where, check_jsonata_value
from stepline.asl._validate_paths import check_template

__all__ = [
    "MAX_VARIABLE_NAME_LENGTH",
    "SHADOWED_SEVERITY",
    "UNDEFINED_SEVERITY",
    "check_assign",
    "report_variables",
    "variable_name_problem",
]

MAX_VARIABLE_NAME_LENGTH: Final = 80
UNDEFINED_SEVERITY: Final[Severity] = "WARNING"
SHADOWED_SEVERITY: Final[Severity] = "WARNING"
RESERVED: Final = "states"

_START_CATEGORIES: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl"})
_CONTINUE_CATEGORIES: Final = _START_CATEGORIES | {"Mn", "Mc", "Nd", "Pc"}
# Unicode's Other_ID_Start and Other_ID_Continue (PropList.txt): characters ID_Start and
# ID_Continue include although their category alone would not.
_OTHER_START: Final = frozenset("\u1885\u1886\u2118\u212e\u309b\u309c")
_OTHER_CONTINUE: Final = frozenset(
    "\u00b7\u0387\u1369\u136a\u136b\u136c\u136d\u136e\u136f\u1370\u1371\u19da\u200c\u200d"
    "\u30fb\uff65"
)
# Pattern_Syntax characters that are letters by category (ID_Start excludes them).
_PATTERN_SYNTAX_LETTERS: Final = frozenset("\u2e2f")


def _is_start(char: str) -> bool:
    if char in _OTHER_START:
        return True
    return unicodedata.category(char) in _START_CATEGORIES and char not in _PATTERN_SYNTAX_LETTERS


def _is_continue(char: str) -> bool:
    if _is_start(char) or char in _OTHER_CONTINUE:
        return True
    return unicodedata.category(char) in _CONTINUE_CATEGORIES


def variable_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a variable, or ``None`` if it can."""
    if not name:
        return "a variable name cannot be empty"
    if len(name) > MAX_VARIABLE_NAME_LENGTH:
        return (
            f"it is {len(name)} characters long, and a variable name has at most "
            f"{MAX_VARIABLE_NAME_LENGTH}"
        )
    if name == RESERVED:
        return "'states' is reserved (it is $states, which Step Functions defines)"
    if not _is_start(name[0]):
        return (
            f"it starts with {describe(name[0])}, and a variable name starts with a letter "
            "(a Unicode ID_Start character)"
        )
    bad = next((char for char in name[1:] if not _is_continue(char)), None)
    if bad is not None:
        return (
            f"it contains {describe(bad)}; after the first letter a variable name holds only "
            "letters, digits and '_' (Unicode ID_Continue characters)"
        )
    return None


def check_assign(ctx: Context, value: Any, location: str, language: Language, where: Where) -> None:
    """Check an ``Assign`` field and note the variables it assigns.

    Args:
        ctx: Where findings go; assignments are noted in its current scope.
        value: The field's value.
        location: Its JSON Pointer, e.g. ``/States/A/Assign`` or ``…/Catch/0/Assign``.
        language: The query language of the state the field belongs to.
        where: Which members of ``$states`` its JSONata expressions may read.
    """
    if not isinstance(value, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            "Assign must be a JSON object mapping variable names to their values, "
            f'such as {{"orderId": "o-1"}}, got {describe(value)}.',
            location,
        )
        return
    named: dict[str, str] = {}
    for key in value:
        here = location + pointer(str(key))
        if not isinstance(key, str):
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"Variable names must be strings, got {describe(key)}.",
                here,
            )
            continue
        name = key[:-2] if language != JSONATA and key.endswith(".$") else key
        problem = variable_name_problem(name)
        if problem is not None:
            dynamic = (
                " (in a JSONata state a key is never a path: drop '.$')"
                if (language == JSONATA and key.endswith(".$"))
                else ""
            )
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"{describe(name)} cannot be a variable name: {problem}{dynamic}.",
                here,
            )
            continue
        if name in named:
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"Variable '{name}' is assigned twice in this Assign (as '{named[name]}' and "
                f"'{key}'); keep one.",
                here,
            )
            continue
        named[name] = key
        ctx.assigns(name, here)
    if language == JSONATA:
        for key, item in value.items():
            check_jsonata_value(ctx, item, location + pointer(str(key)), where)
    else:
        check_template(ctx, value, location, "Assign")


def report_variables(ctx: Context) -> None:
    """Report, once every state has been seen, what the scopes of the definition get wrong."""
    for scope in ctx.scopes:
        outer: dict[str, str] = {}
        parent = scope.parent
        while parent is not None:
            for name, places in parent.assigned.items():
                outer.setdefault(name, places[0])
            parent = parent.parent
        for name, places in scope.assigned.items():
            if name in outer:
                for place in places:
                    ctx.add(
                        SHADOWED_VARIABLE,
                        f"Variable '{name}' belongs to an enclosing scope (it is assigned at "
                        f"{outer[name]}), and the States Language does not let a state inside "
                        "a Parallel branch or a Map iteration assign it (inner and outer "
                        "variables must have different names). Here the assignment only "
                        "shadows the outer variable until the branch or iteration ends; rename "
                        "it, or return the value through the branch's or iteration's output.",
                        place,
                        SHADOWED_SEVERITY,
                    )
        _report_undefined(ctx, scope, outer)


def _report_undefined(ctx: Context, scope: VariableScope, outer: Mapping[str, str]) -> None:
    reported: set[tuple[str, str]] = set()
    for name, place in scope.references:
        if name == RESERVED or name in scope.assigned or name in outer:
            continue
        if (name, place) in reported:
            continue
        reported.add((name, place))
        ctx.add(
            UNDEFINED_VARIABLE,
            f"Variable '${name}' is read here, but no Assign in this scope"
            f"{' or an enclosing one' if scope.parent else ''} names '{name}', so it never has "
            "a value here: a path to it fails the state, and a JSONata expression finds "
            f"nothing. Assign '{name}' in an earlier state, or fix the name.",
            place,
            UNDEFINED_SEVERITY,
        )
