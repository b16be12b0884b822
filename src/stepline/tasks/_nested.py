"""What nested workflows share between the service and the library: names, parameters, output.

The Task resource ``arn:aws:states:::states:startExecution`` (request-response, ``.sync``,
``.sync:2``, ``.waitForTaskToken``) starts a child execution: in the service, of a stored state
machine (:mod:`stepline.service._nested`); in the library, of a :class:`~stepline.StateMachine`
registered with the parent (:mod:`stepline._nested`). Both read the task's parameters with
:func:`read_start_request` and describe an ended child with :func:`describe_execution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import dumps_text, loads
from stepline.engine import TaskEffect

__all__ = [
    "ERROR_PREFIX",
    "START_EXECUTION",
    "START_EXECUTION_RESOURCES",
    "START_EXECUTION_SYNC",
    "START_EXECUTION_SYNC2",
    "SYNC_RESOURCES",
    "TASK_FAILED",
    "StartRequest",
    "describe_execution",
    "millis",
    "read_start_request",
]

START_EXECUTION: Final = "arn:aws:states:::states:startExecution"
START_EXECUTION_SYNC: Final = f"{START_EXECUTION}.sync"
START_EXECUTION_SYNC2: Final = f"{START_EXECUTION}.sync:2"
START_EXECUTION_RESOURCES: Final = (START_EXECUTION, START_EXECUTION_SYNC, START_EXECUTION_SYNC2)
"""The resources a nested-workflow invoker serves (``.waitForTaskToken`` calls the first)."""
SYNC_RESOURCES: Final = frozenset({START_EXECUTION_SYNC, START_EXECUTION_SYNC2})
"""The resources whose tasks wait for their child to end."""

TASK_FAILED: Final = "States.TaskFailed"
"""The error of a ``.sync`` task whose child did not succeed (the cause is its description)."""
ERROR_PREFIX: Final = "StepFunctions."
"""StartExecution's error codes become task errors ``StepFunctions.<code>``."""

_PARAMETERS: Final = frozenset({"StateMachineArn", "Input", "Name", "TraceHeader"})


@dataclass(frozen=True, slots=True)
class StartRequest:
    """A ``startExecution`` task's parameters.

    Attributes:
        state_machine_arn: ``StateMachineArn``.
        name: ``Name``, if given.
        input_text: ``Input`` as JSON text (``None`` when not given: the child gets ``{}``).
        input_value: ``Input`` as given (a JSON value, or the JSON text given as a string).
        trace_header: ``TraceHeader``, if given.
    """

    state_machine_arn: str
    name: str | None
    input_text: str | None = field(repr=False)
    input_value: Any = field(repr=False)
    trace_header: str | None


def read_start_request(effect: TaskEffect) -> StartRequest:
    """The parameters of a ``startExecution`` task.

    Raises:
        StatesError: ``States.Runtime``, naming the state and the field at fault.
    """
    parameters = effect.parameters
    where = f"the parameters of state '{effect.state_name}' (resource '{effect.resource}')"
    if not isinstance(parameters, dict):
        raise StatesError(
            RUNTIME,
            f"{where} must be a JSON object with StateMachineArn (and Input, Name); "
            f"got {type(parameters).__name__}.",
        )
    unknown = sorted(set(parameters) - _PARAMETERS)
    if unknown:
        raise StatesError(
            RUNTIME,
            f"{where} have unknown fields {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(_PARAMETERS))}.",
        )
    arn = parameters.get("StateMachineArn")
    if not isinstance(arn, str) or not arn:
        raise StatesError(
            RUNTIME, f"{where} need StateMachineArn: the ARN of the state machine to start."
        )
    name = parameters.get("Name")
    if name is not None and not isinstance(name, str):
        raise StatesError(RUNTIME, f"Name in {where} must be a string.")
    trace_header = parameters.get("TraceHeader")
    if trace_header is not None and not isinstance(trace_header, str):
        raise StatesError(RUNTIME, f"TraceHeader in {where} must be a string.")
    if "Input" not in parameters:
        return StartRequest(arn, name, None, {}, trace_header)
    given = parameters["Input"]
    # A string is the input's JSON text (AWS accepts both forms); anything else is the value.
    text = given if isinstance(given, str) else dumps_text(given)
    return StartRequest(arn, name, text, given, trace_header)


def millis(seconds: float) -> int:
    """Epoch seconds as integer epoch milliseconds (how the task output shows dates)."""
    return round(seconds * 1000)


def _payload(text: str | None, json_values: bool) -> Any:
    if text is None or not json_values:
        return text
    return loads(text)


def describe_execution(
    *,
    execution_arn: str,
    state_machine_arn: str,
    name: str,
    status: str,
    start_date: float,
    input_text: str,
    json_values: bool,
    stop_date: float | None = None,
    output_text: str | None = None,
    error: str | None = None,
    cause: str | None = None,
    extra: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """A child's DescribeExecution answer with AWS's PascalCase members: a ``.sync`` task's
    output (or, JSON-encoded, the cause of its ``States.TaskFailed``).

    ``Input``/``Output`` are JSON text for ``.sync`` and JSON values for ``.sync:2``
    (``json_values``); dates are integer epoch milliseconds. ``extra`` adds members that are
    set (``StateMachineVersionArn``, ``StateMachineAliasArn``, ``TraceHeader``).
    """
    out: dict[str, Any] = {
        "ExecutionArn": execution_arn,
        "StateMachineArn": state_machine_arn,
        "Name": name,
        "Status": status,
        "StartDate": millis(start_date),
    }
    if stop_date is not None:
        out["StopDate"] = millis(stop_date)
    out["Input"] = _payload(input_text, json_values)
    out["InputDetails"] = {"Included": True}
    if output_text is not None:
        out["Output"] = _payload(output_text, json_values)
        out["OutputDetails"] = {"Included": True}
    if error is not None:
        out["Error"] = error
    if cause is not None:
        out["Cause"] = cause
    if extra:
        out.update((key, value) for key, value in extra.items() if value is not None)
    return out
