"""Load-time validation of an ASL definition, in both query languages: every check AWS makes.

:func:`validate_definition` reports every problem in one pass, as a list of
:class:`~stepline.asl._diagnostics.Diagnostic` with AWS's codes (``SCHEMA_VALIDATION_FAILED``,
``MISSING_TRANSITION_TARGET``, …) and exact JSON Pointer locations. It never raises: the
compiler raises :class:`~stepline.asl._diagnostics.InvalidDefinition` from the errors, and the
``ValidateStateMachineDefinition`` API returns the list as it is.

This module holds the top level and the graph: the machine's ``QueryLanguage`` (every state's
default, nested ones included), ``StartAt``/``States`` objects (the machine, Parallel branches,
Map processors), state names, transitions and reachability. Each ``States`` object is also a
scope of workflow variables; once every state has been seen, ``_validate_variables`` checks
what the scopes assign and read. Each state's own fields are checked in ``_validate_states``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._diagnostics import Diagnostic, pointer
from stepline.asl._validate_common import (
    DUPLICATE_STATE_NAME,
    INVALID_JSON_DESCRIPTION,
    INVALID_STATE_NAME,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    MISSING_DESCRIPTION,
    MISSING_END_STATE,
    MISSING_TRANSITION_TARGET,
    SCHEMA_VALIDATION_FAILED,
    TOO_DEEPLY_NESTED,
    Context,
    ScopeKind,
    StateSummary,
    VariableScope,
    check_fields,
    check_integer,
    check_required,
    check_string,
    describe,
    quote_list,
)
from stepline.asl._validate_states import report_query_language, validate_state
from stepline.asl._validate_variables import report_variables

__all__ = ["MAX_NESTING_DEPTH", "validate_definition"]

MAX_NESTING_DEPTH: Final = 40
"""How many ``StartAt``/``States`` objects may nest (Parallel in Map in Parallel …).

AWS has a ``TOO_DEEPLY_NESTED`` code but does not document its limit; this one is far beyond
any real workflow and keeps the validator's recursion bounded.
"""

_SCOPE_FIELDS: Final[Mapping[ScopeKind, frozenset[str]]] = {
    "machine": frozenset(
        {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
    ),
    "branch": frozenset({"Comment", "StartAt", "States"}),
    "processor": frozenset({"Comment", "StartAt", "States", "ProcessorConfig"}),
    "iterator": frozenset({"Comment", "StartAt", "States"}),
}
_SCOPE_NAMES: Final[Mapping[ScopeKind, str]] = {
    "machine": "the state machine",
    "branch": "a Parallel branch",
    "processor": "a Map ItemProcessor",
    "iterator": "a Map Iterator",
}
_SCOPE_HINTS: Final[Mapping[str, str]] = {
    "QueryLanguage": "QueryLanguage can only be set for the whole state machine or on a "
    "state; the states here inherit it.",
    "TimeoutSeconds": "only the whole state machine (or a Task state) can have a timeout.",
    "Version": "only the whole state machine has a Version.",
}

# Characters a state name cannot contain: C0 and C1 controls, DEL, lone surrogates (which a
# JSON text can encode as \\ud800) and the non-characters U+FFFE and U+FFFF.
_NAME_FORBIDDEN: Final = frozenset(
    [chr(code) for code in range(0x20)]
    + [chr(code) for code in range(0x7F, 0xA0)]
    + [chr(code) for code in range(0xD800, 0xE000)]
    + ["\ufffe", "\uffff"]
)


def validate_definition(definition: Any, *, max_state_name_length: int = 80) -> list[Diagnostic]:
    """Validate a state machine definition and return every problem found.

    Args:
        definition: The definition: a mapping, or JSON text (``str``/``bytes``) to be parsed
            (which also lets duplicate keys, such as two states with one name, be reported).
        max_state_name_length: The longest state name allowed; AWS's limit is 80.

    Returns:
        All diagnostics, ``ERROR`` and ``WARNING``, in the order found; empty when the
        definition is valid and clean.
    """
    ctx = Context(max_state_name_length=max_state_name_length, validate_scope=_validate_scope)
    if isinstance(definition, str | bytes | bytearray):
        definition = _parse(ctx, definition)
        if definition is _UNREADABLE:
            return ctx.diagnostics
    elif definition is None:
        ctx.error(
            MISSING_DESCRIPTION,
            "The definition is empty; provide a JSON object with StartAt and States.",
            "",
        )
        return ctx.diagnostics
    if not isinstance(definition, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"Definition must be a valid JSON object, got {describe(definition)}.",
            "",
        )
        return ctx.diagnostics
    _validate_machine(ctx, definition)
    _report_missing_targets(ctx)
    report_variables(ctx)
    return ctx.diagnostics


# --- JSON text ------------------------------------------------------------------------------


_UNREADABLE: Final = object()
"""What :func:`_parse` returns for text that is not a JSON value (``None`` is JSON's null)."""


class _NotJSONError(ValueError):
    """A JSON text uses something JSON does not have (NaN, Infinity)."""


def _reject_constant(name: str) -> Any:
    raise _NotJSONError(f"'{name}' is not a JSON value")


def _parse(ctx: Context, text: str | bytes | bytearray) -> Any:
    """Parse JSON text; on failure, record the diagnostic and return :data:`_UNREADABLE`."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            ctx.error(
                INVALID_JSON_DESCRIPTION,
                f"The definition is not UTF-8 text (invalid byte at offset {exc.start}).",
                "",
            )
            return _UNREADABLE
    if not text:
        ctx.error(
            MISSING_DESCRIPTION,
            "The definition is empty; provide a JSON object with StartAt and States.",
            "",
        )
        return _UNREADABLE
    if not text.strip():
        ctx.error(SCHEMA_VALIDATION_FAILED, "Definition must be a valid JSON object.", "")
        return _UNREADABLE
    duplicates: dict[int, list[str]] = {}

    def collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # Like json's default (the last value wins), but remember which keys were repeated;
        # the objects stay alive in the parsed tree, so their ids identify them afterwards.
        obj: dict[str, Any] = {}
        repeated: list[str] = []
        for key, value in pairs:
            if key in obj:
                repeated.append(key)
            obj[key] = value
        if repeated:
            duplicates[id(obj)] = repeated
        return obj

    try:
        parsed = json.loads(text, object_pairs_hook=collect, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        ctx.error(
            INVALID_JSON_DESCRIPTION,
            f"The definition is not valid JSON: {exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}.",
            "",
        )
        return _UNREADABLE
    except ValueError as exc:
        # NaN/Infinity (refused above), or an integer too long for Python to convert.
        ctx.error(INVALID_JSON_DESCRIPTION, f"The definition is not valid JSON: {exc}.", "")
        return _UNREADABLE
    except RecursionError:
        ctx.error(
            INVALID_JSON_DESCRIPTION,
            "The definition is nested too deeply to be read as JSON.",
            "",
        )
        return _UNREADABLE
    if duplicates:
        _report_duplicate_keys(ctx, parsed, duplicates)
    return parsed


def _report_duplicate_keys(ctx: Context, root: Any, duplicates: dict[int, list[str]]) -> None:
    """Report keys that appear twice in one JSON object (the parser kept only the last)."""
    stack: list[tuple[Any, str, str | None]] = [(root, "", None)]
    while stack:
        value, location, key_in_parent = stack.pop()
        if isinstance(value, dict):
            for key in duplicates.get(id(value), ()):
                if key_in_parent == "States":
                    ctx.error(
                        DUPLICATE_STATE_NAME,
                        f"The state name '{key}' is defined more than once in this States "
                        "object; state names must be unique, so rename one of them.",
                        location + pointer(key),
                    )
                else:
                    ctx.error(
                        SCHEMA_VALIDATION_FAILED,
                        f"Field '{key}' appears more than once in this object; only one is "
                        "kept, so remove the others.",
                        location + pointer(key),
                    )
            stack.extend((item, location + pointer(key), key) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, location + pointer(i), None) for i, item in enumerate(value))


# --- the top level --------------------------------------------------------------------------


def _validate_machine(ctx: Context, definition: Mapping[Any, Any]) -> None:
    if "QueryLanguage" in definition:
        language = definition["QueryLanguage"]
        # As for a state: exactly 'JSONPath' is JSONPath, anything else JSONata.
        ctx.machine_language = JSONPATH if language == JSONPATH else JSONATA
        if language not in (JSONPATH, JSONATA):
            report_query_language(ctx, language, "/QueryLanguage", "every state")
    if "Version" in definition and definition["Version"] != "1.0":
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f'Version must be "1.0" (the only version of the States language), got '
            f'{describe(definition["Version"])}; remove it or write "1.0".',
            "/Version",
        )
    if "TimeoutSeconds" in definition:
        check_integer(
            ctx,
            definition["TimeoutSeconds"],
            "/TimeoutSeconds",
            "TimeoutSeconds",
            minimum=1,
            maximum=MAX_SECONDS,
        )
    _validate_scope(ctx, definition, "", "machine")


# --- StartAt/States objects and their graphs -----------------------------------------------


def _validate_scope(ctx: Context, scope: Any, location: str, kind: ScopeKind) -> None:
    """Validate a ``StartAt``/``States`` object: its fields, its states, and its graph.

    Args:
        ctx: Where findings go.
        scope: The object: the definition itself, a Parallel branch, a Map processor.
        location: Its JSON Pointer (``""`` for the definition).
        kind: Which kind of object it is; each allows different fields.
    """
    what = _SCOPE_NAMES[kind]
    if not isinstance(scope, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{what[0].upper()}{what[1:]} must be a JSON object with StartAt and States, "
            f"got {describe(scope)}.",
            location,
        )
        return
    if ctx.depth >= MAX_NESTING_DEPTH:
        ctx.error(
            TOO_DEEPLY_NESTED,
            f"States are nested more than {MAX_NESTING_DEPTH} levels deep (Parallel branches "
            "and Map processors inside each other); flatten the workflow or move the inner "
            "part to its own state machine.",
            location,
        )
        return
    check_fields(ctx, scope, location, _SCOPE_FIELDS[kind], what, hints=_SCOPE_HINTS)
    check_required(ctx, scope, location, ("StartAt", "States"), what)
    if "Comment" in scope:
        check_string(ctx, scope["Comment"], location + "/Comment", "Comment")
    start_at = scope.get("StartAt")
    if "StartAt" in scope and not check_string(
        ctx, start_at, location + "/StartAt", "StartAt", non_empty=True
    ):
        start_at = None
    states = scope.get("States")
    if "States" in scope and not isinstance(states, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"States must be a JSON object mapping each state's name to the state, got "
            f"{describe(states)}.",
            location + "/States",
        )
        return
    if states is None:
        return
    if not states:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            "States must contain at least one state.",
            location + "/States",
        )
        return

    # Names first, so that a name reused inside a nested scope is the one reported.
    for name in states:
        _check_state_name(ctx, name, location + pointer("States", str(name)))
    summaries: dict[Any, StateSummary] = {}
    enclosing = ctx.scope
    ctx.scope = VariableScope(location, enclosing if kind != "machine" else None)
    ctx.scopes.append(ctx.scope)
    ctx.depth += 1
    try:
        for name, body in states.items():
            state_location = location + pointer("States", str(name))
            summaries[name] = validate_state(ctx, body, state_location)
    finally:
        ctx.depth -= 1
        ctx.scope = enclosing
    _check_graph(ctx, location, states, summaries, start_at)


def _check_state_name(ctx: Context, name: Any, location: str) -> None:
    if not isinstance(name, str):
        ctx.error(
            INVALID_STATE_NAME, f"State names must be strings, got {describe(name)}.", location
        )
        return
    if not name:
        ctx.error(INVALID_STATE_NAME, "State names must not be empty.", location)
        return
    if len(name) > ctx.max_state_name_length:
        ctx.error(
            INVALID_STATE_NAME,
            f"Invalid State name: State {describe(name)} is {len(name)} characters long, "
            f"which exceeds the {ctx.max_state_name_length}-character limit; shorten it (and "
            "every field that names it).",
            location,
        )
    bad = sorted({char for char in name if char in _NAME_FORBIDDEN})
    if bad:
        shown = ", ".join(f"U+{ord(char):04X}" for char in bad)
        ctx.error(
            INVALID_STATE_NAME,
            f"Invalid State name: {describe(name)} contains control or invalid characters "
            f"({shown}); remove them.",
            location,
        )
    first = ctx.state_names.get(name)
    if first is not None:
        ctx.error(
            DUPLICATE_STATE_NAME,
            f"Duplicate State name: '{name}' is already defined at {first}; state names must "
            "be unique across the whole state machine, Parallel branches and Map processors "
            "included, so rename one of them.",
            location,
        )
    else:
        ctx.state_names[name] = location


def _check_graph(
    ctx: Context,
    location: str,
    states: Mapping[Any, Any],
    summaries: Mapping[Any, StateSummary],
    start_at: Any,
) -> None:
    """Check a scope's transitions: targets exist, every state is reachable, one can end."""
    for summary in summaries.values():
        for transition in summary.transitions:
            if transition.target not in states:
                ctx.missing_targets.append(transition)
    if isinstance(start_at, str) and start_at:
        if start_at not in states:
            ctx.error(
                MISSING_TRANSITION_TARGET,
                f"Missing 'Next' target: StartAt names '{start_at}', which is not a state "
                f"here; name one of {quote_list(list(states)[:10])}.",
                location + "/StartAt",
            )
        reached = _reachable(start_at, states, summaries)
        for name in states:
            if name not in reached:
                ctx.error(
                    MISSING_TRANSITION_TARGET,
                    f'State "{name}" is not reachable: no StartAt, Next, Default or Catch '
                    "names it. Route to it from another state, or remove it.",
                    location + pointer("States", str(name)),
                )
    if not any(summary.terminal for summary in summaries.values()):
        ctx.error(
            MISSING_END_STATE,
            "Workflow has no terminal state: add a Succeed or Fail state, or 'End': true on "
            f"the last state, in {_scope_description(location)}.",
            location,
        )


def _reachable(
    start_at: str, states: Mapping[Any, Any], summaries: Mapping[Any, StateSummary]
) -> set[str]:
    if start_at not in states:
        return set()
    reached = {start_at}
    pending = [start_at]
    while pending:
        summary = summaries.get(pending.pop())
        for transition in summary.transitions if summary else ():
            target = transition.target
            if target in states and target not in reached:
                reached.add(target)
                pending.append(target)
    return reached


def _scope_description(location: str) -> str:
    return f"the States at {location}/States" if location else "the state machine"


def _report_missing_targets(ctx: Context) -> None:
    """Report transitions to absent states, now that every name in the definition is known."""
    for transition in ctx.missing_targets:
        target = transition.target
        elsewhere = ctx.state_names.get(target)
        if elsewhere is not None:
            advice = (
                f"a state named '{target}' exists at {elsewhere}, but a state can only go to "
                "states of its own States object (a Parallel branch or Map processor is "
                "closed); end the branch instead and continue after the Parallel or Map state."
            )
        else:
            advice = "no state has that name; fix the name or add the state."
        ctx.error(
            MISSING_TRANSITION_TARGET,
            f"Missing 'Next' target: '{target}'; {advice}",
            transition.location,
        )
