"""Execution log records as AWS writes them to CloudWatch Logs: which events, in which shape.

Shared by the service (:mod:`stepline.service._logs`) and the library
(:mod:`stepline._execution_logging`), so both write the same lines. A state machine's
``loggingConfiguration`` (stored on its revision as canonical JSON text by
:func:`stepline.service._sm_config.logging_text`) becomes a :class:`LogSettings`: the lowest
event rank it logs, whether execution data is included, and the log group's name.

The level filter is AWS's table (Step Functions developer guide, "Log levels"):

- ``FATAL`` logs ``ExecutionFailed``, ``ExecutionAborted`` and ``ExecutionTimedOut`` only;
- ``ERROR`` adds every event whose type ends in ``Failed``, ``Aborted`` or ``TimedOut``
  (``TaskFailed``, ``TaskStartFailed``, ``TaskSubmitFailed``, ``LambdaFunctionScheduleFailed``,
  ``MapIterationAborted``, ``WaitStateAborted``…) and ``FailStateEntered``;
- ``ALL`` logs every event; ``OFF`` none.

One record is one JSON object per line, with the members and value forms AWS uses (every
number as a string, the timestamp in epoch milliseconds)::

    {"id":"3","type":"TaskStateEntered","details":{...},"previous_event_id":"2",
     "event_timestamp":"1713959670680","execution_arn":"arn:...","redrive_count":"0"}

``details`` is the event's details member as ``GetExecutionHistory`` shows it (``{}`` for an
event without one). With ``includeExecutionData: false`` the execution data — ``input``,
``output``, ``parameters`` (TaskScheduled) and ``assignedVariables``, each with its ``…Details``
member — is left out. An ``input`` or ``output`` whose JSON-escaped form exceeds 248 KB is cut to
fit and its ``…Details.truncated`` is ``true``, as CloudWatch Logs' quota makes AWS do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import orjson

__all__ = [
    "LEVELS",
    "TRUNCATE_BYTES",
    "LogSettings",
    "LoggedEvent",
    "event_rank",
    "log_group_name",
    "log_lines",
    "settings_from_text",
]

TRUNCATE_BYTES: Final = 248 * 1024
"""AWS truncates an escaped input or output longer than this in a log record."""

# Ranks: an event is logged when its rank is at least the level's minimum.
_RANK_ALL: Final = 0
_RANK_ERROR: Final = 1
_RANK_FATAL: Final = 2
_LEVEL_MINIMUM: Final[Mapping[str, int]] = {
    "ALL": _RANK_ALL,
    "ERROR": _RANK_ERROR,
    "FATAL": _RANK_FATAL,
}
LEVELS: Final = ("ALL", "ERROR", "FATAL", "OFF")
"""AWS's ``loggingConfiguration`` levels."""
_FATAL_TYPES: Final = frozenset({"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
_ERROR_SUFFIXES: Final = ("Failed", "Aborted", "TimedOut")
# What includeExecutionData=false leaves out of the details (with their ...Details members).
_EXECUTION_DATA: Final = (
    "input",
    "inputDetails",
    "output",
    "outputDetails",
    "parameters",
    "assignedVariables",
    "assignedVariablesDetails",
)
_TRUNCATED_MEMBERS: Final = (("input", "inputDetails"), ("output", "outputDetails"))
# Details text at most this long cannot hold a string whose escaped form exceeds the limit
# (one character is at most 4 bytes of UTF-8), so it needs no parsing.
_SAFE_DETAILS_CHARS: Final = TRUNCATE_BYTES // 4


class LoggedEvent(Protocol):
    """A history event as the formatter reads it (the store's ``HistoryEventRecord``)."""

    @property
    def id(self) -> int: ...
    @property
    def previous_event_id(self) -> int: ...
    @property
    def timestamp(self) -> float: ...
    @property
    def type(self) -> str: ...
    @property
    def details(self) -> str | None:
        """The details member's content as JSON text."""


@dataclass(frozen=True, slots=True)
class LogSettings:
    """What a state machine revision's logging configuration asks for (level not ``OFF``).

    Attributes:
        level: ``ALL``, ``ERROR`` or ``FATAL``.
        minimum_rank: Events of a lower rank are not logged (:func:`event_rank`).
        include_execution_data: Whether inputs, outputs and parameters are logged.
        log_group: The destination log group's name (from its ARN).
    """

    level: str
    minimum_rank: int
    include_execution_data: bool
    log_group: str


def log_group_name(log_group_arn: str) -> str:
    """The name in ``arn:aws:logs:<region>:<account>:log-group:<name>:*``."""
    _, _, rest = log_group_arn.partition(":log-group:")
    return rest[:-2] if rest.endswith(":*") else rest


def settings_from_text(text: str | None) -> LogSettings | None:
    """The settings of a stored logging configuration; ``None`` when nothing is logged.

    The text was checked when it was stored (level, exactly one destination unless ``OFF``);
    anything else found here (a hand-edited database) logs nothing rather than failing runs.
    """
    if not text:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    level = value.get("level")
    minimum = _LEVEL_MINIMUM.get(level) if isinstance(level, str) else None
    destinations = value.get("destinations")
    if minimum is None or not isinstance(destinations, list) or not destinations:
        return None
    group = destinations[0].get("cloudWatchLogsLogGroup") or {}
    group_arn = group.get("logGroupArn")
    if not isinstance(group_arn, str) or not group_arn:
        return None
    return LogSettings(
        level=str(level),
        minimum_rank=minimum,
        include_execution_data=value.get("includeExecutionData") is True,
        log_group=log_group_name(group_arn),
    )


def event_rank(event_type: str) -> int:
    """0: logged at ``ALL`` only; 1: at ``ERROR`` too; 2: at ``FATAL`` too (AWS's table)."""
    if event_type in _FATAL_TYPES:
        return _RANK_FATAL
    if event_type.endswith(_ERROR_SUFFIXES) or event_type == "FailStateEntered":
        return _RANK_ERROR
    return _RANK_ALL


def log_lines(
    settings: LogSettings,
    execution_arn: str,
    redrive_count: int,
    events: Iterable[LoggedEvent],
) -> list[bytes]:
    """The log records (JSON lines, each ending in a newline) of the events the level logs."""
    minimum = settings.minimum_rank
    include = settings.include_execution_data
    tail = (
        b',"execution_arn":'
        + orjson.dumps(execution_arn)
        + b',"redrive_count":"'
        + str(redrive_count).encode()
        + b'"}\n'
    )
    lines: list[bytes] = []
    for event in events:
        if minimum and event_rank(event.type) < minimum:
            continue
        details = _details_bytes(event.details, include)
        lines.append(
            b'{"id":"%d","type":%b,"details":%b,"previous_event_id":"%d","event_timestamp":"%d"%b'
            % (
                event.id,
                orjson.dumps(event.type),
                details,
                event.previous_event_id,
                int(event.timestamp * 1000),
                tail,
            )
        )
    return lines


def _details_bytes(text: str | None, include_execution_data: bool) -> bytes:
    """The ``details`` member's JSON: the stored text as is when nothing must change."""
    if not text:
        return b"{}"
    if include_execution_data and (
        len(text) <= _SAFE_DETAILS_CHARS
        or len(text.encode("utf-8", "surrogatepass")) <= TRUNCATE_BYTES
    ):
        return text.encode("utf-8", "surrogatepass")
    details = orjson.loads(text)
    if not isinstance(details, dict):
        return b"{}"
    if not include_execution_data:
        for member in _EXECUTION_DATA:
            details.pop(member, None)
    else:
        for member, details_member in _TRUNCATED_MEMBERS:
            value = details.get(member)
            if isinstance(value, str):
                cut = _truncated(value)
                if cut is not None:
                    details[member] = cut
                    details[details_member] = {"truncated": True}
    try:
        return orjson.dumps(details)
    except TypeError:  # a lone surrogate, which orjson refuses
        return json.dumps(details, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _escaped_size(text: str) -> int:
    """Bytes of ``text`` as a JSON string, without the quotes."""
    try:
        return len(orjson.dumps(text)) - 2
    except TypeError:  # a lone surrogate, which orjson refuses
        return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2


def _truncated(text: str) -> str | None:
    """The longest prefix of ``text`` whose escaped form fits the limit (``None``: it fits)."""
    if _escaped_size(text) <= TRUNCATE_BYTES:
        return None
    low, high = 0, min(len(text), TRUNCATE_BYTES)
    # The largest prefix length that fits: escaped size grows with the prefix.
    while low < high:
        middle = (low + high + 1) // 2
        if _escaped_size(text[:middle]) <= TRUNCATE_BYTES:
            low = middle
        else:
            high = middle - 1
    return text[:low]
