"""The fields of a JSONata state, and how each one's value is checked.

:data:`JSONATA_STATE_FIELDS` is the JSONata column of the States Language's field tables: the
five JSONPath fields (``InputPath``, ``Parameters``, ``ResultSelector``, ``ResultPath``,
``OutputPath``), Pass ``Result``, ``ItemsPath`` and every ``…Path`` field are gone; ``Arguments``
(Task, Parallel), ``Output`` (every state but Fail) and Map ``Items`` take their place, and the
numeric and timestamp fields take an expression instead of a path. ``Assign`` is allowed in
both languages. Fields shared with JSONPath (``Comment``, ``Next``, ``Retry``, …) are checked by
``_validate_states``'s own table.

Only the top-level ``Output`` and ``Assign`` of a Task, Map or Parallel see ``$states.result``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._diagnostics import pointer
from stepline.asl._timestamps import parse_timestamp
from stepline.asl._validate_choices import validate_choices
from stepline.asl._validate_common import (
    JSONATA,
    SCHEMA_VALIDATION_FAILED,
    Context,
    check_exclusive,
    check_fields,
    check_object,
    describe,
)
from stepline.asl._validate_jsonata import (
    EXPRESSION_HINT,
    Where,
    check_expression,
    check_integer_or_expression,
    check_jsonata_value,
    check_number_or_expression,
    check_string_or_expression,
    is_expression,
)
from stepline.asl._validate_recovery import validate_catch
from stepline.asl._validate_variables import check_assign

__all__ = ["JSONATA_FIELD_CHECKS", "JSONATA_STATE_FIELDS", "RESULT_TYPES", "JsonataCheck"]

JsonataCheck = Callable[[Context, Any, str, str], None]
"""``check(ctx, value, location, state_type)``: one field of a JSONata state."""

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW: Final = frozenset({"Next", "End"})
_RECOVERY: Final = frozenset({"Retry", "Catch"})
_SHAPING: Final = frozenset({"Output", "Assign"})

JSONATA_STATE_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "Pass": _COMMON | _FLOW | _SHAPING,
    "Task": _COMMON
    | _FLOW
    | _RECOVERY
    | _SHAPING
    | {"Arguments", "Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
    "Choice": _COMMON | _SHAPING | {"Choices", "Default"},
    "Wait": _COMMON | _FLOW | _SHAPING | {"Seconds", "Timestamp"},
    "Succeed": _COMMON | {"Output"},
    "Fail": _COMMON | {"Error", "Cause"},
    "Parallel": _COMMON | _FLOW | _RECOVERY | _SHAPING | {"Arguments", "Branches"},
    "Map": _COMMON
    | _FLOW
    | _RECOVERY
    | _SHAPING
    | {
        "ItemProcessor",
        "Iterator",
        "Items",
        "ItemSelector",
        "MaxConcurrency",
        "ToleratedFailureCount",
        "ToleratedFailurePercentage",
        "ItemReader",
        "ResultWriter",
        "ItemBatcher",
        "Label",
    },
}
"""The fields each state type allows in JSONata mode."""

RESULT_TYPES: Final = frozenset({"Task", "Map", "Parallel"})
"""The state types whose top-level ``Output`` and ``Assign`` can read ``$states.result``."""


def _output(ctx: Context, value: Any, location: str, state_type: str) -> None:
    check_jsonata_value(ctx, value, location, Where("Output", result=state_type in RESULT_TYPES))


def _assign(ctx: Context, value: Any, location: str, state_type: str) -> None:
    where = Where("Assign", result=state_type in RESULT_TYPES)
    check_assign(ctx, value, location, JSONATA, where)


def _any_value(name: str) -> JsonataCheck:
    def check(ctx: Context, value: Any, location: str, state_type: str) -> None:
        check_jsonata_value(ctx, value, location, Where(name))

    return check


def _integer(name: str, minimum: int) -> JsonataCheck:
    def check(ctx: Context, value: Any, location: str, state_type: str) -> None:
        check_integer_or_expression(ctx, value, location, name, minimum=minimum)

    return check


def _text(name: str) -> JsonataCheck:
    def check(ctx: Context, value: Any, location: str, state_type: str) -> None:
        check_string_or_expression(ctx, value, location, name)

    return check


def _percentage(ctx: Context, value: Any, location: str, state_type: str) -> None:
    check_number_or_expression(
        ctx, value, location, "ToleratedFailurePercentage", minimum=0, maximum=100
    )


def _items(ctx: Context, value: Any, location: str, state_type: str) -> None:
    if isinstance(value, list):
        check_jsonata_value(ctx, value, location, Where("Items"))
    elif is_expression(value):
        check_expression(ctx, value, location, Where("Items"))
    else:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"Items must be a JSON array or {EXPRESSION_HINT} that evaluates to one, "
            f"got {describe(value)}.",
            location,
        )


def _timestamp(ctx: Context, value: Any, location: str, state_type: str) -> None:
    if is_expression(value):
        check_expression(ctx, value, location, Where("Timestamp"))
    elif not isinstance(value, str) or parse_timestamp(value) is None:
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            "Timestamp must be an ISO 8601 date-time with a time zone, such as "
            f"'2026-03-14T01:59:00Z', or {EXPRESSION_HINT}, got {describe(value)}.",
            location,
        )


def _credentials(ctx: Context, value: Any, location: str, state_type: str) -> None:
    credentials = check_object(ctx, value, location, "Credentials")
    if credentials is None:
        return
    check_fields(
        ctx,
        credentials,
        location,
        ("RoleArn",),
        "Credentials",
        language=JSONATA,
        other_language=("RoleArn.$",),
    )
    check_exclusive(ctx, credentials, location, ("RoleArn",), "Credentials", exactly_one=True)
    if "RoleArn" in credentials:
        check_string_or_expression(
            ctx, credentials["RoleArn"], location + pointer("RoleArn"), "RoleArn", non_empty=True
        )


def _choices(ctx: Context, value: Any, location: str, state_type: str) -> None:
    validate_choices(ctx, value, location, JSONATA)


def _catch(ctx: Context, value: Any, location: str, state_type: str) -> None:
    validate_catch(ctx, value, location, JSONATA)


JSONATA_FIELD_CHECKS: Final[Mapping[str, JsonataCheck]] = {
    "Output": _output,
    "Assign": _assign,
    "Arguments": _any_value("Arguments"),
    "ItemSelector": _any_value("ItemSelector"),
    "Items": _items,
    "TimeoutSeconds": _integer("TimeoutSeconds", 1),
    "HeartbeatSeconds": _integer("HeartbeatSeconds", 1),
    "Seconds": _integer("Seconds", 0),
    "Timestamp": _timestamp,
    "MaxConcurrency": _integer("MaxConcurrency", 0),
    "ToleratedFailureCount": _integer("ToleratedFailureCount", 0),
    "ToleratedFailurePercentage": _percentage,
    "Error": _text("Error"),
    "Cause": _text("Cause"),
    "Credentials": _credentials,
    "Choices": _choices,
    "Catch": _catch,
}
"""How each JSONata-specific field is checked (the others are checked as in JSONPath)."""
