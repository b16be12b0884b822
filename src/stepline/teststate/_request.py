"""Reading a TestState request: AWS's shapes, limits and rules, checked before anything runs.

:func:`parse_request` turns the request mapping (botocore's ``TestStateInput``) into a
:class:`TestStateRequest` or raises :class:`~stepline.teststate._errors.TestStateError` with the
code AWS answers: shape and rule violations are ``ValidationException``, a bad definition
``InvalidDefinition`` (with every diagnostic the validator found), JSON input data that is not
JSON ``InvalidExecutionInput``, a malformed role ARN ``InvalidArn``.

Messages never quote a request value that may be sensitive (input, variables, context, mock
data, the definition): only field names, types and sizes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from stepline.asl._json import json_type
from stepline.asl._validate_variables import variable_name_problem
from stepline.teststate._definition import TestedState, load_tested_state
from stepline.teststate._errors import (
    INVALID_ARN,
    INVALID_EXECUTION_INPUT,
    VALIDATION_EXCEPTION,
    ErrorCode,
    TestStateError,
)

__all__ = ["InspectionLevel", "MockSpec", "TestStateRequest", "parse_json_text", "parse_request"]

InspectionLevel = Literal["INFO", "DEBUG", "TRACE"]
FieldValidationMode = Literal["STRICT", "PRESENT", "NONE"]

MAX_DATA_CHARS: Final = 262_144
MAX_DEFINITION_CHARS: Final = 1_048_576
_LEVELS: Final = ("INFO", "DEBUG", "TRACE")
_VALIDATION_MODES: Final = ("STRICT", "PRESENT", "NONE")
_REQUEST_FIELDS: Final = frozenset(
    {
        "definition",
        "roleArn",
        "input",
        "inspectionLevel",
        "revealSecrets",
        "variables",
        "stateName",
        "mock",
        "context",
        "stateConfiguration",
    }
)
_MOCK_FIELDS: Final = frozenset({"result", "errorOutput", "fieldValidationMode"})
_ERROR_OUTPUT_FIELDS: Final = frozenset({"error", "cause"})
_CONFIGURATION_FIELDS: Final = frozenset(
    {"retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData"}
)
_ROLE_ARN: Final = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


@dataclass(frozen=True, slots=True)
class MockSpec:
    """The request's ``mock``: a result or an error, and how strictly to check a result.

    Attributes:
        has_result: True for ``mock.result`` (then ``result`` is its parsed value).
        result: The mocked result.
        error: ``mock.errorOutput.error`` when an error is mocked.
        cause: ``mock.errorOutput.cause`` (``""`` when omitted).
        field_validation_mode: ``STRICT`` (default), ``PRESENT`` or ``NONE``.
    """

    has_result: bool
    result: Any
    error: str | None
    cause: str
    field_validation_mode: FieldValidationMode


@dataclass(frozen=True, slots=True)
class TestStateRequest:
    """A checked TestState request, its JSON texts parsed.

    Attributes:
        tested: The state under test and the definition that runs it.
        role_arn: ``roleArn``, if given.
        input: The state input (``{}`` when omitted).
        inspection_level: ``INFO``, ``DEBUG`` or ``TRACE``.
        reveal_secrets: ``revealSecrets``.
        variables: The workflow variables supplied.
        mock: The mock, if any.
        context: The supplied context object, if any.
        retrier_retry_count: ``stateConfiguration.retrierRetryCount``.
        error_caused_by_state: ``stateConfiguration.errorCausedByState``.
        map_iteration_failure_count: ``stateConfiguration.mapIterationFailureCount``.
        map_item_reader_data: ``stateConfiguration.mapItemReaderData``, parsed.
    """

    __test__ = False

    tested: TestedState
    role_arn: str | None
    input: Any
    inspection_level: InspectionLevel
    reveal_secrets: bool
    variables: dict[str, Any]
    mock: MockSpec | None
    context: dict[str, Any] | None
    retrier_retry_count: int | None
    error_caused_by_state: str | None
    map_iteration_failure_count: int | None
    map_item_reader_data: Any


def _invalid(message: str) -> TestStateError:
    return TestStateError(VALIDATION_EXCEPTION, message)


def _constraint(field: str, constraint: str) -> TestStateError:
    # AWS's wording for a shape constraint, plus what to do.
    return _invalid(
        f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
        f"{constraint}"
    )


def _unknown_fields(value: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise _invalid(
            f"Unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"in {where}. Allowed: {', '.join(sorted(allowed))}."
        )


def _string(
    request: Mapping[str, Any],
    field: str,
    *,
    minimum: int = 0,
    maximum: int = MAX_DATA_CHARS,
    where: str | None = None,
) -> str | None:
    value = request.get(field)
    name = where or field
    if value is None:
        return None
    if not isinstance(value, str):
        raise _constraint(name, f"Member must be a string, not {json_type(value)}.")
    if len(value) < minimum:
        raise _constraint(name, f"Member must have length greater than or equal to {minimum}")
    if len(value) > maximum:
        raise _constraint(
            name,
            f"Member must have length less than or equal to {maximum} (it has {len(value)} "
            "characters)",
        )
    return value


def _count(config: Mapping[str, Any], field: str) -> int | None:
    value = config.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _constraint(
            f"stateConfiguration.{field}", f"Member must be an integer, not {json_type(value)}."
        )
    if value < 0:
        raise _constraint(
            f"stateConfiguration.{field}", "Member must have value greater than or equal to 0"
        )
    return value


def parse_json_text(text: str, field: str, code: ErrorCode = INVALID_EXECUTION_INPUT) -> Any:
    """Parse one of the request's JSON texts (exact integers; NaN and Infinity refused).

    Raises:
        TestStateError: With ``code``, naming the field and where the text stops being JSON.
    """

    def refuse(name: str) -> Any:
        raise ValueError(f"'{name}' is not a JSON value")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise TestStateError(
            code,
            f"The '{field}' is not valid JSON: {exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}. Pass JSON text, e.g. '{{}}'.",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise TestStateError(code, f"The '{field}' is not valid JSON: {exc}.") from None


def parse_request(request: Mapping[str, Any]) -> TestStateRequest:
    """Check a TestState request as AWS does and parse its JSON texts.

    Raises:
        TestStateError: The request is refused (the code says which of AWS's errors).
    """
    if not isinstance(request, Mapping):
        raise _invalid(
            f"The TestState request must be an object (a mapping), not {type(request).__name__}."
        )
    _unknown_fields(request, _REQUEST_FIELDS, "the TestState request")
    definition = request.get("definition")
    if definition is None:
        raise _invalid(
            "The 'definition' is required: the JSON text of one state, or of a whole state "
            "machine together with 'stateName'."
        )
    definition = _string(request, "definition", minimum=1, maximum=MAX_DEFINITION_CHARS)
    assert definition is not None
    role_arn = _string(request, "roleArn", minimum=1, maximum=256)
    input_text = _string(request, "input")
    level = request.get("inspectionLevel", "INFO")
    if level is None:
        level = "INFO"
    if level not in _LEVELS:
        raise _constraint(
            "inspectionLevel",
            f"Member must satisfy enum value set: [{', '.join(_LEVELS)}] (got {level!r:.40})",
        )
    reveal = request.get("revealSecrets", False)
    if reveal is None:
        reveal = False
    if not isinstance(reveal, bool):
        raise _constraint("revealSecrets", f"Member must be a boolean, not {json_type(reveal)}.")
    variables_text = _string(request, "variables")
    state_name = _string(request, "stateName", minimum=1, maximum=80)
    context_text = _string(request, "context")
    mock = _mock(request.get("mock"))
    config = request.get("stateConfiguration")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise _constraint(
            "stateConfiguration", f"Member must be an object, not {json_type(config)}."
        )
    _unknown_fields(config, _CONFIGURATION_FIELDS, "stateConfiguration")
    retry_count = _count(config, "retrierRetryCount")
    failure_count = _count(config, "mapIterationFailureCount")
    caused_by = _string(
        config,
        "errorCausedByState",
        minimum=1,
        maximum=80,
        where="stateConfiguration.errorCausedByState",
    )
    reader_text = _string(config, "mapItemReaderData", where="stateConfiguration.mapItemReaderData")

    # Rules between fields, before the definition is even read (cheapest first).
    if mock is not None and reveal:
        raise _invalid(
            "'revealSecrets' cannot be used together with a 'mock': a mocked state sends no "
            "request, so there is nothing to reveal. Remove one of them."
        )
    if context_text is not None and mock is None:
        raise _invalid(
            "'context' may only be given together with a 'mock'. Add a mock for the state, or "
            "remove the context."
        )
    if role_arn is not None and not _ROLE_ARN.fullmatch(role_arn):
        raise TestStateError(
            INVALID_ARN,
            "The 'roleArn' is not a valid IAM role ARN. Use the form "
            "arn:aws:iam::123456789012:role/NAME.",
        )

    tested = load_tested_state(definition, state_name)

    state_input = {} if input_text is None else parse_json_text(input_text, "input")
    variables = _variables(variables_text)
    context = None
    if context_text is not None:
        context = parse_json_text(context_text, "context")
        if not isinstance(context, dict):
            raise TestStateError(
                INVALID_EXECUTION_INPUT,
                f"The 'context' must be a JSON object (the Context object), not "
                f"{json_type(context)}.",
            )
    reader_data = None if reader_text is None else parse_json_text(reader_text, "mapItemReaderData")

    checked = TestStateRequest(
        tested=tested,
        role_arn=role_arn,
        input=state_input,
        inspection_level=level,
        reveal_secrets=reveal,
        variables=variables,
        mock=mock,
        context=context,
        retrier_retry_count=retry_count,
        error_caused_by_state=caused_by,
        map_iteration_failure_count=failure_count,
        map_item_reader_data=reader_data,
    )
    _check_against_state(checked, reader_text is not None)
    return checked


def _mock(value: Any) -> MockSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _constraint("mock", f"Member must be an object, not {json_type(value)}.")
    _unknown_fields(value, _MOCK_FIELDS, "mock")
    mode = value.get("fieldValidationMode", "STRICT")
    if mode is None:
        mode = "STRICT"
    if mode not in _VALIDATION_MODES:
        raise _constraint(
            "mock.fieldValidationMode",
            f"Member must satisfy enum value set: [{', '.join(_VALIDATION_MODES)}]",
        )
    result_text = _string(value, "result", where="mock.result")
    error_output = value.get("errorOutput")
    if result_text is not None and error_output is not None:
        raise _invalid(
            "A mock has either a 'result' or an 'errorOutput', not both. Remove one of them."
        )
    if result_text is None and error_output is None:
        raise _invalid("A mock needs a 'result' (JSON text) or an 'errorOutput' ({error, cause}).")
    if result_text is not None:
        result = parse_json_text(result_text, "mock.result", VALIDATION_EXCEPTION)
        return MockSpec(True, result, None, "", mode)
    if not isinstance(error_output, Mapping):
        raise _constraint(
            "mock.errorOutput", f"Member must be an object, not {json_type(error_output)}."
        )
    _unknown_fields(error_output, _ERROR_OUTPUT_FIELDS, "mock.errorOutput")
    error = _string(error_output, "error", maximum=256, where="mock.errorOutput.error")
    if error is None:
        raise _invalid(
            "mock.errorOutput.error is required when an error is mocked: give the error name, "
            "e.g. 'States.TaskFailed'."
        )
    cause = _string(error_output, "cause", maximum=32_768, where="mock.errorOutput.cause")
    return MockSpec(False, None, error, cause or "", mode)


def _variables(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    value = parse_json_text(text, "variables")
    if not isinstance(value, dict):
        raise TestStateError(
            INVALID_EXECUTION_INPUT,
            f"The 'variables' must be a JSON object of variable names to values, not "
            f"{json_type(value)}.",
        )
    for name in value:
        problem = variable_name_problem(name)
        if problem is not None:
            raise TestStateError(
                INVALID_EXECUTION_INPUT,
                f"The 'variables' name {name[:80]!r} cannot name a workflow variable: {problem}.",
            )
    return value


def _check_against_state(request: TestStateRequest, has_reader_data: bool) -> None:
    """The rules that depend on the state under test."""
    tested = request.tested
    kind = tested.type
    mock = request.mock
    if mock is not None and kind not in ("Task", "Map", "Parallel"):
        raise _invalid(
            f"A mock can only be given for a Task, Map or Parallel state; the state "
            f"'{tested.display_name}' is a {kind} state. Remove the mock."
        )
    if request.inspection_level == "TRACE" and not tested.is_http_task:
        raise _invalid(
            f"The TRACE inspection level is only available for HTTP Tasks "
            f"(Resource 'arn:aws:states:::http:invoke'); the state '{tested.display_name}' is "
            f"not one. Use DEBUG."
        )
    if mock is None and tested.needs_mock is not None:
        raise _invalid(
            f"The state '{tested.display_name}' is {tested.needs_mock}, which TestState can "
            "only test with a 'mock' (a result or an errorOutput)."
        )
    if mock is None and kind == "Task" and request.role_arn is None:
        raise _invalid(
            "A 'roleArn' is required to test a Task state without a mock: the task runs with "
            "that role's permissions. Give the execution role's ARN, or mock the task."
        )
    if request.retrier_retry_count is not None and not tested.has_retry:
        raise _invalid(
            f"stateConfiguration.retrierRetryCount applies to a state's Retry, and the state "
            f"'{tested.display_name}' has none. Remove it, or add a Retry to the state."
        )
    if request.error_caused_by_state is not None:
        if kind not in ("Map", "Parallel") or mock is None or mock.has_result:
            raise _invalid(
                "stateConfiguration.errorCausedByState applies only to a Map or Parallel state "
                "tested with a mocked errorOutput."
            )
        if request.error_caused_by_state not in tested.inner_state_names:
            raise _invalid(
                f"stateConfiguration.errorCausedByState must name a state inside the "
                f"{kind} state '{tested.display_name}'; it names none of them."
            )
    if request.map_iteration_failure_count is not None and kind != "Map":
        raise _invalid(
            f"stateConfiguration.mapIterationFailureCount applies only to a Map state; the "
            f"state '{tested.display_name}' is a {kind} state."
        )
    if has_reader_data and (kind != "Map" or not tested.has_item_reader):
        raise _invalid(
            "stateConfiguration.mapItemReaderData applies only to a Map state with an "
            "ItemReader (a Distributed Map reading its items from a source)."
        )
