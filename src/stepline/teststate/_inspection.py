"""The TestState response: status, output or error, next state, and ``inspectionData``.

Every data value is JSON text in AWS's compact form, as botocore's ``TestStateOutput`` has them
(``SensitiveData`` strings); ``errorDetails`` and the Map figures are numbers.

``inspectionData`` appears at ``DEBUG`` and ``TRACE`` only. Which of its fields apply:

* ``input`` and ``variables`` — always;
* JSONPath states — ``afterInputPath`` (all but Fail), ``afterParameters`` (Pass, Task,
  Parallel), ``result`` (Pass, Task, Map, Parallel), ``afterResultSelector`` (Task, Map,
  Parallel), ``afterResultPath`` (Pass, Task, Map, Parallel);
* JSONata states — ``afterArguments`` (Task, Parallel) and ``result`` (Task, Map, Parallel);
* Map states — ``afterItemsPath`` (JSONPath), ``afterItemSelector``, ``afterItemBatcher``,
  ``maxConcurrency``, ``toleratedFailureCount``, ``toleratedFailurePercentage``;
* HTTP Tasks at ``TRACE`` — ``request`` and ``response`` (the connection's data masked unless
  ``revealSecrets``);
* ``errorDetails`` — ``retryIndex`` and ``retryBackoffIntervalSeconds`` when ``RETRIABLE``,
  ``catchIndex`` when ``CAUGHT_ERROR``.

A step the state never reached (it failed before it) is left out rather than guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from stepline.asl._json import dumps_text
from stepline.asl._model import PassState
from stepline.engine._recovery import error_matches, find_retrier

if TYPE_CHECKING:
    from stepline.asl._model import State
    from stepline.engine import Execution
    from stepline.tasks import HttpExchange
    from stepline.teststate._execution import Recorder
    from stepline.teststate._request import TestStateRequest

__all__ = ["build_response"]

_MISSING: Final[Any] = object()
_RESULT_STATES: Final = frozenset({"Pass", "Task", "Map", "Parallel"})
_SELECTOR_STATES: Final = frozenset({"Task", "Map", "Parallel"})
_PARAMETER_STATES: Final = frozenset({"Pass", "Task", "Parallel"})
_MAP_TEXT_FIELDS: Final = (
    "afterItemsPath",
    "afterItemsPointer",
    "afterItemSelector",
    "afterItemBatcher",
)
_MAP_NUMBER_FIELDS: Final = (
    "toleratedFailureCount",
    "toleratedFailurePercentage",
    "maxConcurrency",
)


def _whole_seconds(delay: float) -> int:
    """The back-off as AWS's integer field holds it: rounded half up (1.5 s → 2).

    The engine reports when the retry is due, read against a moving clock: to the millisecond
    first, so that the microseconds between two clock readings cannot tip 1.5 to 1.
    """
    return int(round(delay, 3) + 0.5)


def build_response(
    request: TestStateRequest,
    recorder: Recorder,
    execution: Execution,
    exchange: HttpExchange | None,
) -> dict[str, Any]:
    """``TestStateOutput`` for a finished test."""
    if recorder.retry_delay is not None:
        status = "RETRIABLE"
    elif execution.status != "SUCCEEDED":
        status = "FAILED"
    elif recorder.caught:
        status = "CAUGHT_ERROR"
    else:
        status = "SUCCEEDED"
    response: dict[str, Any] = {}
    if status in ("SUCCEEDED", "CAUGHT_ERROR"):
        response["output"] = execution.output_json
    if status == "FAILED":
        error, cause = execution.error, execution.cause
    elif status == "SUCCEEDED":
        error = cause = None
    else:
        assert recorder.failure is not None
        error, cause = recorder.failure
    if error is not None:
        response["error"] = error
    if cause is not None:
        response["cause"] = cause
    if request.inspection_level != "INFO":
        response["inspectionData"] = _inspection(request, recorder, execution, exchange, status)
    if status in ("SUCCEEDED", "CAUGHT_ERROR") and recorder.next_state is not None:
        response["nextState"] = recorder.next_state
    response["status"] = status
    return response


def _inspection(
    request: TestStateRequest,
    recorder: Recorder,
    execution: Execution,
    exchange: HttpExchange | None,
    status: str,
) -> dict[str, Any]:
    state = request.tested.state
    values = recorder.values
    data: dict[str, Any] = {"input": dumps_text(request.input)}

    def put(field: str, value: Any) -> None:
        if value is not _MISSING:
            data[field] = dumps_text(value)

    kind = state.type
    if state.jsonata:
        put("afterArguments", values.get("afterArguments", _MISSING))
        if kind in _SELECTOR_STATES:
            put("result", values.get("result", _MISSING))
    elif kind != "Fail":
        _jsonpath_steps(state, request.input, recorder, execution, put)
    for field in _MAP_TEXT_FIELDS:
        put(field, values.get(field, _MISSING))
    for field in _MAP_NUMBER_FIELDS:
        if field in values:
            data[field] = values[field]
    if request.inspection_level == "TRACE" and exchange is not None:
        prepared = exchange.request
        if prepared is not None:
            trace = prepared.trace(request.reveal_secrets)
            data["request"] = trace
            if exchange.response is not None:
                from stepline.tasks._http_response import response_trace

                data["response"] = response_trace(exchange.response, protocol=trace["protocol"])
    variables = recorder.variables if recorder.exited else None
    data["variables"] = dumps_text(dict(request.variables if variables is None else variables))
    details = _error_details(state, recorder, status)
    if details:
        data["errorDetails"] = details
    return data


def _jsonpath_steps(
    state: State, state_input: Any, recorder: Recorder, execution: Execution, put: Any
) -> None:
    """The JSONPath I/O steps the state went through, in AWS's order."""
    values = recorder.values
    kind = state.type
    after_input = values.get("afterInputPath", _MISSING)
    if after_input is _MISSING and state.input_path is None:
        after_input = {} if state.input_path_null else state_input
    put("afterInputPath", after_input)
    after_parameters = _MISSING
    if kind in _PARAMETER_STATES:
        after_parameters = values.get("afterParameters", _MISSING)
        if after_parameters is _MISSING and state.parameters is None and kind == "Pass":
            after_parameters = after_input
        put("afterParameters", after_parameters)
    if kind not in _RESULT_STATES:
        return
    if kind == "Pass":
        # A Pass state's result is its Result field, or its input after Parameters.
        if after_parameters is _MISSING or not isinstance(state, PassState):
            result = _MISSING
        else:
            result = state.result if state.has_result else after_parameters
    else:
        result = values.get("result", _MISSING)
    put("result", result)
    if kind in _SELECTOR_STATES and result is not _MISSING:
        selected = values.get("afterResultSelector", _MISSING)
        if selected is _MISSING and state.result_selector is None:
            selected = result
        put("afterResultSelector", selected)
    after_result_path = values.get("afterResultPath", _MISSING)
    if (
        after_result_path is _MISSING
        and recorder.exited
        and (recorder.caught or (state.output_path is None and not state.output_path_null))
    ):
        after_result_path = execution.output
    put("afterResultPath", after_result_path)


def _error_details(state: State, recorder: Recorder, status: str) -> dict[str, int]:
    failure = recorder.failure
    if failure is None:
        return {}
    error = failure[0]
    if status == "RETRIABLE" and recorder.retry_delay is not None:
        index = find_retrier(state.retry, error)
        details = {"retryBackoffIntervalSeconds": _whole_seconds(recorder.retry_delay)}
        if index is not None:
            details = {"retryIndex": index, **details}
        return details
    if status == "CAUGHT_ERROR":
        for index, catcher in enumerate(state.catch):
            if error_matches(catcher.error_equals, error):
                return {"catchIndex": index}
    return {}
