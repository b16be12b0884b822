"""Validation of one state (JSONPath mode): its fields, their values, and where it can go.

The rules are tables rather than branches: :data:`STATE_FIELDS` says which fields each state
type allows, :data:`_FIELD_CHECKS` how each field's value is checked wherever it appears, and
:data:`_TYPE_RULES` the few rules that relate fields of one type (Wait's four forms, Task's
timeouts, Map's processor). Which ``Next`` targets exist is checked by the graph pass in
``_validate``; :func:`validate_state` returns the transitions it found for that purpose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._choice_validate import validate_choice_rule
from stepline.asl._diagnostics import pointer
from stepline.asl._timestamps import parse_timestamp
from stepline.asl._validate_common import (
    INVALID_RESOURCE,
    NO_PATH,
    PASS_RESULT_IS_STATIC,
    SCHEMA_VALIDATION_FAILED,
    UNSUPPORTED_FEATURE,
    Context,
    StateSummary,
    Transition,
    check_array,
    check_boolean,
    check_dynamic_value,
    check_exclusive,
    check_fields,
    check_integer,
    check_number,
    check_object,
    check_path_or_intrinsic,
    check_reference_path,
    check_required,
    check_string,
    check_template,
    describe,
    quote_list,
)
from stepline.asl._validate_map import validate_map
from stepline.asl._validate_recovery import (
    catch_transitions,
    validate_catch,
    validate_retry,
    validate_task_timeouts,
)

__all__ = ["STATE_FIELDS", "STATE_TYPES", "validate_state"]

FieldCheck = Callable[[Context, Any, str], None]
TypeRule = Callable[[Context, Mapping[Any, Any], str], None]

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW: Final = frozenset({"Next", "End"})
_IO: Final = frozenset({"InputPath", "OutputPath"})
_RESULT: Final = frozenset({"ResultPath"})
_RECOVERY: Final = frozenset({"Retry", "Catch"})

STATE_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "Pass": _COMMON | _FLOW | _IO | _RESULT | {"Parameters", "Result"},
    "Task": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _RECOVERY
    | {
        "Parameters",
        "ResultSelector",
        "Resource",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Wait": _COMMON | _FLOW | _IO | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _RECOVERY
    | {"Parameters", "ResultSelector", "Branches"},
    "Map": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _RECOVERY
    | {
        "ResultSelector",
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ItemReader",
        "ResultWriter",
        "ItemBatcher",
        "Label",
    },
}
"""The fields each state type allows in JSONPath mode."""

STATE_TYPES: Final = tuple(STATE_FIELDS)

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
}


def _hints(state_type: str) -> dict[str, str]:
    hints = {
        name: hint for name, hint in _GENERAL_HINTS.items() if name not in STATE_FIELDS[state_type]
    }
    hints.update(_SPECIFIC_HINTS.get(state_type, {}))
    return hints


_HINTS: Final[Mapping[str, Mapping[str, str]]] = {name: _hints(name) for name in STATE_FIELDS}

# An ARN: arn:partition:service:region:account:resource (region and account may be empty,
# as in 'arn:aws:states:::http:invoke').
_ARN: Final = re.compile(r"arn:[a-z][a-z0-9-]*:[a-z0-9][a-z0-9.-]*:[a-z0-9-]*:(\d{12})?:\S+")
# Any other absolute URI: a scheme, a colon, and no whitespace.
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


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
    if not _check_query_language(ctx, body, location):
        # A JSONata state follows other rules; report that once rather than every field.
        return _summary(state_type, body, location)

    allowed = STATE_FIELDS[state_type]
    check_fields(
        ctx, body, location, allowed, f"a {state_type} state", hints=_HINTS.get(state_type)
    )
    check_required(ctx, body, location, _REQUIRED.get(state_type, ()), f"the {state_type} state")
    for name, value in body.items():
        check = _FIELD_CHECKS.get(name) if isinstance(name, str) and name in allowed else None
        if check is not None:
            check(ctx, value, location + pointer(name))
    rule = _TYPE_RULES.get(state_type)
    if rule is not None:
        rule(ctx, body, location)
    if state_type in _NEXT_OR_END:
        _check_next_or_end(ctx, state_type, body, location)
    return _summary(state_type, body, location)


def _check_query_language(ctx: Context, body: Mapping[Any, Any], location: str) -> bool:
    """Check a state's ``QueryLanguage``; return False when the state is JSONata."""
    if "QueryLanguage" not in body:
        return True
    value = body["QueryLanguage"]
    if value == "JSONPath":
        return True
    if value == "JSONata":
        ctx.error(
            UNSUPPORTED_FEATURE,
            "JSONata is not supported by this version of stepline; write this state in "
            "JSONPath (remove QueryLanguage or set it to 'JSONPath').",
            location + "/QueryLanguage",
        )
        return False
    ctx.error(
        SCHEMA_VALIDATION_FAILED,
        f"QueryLanguage must be 'JSONPath' or 'JSONata', got {describe(value)}.",
        location + "/QueryLanguage",
    )
    return True


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


# --- per-field checks -------------------------------------------------------------------------


def _comment(ctx: Context, value: Any, location: str) -> None:
    check_string(ctx, value, location, "Comment")


def _next(ctx: Context, value: Any, location: str) -> None:
    check_string(ctx, value, location, "Next", non_empty=True)


def _end(ctx: Context, value: Any, location: str) -> None:
    check_boolean(ctx, value, location, "End")


def _io_path(name: str) -> FieldCheck:
    def check(ctx: Context, value: Any, location: str) -> None:
        check_reference_path(ctx, value, location, name, nullable=True)

    return check


def _result_path(ctx: Context, value: Any, location: str) -> None:
    check_reference_path(ctx, value, location, "ResultPath", nullable=True, context_allowed=False)


def _reference_path(name: str) -> FieldCheck:
    def check(ctx: Context, value: Any, location: str) -> None:
        check_reference_path(ctx, value, location, name)

    return check


def _template(name: str) -> FieldCheck:
    def check(ctx: Context, value: Any, location: str) -> None:
        check_template(ctx, value, location, name)

    return check


def _integer(name: str, minimum: int) -> FieldCheck:
    def check(ctx: Context, value: Any, location: str) -> None:
        check_integer(ctx, value, location, name, minimum=minimum)

    return check


def _path_or_intrinsic(name: str) -> FieldCheck:
    def check(ctx: Context, value: Any, location: str) -> None:
        check_path_or_intrinsic(ctx, value, location, name)

    return check


def _static_text(name: str, dynamic: str) -> FieldCheck:
    """``Error``/``Cause``: a string; one that looks like a path was meant for ``…Path``."""

    def check(ctx: Context, value: Any, location: str) -> None:
        if check_string(ctx, value, location, name) and value.startswith("$"):
            ctx.warning(
                NO_PATH,
                f"The value of '{name}' looks like a path, but it is used as the literal "
                f"text {describe(value)}; to read it from the input, use '{dynamic}' instead.",
                location,
            )

    return check


def _timestamp(ctx: Context, value: Any, location: str) -> None:
    if not check_string(ctx, value, location, "Timestamp"):
        return
    if parse_timestamp(value) is None:
        hint = " (to read it from the input, use TimestampPath)" if value.startswith("$") else ""
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"Timestamp must be an ISO 8601 date-time with a time zone, such as "
            f"'2026-03-14T01:59:00Z', got {describe(value)}{hint}.",
            location,
        )


def _resource(ctx: Context, value: Any, location: str) -> None:
    if not isinstance(value, str):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"Resource must be a string such as 'arn:aws:states:::http:invoke', "
            f"got {describe(value)}.",
            location,
        )
        return
    if value.startswith("arn:"):
        if _ARN.fullmatch(value) is None:
            ctx.error(
                INVALID_RESOURCE,
                f"Resource {describe(value)} is not a valid ARN; write it as "
                "'arn:<partition>:<service>:<region>:<account>:<resource>', e.g. "
                "'arn:aws:states:::http:invoke'.",
                location,
            )
    elif _URI.fullmatch(value) is None:
        ctx.error(
            INVALID_RESOURCE,
            f"Resource {describe(value)} is not an ARN or a URI; name the task with an ARN "
            "such as 'arn:aws:states:::http:invoke' or "
            "'arn:aws:states:us-east-1:123456789012:activity:Review'.",
            location,
        )


def _credentials(ctx: Context, value: Any, location: str) -> None:
    credentials = check_object(ctx, value, location, "Credentials")
    if credentials is None:
        return
    check_fields(ctx, credentials, location, ("RoleArn", "RoleArn.$"), "Credentials")
    check_exclusive(
        ctx, credentials, location, ("RoleArn", "RoleArn.$"), "Credentials", exactly_one=True
    )
    if "RoleArn" in credentials:
        check_string(ctx, credentials["RoleArn"], location + "/RoleArn", "RoleArn", non_empty=True)
    if "RoleArn.$" in credentials:
        check_dynamic_value(ctx, credentials["RoleArn.$"], location + "/RoleArn.$", "RoleArn.$")


def _choices(ctx: Context, value: Any, location: str) -> None:
    rules = check_array(ctx, value, location, "Choices", non_empty=True)
    if rules is None:
        return
    for index, rule in enumerate(rules):
        here = location + pointer(index)
        if check_object(ctx, rule, here, f"Choices[{index}]") is not None:
            ctx.diagnostics.extend(validate_choice_rule(rule, here, top_level=True))


def _default(ctx: Context, value: Any, location: str) -> None:
    check_string(ctx, value, location, "Default", non_empty=True)


def _percentage(ctx: Context, value: Any, location: str) -> None:
    check_number(ctx, value, location, "ToleratedFailurePercentage", minimum=0, maximum=100)


def _noop(ctx: Context, value: Any, location: str) -> None:
    """Fields whose value is free (``Result``) or checked by a type rule (``Branches``)."""


_FIELD_CHECKS: Final[Mapping[str, FieldCheck]] = {
    "Comment": _comment,
    "Next": _next,
    "End": _end,
    "InputPath": _io_path("InputPath"),
    "OutputPath": _io_path("OutputPath"),
    "ResultPath": _result_path,
    "Parameters": _template("Parameters"),
    "ResultSelector": _template("ResultSelector"),
    "ItemSelector": _template("ItemSelector"),
    "Result": _noop,
    "Retry": validate_retry,
    "Catch": validate_catch,
    "Resource": _resource,
    "Credentials": _credentials,
    "TimeoutSeconds": _integer("TimeoutSeconds", 1),
    "HeartbeatSeconds": _integer("HeartbeatSeconds", 1),
    "TimeoutSecondsPath": _reference_path("TimeoutSecondsPath"),
    "HeartbeatSecondsPath": _reference_path("HeartbeatSecondsPath"),
    "Choices": _choices,
    "Default": _default,
    "Seconds": _integer("Seconds", 0),
    "SecondsPath": _reference_path("SecondsPath"),
    "Timestamp": _timestamp,
    "TimestampPath": _reference_path("TimestampPath"),
    "Error": _static_text("Error", "ErrorPath"),
    "Cause": _static_text("Cause", "CausePath"),
    "ErrorPath": _path_or_intrinsic("ErrorPath"),
    "CausePath": _path_or_intrinsic("CausePath"),
    "Branches": _noop,
    "ItemsPath": _reference_path("ItemsPath"),
    "MaxConcurrency": _integer("MaxConcurrency", 0),
    "MaxConcurrencyPath": _reference_path("MaxConcurrencyPath"),
    "ToleratedFailureCount": _integer("ToleratedFailureCount", 0),
    "ToleratedFailureCountPath": _reference_path("ToleratedFailureCountPath"),
    "ToleratedFailurePercentage": _percentage,
    "ToleratedFailurePercentagePath": _reference_path("ToleratedFailurePercentagePath"),
}
"""How each field's value is checked, in every state type that allows the field.

Fields missing here (``ItemProcessor``, ``Label``, …) are checked by their type's rule.
"""


# --- rules relating the fields of one type ------------------------------------------------


def _pass_rule(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
    if "Result" not in body:
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


def _task_rule(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
    validate_task_timeouts(ctx, body, location)


def _wait_rule(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
    check_exclusive(
        ctx,
        body,
        location,
        ("Seconds", "SecondsPath", "Timestamp", "TimestampPath"),
        "A Wait state",
        exactly_one=True,
    )


def _fail_rule(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
    check_exclusive(ctx, body, location, ("Error", "ErrorPath"), "A Fail state")
    check_exclusive(ctx, body, location, ("Cause", "CausePath"), "A Fail state")


def _parallel_rule(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
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
