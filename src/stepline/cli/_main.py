"""Arguments, dispatch and exit statuses of the ``stepline`` command.

Exit statuses: 0 success; 1 the execution failed, timed out or was aborted; 2 a mistake in the
arguments or files (a one-paragraph message on stderr says what, where and what to do); 70 a bug
in stepline ("internal error"); 130 interrupted. No traceback is ever printed unless
``STEPLINE_DEBUG=1`` is set and something unexpected went wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

import stepline
from stepline.cli._errors import EXIT_INTERNAL, EXIT_USAGE, CliError
from stepline.cli._run_cmd import RunOptions, run_execution
from stepline.cli._serve_cmd import add_serve_parser, run_serve, serve_options
from stepline.cli._test_state_cmd import add_test_state_parser, run_test_state
from stepline.cli._validate_cmd import run_validate
from stepline.cli._worker_cmd import add_worker_parser, run_worker_command, worker_options

__all__ = ["main"]

_EXIT_INTERRUPTED = 130
_EXIT_BROKEN_PIPE = 141

_DESCRIPTION = (
    "Run and validate Amazon States Language workflows locally. "
    "Definitions may be JSON or YAML files ('-' reads standard input)."
)
_EXIT_STATUS = (
    "exit status: 0 success; 1 the execution failed, timed out or was aborted; "
    "2 bad arguments, unreadable or invalid files or inputs; 70 internal error."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``stepline`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when omitted.

    Returns:
        The process exit status.
    """
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except CliError as exc:
        _flush_stdout()
        print(f"stepline: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("stepline: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``stepline run … | head``): not an error worth a message.
        _silence_stdout()
        return _EXIT_BROKEN_PIPE
    except Exception as exc:
        _flush_stdout()
        if os.environ.get("STEPLINE_DEBUG") == "1":
            traceback.print_exc()
        print(
            f"stepline: internal error: {type(exc).__name__}: {exc}\nThis is a bug in stepline, "
            "not in your workflow. Please report it to the stepline maintainers with the "
            "command you ran and the files it read; run again with STEPLINE_DEBUG=1 to "
            "include the traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _dispatch(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed the usage and the problem (or --help/--version).
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "run":
        options = RunOptions(
            definition=args.definition,
            input=args.input,
            json=args.json,
            name=args.name,
            fast_waits=args.fast_waits,
            tasks=args.task or [],
            connections=args.connections or [],
            http_allow=args.http_allow or [],
            machines=args.machine or [],
        )
        return run_execution(options, sys.stdout, sys.stderr)
    if args.command == "validate":
        return run_validate(args.definitions, sys.stdout, sys.stderr)
    if args.command == "test-state":
        return run_test_state(args, sys.stdout, sys.stderr)
    if args.command == "serve":
        return run_serve(serve_options(args), sys.stdout, sys.stderr)
    if args.command == "worker":
        return run_worker_command(worker_options(args), sys.stdout, sys.stderr)
    parser.print_usage(sys.stderr)
    print(
        "stepline: error: name a command: 'stepline run DEFINITION' or 'stepline validate "
        "DEFINITION...' ('stepline --help' explains both).",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stepline", description=_DESCRIPTION, epilog=_EXIT_STATUS, allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"stepline {stepline.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a workflow locally and show what each state did",
        description=(
            "Run a workflow in this process and print a trace of each state (name, type, "
            "duration, input -> output, retries, catches, Map iterations and Parallel "
            "branches), then the final status and output or error. Task states run the Python "
            "functions registered with --task; HTTP Tasks (arn:aws:states:::http:invoke) call "
            "their APIs through the connections of --connections files; any other Task "
            "resource fails with States.Runtime."
        ),
        epilog=_EXIT_STATUS,
        allow_abbrev=False,
    )
    run.add_argument("definition", metavar="DEFINITION", help="the definition (JSON or YAML)")
    run.add_argument(
        "--input",
        "-i",
        metavar="JSON|@FILE",
        help="the execution input: JSON text, or @FILE to read a JSON or YAML file "
        "(@- reads standard input); default {}",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help='print only {"status", "output", "error", "cause"} as one JSON object on '
        "stdout (what task functions print goes to stderr)",
    )
    run.add_argument("--name", metavar="NAME", help="the execution's name (default: a UUID)")
    run.add_argument(
        "--fast-waits",
        action="store_true",
        help="skip real waiting: Wait states and retry back-offs complete at once on a "
        "virtual clock that jumps forward (the trace shows virtual durations)",
    )
    run.add_argument(
        "--task",
        action="append",
        metavar="RESOURCE=MODULE:FUNCTION",
        help="serve the Task resource RESOURCE with a Python function, e.g. "
        "'arn:aws:states:::stepline:charge=my_tasks:charge'; the module is imported from "
        "the current directory or PYTHONPATH (repeatable)",
    )
    run.add_argument(
        "--connections",
        action="append",
        metavar="FILE",
        help='EventBridge connections for HTTP Tasks: a JSON or YAML file holding {"Connections": '
        "[...]}, each entry a CreateConnection request as for 'aws events create-connection "
        '--cli-input-json\' plus an optional "ConnectionArn" (the ARN the definition names); '
        "${NAME} in a string is replaced by the environment variable NAME, $${ is a literal "
        "${ (repeatable)",
    )
    run.add_argument(
        "--http-allow",
        action="append",
        metavar="HOSTS",
        help="let HTTP Tasks reach these destinations despite the egress rules (plain http:// "
        "included): comma-separated host names, *.domains, IP addresses or CIDR networks, each "
        "optionally with :PORT, e.g. 127.0.0.0/8 or api.internal:8443; replaces "
        "STEPLINE_HTTP_ALLOW for this run (repeatable)",
    )

    run.add_argument(
        "--machine",
        action="append",
        metavar="NAME=FILE",
        help="a state machine the run may start with arn:aws:states:::states:startExecution "
        "(request-response, .sync, .sync:2, .waitForTaskToken), named NAME (its ARN is "
        "arn:aws:states:REGION:ACCOUNT:stateMachine:NAME) with the definition in FILE; it runs "
        "in this process with the same --task functions and connections (repeatable)",
    )

    validate = commands.add_parser(
        "validate",
        help="check definitions and list every problem with its location",
        description=(
            "Check each definition and print every diagnostic as "
            "'FILE: SEVERITY LOCATION: message [CODE]', or 'FILE: valid'. Warnings do not "
            "make a file invalid."
        ),
        epilog="exit status: 0 every file is valid; 2 a file is invalid or unreadable.",
        allow_abbrev=False,
    )
    validate.add_argument(
        "definitions", metavar="DEFINITION", nargs="+", help="definitions (JSON or YAML)"
    )
    add_test_state_parser(commands)
    add_serve_parser(commands)
    add_worker_parser(commands)
    return parser


def _flush_stdout() -> None:
    # Whatever the command printed before failing comes before its error message.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the pipe closed that would raise again.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
