"""Validation of what a state does when it fails or takes too long: Retry, Catch, timeouts.

Rules (AWS's, from the ASL specification and the Step Functions developer guide):

* ``Retry`` and ``Catch`` are arrays (empty ones are accepted, as AWS does) of objects whose
  ``ErrorEquals`` is a non-empty array of error names.
* ``States.ALL`` must be the only name in its ``ErrorEquals`` and must be in the last retrier
  (or catcher): anything after it could never match.
* Retrier numbers: ``IntervalSeconds`` ≥ 1, ``MaxAttempts`` ≥ 0, ``BackoffRate`` ≥ 1.0,
  ``MaxDelaySeconds`` ≥ 1, ``JitterStrategy`` ``FULL`` or ``NONE``.
* Task ``TimeoutSeconds``/``HeartbeatSeconds`` are positive, exclusive with their ``…Path``
  forms, and a static heartbeat must be shorter than a static timeout.
* A catcher may ``Assign`` variables in both query languages (its expressions may read
  ``$states.errorOutput``); it places the error output with ``ResultPath`` in a JSONPath state
  and builds its output with ``Output`` in a JSONata one.

Which ``Next`` targets exist is the graph check's business (``_validate``); this module only
reports them as transitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stepline.asl._diagnostics import pointer
from stepline.asl._errors import ALL
from stepline.asl._validate_common import (
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    SCHEMA_VALIDATION_FAILED,
    Context,
    Language,
    Transition,
    as_integer,
    check_array,
    check_enum,
    check_fields,
    check_integer,
    check_number,
    check_object,
    check_required,
    check_string,
    describe,
)
from stepline.asl._validate_jsonata import Where, check_jsonata_value
from stepline.asl._validate_paths import check_reference_path
from stepline.asl._validate_variables import check_assign

__all__ = ["catch_transitions", "validate_catch", "validate_retry", "validate_task_timeouts"]

_RETRIER_FIELDS: Final = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_COMMON: Final = frozenset({"ErrorEquals", "Next", "Comment", "Assign"})
_CATCHER_FIELDS: Final[Mapping[Language, frozenset[str]]] = {
    JSONPATH: _CATCHER_COMMON | {"ResultPath"},
    JSONATA: _CATCHER_COMMON | {"Output"},
}
_CATCH_WHERE: Final = Where("a Catch", error_output=True)

# AWS documents MaxDelaySeconds as "less than 31622401" (one leap year, in seconds).
_MAX_DELAY_SECONDS: Final = 31_622_400


def validate_retry(ctx: Context, value: Any, location: str) -> None:
    """Validate a state's ``Retry`` field.

    Args:
        ctx: Where findings go.
        value: The field's value.
        location: Its JSON Pointer, e.g. ``/States/Charge/Retry``.
    """
    retriers = check_array(ctx, value, location, "Retry")
    if retriers is None:
        return
    for index, retrier in enumerate(retriers):
        here = location + pointer(index)
        body = check_object(ctx, retrier, here, f"Retry[{index}]")
        if body is None:
            continue
        check_fields(ctx, body, here, _RETRIER_FIELDS, "a retrier")
        check_required(ctx, body, here, ("ErrorEquals",), f"Retry[{index}]")
        _check_error_equals(ctx, body, here)
        if "IntervalSeconds" in body:
            check_integer(
                ctx,
                body["IntervalSeconds"],
                here + "/IntervalSeconds",
                "IntervalSeconds",
                minimum=1,
            )
        if "MaxAttempts" in body:
            check_integer(ctx, body["MaxAttempts"], here + "/MaxAttempts", "MaxAttempts", minimum=0)
        if "BackoffRate" in body:
            check_number(
                ctx, body["BackoffRate"], here + "/BackoffRate", "BackoffRate", minimum=1.0
            )
        if "MaxDelaySeconds" in body:
            check_integer(
                ctx,
                body["MaxDelaySeconds"],
                here + "/MaxDelaySeconds",
                "MaxDelaySeconds",
                minimum=1,
                maximum=_MAX_DELAY_SECONDS,
            )
        if "JitterStrategy" in body:
            check_enum(
                ctx,
                body["JitterStrategy"],
                here + "/JitterStrategy",
                "JitterStrategy",
                ("FULL", "NONE"),
            )
        if "Comment" in body:
            check_string(ctx, body["Comment"], here + "/Comment", "Comment")
    _check_catch_all_last(ctx, retriers, location, "Retry", "retrier")


def validate_catch(ctx: Context, value: Any, location: str, language: Language = JSONPATH) -> None:
    """Validate a state's ``Catch`` field (shapes only; targets are checked by the graph).

    Args:
        ctx: Where findings go.
        value: The field's value.
        location: Its JSON Pointer, e.g. ``/States/Charge/Catch``.
        language: The query language of the state.
    """
    allowed = _CATCHER_FIELDS[language]
    other = _CATCHER_FIELDS[JSONATA if language == JSONPATH else JSONPATH] - allowed
    catchers = check_array(ctx, value, location, "Catch")
    if catchers is None:
        return
    for index, catcher in enumerate(catchers):
        here = location + pointer(index)
        body = check_object(ctx, catcher, here, f"Catch[{index}]")
        if body is None:
            continue
        check_fields(ctx, body, here, allowed, "a catcher", language=language, other_language=other)
        check_required(ctx, body, here, ("ErrorEquals", "Next"), f"Catch[{index}]")
        _check_error_equals(ctx, body, here)
        if "Next" in body:
            check_string(ctx, body["Next"], here + "/Next", "Next", non_empty=True)
        if "ResultPath" in allowed and "ResultPath" in body:
            check_reference_path(
                ctx,
                body["ResultPath"],
                here + "/ResultPath",
                "ResultPath",
                nullable=True,
                context_allowed=False,
                variables_allowed=False,
            )
        if "Output" in allowed and "Output" in body:
            check_jsonata_value(ctx, body["Output"], here + "/Output", _CATCH_WHERE)
        if "Assign" in body:
            check_assign(ctx, body["Assign"], here + "/Assign", language, _CATCH_WHERE)
        if "Comment" in body:
            check_string(ctx, body["Comment"], here + "/Comment", "Comment")
    _check_catch_all_last(ctx, catchers, location, "Catch", "catcher")


def catch_transitions(value: Any, location: str) -> list[Transition]:
    """The ``Next`` of every well-formed catcher, for the graph check."""
    if not isinstance(value, list):
        return []
    return [
        Transition(catcher["Next"], location + pointer(index, "Next"))
        for index, catcher in enumerate(value)
        if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str) and catcher["Next"]
    ]


def _check_error_equals(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
    if "ErrorEquals" not in body:
        return
    here = location + "/ErrorEquals"
    names = check_array(ctx, body["ErrorEquals"], here, "ErrorEquals", non_empty=True)
    if names is None:
        return
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name:
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                "Each ErrorEquals entry must be a non-empty error name such as "
                f"'States.Timeout' or 'PaymentDeclined', got {describe(name)}.",
                here + pointer(index),
            )
    if ALL in names and len(names) > 1:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"'{ALL}' matches every error, so it must be the only name in its ErrorEquals; "
            f"remove the other names or move them to an earlier entry.",
            here,
        )


def _check_catch_all_last(
    ctx: Context, entries: list[Any], location: str, field: str, what: str
) -> None:
    """``States.ALL`` may only appear in the last entry: entries after it are dead."""
    last = len(entries) - 1
    for index, entry in enumerate(entries):
        if index == last or not isinstance(entry, Mapping):
            continue
        names = entry.get("ErrorEquals")
        if isinstance(names, list) and ALL in names:
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"A {what} matching '{ALL}' must be the last one in {field}, because no "
                f"{what} after it could ever match; move {field}[{index}] to the end.",
                location + pointer(index, "ErrorEquals"),
            )


def validate_task_timeouts(ctx: Context, body: Mapping[Any, Any], location: str) -> None:
    """Validate a Task's ``TimeoutSeconds``/``HeartbeatSeconds`` and their ``…Path`` forms.

    Field types are checked by the per-field table; this adds the rules that relate fields.
    """
    for static, dynamic in (
        ("TimeoutSeconds", "TimeoutSecondsPath"),
        ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ):
        if static in body and dynamic in body:
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"A Task state can have only one of '{static}' and '{dynamic}'; keep one.",
                location + pointer(dynamic),
            )
    timeout = as_integer(body.get("TimeoutSeconds"))
    heartbeat = as_integer(body.get("HeartbeatSeconds"))
    if (
        timeout is not None
        and heartbeat is not None
        and 0 < timeout <= MAX_SECONDS
        and 0 < heartbeat <= MAX_SECONDS
        and heartbeat >= timeout
    ):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout}), "
            "or the task would time out before its first heartbeat was due; lower "
            "HeartbeatSeconds or raise TimeoutSeconds.",
            location + "/HeartbeatSeconds",
        )
