"""``stepline run DEFINITION``: run an execution in this process and show what it did.

By default the output is the readable trace (:mod:`stepline.cli._trace`, :mod:`._render`)
followed by the status and the output or error. With ``--json`` stdout carries exactly one JSON
object, ``{"status", "output", "error", "cause"}``: anything the user's task functions print is
sent to stderr while the execution runs, so that the object can be piped into ``jq``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from stepline import ExecutionResult, InvalidExecutionInput, StateMachine, VirtualClock
from stepline.asl import DefinitionError, Diagnostic, InvalidDefinition
from stepline.asl._errors import RUNTIME
from stepline.cli._errors import EXIT_FAILED, EXIT_OK, CliError
from stepline.cli._load import STDIN, Document, load_definition, load_input
from stepline.cli._render import render_outcome, render_trace, style_for
from stepline.cli._tasks import load_tasks, task_resources
from stepline.cli._trace import TASK_FAILURES, build_trace
from stepline.cli._validate_cmd import definition_diagnostics
from stepline.tasks import TaskHandler

__all__ = ["RunOptions", "run_execution"]

_MACHINE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``stepline run`` was asked to do.

    Attributes:
        definition: The definition's path (``-`` for stdin).
        input: The ``--input`` argument (JSON text or ``@FILE``), if given.
        json: Print one JSON object instead of the trace.
        name: The execution's name, if given.
        fast_waits: Use a virtual clock, so waits and back-offs take no real time.
        tasks: ``RESOURCE=module:function`` specs.
    """

    definition: str
    input: str | None
    json: bool
    name: str | None
    fast_waits: bool
    tasks: Sequence[str]


def run_execution(options: RunOptions, out: TextIO, err: TextIO) -> int:
    """Run the execution and print its trace or JSON result; return the exit status.

    Raises:
        CliError: The definition, input, name or a ``--task`` is unusable.
    """
    if options.definition == STDIN and options.input == "@" + STDIN:
        raise CliError(
            "The definition and --input cannot both be read from standard input; put one of "
            "them in a file."
        )
    document = load_definition(options.definition)
    execution_input = load_input(options.input)
    _check_definition(document, err)
    handlers = load_tasks(options.tasks)
    _warn_unused_tasks(document, handlers, err)
    machine = _machine(document, handlers, options.fast_waits)
    try:
        with _stdout_to_stderr() if options.json else contextlib.nullcontext():
            result = machine.run(execution_input, name=options.name)
    except InvalidExecutionInput as exc:
        what = "--name" if options.name is not None and "name" in str(exc) else "the input"
        raise CliError(f"Cannot start the execution: {exc} Check {what}.") from None

    if options.json:
        _print_json(result, out)
    else:
        _print_trace(result, out)
    _hint_missing_handlers(document, result, handlers, err)
    return EXIT_OK if result.succeeded else EXIT_FAILED


# --- before running -------------------------------------------------------------------------


def _check_definition(document: Document, err: TextIO) -> None:
    diagnostics = definition_diagnostics(document, compile=False)
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    if errors:
        raise CliError(_invalid_message(document.source, errors))
    for warning in diagnostics:
        print(f"stepline: warning: {document.source}: {warning}", file=err)


def _invalid_message(source: str, errors: Sequence[Diagnostic]) -> str:
    count = len(errors)
    listed = "\n".join(f"  {diagnostic}" for diagnostic in errors)
    return (
        f"{source}: the state machine definition is invalid ({count} problem"
        f"{'s' if count != 1 else ''}; each names the JSON Pointer of the field at fault):\n"
        f"{listed}\nFix the definition and run again; 'stepline validate {source}' checks it "
        "without running it."
    )


def _machine(
    document: Document, handlers: Mapping[str, TaskHandler], fast_waits: bool
) -> StateMachine:
    try:
        return StateMachine(
            document.value,
            name=_machine_name(document.source),
            tasks=handlers,
            clock=VirtualClock() if fast_waits else None,
        )
    except InvalidDefinition as exc:
        raise CliError(_invalid_message(document.source, list(exc.errors()))) from None
    except DefinitionError as exc:
        raise CliError(
            _invalid_message(document.source, [Diagnostic(exc.code, exc.message, "")])
        ) from None


def _machine_name(source: str) -> str:
    """The state machine's name (``$$.StateMachine.Name``): the file's stem, made ARN-safe."""
    stem = os.path.splitext(os.path.basename(source))[0]
    name = _MACHINE_NAME_CHARS.sub("-", stem).strip("-")[:80]
    return name or "StateMachine"


def _warn_unused_tasks(
    document: Document, handlers: Mapping[str, TaskHandler], err: TextIO
) -> None:
    resources = task_resources(document.value)
    for resource in handlers:
        if resource not in resources:
            known = ", ".join(repr(r) for r in resources) or "none"
            print(
                f"stepline: warning: --task {resource!r} is not the Resource of any Task state "
                f"in {document.source}, so it will not be called; the Task resources there "
                f"are: {known}.",
                file=err,
            )


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout, by Python or by child processes, to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        # No file descriptor 1 (an embedding host): redirecting Python's writes is enough.
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --- after running --------------------------------------------------------------------------


def _print_json(result: ExecutionResult, out: TextIO) -> None:
    payload = {
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "cause": result.cause,
    }
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "")
    try:
        text = json.dumps(payload, ensure_ascii=not encoding.startswith("utf"), allow_nan=False)
    except ValueError as exc:
        # The engine lets a task return NaN or Infinity; printing 'NaN' would not be JSON.
        raise CliError(
            f"The execution {result.status.lower()}, but its output cannot be printed as JSON "
            f"({exc}): a task returned NaN or Infinity. Return only JSON values from tasks."
        ) from None
    out.write(text + "\n")
    out.flush()


def _print_trace(result: ExecutionResult, out: TextIO) -> None:
    style = style_for(out)
    trace = build_trace(result.history)
    lines = render_trace(trace, style)
    lines.append("")
    lines.extend(
        render_outcome(
            result.status,
            result.output,
            error=result.error,
            cause=result.cause,
            duration=trace.duration,
            style=style,
        )
    )
    out.write("\n".join(lines) + "\n")
    out.flush()


def _hint_missing_handlers(
    document: Document,
    result: ExecutionResult,
    handlers: Mapping[str, TaskHandler],
    err: TextIO,
) -> None:
    """After a failure, say how to serve the Task resources that had no handler."""
    if result.succeeded:
        return
    unserved = [r for r in task_resources(document.value) if r not in handlers]
    failures = [
        event.details or {}
        for event in result.history
        if event.type in TASK_FAILURES and (event.details or {}).get("error") == RUNTIME
    ]
    for resource in unserved:
        if any(_names_resource(details, resource) for details in failures):
            print(
                f"stepline: hint: nothing serves the Task resource {resource!r} locally. "
                f"Register a Python function for it with --task '{resource}=module:function' "
                "(the module must be importable from the current directory or PYTHONPATH).",
                file=err,
            )


def _names_resource(details: Mapping[str, Any], resource: str) -> bool:
    """Whether a failure event's details are about ``resource``."""
    kind, name = details.get("resourceType"), details.get("resource")
    # History names a service integration by type and action ('stepline', 'task:call' for
    # 'arn:aws:states:::stepline:task:call'), as AWS does; other resources in full. Lambda
    # and activity failure events name no resource, but the cause quotes it.
    if isinstance(name, str) and (resource == name or resource.endswith(f":{kind}:{name}")):
        return True
    return f"'{resource}'" in str(details.get("cause", ""))
