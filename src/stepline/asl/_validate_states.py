"""Validation of one state: its query language, its fields, their values, and where it can go.

The rules are tables rather than branches: :data:`STATE_FIELDS` (JSONPath) and
``JSONATA_STATE_FIELDS`` say which fields each state type allows in each query language,
:data:`_FIELD_CHECKS` (and ``JSONATA_FIELD_CHECKS`` for what JSONata does differently) how each
field's value is checked wherever it appears, and :data:`_TYPE_RULES` the few rules that relate
fields of one type (Wait's forms, Task's timeouts, Map's processor). Which ``Next`` targets
exist is checked by the graph pass in ``_validate``; :func:`validate_state` returns the
transitions it found for that purpose.

A state's query language, as AWS resolves it: its own ``QueryLanguage`` when that is exactly
``"JSONPath"`` or ``"JSONata"``, the state machine's top-level one when it has none (inside a
Parallel branch or a Map processor too: the enclosing state's ``QueryLanguage`` covers only its
own fields), and JSONata for any other value (which is also reported). A JSONata state machine
cannot have a JSONPath state; such a state is reported once, with AWS's message, and its fields
are then checked as JSONPath without reporting those only JSONata allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._diagnostics import pointer
from stepline.asl._validate_common import (
    JSONATA,
    JSONPATH,
    PASS_RESULT_IS_STATIC,
    SCHEMA_VALIDATION_FAILED,
    Context,
    Language,
    StateSummary,
    Transition,
    check_array,
    check_exclusive,
    check_fields,
    check_required,
    describe,
    quote_list,
)
from stepline.asl._validate_http import validate_http_task
from stepline.asl._validate_jsonata_states import JSONATA_FIELD_CHECKS, JSONATA_STATE_FIELDS
from stepline.asl._validate_jsonpath_states import (
    JSONPATH_FIELD_CHECKS,
    SHARED_CHECKS,
    STATE_FIELDS,
)
from stepline.asl._validate_map import validate_map
from stepline.asl._validate_recovery import catch_transitions, validate_task_timeouts

__all__ = ["STATE_FIELDS", "STATE_TYPES", "report_query_language", "validate_state"]

TypeRule = Callable[[Context, Mapping[Any, Any], str, Language], None]

STATE_TYPES: Final = tuple(STATE_FIELDS)

_ALL_FIELDS: Final = {
    JSONPATH: frozenset().union(*STATE_FIELDS.values()),
    JSONATA: frozenset().union(*JSONATA_STATE_FIELDS.values()),
}
# Fields only one query language has (Output; InputPath, SecondsPath, …): in a state of the
# other language they get AWS's "only supported for the … QueryLanguage" message.
_ONLY_IN: Final[Mapping[Language, frozenset[str]]] = {
    JSONPATH: _ALL_FIELDS[JSONPATH] - _ALL_FIELDS[JSONATA],
    JSONATA: _ALL_FIELDS[JSONATA] - _ALL_FIELDS[JSONPATH],
}

_REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    "Task": ("Resource",),
    "Choice": ("Choices",),
    "Parallel": ("Branches",),
}

# Types that continue with Next or end with End: true (Choice, Succeed and Fail do neither).
_NEXT_OR_END: Final = frozenset({"Pass", "Task", "Wait", "Parallel", "Map"})

# Advice for a field a type does not allow, when a plain "not supported" would not help.
_SPECIFIC_HINTS: Final[Mapping[str, Mapping[str, str]]] = {
    "Choice": {
        "Next": "a Choice state goes where its matching rule's Next (or Default) says.",
        "End": "a Choice state cannot end the execution; route to a Succeed or Fail state.",
        "ResultPath": "a Choice state passes its input through; use OutputPath to shape it.",
        "Parameters": "a Choice state passes its input through; use InputPath to shape it.",
    },
    "Succeed": {
        "Next": "a Succeed state ends the execution (or its branch); remove it.",
        "End": "a Succeed state always ends the execution (or its branch); remove it.",
    },
    "Fail": {
        "Next": "a Fail state ends the execution (or its branch); remove it.",
        "End": "a Fail state always ends the execution (or its branch); remove it.",
        "InputPath": "a Fail state has no output; remove it.",
        "OutputPath": "a Fail state has no output; remove it.",
    },
    "Wait": {"ResultPath": "a Wait state passes its input through; remove it."},
    "Pass": {
        "ResultSelector": "a Pass state has no task result to select from; use Parameters "
        "or Result.",
    },
}
_GENERAL_HINTS: Final[Mapping[str, str]] = {
    "Retry": "only Task, Parallel and Map states can retry.",
    "Catch": "only Task, Parallel and Map states can catch errors.",
    "TimeoutSeconds": "only Task states have a timeout (the whole state machine can have one "
    "at the top level).",
    "Assign": "Succeed and Fail states end the execution (or their branch), so they cannot "
    "assign variables; assign them in an earlier state.",
}


# The same advice for JSONata states, which have no JSONPath fields to point at.
_SPECIFIC_JSONATA_HINTS: Final[Mapping[str, Mapping[str, str]]] = {
    "Choice": {key: _SPECIFIC_HINTS["Choice"][key] for key in ("Next", "End")},
    "Succeed": _SPECIFIC_HINTS["Succeed"],
    "Fail": {
        **{key: _SPECIFIC_HINTS["Fail"][key] for key in ("Next", "End")},
        "Output": "a Fail state has no output; remove it.",
    },
}


def _hints(state_type: str, language: Language) -> dict[str, str]:
    fields = STATE_FIELDS if language == JSONPATH else JSONATA_STATE_FIELDS
    hints = {name: hint for name, hint in _GENERAL_HINTS.items() if name not in fields[state_type]}
    specific = _SPECIFIC_HINTS if language == JSONPATH else _SPECIFIC_JSONATA_HINTS
    hints.update(specific.get(state_type, {}))
    return hints


_HINTS: Final[Mapping[Language, Mapping[str, Mapping[str, str]]]] = {
    language: {name: _hints(name, language) for name in STATE_FIELDS}
    for language in (JSONPATH, JSONATA)
}


def validate_state(ctx: Context, body: Any, location: str) -> StateSummary:
    """Validate one state and say where it can go.

    Args:
        ctx: Where findings go; nested scopes (Parallel branches, Map processors) are
            validated through it.
        body: The state as written.
        location: Its JSON Pointer, e.g. ``/States/Charge``.

    Returns:
        The state's transitions and whether it can end its scope.
    """
    if not isinstance(body, Mapping):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"A state must be a JSON object with a 'Type' field, got {describe(body)}.",
            location,
        )
        return StateSummary(terminal=True)
    if "Type" not in body:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"These fields are required: [Type]; set it to one of {quote_list(STATE_TYPES)}.",
            location,
        )
        return _lenient_summary(body, location)
    state_type = body["Type"]
    if not isinstance(state_type, str) or state_type not in STATE_FIELDS:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"Type must be one of {quote_list(STATE_TYPES)}, got {describe(state_type)}.",
            location + "/Type",
        )
        return _lenient_summary(body, location)
    language, downgraded = _state_language(ctx, body, location)
    allowed = (STATE_FIELDS if language == JSONPATH else JSONATA_STATE_FIELDS)[state_type]
    other = _ONLY_IN[JSONATA if language == JSONPATH else JSONPATH]
    check_fields(
        ctx,
        body,
        location,
        allowed | other if downgraded else allowed,
        f"a {state_type} state",
        hints=_HINTS[language].get(state_type),
        language=language,
        other_language=() if downgraded else other,
    )
    check_required(ctx, body, location, _REQUIRED.get(state_type, ()), f"the {state_type} state")
    for name, value in body.items():
        if not isinstance(name, str) or name not in allowed:
            continue
        here = location + pointer(name)
        if language == JSONATA:
            check = JSONATA_FIELD_CHECKS.get(name) or SHARED_CHECKS.get(name)
            if check is not None:
                check(ctx, value, here, state_type)
        else:
            jsonpath_check = JSONPATH_FIELD_CHECKS.get(name)
            if jsonpath_check is not None:
                jsonpath_check(ctx, value, here)
    rule = _TYPE_RULES.get(state_type)
    if rule is not None:
        rule(ctx, body, location, language)
    if state_type in _NEXT_OR_END:
        _check_next_or_end(ctx, state_type, body, location)
    return _summary(state_type, body, location)


def _state_language(ctx: Context, body: Mapping[Any, Any], location: str) -> tuple[Language, bool]:
    """Resolve a state's query language, reporting a bad ``QueryLanguage``.

    Returns:
        The language, and whether the state is a JSONPath state that a JSONata state machine
        does not allow (reported here; its JSONata-only fields are then not reported).
    """
    if "QueryLanguage" not in body:
        return ctx.machine_language, False
    value = body["QueryLanguage"]
    here = location + "/QueryLanguage"
    if value == JSONPATH:
        if ctx.machine_language == JSONATA:
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state "
                "machine; a JSONata state machine cannot have JSONPath states. Write this state "
                "in JSONata, or set the top-level QueryLanguage to 'JSONPath' and mark the "
                "JSONata states one by one.",
                here,
            )
            return JSONPATH, True
        return JSONPATH, False
    if value != JSONATA:
        report_query_language(ctx, value, here, "the state")
    return JSONATA, False


def report_query_language(ctx: Context, value: Any, location: str, subject: str) -> None:
    """AWS's message for a ``QueryLanguage`` that is neither ``JSONPath`` nor ``JSONata``.

    Args:
        ctx: Where findings go.
        value: The field's value.
        location: The field's JSON Pointer.
        subject: What the field sets, for the message (``the state``).
    """
    if not isinstance(value, str):
        message = f"Expected value of type [STRING] for QueryLanguage, got {describe(value)}"
    else:
        message = (
            f"Value should be one of the following: [JSONPath, JSONata]; got {describe(value)} "
            "(the names are case-sensitive)"
        )
    ctx.error(
        SCHEMA_VALIDATION_FAILED,
        f"{message}. Any value but 'JSONPath' makes {subject} JSONata.",
        location,
    )


def _check_next_or_end(
    ctx: Context, state_type: str, body: Mapping[Any, Any], location: str
) -> None:
    has_next = "Next" in body
    ends = body.get("End") is True
    if has_next and ends:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"A {state_type} state must have either 'Next' or 'End': true, not both; remove "
            "'End' to continue to the next state, or 'Next' to end here.",
            location,
        )
    elif not has_next and not ends:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"These fields are required: [Next]; a {state_type} state needs 'Next' naming "
            "the state that follows it, or 'End': true if it is the last one.",
            location,
        )


def _summary(state_type: str, body: Mapping[Any, Any], location: str) -> StateSummary:
    """Transitions of a state whose type is known, from the fields that type allows."""
    summary = StateSummary(terminal=state_type in ("Succeed", "Fail") or body.get("End") is True)
    allowed = STATE_FIELDS[state_type]
    if "Next" in allowed and _is_name(body.get("Next")):
        summary.transitions.append(Transition(body["Next"], location + "/Next"))
    if state_type == "Choice":
        choices = body.get("Choices")
        if isinstance(choices, list):
            for index, rule in enumerate(choices):
                if isinstance(rule, Mapping) and _is_name(rule.get("Next")):
                    where = location + pointer("Choices", index, "Next")
                    summary.transitions.append(Transition(rule["Next"], where))
        if _is_name(body.get("Default")):
            summary.transitions.append(Transition(body["Default"], location + "/Default"))
    if "Catch" in allowed:
        summary.transitions.extend(catch_transitions(body.get("Catch"), location + "/Catch"))
    return summary


def _is_name(value: Any) -> bool:
    """Whether a transition field holds something to look up (bad values are reported)."""
    return isinstance(value, str) and value != ""


def _lenient_summary(body: Mapping[Any, Any], location: str) -> StateSummary:
    """Transitions of a state of unknown type: every field that could name a state.

    The state is taken as terminal, so that a misspelt Type is one finding, not also a
    "no terminal state" finding.
    """
    summary = StateSummary(terminal=True)
    if _is_name(body.get("Next")):
        summary.transitions.append(Transition(body["Next"], location + "/Next"))
    if _is_name(body.get("Default")):
        summary.transitions.append(Transition(body["Default"], location + "/Default"))
    summary.transitions.extend(catch_transitions(body.get("Catch"), location + "/Catch"))
    choices = body.get("Choices")
    if isinstance(choices, list):
        for index, rule in enumerate(choices):
            if isinstance(rule, Mapping) and _is_name(rule.get("Next")):
                where = location + pointer("Choices", index, "Next")
                summary.transitions.append(Transition(rule["Next"], where))
    return summary


# --- rules relating the fields of one type ------------------------------------------------


def _pass_rule(ctx: Context, body: Mapping[Any, Any], location: str, language: Language) -> None:
    if "Result" not in body or language == JSONATA:
        return
    stack: list[Any] = [body["Result"]]
    seen: set[int] = set()  # a Python value may contain itself; visit each container once
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, Mapping):
            if any(isinstance(key, str) and key.endswith(".$") for key in value):
                ctx.warning(
                    PASS_RESULT_IS_STATIC,
                    "Result is used exactly as written, so its keys ending in '.$' are not "
                    "evaluated; to build the output from the input, use Parameters instead.",
                    location + "/Result",
                )
                return
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _task_rule(ctx: Context, body: Mapping[Any, Any], location: str, language: Language) -> None:
    validate_task_timeouts(ctx, body, location)
    validate_http_task(ctx, body, location, language)


def _wait_rule(ctx: Context, body: Mapping[Any, Any], location: str, language: Language) -> None:
    if language == JSONPATH:
        forms: tuple[str, ...] = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
    else:
        forms = ("Seconds", "Timestamp")
        if any(name in body for name in ("SecondsPath", "TimestampPath")):
            # Already reported as JSONPath-only; asking for one of the others too is noise.
            check_exclusive(ctx, body, location, forms, "A Wait state")
            return
    check_exclusive(ctx, body, location, forms, "A Wait state", exactly_one=True)


def _fail_rule(ctx: Context, body: Mapping[Any, Any], location: str, language: Language) -> None:
    if language == JSONATA:
        return  # no ErrorPath/CausePath (they are reported as JSONPath-only)
    check_exclusive(ctx, body, location, ("Error", "ErrorPath"), "A Fail state")
    check_exclusive(ctx, body, location, ("Cause", "CausePath"), "A Fail state")


def _parallel_rule(
    ctx: Context, body: Mapping[Any, Any], location: str, language: Language
) -> None:
    if "Branches" not in body:
        return
    here = location + "/Branches"
    branches = check_array(ctx, body["Branches"], here, "Branches", non_empty=True)
    for index, branch in enumerate(branches or ()):
        ctx.validate_scope(ctx, branch, here + pointer(index), "branch")


_TYPE_RULES: Final[Mapping[str, TypeRule]] = {
    "Pass": _pass_rule,
    "Task": _task_rule,
    "Wait": _wait_rule,
    "Fail": _fail_rule,
    "Parallel": _parallel_rule,
    "Map": validate_map,
}
