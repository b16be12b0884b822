"""The compiled, immutable model of a state machine definition.

Every path, template, intrinsic and Choice rule is already a callable here; the engine never
looks at the definition's JSON again. Instances are frozen and shared between executions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from stepline.asl._paths import CompiledPath, Key

__all__ = [
    "Catcher",
    "ChoiceBranch",
    "ChoiceState",
    "CompiledDefinition",
    "FailState",
    "ItemBatcher",
    "MapState",
    "ParallelState",
    "PassState",
    "Retrier",
    "State",
    "StateGraph",
    "SucceedState",
    "TaskState",
    "WaitState",
]

Evaluator = Callable[[Any, Any], Any]
Matcher = Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class Retrier:
    """One entry of a ``Retry`` field, with AWS's defaults applied."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: Literal["FULL", "NONE"] = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of a ``Catch`` field.

    ``result_path`` is the key tuple where the error output goes (``()`` replaces the whole
    input, the default) or ``None`` when ``ResultPath`` is ``null`` (the input passes through).
    """

    error_equals: tuple[str, ...]
    next: str
    result_path: tuple[Key, ...] | None = ()
    assign: Any = None
    output: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """Fields every state type shares (those a type does not allow keep their defaults).

    ``input_path``/``output_path``: ``None`` means ``$`` (identity); :data:`NULL_PATH` means the
    field was ``null`` (the value becomes ``{}``). ``result_path``: key tuple, ``()`` for ``$``,
    ``None`` for ``null`` (discard the result).
    """

    name: str
    type: str
    next: str | None = None
    end: bool = False
    comment: str | None = None
    input_path: CompiledPath | None = None
    input_path_null: bool = False
    output_path: CompiledPath | None = None
    output_path_null: bool = False
    result_path: tuple[Key, ...] | None = ()
    parameters: Evaluator | None = None
    result_selector: Evaluator | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    uses_context: bool = False
    assign: Any = None
    """``Assign`` compiled: ``evaluate(value, context) -> {variable: value}`` in a JSONPath
    state, ``evaluate(bindings) -> {variable: value}`` in a JSONata one."""
    jsonata: bool = False
    """True when the state's query language is JSONata."""
    handler: str = ""
    """Which engine handler runs it: the type, with ``/JSONata`` for JSONata states."""
    arguments: Any = None
    """JSONata ``Arguments``: ``evaluate(bindings) -> value``."""
    output: Any = None
    """JSONata ``Output``: ``evaluate(bindings) -> value``."""
    expressions: Mapping[str, Any] = field(default_factory=dict)
    """JSONata expressions of scalar fields (``Seconds``, ``TimeoutSeconds``, ``Items``,
    ``ItemSelector``, ``Error``…), by field name; static values stay in the typed fields."""
    passthrough: bool = False
    """True when no I/O field is set: the state's output is its input, unchanged."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PassState(State):
    """``Pass``: ``result`` is the ``Result`` field (``has_result`` tells if it was given)."""

    result: Any = None
    has_result: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState(State):
    """``Task``: the resource ARN, and its timeouts (static or from a path)."""

    resource: str
    timeout_seconds: int | None = None
    timeout_seconds_path: CompiledPath | None = None
    heartbeat_seconds: int | None = None
    heartbeat_seconds_path: CompiledPath | None = None
    credentials: Any = None


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    """One rule of a Choice state, compiled, and where it leads."""

    matches: Matcher | None
    next: str
    assign: Any = None
    condition: Any = None
    output: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceState(State):
    """``Choice``: rules in order, and the optional ``Default``."""

    choices: tuple[ChoiceBranch, ...]
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitState(State):
    """``Wait``: exactly one of the four forms is set."""

    seconds: float | None = None
    timestamp: datetime | None = None
    seconds_path: CompiledPath | None = None
    timestamp_path: CompiledPath | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedState(State):
    """``Succeed``: ends the execution (or the branch) successfully."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FailState(State):
    """``Fail``: static ``Error``/``Cause`` or computed ``ErrorPath``/``CausePath``."""

    error: str | None = None
    cause: str | None = None
    error_path: Evaluator | None = None
    cause_path: Evaluator | None = None
    error_path_text: str | None = None
    cause_path_text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelState(State):
    """``Parallel``: every branch runs on the same input; the result is the list of outputs."""

    branches: tuple[StateGraph, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MapState(State):
    """``Map`` (inline, or distributed run in-process): one iteration per item."""

    processor: StateGraph
    items_path: CompiledPath | None = None
    item_selector: Evaluator | None = None
    max_concurrency: int = 0
    max_concurrency_path: CompiledPath | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_count_path: CompiledPath | None = None
    tolerated_failure_percentage: float | None = None
    tolerated_failure_percentage_path: CompiledPath | None = None
    mode: Literal["INLINE", "DISTRIBUTED"] = "INLINE"
    label: str | None = None
    batcher: ItemBatcher | None = None


@dataclass(frozen=True, slots=True)
class ItemBatcher:
    """A Distributed Map's ``ItemBatcher``: children receive ``{"Items": [...], "BatchInput"}``."""

    max_items: int | None = None
    max_items_path: CompiledPath | None = None
    max_bytes: int | None = None
    max_bytes_path: CompiledPath | None = None
    batch_input: Evaluator | None = None


@dataclass(frozen=True, slots=True)
class StateGraph:
    """A ``StartAt`` + ``States`` scope: the top level, a Parallel branch, a Map processor."""

    start_at: str
    states: Mapping[str, State]


@dataclass(frozen=True, slots=True)
class CompiledDefinition:
    """A validated, compiled definition, ready to run any number of times."""

    graph: StateGraph
    definition: Mapping[str, Any]
    timeout_seconds: int | None = None
    comment: str | None = None
    query_language: str = "JSONPath"
    state_count: int = field(default=0)
