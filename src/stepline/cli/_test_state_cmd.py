"""``stepline test-state DEFINITION``: test one state, as AWS's ``TestState`` API does.

The options build botocore's ``TestStateInput`` and the command prints the ``TestStateOutput``
of :func:`stepline.teststate.test_state`, readably or (``--json``) exactly as the API returns
it. The definition is one state, or a whole state machine with ``--state-name``.

Exit statuses tell a script what the state did without parsing the output: 0 ``SUCCEEDED``,
1 ``FAILED``, 3 ``RETRIABLE``, 4 ``CAUGHT_ERROR``; 2 when the request is refused (an invalid
definition, input or option: AWS's ``ValidationException``, ``InvalidDefinition``,
``InvalidExecutionInput`` or ``InvalidArn``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, TextIO

from stepline.cli._connections import build_connections, read_connection_files
from stepline.cli._errors import EXIT_FAILED, EXIT_OK, CliError
from stepline.cli._load import STDIN, load_definition, load_input
from stepline.cli._tasks import load_tasks
from stepline.tasks._resources import HTTP_INVOKE
from stepline.teststate import TestStateError, test_state

if TYPE_CHECKING:
    from stepline.tasks import HttpTask

__all__ = ["EXIT_CAUGHT", "EXIT_RETRIABLE", "add_test_state_parser", "run_test_state"]

EXIT_RETRIABLE: Final = 3
"""``test-state``: a retrier took the error (``RETRIABLE``)."""
EXIT_CAUGHT: Final = 4
"""``test-state``: a catcher took the error (``CAUGHT_ERROR``)."""

_EXIT_BY_STATUS: Final = {
    "SUCCEEDED": EXIT_OK,
    "FAILED": EXIT_FAILED,
    "RETRIABLE": EXIT_RETRIABLE,
    "CAUGHT_ERROR": EXIT_CAUGHT,
}
_DEFAULT_REGION: Final = "us-east-1"
_DEFAULT_ACCOUNT: Final = "123456789012"
_ALLOW_ENV: Final = "STEPLINE_HTTP_ALLOW"
_EXIT_STATUS: Final = (
    "exit status: 0 SUCCEEDED; 1 FAILED; 3 RETRIABLE; 4 CAUGHT_ERROR; 2 the request was "
    "refused (invalid definition, input or options); 70 internal error."
)
_JSON_ARGUMENT: Final = "JSON|@FILE"


def add_test_state_parser(commands: Any) -> None:
    """Add the ``test-state`` subcommand to the ``stepline`` parser's subcommands."""
    parser = commands.add_parser(
        "test-state",
        help="test one state (AWS's TestState): its output, next state and data flow",
        description=(
            "Run one state with the real engine, as AWS Step Functions' TestState API does, "
            "and print its status, next state, output or error, and (with --inspection-level "
            "DEBUG or TRACE) each step of its data flow. DEFINITION holds one state (JSON or "
            "YAML), or a whole state machine together with --state-name. Wait states do not "
            "wait; a retry is reported (RETRIABLE, with its back-off), not performed."
        ),
        epilog=_EXIT_STATUS,
        allow_abbrev=False,
    )
    parser.add_argument("definition", metavar="DEFINITION", help="the state or state machine")
    parser.add_argument(
        "--state-name", metavar="NAME", help="the state to test in a whole state machine"
    )
    parser.add_argument(
        "--input", "-i", metavar=_JSON_ARGUMENT, help="the state input (default {})"
    )
    parser.add_argument(
        "--inspection-level",
        choices=("INFO", "DEBUG", "TRACE"),
        default="DEBUG",
        help="INFO: the outcome only; DEBUG (the default here; AWS's is INFO): plus each data "
        "step; TRACE: plus an HTTP Task's request and response",
    )
    parser.add_argument(
        "--reveal-secrets",
        action="store_true",
        help="show what the connection adds to an HTTP Task's request (TRACE); masked otherwise",
    )
    parser.add_argument(
        "--variables", metavar=_JSON_ARGUMENT, help="workflow variables (a JSON object)"
    )
    parser.add_argument("--role-arn", metavar="ARN", help="the execution role's ARN")
    mock = parser.add_mutually_exclusive_group()
    mock.add_argument(
        "--mock-result", metavar=_JSON_ARGUMENT, help="mock the Task, Map or Parallel result"
    )
    mock.add_argument("--mock-error", metavar="NAME", help="mock an error, e.g. States.Timeout")
    parser.add_argument("--mock-cause", metavar="TEXT", help="the mocked error's cause")
    parser.add_argument(
        "--field-validation-mode",
        choices=("STRICT", "PRESENT", "NONE"),
        help="how strictly a mocked result is checked (default STRICT)",
    )
    parser.add_argument(
        "--context", metavar=_JSON_ARGUMENT, help="Context object members (with a mock only)"
    )
    parser.add_argument(
        "--retrier-retry-count",
        type=int,
        metavar="N",
        help="retries the matching retrier has already made",
    )
    parser.add_argument(
        "--map-iteration-failure-count",
        type=int,
        metavar="N",
        help="iterations of a mocked Map that failed",
    )
    parser.add_argument(
        "--error-caused-by-state",
        metavar="NAME",
        help="the state inside a mocked Map or Parallel that raised the mocked error",
    )
    parser.add_argument(
        "--task",
        action="append",
        metavar="RESOURCE=MODULE:FUNCTION",
        help="serve the Task resource RESOURCE with a Python function (repeatable)",
    )
    parser.add_argument(
        "--connections",
        action="append",
        metavar="FILE",
        help="EventBridge connections for HTTP Tasks, as for 'stepline run' (repeatable)",
    )
    parser.add_argument(
        "--http-allow",
        action="append",
        metavar="HOSTS",
        help="let HTTP Tasks reach these destinations, as for 'stepline run' (repeatable)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print exactly the TestState response as JSON (task output goes to stderr)",
    )


def _json_text(argument: str | None) -> str | None:
    """An option's JSON value (text or ``@FILE``, JSON or YAML) as compact JSON text."""
    if argument is None:
        return None
    return json.dumps(load_input(argument), ensure_ascii=False, separators=(",", ":"))


def build_request(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The TestState request the options describe, and the definition's JSON text."""
    readers = [args.definition] if args.definition == STDIN else []
    for option in (args.input, args.variables, args.mock_result, args.context):
        if option == "@" + STDIN:
            readers.append(option)
    if len(readers) > 1:
        raise CliError("Standard input can be read only once; put all but one value in files.")
    document = load_definition(args.definition)
    definition = (
        document.text
        if document.format == "json"
        else json.dumps(document.value, ensure_ascii=False)
    )
    request: dict[str, Any] = {
        "definition": definition,
        "inspectionLevel": args.inspection_level,
        # A local run needs no real role; AWS requires one to test an unmocked Task.
        "roleArn": args.role_arn or f"arn:aws:iam::{_DEFAULT_ACCOUNT}:role/stepline-local",
    }
    optional = {
        "stateName": args.state_name,
        "input": _json_text(args.input),
        "variables": _json_text(args.variables),
        "context": _json_text(args.context),
    }
    request.update({key: value for key, value in optional.items() if value is not None})
    if args.reveal_secrets:
        request["revealSecrets"] = True
    if args.mock_cause is not None and args.mock_error is None:
        raise CliError("--mock-cause needs --mock-error NAME: it is the mocked error's cause.")
    mock: dict[str, Any] = {}
    if args.mock_result is not None:
        mock["result"] = _json_text(args.mock_result)
    elif args.mock_error is not None:
        mock["errorOutput"] = {"error": args.mock_error, "cause": args.mock_cause or ""}
    if args.field_validation_mode is not None:
        if not mock:
            raise CliError("--field-validation-mode applies to a mock: add --mock-result.")
        mock["fieldValidationMode"] = args.field_validation_mode
    if mock:
        request["mock"] = mock
    configuration = {
        "retrierRetryCount": args.retrier_retry_count,
        "mapIterationFailureCount": args.map_iteration_failure_count,
        "errorCausedByState": args.error_caused_by_state,
    }
    configuration = {key: value for key, value in configuration.items() if value is not None}
    if configuration:
        request["stateConfiguration"] = configuration
    return request, definition


def run_test_state(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Test the state and print the response; return the exit status.

    Raises:
        CliError: A file or option is unusable, or TestState refused the request.
    """
    request, definition = build_request(args)
    handlers = load_tasks(args.task or [])
    entries, scope = read_connection_files(args.connections or [], os.environ)
    region = scope.region or _DEFAULT_REGION
    account = scope.account or _DEFAULT_ACCOUNT
    http = None
    if HTTP_INVOKE in definition and HTTP_INVOKE not in handlers:
        http = _http_task(entries, region, account, args.http_allow or [])
    try:
        with _stdout_to(err) if args.json else contextlib.nullcontext():
            response = test_state(
                request, tasks=handlers, http=http, region=region, account=account
            )
    except TestStateError as exc:
        raise CliError(f"{exc.code}: {exc.message}") from None
    if args.json:
        print(json.dumps(response, indent=2, ensure_ascii=False), file=out)
    else:
        out.write(render_response(response))
    out.flush()
    return _EXIT_BY_STATUS[response["status"]]


def _http_task(
    entries: Sequence[Any], region: str, account: str, allow_lists: Sequence[str]
) -> HttpTask:
    """The HTTP Task: the files' connections, the allow list, ``STEPLINE_IAM``."""
    from stepline.egress import EgressSettings
    from stepline.egress._settings import parse_allow
    from stepline.policy import PolicyEnforcer, Roles
    from stepline.tasks import HttpTask

    connections = build_connections(entries, region=region, account=account)
    environ = dict(os.environ)
    allow = None
    if allow_lists:
        try:
            allow = parse_allow(",".join(allow_lists), source="--http-allow")
        except ValueError as exc:
            raise CliError(f"{exc} Correct the --http-allow option.") from None
        environ.pop(_ALLOW_ENV, None)  # the option replaces the variable for this run
    try:
        settings = EgressSettings.from_env(environ)
        policy = PolicyEnforcer.from_env(Roles(account=account), environ)
    except ValueError as exc:
        raise CliError(f"{exc} Correct the environment variable, or unset it.") from None
    if allow is not None:
        settings = replace(settings, allow=allow)
    return HttpTask(connections, settings=settings, policy=policy)


@contextlib.contextmanager
def _stdout_to(stream: TextIO) -> Iterator[None]:
    """What task functions print goes to ``stream``, keeping stdout for the JSON response."""
    sys.stdout.flush()
    with contextlib.redirect_stdout(stream):
        yield


def render_response(response: Mapping[str, Any]) -> str:
    """The response for a reader: status, next state, output or error, inspection data."""
    lines = [f"status: {response['status']}"]
    if "nextState" in response:
        lines.append(f"next state: {response['nextState']}")
    for key, label in (("output", "output"), ("error", "error"), ("cause", "cause")):
        if key in response:
            lines.append(f"{label}: {response[key]}")
    inspection = response.get("inspectionData")
    if inspection:
        lines.append("inspection data:")
        for key, value in inspection.items():
            if isinstance(value, Mapping):
                lines.append(f"  {key}:")
                lines.extend(f"    {inner}: {text}" for inner, text in value.items())
            else:
                lines.append(f"  {key}: {value}")
    return "\n".join(lines) + "\n"
