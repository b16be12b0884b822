"""The fields of a JSONPath state, and how each one's value is checked.

:data:`STATE_FIELDS` is the JSONPath column of the States Language's field tables, ``Assign``
included (workflow variables exist in both query languages). :data:`JSONPATH_FIELD_CHECKS`
says how each field's value is checked wherever it appears; :data:`SHARED_CHECKS` adapts the
checks of the fields JSONata states share (``Comment``, ``Next``, ``Retry``, …) to the JSONata
table's signature. ``_validate_jsonata_states`` is the JSONata counterpart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._timestamps import parse_timestamp
from stepline.asl._validate_choices import validate_choices
from stepline.asl._validate_common import (
    INVALID_RESOURCE,
    JSONPATH,
    NO_PATH,
    SCHEMA_VALIDATION_FAILED,
    Context,
    check_boolean,
    check_exclusive,
    check_fields,
    check_integer,
    check_number,
    check_object,
    check_string,
    describe,
)
from stepline.asl._validate_jsonata import Where
from stepline.asl._validate_jsonata_states import JsonataCheck
from stepline.asl._validate_paths import (
    check_dynamic_value,
    check_path_or_intrinsic,
    check_reference_path,
    check_template,
)
from stepline.asl._validate_recovery import validate_catch, validate_retry
from stepline.asl._validate_variables import check_assign

__all__ = ["JSONPATH_FIELD_CHECKS", "SHARED_CHECKS", "STATE_FIELDS", "FieldCheck"]

FieldCheck = Callable[[Context, Any, str], None]

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW: Final = frozenset({"Next", "End"})
_IO: Final = frozenset({"InputPath", "OutputPath"})
_RESULT: Final = frozenset({"ResultPath"})
_RECOVERY: Final = frozenset({"Retry", "Catch"})
_ASSIGN: Final = frozenset({"Assign"})

STATE_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "Pass": _COMMON | _FLOW | _IO | _RESULT | _ASSIGN | {"Parameters", "Result"},
    "Task": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _RECOVERY
    | _ASSIGN
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
    "Choice": _COMMON | _IO | _ASSIGN | {"Choices", "Default"},
    "Wait": _COMMON
    | _FLOW
    | _IO
    | _ASSIGN
    | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _RECOVERY
    | _ASSIGN
    | {"Parameters", "ResultSelector", "Branches"},
    "Map": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _RECOVERY
    | _ASSIGN
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


# An ARN: arn:partition:service:region:account:resource (region and account may be empty,
# as in 'arn:aws:states:::http:invoke').
_ARN: Final = re.compile(r"arn:[a-z][a-z0-9-]*:[a-z0-9][a-z0-9.-]*:[a-z0-9-]*:(\d{12})?:\S+")
# Any other absolute URI: a scheme, a colon, and no whitespace.
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


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
    check_reference_path(
        ctx,
        value,
        location,
        "ResultPath",
        nullable=True,
        context_allowed=False,
        variables_allowed=False,
    )


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
    validate_choices(ctx, value, location, JSONPATH)


def _assign(ctx: Context, value: Any, location: str) -> None:
    check_assign(ctx, value, location, JSONPATH, Where("Assign"))


def _default(ctx: Context, value: Any, location: str) -> None:
    check_string(ctx, value, location, "Default", non_empty=True)


def _percentage(ctx: Context, value: Any, location: str) -> None:
    check_number(ctx, value, location, "ToleratedFailurePercentage", minimum=0, maximum=100)


def _noop(ctx: Context, value: Any, location: str) -> None:
    """Fields whose value is free (``Result``) or checked by a type rule (``Branches``)."""


JSONPATH_FIELD_CHECKS: Final[Mapping[str, FieldCheck]] = {
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
    "Assign": _assign,
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
"""How each field's value is checked, in every JSONPath state type that allows the field.

Fields missing here (``ItemProcessor``, ``Label``, …) are checked by their type's rule.
"""


def _shared(check: FieldCheck) -> JsonataCheck:
    def adapted(ctx: Context, value: Any, location: str, state_type: str) -> None:
        check(ctx, value, location)

    return adapted


SHARED_CHECKS: Final[Mapping[str, JsonataCheck]] = {
    name: _shared(JSONPATH_FIELD_CHECKS[name])
    for name in ("Comment", "Next", "End", "Retry", "Resource", "Default", "Branches")
}
"""The checks of fields a JSONata state shares with JSONPath ones."""
